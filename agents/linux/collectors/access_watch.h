// Watches the files the access collector reads (inotify on Boost.Asio) and
// calls back when one changes, so a change is reported within moments
// instead of at the next periodic rescan. The rescan stays as the backstop:
// inotify can overflow, and a watch cannot be set on a path that does not
// exist yet.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_WATCH_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_WATCH_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace attest::agent {

// A directory to watch and the entry names in it that matter (empty: all).
struct WatchedDir {
  std::string path;
  std::set<std::string> names;
  bool operator==(const WatchedDir&) const = default;
};

class AccessWatcher {
 public:
  // `on_change` runs on the watcher's thread.
  explicit AccessWatcher(std::function<void()> on_change);
  ~AccessWatcher();

  [[nodiscard]] absl::Status Start();
  // Replaces the watched set with these directories (real paths, already
  // root-prefixed). Directories that do not exist are skipped.
  void Watch(const std::vector<WatchedDir>& dirs);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_WATCH_H_
