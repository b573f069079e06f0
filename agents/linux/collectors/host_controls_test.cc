// The server-control collectors (time_sync, firewall, services, sshd), on
// fixtures recorded from real tools (tests/fixtures/host/README.md).
#include <sys/timex.h>

#include "agents/linux/collectors/backup.h"
#include "agents/linux/collectors/firewall.h"
#include "agents/linux/collectors/root_fs.h"
#include "agents/linux/collectors/services.h"
#include "agents/linux/collectors/sshd.h"
#include "agents/linux/collectors/test_support.h"
#include "agents/linux/collectors/time_sync.h"
#include "common/time_util.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795400000);

// --- time_sync

TEST(TimeSyncTest, ProcessNamesNameTheDaemonsIncludingTruncatedComm) {
  EXPECT_EQ(TimeSyncDaemons({"systemd\n", "chronyd\n", "sshd\n", "chronyd\n"}),
            (std::vector<std::string>{"chronyd"}));
  // comm is cut to 15 characters.
  EXPECT_EQ(TimeSyncDaemons({"systemd-timesyn\n"}),
            (std::vector<std::string>{"systemd-timesyncd"}));
  EXPECT_EQ(TimeSyncDaemons({"ptp4l", "phc2sys", "ntpd"}),
            (std::vector<std::string>{"ntpd", "phc2sys", "ptp4l"}));
  EXPECT_TRUE(TimeSyncDaemons({"chrony", "ntpdate", "bash"}).empty());
}

TEST(TimeSyncTest, KernelStatesRecordedWithChronyMapToTheSignal) {
  // adjtimex on this machine (tests/fixtures/host/README.md): before chrony,
  // with chronyd synchronised to a local server (rtcsync), and after it
  // stopped (the kernel keeps STA_UNSYNC clear; the error bound grows).
  const KernelClock before{TIME_ERROR, STA_UNSYNC, 16000000, 16000000, 0};
  const KernelClock synced{TIME_OK, 0, 4, 0, 0};
  const KernelClock stopped{TIME_OK, 0, 1004, 0, 0};
  v1::TimeSyncState s = TimeSyncFrom(before, {});
  EXPECT_FALSE(s.synchronized());
  EXPECT_EQ(s.status(), static_cast<uint32_t>(STA_UNSYNC));
  EXPECT_EQ(s.est_error_us(), 16000000);
  s = TimeSyncFrom(synced, {"chronyd"});
  EXPECT_TRUE(s.synchronized());
  EXPECT_EQ(s.max_error_us(), 4);
  EXPECT_EQ(s.daemons(0), "chronyd");
  s = TimeSyncFrom(stopped, {});
  EXPECT_TRUE(s.synchronized());
  EXPECT_EQ(s.daemons_size(), 0);
  // TIME_ERROR alone (e.g. a PPS fault) is not synchronised either.
  EXPECT_FALSE(TimeSyncFrom({TIME_ERROR, 0, 0, 0, 0}, {}).synchronized());
  // Offsets are µs unless STA_NANO says ns.
  EXPECT_EQ(TimeSyncFrom({TIME_OK, 0, 0, 0, 7}, {}).offset_ns(), 7000);
  EXPECT_EQ(TimeSyncFrom({TIME_OK, STA_NANO, 0, 0, 7}, {}).offset_ns(), 7);
}

TEST(TimeSyncTest, CollectsFromAProcTreeAndTheRealKernel) {
  TempTree tree("time_sync_proc");
  tree.Write("proc/1/comm", "systemd\n");
  tree.Write("proc/412/comm", "chronyd\n");
  tree.Write("proc/self/comm", "chronyd\n");      // not a pid: skipped
  tree.Write("proc/977/status", "Name: gone\n");  // exited before its comm was read
  RootFs root(tree.path());
  ReplayRunner commands;
  TimeSyncCollector collector;
  auto signals = collector.Collect({root, commands, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 1u);
  EXPECT_EQ((*signals)[0].time_sync().daemons_size(), 1);
  EXPECT_EQ((*signals)[0].time_sync().daemons(0), "chronyd");
  // Without the host's /proc the daemons are unknown: an error, not "none".
  RootFs empty(tree / "nowhere");
  auto error = collector.Collect({empty, commands, kNow});
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("host's /proc"), std::string::npos) << error.status();
}

