// Small file helpers shared by the programs.
#ifndef ATTEST_COMMON_FILES_H_
#define ATTEST_COMMON_FILES_H_

#include <sys/types.h>

#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace attest {

// The whole file. InvalidArgument naming the path when it cannot be read
// (these are configuration files given on the command line).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// The same for a file that must be small (a key, a signed note): reads at
// most `max_bytes` + 1 bytes, and a longer file (or a device such as
// /dev/zero) is InvalidArgument naming the path and the bound.
absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes);

// Reads the next line of `in` (without its '\n') into `line`, keeping at
// most `max_bytes` of it. A longer line is read to its end but not kept:
// `line` is then empty and `*too_long` is set, so one enormous line costs
// its reading, never its size in memory. False once the input is at its
// end with nothing read (a last line without '\n' still counts).
bool GetLineUpTo(std::istream& in, std::string* line, size_t max_bytes, bool* too_long);

// Replaces `path` with `data` so that a crash leaves either the old file or
// the new one, complete and on disk: a temporary file beside it, written,
// fsynced, renamed over `path`, and the directory fsynced. `mode` applies
// whatever the umask. Unavailable naming the path when any step fails (the
// temporary file is removed).
absl::Status WriteFileAtomically(const std::string& path, std::string_view data,
                                 mode_t mode = 0644);
// Syncs the directory holding `path`, so that a rename or a new name in it
// survives a crash. Best effort: a directory that cannot be opened is left.
void SyncDirectoryOf(const std::string& path);

// The PEM files of one TLS identity: the CA to trust, our certificate and
// its key. No gRPC types here, so every program can share it.
struct TlsPem {
  std::string ca;
  std::string cert;
  std::string key;
};
absl::StatusOr<TlsPem> ReadTlsPem(const std::string& ca_path, const std::string& cert_path,
                                  const std::string& key_path);
// The same where each file may be left out (""): no CA means the system's
// trust store, and no certificate and key means no client certificate.
absl::StatusOr<TlsPem> ReadClientTlsPem(const std::string& ca_path, const std::string& cert_path,
                                        const std::string& key_path);

}  // namespace attest

#endif  // ATTEST_COMMON_FILES_H_
