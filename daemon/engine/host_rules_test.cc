// The host.* rules, over time (through the judge) and state by state, with
// hand-computed seconds at every boundary.
#include "daemon/engine/host_rules.h"

#include <optional>

#include "daemon/engine/judge_test_support.h"
#include "daemon/engine/observations.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using namespace testing_support;  // NOLINT: the tests' shared vocabulary

v1::Signal Time(bool synced, int64_t est_error_us = 0,
                std::vector<std::string> daemons = {"chronyd"}) {
  v1::Signal s;
  v1::TimeSyncState* t = s.mutable_time_sync();
  t->set_synchronized(synced);
  t->set_status(synced ? 0 : 0x40);
  t->set_est_error_us(est_error_us);
  for (auto& d : daemons) t->add_daemons(d);
  return s;
}

Control TimeSynced() {
  Control c;
  c.id = "time-synced";
  c.rule = Rule::kHostTimeSynced;
  c.freshness = absl::Minutes(30);
  return c;
}

TEST(HostRulesTest, ATimeSourceLosingSyncForAnHourFailsExactlyThatHour) {
  // Every 5 minutes; unsynchronised in [3600, 7200).
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < 3 * kH; t += 300) obs.push_back(Host(t, Time(t < kH || t >= 2 * kH)));
  Case c{.control = TimeSynced(), .observations = obs, .to = 4 * kH};
  // The last observation, at 10500, is fresh until 10500 + 1800.
  Expect(c.Run(), {{0, kH, 'P'}, {kH, 2 * kH, 'F'}, {2 * kH, 12300, 'P'}, {12300, 4 * kH, 'N'}});
  EXPECT_NE(c.Run()[1].cause().find("unsynchronised"), std::string::npos) << c.Run()[1].cause();
}

TEST(HostRulesTest, EstimatedErrorAtTheThresholdPassesAndOneMicrosecondOverFails) {
  Control c = TimeSynced();
  EXPECT_EQ(JudgeHostState(c, Time(true, 100000)).state, v1::CONTROL_STATE_PASS);
  const HostVerdict over = JudgeHostState(c, Time(true, 100001));
  EXPECT_EQ(over.state, v1::CONTROL_STATE_FAIL);
  EXPECT_EQ(over.cause, "estimated error 100.0ms over 100ms");
  // No daemon: the kernel's word alone is not a disciplined clock.
  const HostVerdict alone = JudgeHostState(c, Time(true, 0, {}));
  EXPECT_EQ(alone.state, v1::CONTROL_STATE_FAIL);
  EXPECT_NE(alone.cause.find("no time-sync daemon"), std::string::npos);
  c.require_daemon = false;
  EXPECT_EQ(JudgeHostState(c, Time(true, 0, {})).state, v1::CONTROL_STATE_PASS);
}

TEST(HostRulesTest, AFailedCollectorVoidsTheStateUntilTheNextOne) {
  Case c{.control = TimeSynced(),
         .observations = {Host(0, Time(true)), Failed(600, "time_sync"), Host(1200, Time(true)),
                          Failed(1500, "firewall")},  // another collector: no effect
         .to = 3000};
  Expect(c.Run(), {{0, 600, 'P'}, {600, 1200, 'N'}, {1200, 3000, 'P'}});
}

TEST(HostRulesTest, StateFromBeforeTheDayCarriesInThroughFacts) {
  Case c{.control = TimeSynced(), .to = kH};
  AdvanceFacts(&c.facts, Host(-600, Time(false)));
  // Observed 600 s before the day: fresh for its remaining 1200 s.
  Expect(c.Run(), {{0, 1200, 'F'}, {1200, kH, 'N'}});
}

v1::FirewallChain Chain(std::string family, std::string hook, std::string policy,
                        bool ends_in_drop = false) {
  v1::FirewallChain ch;
  ch.set_family(std::move(family));
  ch.set_table("filter");
  ch.set_name(hook);
  ch.set_hook(std::move(hook));
  ch.set_policy(std::move(policy));
  ch.set_ends_in_drop(ends_in_drop);
  return ch;
}