// --- firewall

TEST(FirewallTest, DebianDefaultRulesetAcceptsEverything) {
  auto s = ParseNftRuleset(ReadFixture("host/firewall/nft-debian-default.json"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source(), v1::FIREWALL_SOURCE_NFTABLES);
  ASSERT_EQ(s->chains_size(), 3);
  EXPECT_EQ(s->chains(0).family(), "inet");
  EXPECT_EQ(s->chains(0).hook(), "input");
  EXPECT_EQ(s->chains(0).policy(), "accept");
  EXPECT_FALSE(s->chains(0).ends_in_drop());
  EXPECT_EQ(s->rules(), 0u);
}

TEST(FirewallTest, HardenedInetRulesetDropsInputByPolicy) {
  auto s = ParseNftRuleset(ReadFixture("host/firewall/nft-inet-drop.json"));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->chains_size(), 3);
  EXPECT_EQ(s->chains(0).name(), "input");
  EXPECT_EQ(s->chains(0).policy(), "drop");
  EXPECT_EQ(s->chains(0).rules(), 6u);
  // Its last rule only counts: not a drop.
  EXPECT_FALSE(s->chains(0).ends_in_drop());
  EXPECT_EQ(s->chains(1).hook(), "forward");
  EXPECT_EQ(s->chains(1).policy(), "drop");
  EXPECT_EQ(s->rules(), 6u);
  EXPECT_EQ(s->ruleset_sha256().substr(0, 7), "sha256:");
  EXPECT_EQ(s->ruleset_sha256().size(), 7u + 64);
}

TEST(FirewallTest, FinalDropAndRejectRulesUnderAnAcceptPolicy) {
  auto s = ParseNftRuleset(ReadFixture("host/firewall/nft-final-drop-rules.json"));
  ASSERT_TRUE(s.ok()) << s.status();
  // Base chains only: ip filter4 input and ip6 filter6 input ("allowed" is
  // a regular chain, its rule counted in the total).
  ASSERT_EQ(s->chains_size(), 2);
  EXPECT_EQ(s->chains(0).family(), "ip");
  EXPECT_EQ(s->chains(0).policy(), "accept");
  EXPECT_TRUE(s->chains(0).ends_in_drop());
  EXPECT_EQ(s->chains(1).family(), "ip6");
  EXPECT_TRUE(s->chains(1).ends_in_drop());  // reject with icmpv6
  EXPECT_EQ(s->rules(), 7u);
}

TEST(FirewallTest, TheFingerprintIgnoresHandlesCountersAndComments) {
  const std::string text = ReadFixture("host/firewall/nft-inet-drop.json");
  auto a = ParseNftRuleset(text);
  std::string reloaded = text;
  // The same rules loaded again: other handles, counted packets.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"handle\": 4", "\"handle\": 40"},
           {"\"packets\": 0", "\"packets\": 1234"},
           {"\"comment\": \"ssh\"", "\"comment\": \"sshd\""}}) {
    const size_t at = reloaded.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    reloaded.replace(at, from.size(), to);
  }
  auto b = ParseNftRuleset(reloaded);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ruleset_sha256(), b->ruleset_sha256());
  auto other = ParseNftRuleset(ReadFixture("host/firewall/nft-debian-default.json"));
  EXPECT_NE(a->ruleset_sha256(), other->ruleset_sha256());
}

