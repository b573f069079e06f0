#include "daemon/engine/policy.h"

#include <set>
#include <tuple>

#include "common/time_util.h"
#include "daemon/engine/default_policy.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

// The example policy from the engine issue, verbatim.
constexpr char kExample[] = R"(controls:
  - id: patch-sla
    title: Security updates installed within SLA
    tsc: [CC7.1, CC8.1]
    rule: patch.security_sla
    params: {security_max_age: 14d, reboot_grace: 3d}
    freshness: 2h
    grace: 0s
  - id: log-shipping
    tsc: [CC7.2]
    rule: logs.shipping_continuity
    params: {max_gap: 15m}
    freshness: 30m
  - id: access-approved
    tsc: [CC6.2, CC6.3]
    rule: access.change_approved
    params: {approval_window: 24h}
  - id: agent-reporting
    tsc: [CC7.1]
    rule: agent.reporting
    freshness: 15m
windows:
  - id: fy2026-h1
    start: 2026-01-01T00:00:00Z
    end: 2026-07-01T00:00:00Z
    scope: {env: prod}
    thresholds: {effectiveness: 0.99, coverage: 0.95, max_deviation: 72h}
)";

TEST(PolicyTest, TheExamplePolicyLoadsWithEveryValue) {
  auto p = ParsePolicy(kExample, "policy.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->controls.size(), 4u);
  const Control& sla = p->controls[0];
  EXPECT_EQ(sla.rule, Rule::kPatchSecuritySla);
  EXPECT_EQ(sla.tsc, (std::vector<std::string>{"CC7.1", "CC8.1"}));
  EXPECT_EQ(sla.security_max_age, absl::Hours(14 * 24));
  EXPECT_EQ(sla.reboot_grace, absl::Hours(72));
  EXPECT_EQ(sla.freshness, absl::Hours(2));
  EXPECT_EQ(p->controls[1].max_gap, absl::Minutes(15));
  EXPECT_EQ(p->controls[2].approval_window, absl::Hours(24));
  EXPECT_EQ(p->controls[2].freshness, absl::InfiniteDuration());
  ASSERT_EQ(p->windows.size(), 1u);
  const Window& w = p->windows[0];
  EXPECT_EQ(FormatRfc3339(w.start), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(w.end), "2026-07-01T00:00:00Z");
  EXPECT_EQ(w.scope.at("env"), "prod");
  EXPECT_DOUBLE_EQ(w.thresholds.effectiveness, 0.99);
  EXPECT_DOUBLE_EQ(w.thresholds.coverage, 0.95);
  EXPECT_EQ(w.thresholds.max_deviation, absl::Hours(72));
  EXPECT_EQ(p->version.rfind("sha256:", 0), 0u);
  EXPECT_EQ(p->version.size(), 7u + 16u);
}

TEST(PolicyTest, TheVersionFollowsTheBytes) {
  auto a = ParsePolicy(kExample, "a.yaml");
  auto b = ParsePolicy(kExample, "b.yaml");
  auto c = ParsePolicy(std::string(kExample) + "# reviewed\n", "c.yaml");
  EXPECT_EQ(a->version, b->version);
  EXPECT_NE(a->version, c->version);
}

// Replaces `from` with `to` in the example and returns the load error.
std::string ErrorOf(const std::string& from, const std::string& to) {
  std::string text = kExample;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  auto p = ParsePolicy(text, "policy.yaml");
  EXPECT_FALSE(p.ok()) << to;
  return p.ok() ? "" : std::string(p.status().message());
}

TEST(PolicyTest, EveryMistakeIsRefusedWithFileLineAndReason) {
  EXPECT_EQ(ErrorOf("rule: patch.security_sla", "rule: patch.sla"),
            "policy.yaml:5: rule: unknown rule \"patch.sla\" (known: patch.security_sla, "
            "logs.shipping_continuity, access.change_approved, agent.reporting, check.pass, "
            "host.time_synced, host.firewall_enabled, host.services_running, host.sshd_policy, "
            "host.backup_fresh, host.disk_encrypted, host.mac_enforcing, "
            "access.review_performed)");
  EXPECT_EQ(ErrorOf("{max_gap: 15m}", "{max_gap: 15 minutes}"),
            "policy.yaml:12: controls[1].params.max_gap: bad duration \"15 minutes\": want e.g. "
            "15m, 2h, 14d");
  EXPECT_EQ(ErrorOf("{max_gap: 15m}", "{maxgap: 15m}"),
            "policy.yaml:12: controls[1].params: unknown key \"maxgap\"");
  EXPECT_EQ(ErrorOf("params: {approval_window: 24h}", "title: no params"),
            "policy.yaml:14: controls[2].params.approval_window: required by rule "
            "access.change_approved");
  EXPECT_EQ(ErrorOf("id: log-shipping", "id: patch-sla"),
            "policy.yaml:9: controls[1].id: \"patch-sla\" is used twice");
  EXPECT_EQ(ErrorOf("    freshness: 15m\n", ""),
            "policy.yaml:18: controls[3].freshness: required by rule agent.reporting (how old "
            "evidence may be before it counts as none)");
  EXPECT_EQ(
      ErrorOf("coverage: 0.95", "coverage: 95"),
      "policy.yaml:27: windows[0].thresholds.coverage: want a number from 0 to 1, got \"95\"");
  EXPECT_EQ(ErrorOf("end: 2026-07-01T00:00:00Z", "end: 2025-07-01T00:00:00Z"),
            "policy.yaml:25: windows[0].end: must be after start");
  EXPECT_EQ(ErrorOf("tsc: [CC7.2]", "tsc: []"),
            "policy.yaml:10: controls[1].tsc: a non-empty list, e.g. [CC7.1]");
  EXPECT_EQ(ErrorOf("    grace: 0s", "    graze: 0s"),
            "policy.yaml:8: controls[0]: unknown key \"graze\"");
  EXPECT_NE(ErrorOf("start: 2026-01-01T00:00:00Z", "start: January").find("policy.yaml:24:"),
            std::string::npos);
  EXPECT_NE(ErrorOf("controls:\n", "controls: [\n").find("policy.yaml:"), std::string::npos);
  // NaN is not a fraction (every comparison with it is false, so it would
  // pass every threshold check).
  EXPECT_EQ(
      ErrorOf("coverage: 0.95", "coverage: nan"),
      "policy.yaml:27: windows[0].thresholds.coverage: want a number from 0 to 1, got \"nan\"");
  // yaml-cpp's conversions throw; they come back as refusals with a line.
  EXPECT_NE(ErrorOf("    grace: 0s", "    [a, b]: 0s").find("policy.yaml:8:"), std::string::npos);
  EXPECT_NE(ErrorOf("tsc: [CC7.2]", "tsc: [{a: b}]").find("policy.yaml:"), std::string::npos);
}

// Each of the catalogue's policy mistakes, as the part of the message that
// names the field and the line it is on.
TEST(PolicyTest, EveryKeyMistakeNamesItsFieldAndLine) {
  struct Case {
    std::string from, to, message;
  };
  const std::vector<Case> cases = {
      {"controls:\n", "owner: secops\ncontrols:\n", "policy.yaml:1: policy: unknown key \"owner\""},
      {"  - id: log-shipping\n", "  - title: no id\n", "policy.yaml:9: controls[1].id: required"},
      {"id: log-shipping", "id: log shipping",
       "policy.yaml:9: controls[1].id: \"log shipping\" must be 1-64 of [A-Za-z0-9._-]"},
      {"    rule: logs.shipping_continuity\n", "", "controls[1].rule: required"},
      {"freshness: 30m", "freshness: 0s", "policy.yaml:13: controls[1].freshness: must be > 0"},
      {"freshness: 30m", "freshness: [30m]",
       "policy.yaml:13: controls[1].freshness: must be a single value"},
      {"rule: logs.shipping_continuity", "rule: {a: b}",
       "policy.yaml:11: rule: must be a single value"},
      {"  - id: fy2026-h1\n    start:", "  - start:", "policy.yaml:23: windows[0].id: required"},
      {"  - id: fy2026-h1\n", "  - id: fy 2026\n",
       "policy.yaml:23: windows[0].id: \"fy 2026\" is not a valid id"},
      {"    start: 2026-01-01T00:00:00Z\n", "", "windows[0].start: required"},
      {"    end: 2026-07-01T00:00:00Z\n", "", "windows[0].end: required"},
      {"scope: {env: prod}", "scope: prod",
       "policy.yaml:26: windows[0].scope: a mapping of labels"},
      {"scope: {env: prod}", "scoop: {env: prod}",
       "policy.yaml:26: windows[0]: unknown key \"scoop\""},
      {"max_deviation: 72h}", "max_deviation: 72h, slack: 1}",
       "policy.yaml:27: windows[0].thresholds: unknown key \"slack\""},
      {"thresholds: {effectiveness: 0.99, coverage: 0.95, max_deviation: 72h}\n",
       "thresholds: {effectiveness: 0.99, coverage: 0.95, max_deviation: 72h}\n"
       "  - id: fy2026-h1\n    start: 2026-01-01T00:00:00Z\n    end: 2026-02-01T00:00:00Z\n",
       "policy.yaml:28: windows[1].id: \"fy2026-h1\" is used twice"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.from, c.to);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.to << "\n  got: " << error;
  }
}

TEST(PolicyTest, CheckPassNeedsTheCheckName) {
  auto p = ParsePolicy(
      "controls:\n  - id: backups\n    tsc: [A1.2]\n    rule: check.pass\n"
      "    params: {check: backup-fresh}\n    freshness: 1h\n",
      "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->controls[0].check, "backup-fresh");
  EXPECT_TRUE(p->windows.empty());
  EXPECT_FALSE(ParsePolicy("controls:\n  - id: b\n    tsc: [A1.2]\n    rule: check.pass\n"
                           "    freshness: 1h\n",
                           "p.yaml")
                   .ok());
  EXPECT_FALSE(ParsePolicy("controls: []\n", "p.yaml").ok());
  EXPECT_FALSE(ParsePolicy("just text", "p.yaml").ok());
}

TEST(PolicyTest, HostRuleParametersAreCheckedAtLoad) {
  const std::string base =
      "controls:\n  - id: c\n    tsc: [CC6.6]\n    rule: RULE\n    params: PARAMS\n    freshness: "
      "30m\n";
  auto load = [&](std::string rule, std::string params) {
    std::string text = base;
    text.replace(text.find("RULE"), 4, rule);
    text.replace(text.find("PARAMS"), 6, params);
    return ParsePolicy(text, "p.yaml");
  };
  auto ok = load("host.time_synced", "{max_estimated_error: 250ms, require_daemon: false}");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->controls[0].max_estimated_error, absl::Milliseconds(250));
  EXPECT_FALSE(ok->controls[0].require_daemon);
  auto services =
      load("host.services_running", "{required: {edr: [falcon-sensor, clamav-daemon.service]}}");
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_EQ(services->controls[0].required_services.at("edr"),
            (std::vector<std::string>{"falcon-sensor.service", "clamav-daemon.service"}));
  auto sshd =
      load("host.sshd_policy", "{permit_root_login: [without-password], require_mfa: true}");
  ASSERT_TRUE(sshd.ok()) << sshd.status();
  EXPECT_EQ(sshd->controls[0].permit_root_login, (std::vector<std::string>{"prohibit-password"}));
  EXPECT_TRUE(sshd->controls[0].require_mfa);
  auto backup = load("host.backup_fresh", "{max_age: 26h, backup: nightly}");
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->controls[0].backup_max_age, absl::Hours(26));
  EXPECT_EQ(backup->controls[0].backup, "nightly");
  auto pinned = load("host.firewall_enabled",
                     "{families: [ipv4], rulesets: [sha256:" + std::string(64, 'a') + "]}");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(pinned->controls[0].families, (std::vector<std::string>{"ipv4"}));
  auto disk = load("host.disk_encrypted",
                   "{mounts: [/, /var/lib/postgresql], swap: false, "
                   "exempt_mounts: [/boot], exempt_fstypes: [tmpfs, squashfs], "
                   "exempt_read_only: true}");
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_EQ(disk->controls[0].encrypted_mounts,
            (std::vector<std::string>{"/", "/var/lib/postgresql"}));
  EXPECT_FALSE(disk->controls[0].encrypted_swap);
  EXPECT_EQ(disk->controls[0].exempt_mounts, (std::vector<std::string>{"/boot"}));
  EXPECT_EQ(disk->controls[0].exempt_fstypes, (std::vector<std::string>{"tmpfs", "squashfs"}));
  EXPECT_TRUE(disk->controls[0].exempt_read_only);
  auto disk_defaults = load("host.disk_encrypted", "{}");
  ASSERT_TRUE(disk_defaults.ok()) << disk_defaults.status();
  EXPECT_EQ(disk_defaults->controls[0].encrypted_mounts,
            (std::vector<std::string>{"/", "/var", "/home", "/srv"}));
  EXPECT_TRUE(disk_defaults->controls[0].encrypted_swap);
  auto mac = load("host.mac_enforcing",
                  "{require: selinux, min_enforced_profiles: 0, allow_complain: false}");
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(mac->controls[0].mac, "selinux");
  EXPECT_EQ(mac->controls[0].min_enforced_profiles, 0);
  EXPECT_FALSE(mac->controls[0].allow_complain);
  auto review =
      load("access.review_performed",
           "{cadence: 90d, due_grace: 7d, revoke_within: 3d, privileged_groups: [wheel]}");
  ASSERT_TRUE(review.ok()) << review.status();
  EXPECT_EQ(review->controls[0].review_cadence, absl::Hours(90 * 24));
  EXPECT_EQ(review->controls[0].due_grace, absl::Hours(7 * 24));
  EXPECT_EQ(review->controls[0].revoke_within, absl::Hours(3 * 24));
  EXPECT_EQ(review->controls[0].privileged_groups, (std::vector<std::string>{"wheel"}));

  for (const auto& [rule, params, why] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"host.time_synced", "{require_daemon: maybe}", "want true or false"},
           {"host.time_synced", "{max_estimated_error: 0s}", "must be > 0"},
           {"host.firewall_enabled", "{families: [ipv5]}", "is not ipv4 or ipv6"},
           {"host.firewall_enabled", "{families: []}", "a list of 1 to 64 values"},
           {"host.firewall_enabled", "{rulesets: [sha256:XY]}", "is not sha256:<64 lowercase hex>"},
           {"host.services_running", "{}",
            "params.required: required by rule host.services_running"},
           {"host.services_running", "{required: {edr: [a/b]}}", "is not a unit name"},
           {"host.services_running", "{required: {'bad label': [x]}}", "must be 1-64 of"},
           {"host.sshd_policy", "{permit_root_login: [maybe]}",
            "is not yes, no, prohibit-password"},
           {"host.sshd_policy", "{max_gap: 1h}", "unknown key \"max_gap\""},
           {"host.backup_fresh", "{backup: nightly}",
            "params.max_age: required by rule host.backup_fresh"},
           {"host.backup_fresh", "{max_age: 0h}", "must be > 0"},
           {"host.disk_encrypted", "{mounts: [var]}", "is not an absolute path"},
           {"host.disk_encrypted", "{mounts: [/srv/]}", "without a trailing /"},
           {"host.disk_encrypted", "{exempt_mounts: [/a/../b]}", "is not an absolute path"},
           {"host.disk_encrypted", "{swap: sometimes}", "want true or false"},
           {"host.disk_encrypted", "{all_block_mounts: true}", "unknown key \"all_block_mounts\""},
           {"host.disk_encrypted", "{mounts: []}", "a list of 1 to 64 values"},
           {"host.disk_encrypted", "{require: any}", "unknown key \"require\""},
           {"host.mac_enforcing", "{require: smack}", "is not any, apparmor or selinux"},
           {"access.review_performed", "{revoke_within: 7d}",
            "params.cadence: required by rule access.review_performed"},
           {"access.review_performed", "{cadence: 90d}",
            "params.revoke_within: required by rule access.review_performed"},
           {"access.review_performed", "{cadence: 0s, revoke_within: 7d}", "must be > 0"},
           {"access.review_performed", "{cadence: 90d, revoke_within: 7d, privileged_groups: []}",
            "a list of 1 to 64 values"},
           {"host.mac_enforcing", "{min_enforced_profiles: -1}", "want a whole number"},
           {"host.mac_enforcing", "{mounts: [/]}", "unknown key \"mounts\""},
       }) {
    auto p = load(rule, params);
    ASSERT_FALSE(p.ok()) << rule << " " << params;
    EXPECT_NE(p.status().message().find(why), std::string::npos) << p.status();
  }
}

TEST(PolicyTest, TheBuiltInPolicyLoadsWithAControlPerRuleTheAgentFeeds) {
  auto p = ParsePolicy(kDefaultPolicy, kDefaultPolicyName);
  ASSERT_TRUE(p.ok()) << p.status();
  std::set<Rule> rules;
  for (const Control& c : p->controls) {
    rules.insert(c.rule);
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.tsc.empty()) << c.id;
  }
  // check.pass needs a check's name, which only the operator knows.
  EXPECT_EQ(rules,
            (std::set<Rule>{
                Rule::kPatchSecuritySla, Rule::kLogsShippingContinuity, Rule::kAccessChangeApproved,
                Rule::kAgentReporting, Rule::kHostTimeSynced, Rule::kHostFirewallEnabled,
                Rule::kHostServicesRunning, Rule::kHostSshdPolicy, Rule::kHostBackupFresh,
                Rule::kHostDiskEncrypted, Rule::kHostMacEnforcing, Rule::kAccessReviewPerformed}));
  EXPECT_TRUE(p->windows.empty()) << "windows are per audit";
}

}  // namespace
}  // namespace attest::engine