v1::Signal Firewall(std::vector<v1::FirewallChain> chains, std::string sha = "sha256:aa") {
  v1::Signal s;
  v1::FirewallState* f = s.mutable_firewall();
  f->set_source(v1::FIREWALL_SOURCE_NFTABLES);
  for (auto& ch : chains) *f->add_chains() = std::move(ch);
  f->set_ruleset_sha256(std::move(sha));
  return s;
}

TEST(HostRulesTest, FirewallStatesTable) {
  Control both;
  both.rule = Rule::kHostFirewallEnabled;
  Control v4 = both;
  v4.families = {"ipv4"};
  Control pinned = both;
  pinned.rulesets = {"sha256:aa"};
  struct Row {
    const char* name;
    const Control& control;
    v1::Signal state;
    char want;
    const char* cause;
  } rows[] = {
      {"inet drop policy", both, Firewall({Chain("inet", "input", "drop")}), 'P', ""},
      {"debian default: accept", both, Firewall({Chain("inet", "input", "accept")}), 'F',
       "no IPv4 or IPv6 input chain drops by default (nftables, 0 rules)"},
      {"no ruleset", both, Firewall({}), 'F',
       "no IPv4 or IPv6 input chain drops by default (nftables, 0 rules)"},
      {"ip only", both, Firewall({Chain("ip", "input", "drop")}), 'F',
       "no IPv6 input chain drops by default (nftables, 0 rules)"},
      {"ip only, policy asks ipv4", v4, Firewall({Chain("ip", "input", "drop")}), 'P', ""},
      {"final drop rules", both,
       Firewall({Chain("ip", "input", "accept", true), Chain("ip6", "input", "accept", true)}), 'P',
       ""},
      {"drop on output only", both, Firewall({Chain("inet", "output", "drop")}), 'F',
       "no IPv4 or IPv6 input chain drops by default (nftables, 0 rules)"},
      {"an accept chain beside a drop chain", both,
       Firewall({Chain("inet", "input", "accept"), Chain("inet", "input", "drop")}), 'P', ""},
      {"pinned ruleset", pinned, Firewall({Chain("inet", "input", "drop")}), 'P', ""},
      {"another ruleset", pinned, Firewall({Chain("inet", "input", "drop")}, "sha256:bb"), 'F',
       "ruleset sha256:bb is not one the policy lists"},
  };
  for (const Row& r : rows) {
    const HostVerdict v = JudgeHostState(r.control, r.state);
    EXPECT_EQ(Letter(v.state), r.want) << r.name << ": " << v.cause;
    EXPECT_EQ(v.cause, r.cause) << r.name;
  }
}

v1::Signal Units(std::vector<std::pair<std::string, std::string>> states) {
  v1::Signal s;
  for (auto& [unit, state] : states) {
    v1::UnitState* u = s.mutable_services()->add_units();
    u->set_unit(unit);
    u->set_active_state(state);
    u->set_load_state(state == "gone" ? "not-found" : "loaded");
    if (state == "gone") u->set_active_state("inactive");
  }
  return s;
}

Control Services() {
  Control c;
  c.id = "services-running";
  c.rule = Rule::kHostServicesRunning;
  c.freshness = absl::Minutes(15);
  c.required_services = {{"audit", {"auditd.service"}},
                         {"endpoint", {"falcon-sensor.service", "clamav-daemon.service"}}};
  return c;
}

TEST(HostRulesTest, ARequiredUnitStoppedForTenMinutesFailsForTenMinutes) {
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < kH; t += 60) {
    const bool stopped = t >= 600 && t < 1200;
    obs.push_back(Host(t, Units({{"auditd.service", stopped ? "inactive" : "active"},
                                 {"falcon-sensor.service", "gone"},
                                 {"clamav-daemon.service", "active"}})));
  }
  Case c{.control = Services(), .observations = obs, .to = kH};
  Expect(c.Run(), {{0, 600, 'P'}, {600, 1200, 'F'}, {1200, kH, 'P'}});
  EXPECT_EQ(c.Run()[1].cause(), "audit: none active (auditd.service inactive)");
}