TEST(FirewallTest, IptablesNftShowsAsAnIpv4Table) {
  auto s = ParseNftRuleset(ReadFixture("host/firewall/nft-iptables-nft-ipv4-only.json"));
  ASSERT_TRUE(s.ok()) << s.status();
  bool input_drop = false;
  for (const auto& c : s->chains()) {
    EXPECT_EQ(c.family(), "ip");
    if (c.hook() == "input" && c.policy() == "drop") input_drop = true;
  }
  EXPECT_TRUE(input_drop);
  EXPECT_TRUE(ParseNftRuleset(ReadFixture("host/firewall/nft-empty.json"))->chains().empty());
}

TEST(FirewallTest, IptablesSaveFallback) {
  auto s = ParseIptablesSave(ReadFixture("host/firewall/iptables-save-ipv4-drop.txt"),
                             ReadFixture("host/firewall/ip6tables-save-final-reject.txt"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source(), v1::FIREWALL_SOURCE_IPTABLES);
  ASSERT_EQ(s->chains_size(), 6);
  EXPECT_EQ(s->chains(0).family(), "ip");
  EXPECT_EQ(s->chains(0).hook(), "input");
  EXPECT_EQ(s->chains(0).policy(), "drop");
  EXPECT_EQ(s->chains(0).rules(), 3u);
  EXPECT_FALSE(s->chains(0).ends_in_drop());
  EXPECT_EQ(s->chains(3).family(), "ip6");
  EXPECT_EQ(s->chains(3).policy(), "accept");
  EXPECT_TRUE(s->chains(3).ends_in_drop());  // -j REJECT --reject-with ...
  EXPECT_EQ(s->rules(), 5u);
  auto empty = ParseIptablesSave(ReadFixture("host/firewall/iptables-save-ipv4-drop.txt"),
                                 ReadFixture("host/firewall/ip6tables-save-empty.txt"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->chains_size(), 3);
  // Counters do not change the fingerprint.
  std::string counted = ReadFixture("host/firewall/iptables-save-ipv4-drop.txt");
  counted.replace(counted.find("[0:0]"), 5, "[12:3456]");
  EXPECT_EQ(ParseIptablesSave(counted, "")->ruleset_sha256(),
            ParseIptablesSave(ReadFixture("host/firewall/iptables-save-ipv4-drop.txt"), "")
                ->ruleset_sha256());
  EXPECT_FALSE(ParseIptablesSave("-A INPUT -j DROP\n", "").ok());  // outside a table
  EXPECT_FALSE(ParseIptablesSave("*filter\nbogus\n", "").ok());
}

TEST(FirewallTest, ADormantTableFiltersNothing) {
  // `table inet t { flags dormant; chain input { ... policy drop; } }`
  auto s = ParseNftRuleset(
      R"({"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1, "flags": "dormant"}},
         {"chain": {"family": "inet", "table": "t", "name": "input", "handle": 1, "type": "filter",
                    "hook": "input", "prio": 0, "policy": "drop"}}]})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->chains_size(), 0);
}

TEST(FirewallTest, NotNftJsonIsRefused) {
  EXPECT_FALSE(ParseNftRuleset("").ok());
  EXPECT_FALSE(ParseNftRuleset("{\"tables\": []}").ok());
  EXPECT_FALSE(ParseNftRuleset("{\"nftables\": [1]}").ok());
  EXPECT_FALSE(ParseNftRuleset("{\"nftables\": [{\"chain\": {\"name\": \"x\"}}]}").ok());
}

