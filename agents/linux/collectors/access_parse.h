// Parsers and the snapshot diff for the access collector. Pure functions
// of text; the collector reads files through RootFs around them. Nothing
// here ever sees a secret: /etc/shadow is never read, passwd's password
// field is skipped, and keys are reduced to fingerprints.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_PARSE_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_PARSE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "attest/v1/signal.pb.h"
#include "common/login_shell.h"

namespace attest::agent {

// A line of /etc/passwd, /etc/group or authorized_keys skipped as malformed.
struct SkippedLine {
  size_t line = 0;     // 1-based
  std::string reason;  // e.g. "user x: uid \"abc\" is not a number from 0 to 4294967295"
};

// Entries of /etc/passwd and /etc/group. Lines with too few fields are
// skipped. So is a line whose uid or gid is not a number that fits in
// 32 bits, as glibc's nss_files skips it (the entry grants no login, and
// must not be read as uid 0); such lines are added to `skipped` if given.
std::vector<v1::UserEntry> ParsePasswd(std::string_view text,
                                       std::vector<SkippedLine>* skipped = nullptr);
std::vector<v1::GroupEntry> ParseGroup(std::string_view text,
                                       std::vector<SkippedLine>* skipped = nullptr);

// True for shells that allow a login (not nologin/false/sync, not empty).
using attest::IsLoginShell;

// Sudoers rules normalised for comparison: continuation lines joined,
// comments dropped (but #include/#includedir and "#<uid>" user specs
// kept), whitespace collapsed, blank lines dropped.
std::vector<std::string> NormalizeSudoers(std::string_view text);

// A sudoers include directive (#include, @include, #includedir,
// @includedir), with its path resolved as sudo resolves it: "%h" is the
// short host name, "%%" a percent sign, double quotes and backslash escapes
// are removed, and a relative path is relative to the directory of the file
// that holds the directive.
struct SudoersInclude {
  bool directory = false;  // #includedir / @includedir
  std::string path;
};
// `rule` is one rule from NormalizeSudoers of `including_file`; nullopt if
// it is not an include directive or names no path.
std::optional<SudoersInclude> ParseSudoersInclude(std::string_view rule,
                                                  std::string_view including_file,
                                                  std::string_view host);

// sudo's rule for the files of an #includedir: names that end in '~' or
// contain '.' are skipped (editor backups, package manager leftovers).
bool SudoIncludesFileNamed(std::string_view name);

// Keys of one authorized_keys file, with OpenSSH's SHA256 fingerprints
// ("SHA256:" + unpadded base64 of SHA-256 over the key blob). Options
// before the key type (from="...",command="...") are skipped. A key is a
// type name followed by base64 of a blob that starts with that same name,
// so a key of a type newer than this code is still seen. A line with no
// such key grants no access (sshd cannot read it either); it is added to
// `skipped` if given.
std::vector<v1::KeyEntry> ParseAuthorizedKeys(std::string_view text, const std::string& user,
                                              std::vector<SkippedLine>* skipped = nullptr);

// "SHA256:<base64>" of `data`, unpadded, as OpenSSH prints fingerprints.
std::string Sha256Fingerprint(std::string_view data);

// Access changes between two snapshots, observed at `at`: users added,
// removed or modified; group membership; sudoers files; keys added or
// removed. Each gets a stable id derived from its content and time.
std::vector<v1::AccessChange> DiffSnapshots(const v1::AccessSnapshot& before,
                                            const v1::AccessSnapshot& after, absl::Time at);

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_ACCESS_PARSE_H_
