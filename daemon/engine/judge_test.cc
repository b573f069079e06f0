#include "daemon/engine/judge.h"

#include <string>
#include <vector>

#include "common/strings.h"
#include "daemon/engine/judge_test_support.h"
#include "daemon/engine/observations.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using namespace testing_support;  // NOLINT: the tests' shared vocabulary

// More observation builders; `at` is an offset from T0.
v1::Observation Patch(Seconds at, std::vector<std::string> security, bool reboot = false) {
  v1::Observation o;
  o.set_t(T0 + at);
  for (auto& p : security) o.mutable_patch()->add_security_pending(p);
  o.mutable_patch()->set_reboot_required(reboot);
  return o;
}
v1::Observation Log(Seconds at, Seconds last_delivery_at, bool active = true) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.mutable_log()->set_shipper("rsyslog");
  o.mutable_log()->set_active(active);
  o.mutable_log()->set_last_delivery(T0 + last_delivery_at);
  return o;
}
v1::Observation Check(Seconds at, v1::CheckStatus status) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.mutable_check()->set_name("ntp");
  o.mutable_check()->set_status(status);
  return o;
}
v1::Observation Change(Seconds at, std::string id) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.mutable_access()->set_id(std::move(id));
  o.mutable_access()->set_change(v1::ACCESS_CHANGE_KIND_USER_ADDED);
  o.mutable_access()->set_subject("alice");
  return o;
}

Control Reporting(Seconds freshness) {
  Control c;
  c.id = "agent-reporting";
  c.rule = Rule::kAgentReporting;
  c.freshness = absl::Seconds(freshness);
  return c;
}
Control Sla() {
  Control c;
  c.id = "patch-sla";
  c.rule = Rule::kPatchSecuritySla;
  c.security_max_age = absl::Seconds(14 * kD);
  c.reboot_grace = absl::Seconds(3 * kD);
  c.freshness = absl::Seconds(2 * kH);
  return c;
}
Control Shipping() {
  Control c;
  c.id = "log-shipping";
  c.rule = Rule::kLogsShippingContinuity;
  c.max_gap = absl::Minutes(15);
  c.freshness = absl::Minutes(30);
  return c;
}
Control Approved() {
  Control c;
  c.id = "access-approved";
  c.rule = Rule::kAccessChangeApproved;
  c.approval_window = absl::Hours(24);
  return c;
}
Control NtpCheck() {
  Control c;
  c.id = "ntp";
  c.rule = Rule::kCheckPass;
  c.check = "ntp";
  c.freshness = absl::Hours(1);
  return c;
}

TEST(JudgeTest, ReportingIsPassWhileFreshAndExactlyAtFreshnessStaysContinuous) {
  Case c{.control = Reporting(900), .observations = {Beat(0), Beat(900), Beat(2000)}, .to = 4000};
  // 0 and 900: the second arrives exactly when the first expires.
  // 1800..2000 silent, 2000 fresh until 2900.
  Expect(c.Run(), {{0, 1800, 'P'}, {1800, 2000, 'N'}, {2000, 2900, 'P'}, {2900, 4000, 'N'}});
}

TEST(JudgeTest, SilenceBeforeTheFirstSignalIsNoEvidence) {
  Case c{.control = Reporting(900), .observations = {Beat(100)}, .to = 2000};
  Expect(c.Run(), {{0, 100, 'N'}, {100, 1000, 'P'}, {1000, 2000, 'N'}});
}

TEST(JudgeTest, PatchInstalledExactlyAtTheSlaBoundaryNeverFails) {
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < 14 * kD; t += kH) obs.push_back(Patch(t, {"openssl"}));
  for (Seconds t = 14 * kD; t <= 15 * kD; t += kH) obs.push_back(Patch(t, {}));
  Case c{.control = Sla(), .observations = obs, .to = 15 * kD};
  Expect(c.Run(), {{0, 15 * kD, 'P'}});
}

