// Parsers for the patch collector. Pure functions of text, so they are
// tested on recorded output (tests/fixtures) and fuzzed.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_PARSE_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_PARSE_H_

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/signal.pb.h"

namespace attest::agent {

// KEY=value pairs of /etc/os-release, unquoted.
std::map<std::string, std::string> ParseOsRelease(std::string_view text);

struct DpkgPackage {
  std::string name;
  std::string version;
  std::string architecture;
  bool installed = false;  // Status: ... installed
};
// Stanzas of /var/lib/dpkg/status. DataLoss naming the line when the file
// is corrupt as dpkg would refuse it (a stanza without Package or Status,
// a Status that is not three words, an installed package without Version,
// a line that is no field) or cut inside a line: counting what is left
// would understate the packages and could hide the newest kernel.
absl::StatusOr<std::vector<DpkgPackage>> ParseDpkgStatus(std::string_view text);

// "Inst" lines of `apt-get -s dist-upgrade`:
//   Inst pkg [installed] (candidate Origin:Release/suite[, Origin2:...] [arch]) [...]
// security is true when any origin's suite is a security suite
// (e.g. Debian-Security:12/stable-security, Ubuntu:22.04/jammy-security).
std::vector<v1::PendingUpdate> ParseAptSimulate(std::string_view text);

// Debian version ordering (deb-version(7)): <0, 0, >0 like strcmp.
int CompareDebianVersions(std::string_view a, std::string_view b);

// The newest installed kernel among linux-image-<version> packages ("" if
// none), as the version string uname -r would print.
std::string NewestDebianKernel(const std::vector<DpkgPackage>& packages);

// `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n'` lines.
std::map<std::string, std::string> ParseRpmQuery(std::string_view text);
// `dnf -q check-update` lines: "name.arch  [epoch:]version-release  repo".
std::vector<v1::PendingUpdate> ParseDnfCheckUpdate(std::string_view text);
// `dnf -q updateinfo list --security` lines: "ADVISORY  Severity/Sec.  nevra".
// Returns the package names with a security advisory.
std::set<std::string> ParseDnfSecurityNames(std::string_view text);

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_PARSE_H_