TEST(FirewallTest, CollectorFallsBackToIptablesAndNamesTheCapability) {
  TempTree tree("firewall_root");
  RootFs root(tree.path());
  ReplayRunner nft;
  nft.Add({"nft", "-j", "list", "ruleset"},
          {0, ReadFixture("host/firewall/nft-inet-drop.json"), ""});
  auto signals = FirewallCollector().Collect({root, nft, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].firewall().source(), v1::FIREWALL_SOURCE_NFTABLES);

  ReplayRunner legacy;  // no nft: iptables-save and ip6tables-save
  legacy.Add({"iptables-save"}, {0, ReadFixture("host/firewall/iptables-save-ipv4-drop.txt"), ""});
  legacy.Add({"ip6tables-save"}, {0, "", ""});
  signals = FirewallCollector().Collect({root, legacy, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].firewall().source(), v1::FIREWALL_SOURCE_IPTABLES);

  ReplayRunner denied;
  denied.Add({"nft", "-j", "list", "ruleset"},
             {1, "", "netlink: Error: cache initialization failed: Operation not permitted\n"});
  auto error = FirewallCollector().Collect({root, denied, kNow});
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(error.status().message().find("CAP_NET_ADMIN"), std::string::npos);

  ReplayRunner none;
  error = FirewallCollector().Collect({root, none, kNow});
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kNotFound);
}

// --- services

TEST(ServicesTest, UnitNames) {
  EXPECT_EQ(*NormalizeUnitName("auditd"), "auditd.service");
  EXPECT_EQ(*NormalizeUnitName("falcon-sensor.service"), "falcon-sensor.service");
  EXPECT_EQ(*NormalizeUnitName("sshd.socket"), "sshd.socket");
  EXPECT_FALSE(NormalizeUnitName("").ok());
  EXPECT_FALSE(NormalizeUnitName("a b").ok());
  EXPECT_FALSE(NormalizeUnitName("../x").ok());
  EXPECT_FALSE(NormalizeUnitName(std::string(300, 'a')).ok());
  EXPECT_FALSE(NormalizeUnitName(std::string(250, 'a')).ok());  // 258 bytes with ".service"
  EXPECT_TRUE(NormalizeUnitName(std::string(247, 'a')).ok());
}

TEST(ServicesTest, RecordedSystemdStatesIncludingAFailedAndAMissingUnit) {
  const std::vector<std::string> units = {"ssh.service", "chrony.service", "broken-edr.service",
                                          "falcon-sensor.service", "cron.service"};
  auto s = ParseSystemctlShow(ReadFixture("host/services/systemctl-show-mixed.txt"), units);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->units_size(), 5);
  EXPECT_EQ(s->units(1).active_state(), "active");
  EXPECT_EQ(s->units(2).active_state(), "failed");
  EXPECT_EQ(s->units(3).load_state(), "not-found");
  EXPECT_EQ(s->units(3).active_state(), "inactive");
  auto after =
      ParseSystemctlShow(ReadFixture("host/services/systemctl-show-after-stop.txt"), units);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->units(1).active_state(), "inactive");
  EXPECT_EQ(after->units(1).sub_state(), "dead");
  // An alias prints the real unit's Id; the state is reported as asked.
  auto alias =
      ParseSystemctlShow(ReadFixture("host/services/systemctl-show-alias.txt"), {"sshd.service"});
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->units(0).unit(), "sshd.service");
  EXPECT_EQ(alias->units(0).active_state(), "active");
}

TEST(ServicesTest, SystemctlShowBlocksInTheOrderAsked) {
  const std::vector<std::string> units = {"ssh.service", "falcon-sensor.service"};
  auto s = ParseSystemctlShow(
      "Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\n"
      "Id=falcon-sensor.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n",
      units);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->units_size(), 2);
  EXPECT_EQ(s->units(0).active_state(), "active");
  EXPECT_EQ(s->units(1).load_state(), "not-found");
  EXPECT_FALSE(ParseSystemctlShow("Id=ssh.service\nActiveState=active\n", units).ok());
  EXPECT_FALSE(ParseSystemctlShow("garbage\n", {"x.service"}).ok());
}

TEST(ServicesTest, CollectorReportsSystemctlsFailure) {
  TempTree tree("services_root");
  RootFs root(tree.path());
  ReplayRunner commands;
  commands.Add(
      {"systemctl", "show", "--property=Id,LoadState,ActiveState,SubState", "--", "auditd.service"},
      {1, "", "System has not been booted with systemd as init system (PID 1). Can't operate.\n"});
  auto error = ServicesCollector({"auditd.service"}).Collect({root, commands, kNow});
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("not been booted with systemd"), std::string::npos);
}