TEST(HostRulesTest, ServicesTable) {
  const Control c = Services();
  struct Row {
    const char* name;
    v1::Signal state;
    char want;
    const char* cause;
  } rows[] = {
      {"all there",
       Units({{"auditd.service", "active"},
              {"falcon-sensor.service", "active"},
              {"clamav-daemon.service", "inactive"}}),
       'P', ""},
      {"either endpoint will do",
       Units({{"auditd.service", "active"},
              {"falcon-sensor.service", "failed"},
              {"clamav-daemon.service", "active"}}),
       'P', ""},
      {"no endpoint",
       Units({{"auditd.service", "active"},
              {"falcon-sensor.service", "gone"},
              {"clamav-daemon.service", "failed"}}),
       'F',
       "endpoint: none active (falcon-sensor.service not installed, clamav-daemon.service failed)"},
      {"not watched", Units({{"auditd.service", "active"}}), 'N',
       "endpoint: falcon-sensor.service, clamav-daemon.service not reported by the agent (add "
       "--service)"},
      {"a failure outranks what is not watched", Units({{"auditd.service", "failed"}}), 'F',
       "audit: none active (auditd.service failed)"},
      {"an unwatched alternative does not matter once one is active",
       Units({{"auditd.service", "active"}, {"clamav-daemon.service", "active"}}), 'P', ""},
  };
  for (const Row& r : rows) {
    const HostVerdict v = JudgeHostState(c, r.state);
    EXPECT_EQ(Letter(v.state), r.want) << r.name << ": " << v.cause;
    EXPECT_EQ(v.cause, r.cause) << r.name;
  }
}

v1::Signal Sshd(std::vector<std::pair<std::string, std::string>> settings,
                std::vector<std::string> pam = {"pam_unix.so"}, bool installed = true) {
  v1::Signal s;
  v1::SshdState* d = s.mutable_sshd();
  d->set_installed(installed);
  if (!installed) return s;
  for (auto& [k, v] : settings) {
    v1::SshdSetting* kv = d->add_settings();
    kv->set_key(k);
    kv->set_value(v);
  }
  for (auto& m : pam) {
    d->add_pam_auth_modules(m);
    d->add_pam_auth_required(m);
  }
  return s;
}