TEST(JudgeTest, PatchOneHourPastTheSlaFailsForThatHour) {
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t <= 14 * kD; t += kH) obs.push_back(Patch(t, {"openssl"}));
  for (Seconds t = 14 * kD + kH; t <= 15 * kD; t += kH) obs.push_back(Patch(t, {}));
  Case c{.control = Sla(), .observations = obs, .to = 15 * kD};
  Expect(c.Run(), {{0, 14 * kD, 'P'}, {14 * kD, 14 * kD + kH, 'F'}, {14 * kD + kH, 15 * kD, 'P'}});
}

TEST(JudgeTest, PatchFirstSeenComesFromHistoryCarriedInFacts) {
  // The package was first seen 13 days before `from`: it breaches after 1 day.
  Case c{.control = Sla(), .from = 0, .to = 2 * kD};
  c.facts.mutable_patch()->set_t(T0 - kH / 2);
  (*c.facts.mutable_patch()->mutable_first_seen())["curl"] = T0 - 13 * kD;
  for (Seconds t = 0; t < 2 * kD; t += kH) c.observations.push_back(Patch(t, {"curl"}));
  Expect(c.Run(), {{0, kD, 'P'}, {kD, 2 * kD, 'F'}});
}

TEST(JudgeTest, PatchNewCandidateDoesNotResetTheClockButAnInstallDoes) {
  std::vector<v1::Observation> obs;
  // Pending days 0..10, installed on day 10, pending again from day 11.
  for (Seconds t = 0; t < 10 * kD; t += kH) obs.push_back(Patch(t, {"bash"}));
  for (Seconds t = 10 * kD; t < 11 * kD; t += kH) obs.push_back(Patch(t, {}));
  for (Seconds t = 11 * kD; t < 26 * kD; t += kH) obs.push_back(Patch(t, {"bash"}));
  Case c{.control = Sla(), .observations = obs, .to = 26 * kD};
  Expect(c.Run(), {{0, 25 * kD, 'P'}, {25 * kD, 26 * kD, 'F'}});
}

TEST(JudgeTest, RebootRequiredPastItsGraceFails) {
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < 5 * kD; t += kH) obs.push_back(Patch(t, {}, /*reboot=*/t >= kD));
  Case c{.control = Sla(), .observations = obs, .to = 5 * kD};
  Expect(c.Run(), {{0, 4 * kD, 'P'}, {4 * kD, 5 * kD, 'F'}});
}

TEST(JudgeTest, PatchCollectorFailureIsNoEvidenceUntilTheNextState) {
  Case c{.control = Sla(),
         .observations = {Patch(0, {}), Failed(600, "patch"), Patch(3000, {})},
         .to = 4000};
  Expect(c.Run(), {{0, 600, 'P'}, {600, 3000, 'N'}, {3000, 4000, 'P'}});
}

TEST(JudgeTest, ShippingFailureIsBackdatedToWhenTheGapPassedMaxGap) {
  // Delivered at 0; observed at 600 (fresh delivery) and at 1800, when the
  // last delivery is still 0: the gap passed 15m at 900, not at 1800.
  Case c{.control = Shipping(), .observations = {Log(0, 0), Log(600, 0), Log(1800, 0)}, .to = 3000};
  Expect(c.Run(), {{0, 900, 'P'}, {900, 3000, 'F'}});
}

// Failing from 900; a delivery at 3500 that only the state at 3600
// reports. Judgement 2 counts it from 3500, as a backup's success counts
// from when it was taken; judgement 1 (what policy versions recorded
// before judgements were numbered are judged under) from the state at 3600.
TEST(JudgeTest, AResumedDeliveryCountsFromWhenItWasMadeFromJudgement2) {
  Case c{.control = Shipping(),
         .observations = {Log(0, 0), Log(1800, 0), Log(3600, 3500)},
         .to = 4000};
  Expect(c.Run(), {{0, 900, 'P'}, {900, 3500, 'F'}, {3500, 4000, 'P'}});
  c.judgement = kFirstJudgement;
  Expect(c.Run(), {{0, 900, 'P'}, {900, 3600, 'F'}, {3600, 4000, 'P'}});
}

