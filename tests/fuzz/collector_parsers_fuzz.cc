// The agent's parsers of what it reads from the host. ATTEST_FUZZ_PARSER
// picks one per fuzz target: dpkg status, apt-get -s output, sudoers, and
// authorized_keys (with passwd and group alongside, which share its code).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agents/linux/collectors/access_parse.h"
#include "agents/linux/collectors/patch_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace attest::agent;  // NOLINT: fuzz harness
#if ATTEST_FUZZ_PARSER == 1
  if (auto packages = ParseDpkgStatus(text); packages.ok()) {
    for (const DpkgPackage& p : *packages) {
      if (p.name.empty()) __builtin_trap();  // a stanza without Package is refused
    }
  }
  (void)ParseOsRelease(text);
#elif ATTEST_FUZZ_PARSER == 2
  for (const auto& u : ParseAptSimulate(text)) {
    if (u.package().empty()) __builtin_trap();
    (void)CompareDebianVersions(u.installed_version(), u.candidate_version());
  }
#elif ATTEST_FUZZ_PARSER == 3
  for (const auto& rule : NormalizeSudoers(text)) {
    if (rule.empty()) __builtin_trap();  // blank lines are dropped
    // An include always resolves to an absolute path.
    if (auto include = ParseSudoersInclude(rule, "/etc/sudoers", "host")) {
      if (include->path.empty() || include->path[0] != '/') __builtin_trap();
    }
  }
#elif ATTEST_FUZZ_PARSER == 4
  (void)ParseAuthorizedKeys(text, "fuzz");
  (void)ParsePasswd(text);
  (void)ParseGroup(text);
#else
#error "ATTEST_FUZZ_PARSER must be 1-4"
#endif
  return 0;
}
