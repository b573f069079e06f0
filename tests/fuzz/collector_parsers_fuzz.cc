// The agent's parsers of what it reads from the host. ATTEST_FUZZ_PARSER
// picks one per fuzz target: dpkg status, apt-get -s output, sudoers,
// authorized_keys (with passwd and group alongside, which share its code),
// nft's JSON ruleset, iptables-save, sshd -T with PAM service files,
// systemctl show, restic's and borg's listings with env files, and the
// /proc and /sys files of disk encryption and MAC (mountinfo, swaps,
// dm uuids, AppArmor's profile list). Replay builds compile one binary with
// ATTEST_FUZZ_PARSER 0, which runs every parser on every input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agents/linux/collectors/access_parse.h"
#include "agents/linux/collectors/backup.h"
#include "agents/linux/collectors/disk_encryption.h"
#include "agents/linux/collectors/firewall.h"
#include "agents/linux/collectors/mac.h"
#include "agents/linux/collectors/patch_parse.h"
#include "agents/linux/collectors/services.h"
#include "agents/linux/collectors/sshd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace attest::agent;  // NOLINT: fuzz harness
#if ATTEST_FUZZ_PARSER == 1 || ATTEST_FUZZ_PARSER == 0
  if (auto packages = ParseDpkgStatus(text); packages.ok()) {
    for (const DpkgPackage& p : *packages) {
      if (p.name.empty()) __builtin_trap();  // a stanza without Package is refused
    }
  }
  (void)ParseOsRelease(text);
#endif
#if ATTEST_FUZZ_PARSER == 2 || ATTEST_FUZZ_PARSER == 0
  for (const auto& u : ParseAptSimulate(text)) {
    if (u.package().empty()) __builtin_trap();
    (void)CompareDebianVersions(u.installed_version(), u.candidate_version());
  }
#endif
#if ATTEST_FUZZ_PARSER == 3 || ATTEST_FUZZ_PARSER == 0
  for (const auto& rule : NormalizeSudoers(text)) {
    if (rule.empty()) __builtin_trap();  // blank lines are dropped
    // An include always resolves to an absolute path.
    if (auto include = ParseSudoersInclude(rule, "/etc/sudoers", "host")) {
      if (include->path.empty() || include->path[0] != '/') __builtin_trap();
    }
  }
#endif
#if ATTEST_FUZZ_PARSER == 4 || ATTEST_FUZZ_PARSER == 0
  (void)ParseAuthorizedKeys(text, "fuzz");
  (void)ParsePasswd(text);
  (void)ParseGroup(text);
#endif
#if ATTEST_FUZZ_PARSER == 5 || ATTEST_FUZZ_PARSER == 0
  if (auto s = ParseNftRuleset(text); s.ok()) {
    // Base chains are bounded; every one counted its rules in the total.
    if (s->chains_size() > 256) __builtin_trap();
    uint64_t in_chains = 0;
    for (const auto& c : s->chains()) in_chains += c.rules();
    if (in_chains > s->rules() || s->ruleset_sha256().size() != 71) __builtin_trap();
  }
#endif
#if ATTEST_FUZZ_PARSER == 6 || ATTEST_FUZZ_PARSER == 0
  // Either half may be the IPv6 one.
  const size_t half = text.size() / 2;
  if (auto s = ParseIptablesSave(text.substr(0, half), text.substr(half)); s.ok()) {
    for (const auto& c : s->chains()) {
      if (c.family() != "ip" && c.family() != "ip6") __builtin_trap();
    }
  }
#endif
#if ATTEST_FUZZ_PARSER == 7 || ATTEST_FUZZ_PARSER == 0
  if (auto settings = ParseSshdT(text); settings.ok()) {
    for (size_t i = 1; i < settings->size(); ++i) {
      if (!((*settings)[i - 1].key() < (*settings)[i].key())) __builtin_trap();  // sorted, distinct
    }
  }
  for (const PamAuthLine& line : ParsePamAuth(text)) {
    if (line.module.empty() == line.include.empty()) __builtin_trap();  // exactly one
  }
#endif
#if ATTEST_FUZZ_PARSER == 8 || ATTEST_FUZZ_PARSER == 0
  const std::vector<std::string> units = {"a.service", "b.service"};
  if (auto s = ParseSystemctlShow(text, units); s.ok() && s->units_size() != 2) __builtin_trap();
#endif
#if ATTEST_FUZZ_PARSER == 9 || ATTEST_FUZZ_PARSER == 0
  (void)ParseResticSnapshots(text);
  (void)ParseBorgList(text, absl::UTCTimeZone());
  if (auto env = ParseEnvFile(text); env.ok()) {
    for (const std::string& e : *env) {
      if (e.empty() || e[0] == '=' || e.find('=') == std::string::npos) __builtin_trap();
    }
  }
#endif
#if ATTEST_FUZZ_PARSER == 10 || ATTEST_FUZZ_PARSER == 0
  if (auto mounts = ParseMountinfo(text); mounts.ok()) {
    for (const MountEntry& m : *mounts) {
      if (m.mount_point.empty() || m.mount_point[0] != '/') __builtin_trap();
    }
    uint32_t omitted = 0, block_omitted = 0;
    if (ReportedMounts(*mounts, &omitted, &block_omitted).size() > kMaxReportedMounts ||
        block_omitted > omitted) {
      __builtin_trap();
    }
  }
  (void)ParseSwaps(text);
  if (const DmKind k = ClassifyDmUuid(text); k.kind == "crypt" && k.crypt_type.empty()) {
    __builtin_trap();
  }
  if (auto profiles = ParseAppArmorProfiles(text); profiles.ok()) {
    // Every profile is counted once, in one mode.
    const attest::v1::MacState m = MacFrom("capability,apparmor", *profiles, "", "");
    if (m.apparmor_enforce() + m.apparmor_complain() + m.apparmor_other() != profiles->size() ||
        m.apparmor_not_enforcing_size() > static_cast<int>(kMaxNotEnforcingNames)) {
      __builtin_trap();
    }
  }
  (void)MacFrom(text, {}, text, text);
#endif
#if ATTEST_FUZZ_PARSER < 0 || ATTEST_FUZZ_PARSER > 10
#error "ATTEST_FUZZ_PARSER must be 0 (all, for replay) or 1-10"
#endif
  return 0;
}