// A version recorded again under judgement 2 at 3550 (attestd upgraded):
// the delivery at 3500 falls in time judged under judgement 1, so it adds
// no breakpoint there; the state at the switch sees it.
TEST(JudgeTest, ADeliveryBeforeTheSwitchToJudgement2IsJudgedUnderJudgement1) {
  const Control control = Shipping();
  const std::vector<v1::Observation> obs = {Log(0, 0), Log(1800, 0), Log(3600, 3500)};
  const v1::JudgeFacts facts;
  JudgeInput in;
  in.facts = &facts;
  in.observations = obs;
  in.from = T0;
  in.to = T0 + 4000;
  in.segments = {PolicySegment{0, T0 + 3550, &control, "sha256:v1", kFirstJudgement},
                 PolicySegment{T0 + 3550, kForever, &control, "sha256:v1", kJudgement}};
  Expect(JudgeControl(in), {{0, 900, 'P'}, {900, 3550, 'F'}, {3550, 4000, 'P'}});
}

TEST(JudgeTest, ShippingDeliveryExactlyAtMaxGapIsNotAGap) {
  Case c{.control = Shipping(), .observations = {Log(0, 0), Log(1200, 900)}, .to = 2000};
  Expect(c.Run(), {{0, 2000, 'P'}});
}

TEST(JudgeTest, ShippingInactiveUnitFailsAndStaleStateIsNoEvidence) {
  Case c{.control = Shipping(), .observations = {Log(0, 0, /*active=*/false)}, .to = 3600};
  Expect(c.Run(), {{0, 1800, 'F'}, {1800, 3600, 'N'}});
}

TEST(JudgeTest, TheFailingShipperNamedIsTheFirstByNameWhateverTheFactsOrder) {
  // Facts folded here and facts parsed from a stored day iterate their
  // maps in different orders; the cause must not follow either.
  Case c{.control = Shipping(), .to = 600};
  for (const char* shipper : {"z9", "vector", "rsyslog-b", "fluent", "journal", "rsyslog", "x"}) {
    v1::LogObservation log;
    log.set_shipper(shipper);
    log.set_active(false);
    (*c.facts.mutable_logs())[shipper] = log;
    (*c.facts.mutable_log_t())[shipper] = T0;
  }
  const auto intervals = c.Run();
  ASSERT_EQ(intervals.size(), 1u);
  EXPECT_EQ(intervals[0].cause(), "shipper fluent: unit not active");
}

TEST(JudgeTest, AShipperThatCouldNotBeReadIsNoEvidenceForItselfAndTheAllShippersControl) {
  const auto log = [](Seconds at, std::string shipper, std::string error) {
    v1::Observation o = Log(at, at);
    o.mutable_log()->set_shipper(std::move(shipper));
    o.mutable_log()->set_error(std::move(error));
    if (!o.log().error().empty()) {
      o.mutable_log()->set_active(false);
      o.mutable_log()->set_last_delivery(0);
    }
    return o;
  };
  const std::vector<v1::Observation> obs = {
      log(0, "rsyslog", ""),    log(0, "journal", ""),
      log(600, "rsyslog", ""),  log(600, "journal", "PERMISSION_DENIED: /state: Permission denied"),
      log(1200, "rsyslog", ""), log(1200, "journal", "")};
  Case all{.control = Shipping(), .observations = obs, .to = 1500};
  const auto intervals = all.Run();
  Expect(intervals, {{0, 600, 'P'}, {600, 1200, 'N'}, {1200, 1500, 'P'}});
  ASSERT_EQ(intervals.size(), 3u);
  EXPECT_EQ(intervals[1].cause(),
            "shipper journal could not be read: PERMISSION_DENIED: /state: Permission denied");
  // Neither a FAIL (nothing says it stopped) nor lost to the other shipper.
  Case rsyslog{.control = Shipping(), .observations = obs, .to = 1500};
  rsyslog.control.shipper = "rsyslog";
  Expect(rsyslog.Run(), {{0, 1500, 'P'}});
  Case journal{.control = Shipping(), .observations = obs, .to = 1500};
  journal.control.shipper = "journal";
  Expect(journal.Run(), {{0, 600, 'P'}, {600, 1200, 'N'}, {1200, 1500, 'P'}});
}

