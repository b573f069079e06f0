// File access relative to the agent's --root ("/" on a host, "/host" in a
// container, a fixture tree in tests). Paths given are absolute host paths.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_ROOT_FS_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_ROOT_FS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::agent {

class RootFs {
 public:
  explicit RootFs(std::string root);

  const std::string& root() const { return root_; }
  // The real path of host path `path` (which must start with '/').
  std::string Path(std::string_view path) const;
  // NotFound when missing, PermissionDenied when unreadable, InvalidArgument
  // past `max_bytes` (a guard against reading a device or a runaway log).
  absl::StatusOr<std::string> ReadFile(std::string_view path, size_t max_bytes = 64 << 20) const;
  // The last `max_bytes` of a file (for logs).
  absl::StatusOr<std::string> ReadTail(std::string_view path, size_t max_bytes) const;
  // Names in a directory, sorted; NotFound when missing.
  absl::StatusOr<std::vector<std::string>> ListDir(std::string_view path) const;
  absl::StatusOr<absl::Time> ModifiedAt(std::string_view path) const;
  bool Exists(std::string_view path) const;

 private:
  std::string root_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_ROOT_FS_H_