TEST(HostRulesTest, SshdTable) {
  Control plain;
  plain.rule = Rule::kHostSshdPolicy;
  Control mfa = plain;
  mfa.require_mfa = true;
  const std::vector<std::pair<std::string, std::string>> debian = {
      {"authenticationmethods", "any"},        {"kbdinteractiveauthentication", "no"},
      {"passwordauthentication", "yes"},       {"permitemptypasswords", "no"},
      {"permitrootlogin", "without-password"}, {"usepam", "yes"}};
  const std::vector<std::pair<std::string, std::string>> hardened = {
      {"authenticationmethods", "publickey,keyboard-interactive"},
      {"kbdinteractiveauthentication", "yes"},
      {"passwordauthentication", "no"},
      {"permitemptypasswords", "no"},
      {"permitrootlogin", "no"},
      {"usepam", "yes"}};
  auto with = [](auto settings, std::string key, std::string value) {
    for (auto& [k, v] : settings) {
      if (k == key) v = value;
    }
    return settings;
  };
  struct Row {
    const char* name;
    const Control& control;
    v1::Signal state;
    char want;
    const char* cause;
  } rows[] = {
      {"debian defaults", plain, Sshd(debian), 'F', "PasswordAuthentication yes"},
      {"hardened", plain, Sshd(hardened), 'P', ""},
      {"root with a password", plain, Sshd(with(hardened, "permitrootlogin", "yes")), 'F',
       "PermitRootLogin yes (allowed: no, prohibit-password)"},
      {"without-password is prohibit-password", plain,
       Sshd(with(hardened, "permitrootlogin", "without-password")), 'P', ""},
      {"empty passwords", plain, Sshd(with(hardened, "permitemptypasswords", "yes")), 'F',
       "PermitEmptyPasswords yes"},
      {"no sshd", plain, Sshd({}, {}, false), 'P', "sshd is not installed"},
      {"a keyword missing", plain, Sshd({{"passwordauthentication", "no"}}), 'N',
       "sshd -T did not report permitemptypasswords, permitrootlogin"},
      {"mfa", mfa, Sshd(hardened, {"pam_unix.so", "pam_google_authenticator.so"}), 'P', ""},
      {"mfa without its module", mfa, Sshd(hardened, {"pam_unix.so"}), 'F',
       "no second-factor PAM module required in /etc/pam.d/sshd's auth stack (one of "
       "pam_google_authenticator.so, pam_u2f.so, pam_duo.so, pam_oath.so, pam_yubico.so, "
       "pam_radius_auth.so, pam_sss.so)"},
      {"mfa: any method", mfa, Sshd(with(hardened, "authenticationmethods", "any"), {"pam_u2f.so"}),
       'F', "AuthenticationMethods any asks for no second factor after the key"},
      {"mfa: a way in with the key alone", mfa,
       Sshd(with(hardened, "authenticationmethods", "publickey,keyboard-interactive:pam publickey"),
            {"pam_u2f.so"}),
       'F',
       "AuthenticationMethods publickey,keyboard-interactive:pam publickey asks for no second "
       "factor after the key"},
      {"mfa: keyboard-interactive:pam", mfa,
       Sshd(with(hardened, "authenticationmethods", "publickey,keyboard-interactive:pam"),
            {"pam_u2f.so"}),
       'P', ""},
      {"mfa without kbd-interactive", mfa,
       Sshd(with(hardened, "kbdinteractiveauthentication", "no"), {"pam_u2f.so"}), 'F',
       "KbdInteractiveAuthentication no (the second factor needs it)"},
  };
  for (const Row& r : rows) {
    const HostVerdict v = JudgeHostState(r.control, r.state);
    EXPECT_EQ(Letter(v.state), r.want) << r.name << ": " << v.cause;
    EXPECT_EQ(v.cause, r.cause) << r.name;
  }
  // A second factor that is only optional (or -auth, or sufficient) lets a
  // login past it: no MFA.
  v1::Signal optional = Sshd(hardened, {"pam_unix.so"});
  optional.mutable_sshd()->add_pam_auth_modules("pam_u2f.so");
  EXPECT_EQ(JudgeHostState(mfa, optional).state, v1::CONTROL_STATE_FAIL);
}

TEST(HostRulesTest, ObservationsKeepTheStateAndFactsKeyItByKind) {
  v1::EvidenceRecord r;
  r.set_index(7);
  r.mutable_signal()->set_seq(3);
  r.mutable_observed_at()->set_seconds(T0 + 5);
  r.mutable_signal()->mutable_observed_at()->set_seconds(T0 + 5);
  *r.mutable_signal()->mutable_firewall() = Firewall({Chain("inet", "input", "drop")}).firewall();
  v1::Observation o;
  ASSERT_TRUE(ObservationFromRecord(r, 0, &o));
  EXPECT_EQ(o.t(), T0 + 5);
  EXPECT_TRUE(o.host().has_firewall());
  EXPECT_FALSE(o.host().has_observed_at());
  v1::JudgeFacts facts;
  AdvanceFacts(&facts, o);
  ASSERT_EQ(facts.host().count("firewall"), 1u);
  EXPECT_EQ(facts.last_any(), T0 + 5);
}

}  // namespace
}  // namespace attest::engine