TEST(JudgeTest, AccessApprovalExactlyAtTheWindowNeverFails) {
  Case c{.control = Approved(), .observations = {Change(kH, "c1")}, .to = 3 * kD};
  c.approvals["c1"] = {{T0 + kH + kD, true}};
  Expect(c.Run(), {{0, 3 * kD, 'P'}});
}

TEST(JudgeTest, LateApprovalEndsTheFailButDoesNotEraseIt) {
  Case c{.control = Approved(), .observations = {Change(kH, "c1")}, .to = 3 * kD};
  c.approvals["c1"] = {{T0 + kH + kD + 5 * kH, true}};
  Expect(c.Run(),
         {{0, kH + kD, 'P'}, {kH + kD, kH + kD + 5 * kH, 'F'}, {kH + kD + 5 * kH, 3 * kD, 'P'}});
}

TEST(JudgeTest, RevokedApprovalFailsAgainFromTheRevocation) {
  Case c{.control = Approved(), .observations = {Change(0, "c1")}, .to = 3 * kD};
  c.approvals["c1"] = {{T0 + kH, true}, {T0 + 2 * kD, false}};
  Expect(c.Run(), {{0, 2 * kD, 'P'}, {2 * kD, 3 * kD, 'F'}});
}

TEST(JudgeTest, UnapprovedChangeKeepsFailingUntilTheJudgedEnd) {
  Case c{.control = Approved(), .observations = {Change(0, "c1")}, .to = 2 * kD};
  auto got = c.Run();
  Expect(got, {{0, kD, 'P'}, {kD, 2 * kD, 'F'}});
  EXPECT_EQ(got[1].cause(), "access change c1 (user_added alice) not approved within 1d");
}

TEST(JudgeTest, CheckStatesAndNagiosUnknownIsNoEvidence) {
  Case c{.control = NtpCheck(),
         .observations = {Check(0, v1::CHECK_STATUS_OK), Check(600, v1::CHECK_STATUS_CRITICAL),
                          Check(1200, v1::CHECK_STATUS_UNKNOWN),
                          Check(1800, v1::CHECK_STATUS_WARNING)},
         .to = 1800 + 2 * kH};
  Expect(c.Run(), {{0, 600, 'P'},
                   {600, 1200, 'F'},
                   {1200, 1800, 'N'},
                   {1800, 1800 + kH, 'F'},
                   {1800 + kH, 1800 + 2 * kH, 'N'}});
}

TEST(JudgeTest, ExceptionStartingAndEndingMidIntervalExceptsOnlyItsPart) {
  Case c{.control = Approved(), .observations = {Change(0, "c1")}, .to = 3 * kD};
  c.exceptions = {{kD + kH, 2 * kD, "exception x1"}};
  Expect(c.Run(),
         {{0, kD, 'P'}, {kD, kD + kH, 'F'}, {kD + kH, 2 * kD, 'E'}, {2 * kD, 3 * kD, 'F'}});
}

TEST(JudgeTest, ExceptionDoesNotTurnAPassIntoExcepted) {
  Case c{.control = Reporting(900), .observations = {Beat(0)}, .to = 2000};
  c.exceptions = {{0, 2000, "exception x1"}};
  Expect(c.Run(), {{0, 900, 'P'}, {900, 2000, 'E'}});
}

TEST(JudgeTest, GapRecordsAreNoEvidenceEvenWithinFreshness) {
  Case c{.control = Reporting(900),
         .observations = {Beat(0), Beat(300), Gap(300, 600), Beat(600)},
         .to = 1000};
  Expect(c.Run(), {{0, 300, 'P'}, {300, 600, 'N'}, {600, 1000, 'P'}});
}