// --- sshd

std::string Setting(const std::vector<v1::SshdSetting>& settings, const std::string& key) {
  for (const auto& s : settings) {
    if (s.key() == key) return s.value();
  }
  return "<absent>";
}

TEST(SshdTest, DebianDefaultsFromSshdT) {
  auto s = ParseSshdT(ReadFixture("host/sshd/sshd-T-debian12-default.txt"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Setting(*s, "passwordauthentication"), "yes");
  EXPECT_EQ(Setting(*s, "permitrootlogin"), "without-password");
  EXPECT_EQ(Setting(*s, "permitemptypasswords"), "no");
  EXPECT_EQ(Setting(*s, "authenticationmethods"), "any");
  EXPECT_EQ(Setting(*s, "port"), "<absent>");  // not kept
  for (size_t i = 1; i < s->size(); ++i) EXPECT_LT((*s)[i - 1].key(), (*s)[i].key());
}

TEST(SshdTest, IncludeAndMatchAreAlreadyAppliedBySshdT) {
  auto s = ParseSshdT(ReadFixture("host/sshd/sshd-T-hardened-mfa.txt"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Setting(*s, "passwordauthentication"), "no");
  EXPECT_EQ(Setting(*s, "permitrootlogin"), "no");
  EXPECT_EQ(Setting(*s, "authenticationmethods"), "publickey,keyboard-interactive");
  EXPECT_EQ(Setting(*s, "kbdinteractiveauthentication"), "yes");
  EXPECT_FALSE(ParseSshdT("not sshd\n").ok());
}

TEST(SshdTest, PamAuthLinesFollowIncludesAndBracketControls) {
  const auto lines = ParsePamAuth(
      "# comment\n@include common-auth\n"
      "auth [success=1 default=ignore] pam_unix.so nullok\n"
      "-auth optional /lib/security/pam_u2f.so cue\n"
      "auth substack password-auth\naccount required pam_nologin.so\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].include, "common-auth");
  EXPECT_EQ(lines[1].module, "pam_unix.so");
  EXPECT_EQ(lines[2].module, "pam_u2f.so");
  EXPECT_FALSE(lines[1].required);  // bracketed
  EXPECT_FALSE(lines[2].required);  // -auth optional
  EXPECT_EQ(lines[3].include, "password-auth");
}

TEST(SshdTest, CollectorReadsTheEffectiveConfigAndThePamStack) {
  TempTree tree("sshd_root");
  tree.CopyFixture("host/sshd/mfa/etc", "etc");
  tree.Write("usr/sbin/sshd", "");
  RootFs root(tree.path());
  ReplayRunner commands;
  commands.Add({"sshd", "-T", "-f", tree / "etc/ssh/sshd_config"},
               {0, ReadFixture("host/sshd/sshd-T-hardened-mfa.txt"), ""});
  auto signals = SshdCollector("/etc/ssh/sshd_config").Collect({root, commands, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  const v1::SshdState& s = (*signals)[0].sshd();
  EXPECT_TRUE(s.installed());
  EXPECT_EQ(std::vector<std::string>(s.pam_auth_modules().begin(), s.pam_auth_modules().end()),
            (std::vector<std::string>{"pam_unix.so", "pam_deny.so", "pam_permit.so", "pam_cap.so",
                                      "pam_google_authenticator.so"}));
  // pam_unix's bracketed control and pam_cap's optional one are not required.
  EXPECT_EQ(
      std::vector<std::string>(s.pam_auth_required().begin(), s.pam_auth_required().end()),
      (std::vector<std::string>{"pam_deny.so", "pam_permit.so", "pam_google_authenticator.so"}));

  // No sshd on the host: reported, not an error.
  TempTree bare("sshd_bare");
  RootFs none(bare.path());
  signals = SshdCollector("/etc/ssh/sshd_config").Collect({none, commands, kNow});
  ASSERT_TRUE(signals.ok());
  EXPECT_FALSE((*signals)[0].sshd().installed());
  EXPECT_EQ((*signals)[0].sshd().settings_size(), 0);

  // sshd -T failing (no privilege separation directory) is an error.
  ReplayRunner failing;
  failing.Add({"sshd", "-T", "-f", tree / "etc/ssh/sshd_config"},
              {255, "", "Missing privilege separation directory: /run/sshd\n"});
  auto error = SshdCollector("/etc/ssh/sshd_config").Collect({root, failing, kNow});
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("/run/sshd"), std::string::npos);
}

}  // namespace
}  // namespace attest::agent

namespace attest::agent {
namespace {

// --- backup

TEST(BackupTest, SpecsAndEnvironmentFiles) {
  auto restic = ParseBackupSpec("name=nightly,probe=restic,env_file=/etc/attest/restic.env");
  ASSERT_TRUE(restic.ok()) << restic.status();
  EXPECT_EQ(restic->probe, v1::BACKUP_PROBE_RESTIC);
  EXPECT_TRUE(ParseBackupSpec("name=m,probe=marker_file,path=/var/backups/ok").ok());
  EXPECT_FALSE(ParseBackupSpec("name=m,probe=marker_file").ok());
  EXPECT_FALSE(ParseBackupSpec("name=r,probe=restic,env_file=relative.env").ok());
  EXPECT_FALSE(ParseBackupSpec("name=r,probe=tar,env_file=/x").ok());
  EXPECT_FALSE(ParseBackupSpec("probe=borg,env_file=/x").ok());
  EXPECT_FALSE(ParseBackupSpec("name=r,probe=borg,env_file=/x,password=hunter2").ok());

  auto env = ParseEnvFile(
      "# restic\nexport RESTIC_REPOSITORY=/srv/repo\n\nRESTIC_PASSWORD_FILE=\"/etc/pw\"\n");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, (std::vector<std::string>{"RESTIC_REPOSITORY=/srv/repo",
                                            "RESTIC_PASSWORD_FILE=/etc/pw"}));
  auto bad = ParseEnvFile("RESTIC_REPOSITORY=/srv/repo\nhunter2\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "line 2 is not KEY=VALUE");  // never the value
}

TEST(BackupTest, RecordedResticAndBorgListings) {
  auto restic = ParseResticSnapshots(ReadFixture("host/backup/restic-snapshots-latest-1.json"));
  ASSERT_TRUE(restic.ok()) << restic.status();
  ASSERT_TRUE(restic->has_value());
  EXPECT_EQ(FormatRfc3339((*restic)->time), "2026-12-04T14:18:49.510275038Z");
  EXPECT_EQ((*restic)->id, "ef3b2469");
  auto none = ParseResticSnapshots(ReadFixture("host/backup/restic-snapshots-empty.json"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // The newest of several (one per host and paths).
  auto two = ParseResticSnapshots(
      R"([{"time":"2026-12-01T00:00:00Z","short_id":"a"},{"time":"2026-12-02T01:00:00+01:00","short_id":"b"}])");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)->id, "b");
  EXPECT_FALSE(ParseResticSnapshots("{}").ok());
  EXPECT_FALSE(ParseResticSnapshots(R"([{"short_id":"a"}])").ok());

  // borg writes local time without an offset.
  auto borg = ParseBorgList(ReadFixture("host/backup/borg-list-last-1.json"), absl::UTCTimeZone());
  ASSERT_TRUE(borg.ok()) << borg.status();
  EXPECT_EQ(FormatRfc3339((*borg)->time), "2026-12-04T14:19:00Z");
  EXPECT_EQ((*borg)->id, "nightly-2");
  auto berlin = absl::FixedTimeZone(3600);
  EXPECT_EQ(FormatRfc3339(
                (*ParseBorgList(ReadFixture("host/backup/borg-list-last-1.json"), berlin))->time),
            "2026-12-04T13:19:00Z");
  auto empty = ParseBorgList(ReadFixture("host/backup/borg-list-empty.json"), absl::UTCTimeZone());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(empty->has_value());
  EXPECT_FALSE(ParseBorgList("[]", absl::UTCTimeZone()).ok());
}

TEST(BackupTest, CollectorPassesTheEnvironmentAndReportsEachSourceOnItsOwn) {
  TempTree tree("backup_root");
  tree.Write("etc/attest/restic.env",
             "RESTIC_REPOSITORY=/srv/repo\nRESTIC_PASSWORD_FILE=/etc/attest/pw\n");
  tree.Write("etc/attest/borg.env", "BORG_REPO=/srv/borg\nBORG_PASSPHRASE=hunter2\n");
  tree.Write("var/backups/db.ok", "");
  RootFs root(tree.path());
  ReplayRunner commands;
  commands.Add({"restic", "snapshots", "--json", "--latest", "1", "--no-cache"},
               {0, ReadFixture("host/backup/restic-snapshots-latest-1.json"), ""});
  commands.Add({"borg", "list", "--json", "--last", "1"},
               {2, "", ReadFixture("host/backup/borg-wrong-passphrase.stderr")});
  BackupCollector collector({{"files", v1::BACKUP_PROBE_RESTIC, "/etc/attest/restic.env", ""},
                             {"archive", v1::BACKUP_PROBE_BORG, "/etc/attest/borg.env", ""},
                             {"db", v1::BACKUP_PROBE_MARKER_FILE, "", "/var/backups/db.ok"},
                             {"gone", v1::BACKUP_PROBE_MARKER_FILE, "", "/var/backups/none.ok"}});
  auto signals = collector.Collect({root, commands, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 4u);
  const v1::BackupState& files = (*signals)[0].backup();
  EXPECT_EQ(files.snapshot(), "ef3b2469");
  EXPECT_TRUE(files.error().empty());
  ASSERT_EQ(commands.envs().size(), 2u);
  EXPECT_EQ(commands.envs()[0], (std::vector<std::string>{"RESTIC_REPOSITORY=/srv/repo",
                                                          "RESTIC_PASSWORD_FILE=/etc/attest/pw"}));
  // A wrong passphrase is that backup's error, naming borg's words and not the secret.
  const v1::BackupState& archive = (*signals)[1].backup();
  EXPECT_FALSE(archive.has_last_success());
  EXPECT_NE(archive.error().find("passphrase supplied in BORG_PASSPHRASE"), std::string::npos)
      << archive.error();
  EXPECT_EQ(archive.error().find("hunter2"), std::string::npos);
  // restic naming its repository in its error: the address is redacted.
  ReplayRunner missing;
  missing.Add({"restic", "snapshots", "--json", "--latest", "1", "--no-cache"},
              {1, "",
               "Fatal: unable to open config file: stat /srv/repo/config: no such file\n"
               "Is there a repository at the following location?\n/srv/repo\n"});
  auto redacted =
      BackupCollector({{"files", v1::BACKUP_PROBE_RESTIC, "/etc/attest/restic.env", ""}})
          .Collect({root, missing, kNow});
  ASSERT_TRUE(redacted.ok());
  EXPECT_EQ((*redacted)[0].backup().error(), "UNAVAILABLE: restic exited 1: <redacted>");
  EXPECT_TRUE((*signals)[2].backup().has_last_success());
  // A marker that does not exist: no success yet, not an error.
  EXPECT_FALSE((*signals)[3].backup().has_last_success());
  EXPECT_TRUE((*signals)[3].backup().error().empty());
}

}  // namespace
}  // namespace attest::agent
