// access: who can get onto the host. Users (/etc/passwd), groups and
// members (/etc/group), sudoers (/etc/sudoers, every file it includes as
// sudo reads them, and /etc/sudoers.d/*; normalised) and the authorized_keys of every user with a
// login shell, as fingerprints.
//
// Each run takes a snapshot and diffs it with the previous one (kept in a
// state file, so changes made while the agent was down are still seen):
// every difference is an AccessChange signal. A full AccessSnapshot goes
// out on the first run, after any change, and every snapshot_interval.
// inotify (access_watch.h) triggers runs early; the interval is the backstop.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_H_

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agents/linux/collectors/access_watch.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// The current access snapshot under `root`. PermissionDenied when a file
// that must be read cannot be (the agent then lacks CAP_DAC_READ_SEARCH).
absl::StatusOr<v1::AccessSnapshot> TakeAccessSnapshot(const RootFs& root);

class AccessCollector : public Collector {
 public:
  // `state_file` keeps the last snapshot between runs ("" keeps it in memory).
  AccessCollector(std::string state_file, absl::Duration snapshot_interval);

  std::string_view name() const override { return "access"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

  // Host directories whose changes should trigger a run, with the names
  // in each that matter: passwd, group and sudoers in /etc, every sudoers
  // file and directory the last snapshot included, and the .ssh directory
  // (and its appearing in the home) of every login user.
  std::vector<WatchedDir> WatchPaths() const;
  // Called after every run with the current WatchPaths(), so an inotify
  // watcher can follow users, homes and includes as they come and go.
  void OnWatchPaths(std::function<void(std::vector<WatchedDir>)> callback);

 private:
  const std::string state_file_;
  const absl::Duration snapshot_interval_;
  mutable std::mutex mu_;
  std::optional<v1::AccessSnapshot> previous_;
  // Set when the state file could not be read: reported with the first run.
  std::string lost_state_;
  std::function<void(std::vector<WatchedDir>)> on_watch_paths_;
  absl::Time last_snapshot_sent_ = absl::InfinitePast();
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_H_