TEST(JudgeTest, HostEnrolledAndDecommissionedMidWindowIsJudgedOnlyInScope) {
  std::vector<v1::Observation> obs;
  for (Seconds t = 5 * kH; t < kD; t += 600) obs.push_back(Beat(t));
  Case c{
      .control = Reporting(900), .observations = obs, .scope_start = 5 * kH, .scope_end = 20 * kH};
  Expect(c.Run(), {{5 * kH, 20 * kH, 'P'}});
}

TEST(JudgeTest, PolicyChangeMidWindowRecordsEachVersion) {
  Control strict = Reporting(300);
  Control lax = Reporting(900);
  v1::JudgeFacts facts;
  std::vector<v1::Observation> obs = {Beat(0), Beat(600), Beat(1200), Beat(1800)};
  JudgeInput in;
  in.facts = &facts;
  in.observations = obs;
  in.from = T0;
  in.to = T0 + 2400;
  in.scope_start = T0;
  in.segments = {{0, T0 + 1200, &strict, "sha256:a"}, {T0 + 1200, kForever, &lax, "sha256:b"}};
  auto got = JudgeControl(in);
  Expect(got,
         {{0, 300, 'P'}, {300, 600, 'N'}, {600, 900, 'P'}, {900, 1200, 'N'}, {1200, 2400, 'P'}});
  EXPECT_EQ(got[3].policy_version(), "sha256:a");
  EXPECT_EQ(got[4].policy_version(), "sha256:b");
}

// A sweep keeps only the facts its controls read. When a policy change
// points the control at another check mid-window, the facts of both checks
// (carried in, and observed alongside other kinds) must still be there.
TEST(JudgeTest, ASweepKeepsTheFactsOfEveryVersionOfItsControl) {
  Control ntp = NtpCheck();
  Control dns = NtpCheck();
  dns.check = "dns";
  auto dns_check = [](Seconds at, v1::CheckStatus status) {
    v1::Observation o = Check(at, status);
    o.mutable_check()->set_name("dns");
    return o;
  };
  v1::JudgeFacts facts;
  AdvanceFacts(&facts, Check(-600, v1::CHECK_STATUS_OK));
  AdvanceFacts(&facts, dns_check(-600, v1::CHECK_STATUS_CRITICAL));
  AdvanceFacts(&facts, Patch(-600, {"openssl"}));
  std::vector<v1::Observation> obs = {Log(0, 0), Patch(300, {"zlib"}),
                                      Check(1200, v1::CHECK_STATUS_CRITICAL)};
  JudgeInput in;
  in.facts = &facts;
  in.observations = obs;
  in.from = T0;
  in.to = T0 + 2400;
  in.scope_start = T0 - 600;
  in.segments = {{0, T0 + 1800, &ntp, "sha256:a"}, {T0 + 1800, kForever, &dns, "sha256:b"}};
  // ntp: OK from the facts until its CRITICAL; dns: CRITICAL from the facts.
  Expect(JudgeControl(in), {{0, 1200, 'P'}, {1200, 1800, 'F'}, {1800, 2400, 'F'}});
  EXPECT_EQ(JudgeControl(in).back().policy_version(), "sha256:b");
}

TEST(JudgeTest, AdvanceFactsKeepsFirstSeenAcrossObservationsAndResetsOnInstall) {
  v1::JudgeFacts f;
  AdvanceFacts(&f, Patch(0, {"a", "b"}));
  AdvanceFacts(&f, Patch(kH, {"a", "c"}));
  EXPECT_EQ(f.patch().first_seen().at("a"), T0);
  EXPECT_EQ(f.patch().first_seen().at("c"), T0 + kH);
  EXPECT_EQ(f.patch().first_seen().count("b"), 0u);
  AdvanceFacts(&f, Patch(2 * kH, {}, true));
  AdvanceFacts(&f, Patch(3 * kH, {}, true));
  EXPECT_TRUE(f.patch().first_seen().empty());
  EXPECT_EQ(f.patch().reboot_since(), T0 + 2 * kH);
  EXPECT_EQ(f.last_any(), T0 + 3 * kH);
}