namespace attest::engine {
namespace {

using namespace testing_support;  // NOLINT: the tests' shared vocabulary

v1::Observation Backup(Seconds at, std::optional<Seconds> last_success,
                       std::string name = "nightly", std::string error = "") {
  v1::Observation o;
  o.set_t(T0 + at);
  v1::BackupState* b = o.mutable_host()->mutable_backup();
  b->set_name(std::move(name));
  b->set_probe(v1::BACKUP_PROBE_RESTIC);
  if (last_success) b->mutable_last_success()->set_seconds(T0 + *last_success);
  b->set_error(std::move(error));
  return o;
}

Control BackupFresh(std::string name = "") {
  Control c;
  c.id = "backup-fresh";
  c.rule = Rule::kHostBackupFresh;
  c.freshness = absl::Hours(1);
  c.backup_max_age = absl::Hours(26);
  c.backup = std::move(name);
  return c;
}

TEST(HostRulesTest, ABackupOlderThanMaxAgeFailsExactlyAtTheBoundary) {
  // A success at 0; reported every 15 minutes; the next success at 28h.
  std::vector<v1::Observation> obs;
  for (Seconds t = 900; t < 30 * kH; t += 900) obs.push_back(Backup(t, t < 28 * kH ? 0 : 28 * kH));
  Case c{.control = BackupFresh(), .observations = obs, .to = 30 * kH};
  // Fresh from the first report at 900; stale from 26h to 28h; the last
  // report (29h45m) is fresh until 30h45m.
  Expect(c.Run(),
         {{0, 900, 'N'}, {900, 26 * kH, 'P'}, {26 * kH, 28 * kH, 'F'}, {28 * kH, 30 * kH, 'P'}});
  EXPECT_EQ(c.Run()[2].cause(),
            "backup nightly: newest success 2026-01-01T00:00:00Z, older than 26h");
}

TEST(HostRulesTest, ASuccessReportedLateCountsFromWhenItHappened) {
  // Reports at 25h and 27h (fresh 2h); the 27h report shows a success at
  // 25h30m, so the 25h report's success going stale at 26h is no FAIL.
  Control c2 = BackupFresh();
  c2.freshness = absl::Hours(2);
  Case c{.control = c2,
         .observations = {Backup(0, 0), Backup(25 * kH, 0), Backup(27 * kH, 25 * kH + 1800)},
         .to = 28 * kH};
  Expect(c.Run(), {{0, 2 * kH, 'P'}, {2 * kH, 25 * kH, 'N'}, {25 * kH, 28 * kH, 'P'}});
  // A success after the deadline, reported later: FAIL until it was made.
  Case late{.control = c2,
            .observations = {Backup(25 * kH, 0), Backup(27 * kH, 26 * kH + 1800)},
            .to = 28 * kH};
  Expect(late.Run(), {{0, 25 * kH, 'N'},
                      {25 * kH, 26 * kH, 'P'},
                      {26 * kH, 26 * kH + 1800, 'F'},
                      {26 * kH + 1800, 28 * kH, 'P'}});
}

TEST(HostRulesTest, BackupSourcesUnreadableNeverOrNamed) {
  Case never{.control = BackupFresh(), .observations = {Backup(0, std::nullopt)}, .to = kH};
  Expect(never.Run(), {{0, kH, 'F'}});
  EXPECT_EQ(never.Run()[0].cause(), "backup nightly: no successful backup");
  Case wrong{.control = BackupFresh(),
             .observations = {Backup(0, std::nullopt, "nightly",
                                     "UNAVAILABLE: borg exited 2: passphrase ... incorrect.")},
             .to = kH};
  Expect(wrong.Run(), {{0, kH, 'N'}});
  // Two sources: every one must be fresh, unless the control names one.
  Case both{.control = BackupFresh(),
            .observations = {Backup(0, 0, "files"), Backup(0, std::nullopt, "db")},
            .to = kH};
  Expect(both.Run(), {{0, kH, 'F'}});
  Case named{.control = BackupFresh("files"),
             .observations = {Backup(0, 0, "files"), Backup(0, std::nullopt, "db")},
             .to = kH};
  Expect(named.Run(), {{0, kH, 'P'}});
  Case missing{.control = BackupFresh("tapes"), .observations = {Backup(0, 0, "files")}, .to = kH};
  Expect(missing.Run(), {{0, kH, 'N'}});
  EXPECT_EQ(missing.Run()[0].cause(), "no fresh state of backup tapes");
}

}  // namespace
}  // namespace attest::engine