TEST(JudgeTest, AdvanceFactsThroughADayEqualsEachObservationInTurn) {
  // A day's mix of every kind, with repeated shippers, checks and
  // server-control kinds whose states change, and the last one of a kind
  // not last overall.
  std::vector<v1::Observation> day;
  for (Seconds at = 0; at < kD; at += 600) {
    const int step = static_cast<int>(at / 600);
    day.push_back(Beat(at));
    day.push_back(Log(at + 1, at - step % 3));
    v1::Observation second = Log(at + 2, at, step % 5 != 0);
    second.mutable_log()->set_shipper("vector");
    if (step < 100) day.push_back(second);
    day.push_back(Check(at + 3, step % 4 == 0 ? v1::CHECK_STATUS_CRITICAL : v1::CHECK_STATUS_OK));
    if (step % 6 == 0)
      day.push_back(Patch(at + 4, {step % 12 == 0 ? "a" : "b", "c"}, step % 7 == 0));
    v1::Signal time;
    time.mutable_time_sync()->set_synchronized(step % 3 != 0);
    time.mutable_time_sync()->set_est_error_us(step);
    day.push_back(Host(at + 5, time));
    v1::Signal firewall;
    firewall.mutable_firewall()->set_ruleset_sha256(StrCat("sha256:", step));
    if (step < 130) day.push_back(Host(at + 6, firewall));
    // A second check, and two backups: keys within one kind, and a check
    // named as a shipper is (the kind is part of the key).
    v1::Observation named =
        Check(at + 6, step % 5 == 0 ? v1::CHECK_STATUS_WARNING : v1::CHECK_STATUS_OK);
    named.mutable_check()->set_name("rsyslog");
    if (step % 2 == 0) day.push_back(named);
    for (const char* name : {"restic-nightly", "borg-hourly"}) {
      if (step % 4 == 1 && name[0] == 'r') continue;
      v1::Signal backup;
      backup.mutable_backup()->set_name(name);
      backup.mutable_backup()->set_snapshot(StrCat(name, "-", step));
      day.push_back(Host(at + 6, backup));
    }
    if (step % 9 == 0) day.push_back(Failed(at + 7, step % 2 == 0 ? "patch" : "checks"));
    if (step % 11 == 0) day.push_back(Change(at + 8, StrCat("c", step)));
    if (step % 13 == 0) day.push_back(Gap(at - 50, at + 9));
  }
  // Facts carried in from the day before, which the day replaces or keeps.
  v1::JudgeFacts before;
  AdvanceFacts(&before, Patch(-kD, {"a", "z"}, true));
  v1::Observation old_check = Check(-kD, v1::CHECK_STATUS_OK);
  old_check.mutable_check()->set_name("disk");
  AdvanceFacts(&before, old_check);
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, day.size() / 2, day.size()}) {
    v1::JudgeFacts each = before;
    for (size_t i = 0; i < n; ++i) AdvanceFacts(&each, day[i]);
    v1::JudgeFacts through = before;
    AdvanceFactsThrough(&through, std::span<const v1::Observation>(day).first(n));
    // The same observations each where it is.
    std::vector<const v1::Observation*> pointed;
    for (size_t k = 0; k < n; ++k) pointed.push_back(&day[k]);
    v1::JudgeFacts by_pointer = before;
    AdvanceFactsThrough(&by_pointer,
                        ObservationSpan(std::span<const v1::Observation* const>(pointed)));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(by_pointer, through)) << n;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(through, each))
        << n << " observations\n"
        << through.DebugString() << "\nagainst\n"
        << each.DebugString();
  }
}

}  // namespace
}  // namespace attest::engine
