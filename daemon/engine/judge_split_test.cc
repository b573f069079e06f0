// Where judging begins must not change what it finds. attestd judges a
// host a day at a time from the facts known at the day's start (and again
// from an earlier day when late evidence arrives); verify judges the same
// evidence with other starts. So for any instant s, judging [from, s) and
// then [s, to) from the facts known at s must give exactly what judging
// [from, to) at once gives, for every rule, on evidence of every shape.
// Under judgement 1 it did not: a resumed log delivery counted from the
// first breakpoint after it, and where judging began was one (this test
// fails under judgement 1). Random streams, fixed seeds: a failure names
// the seed, the control and the split.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/strings.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/judge_test_support.h"
#include "daemon/engine/observations.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using namespace testing_support;  // NOLINT: the tests' shared vocabulary

std::vector<Control> Controls() {
  std::vector<Control> out;
  Control logs;
  logs.id = "log-shipping";
  logs.rule = Rule::kLogsShippingContinuity;
  logs.max_gap = absl::Minutes(15);
  logs.freshness = absl::Minutes(30);
  out.push_back(logs);
  Control backup;
  backup.id = "backup";
  backup.rule = Rule::kHostBackupFresh;
  backup.backup_max_age = absl::Hours(3);
  backup.freshness = absl::Hours(1);
  out.push_back(backup);
  Control check;
  check.id = "ntp";
  check.rule = Rule::kCheckPass;
  check.check = "ntp";
  check.freshness = absl::Minutes(20);
  out.push_back(check);
  Control agent;
  agent.id = "agent";
  agent.rule = Rule::kAgentReporting;
  agent.freshness = absl::Minutes(15);
  out.push_back(agent);
  Control patch;
  patch.id = "patch";
  patch.rule = Rule::kPatchSecuritySla;
  patch.security_max_age = absl::Hours(2);
  patch.reboot_grace = absl::Hours(1);
  patch.freshness = absl::Hours(2);
  out.push_back(patch);
  return out;
}

// Two days of one host's evidence: states at random intervals (1 to 25
// minutes, so that freshness runs out at times), deliveries and backup
// successes made between states and reported by a later one (sometimes
// several states later), silences, collector failures and a gap record.
std::vector<v1::Observation> Stream(uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](Seconds lo, Seconds hi) {
    return std::uniform_int_distribution<Seconds>(lo, hi)(rng);
  };
  auto chance = [&](int percent) { return uniform(0, 99) < percent; };
  std::vector<v1::Observation> out;
  Seconds delivered = 0;  // offsets from T0; 0: nothing yet
  Seconds reported_delivery = 0;
  Seconds backed_up = 0;
  Seconds reported_backup = 0;
  Seconds prev = 0;
  for (Seconds t = uniform(0, 600); t < 2 * kD; t += uniform(60, 25 * 60)) {
    if (chance(3)) t += uniform(kH, 3 * kH);  // silent for a while
    if (t >= 2 * kD) break;
    // Deliveries and backups happen between states.
    if (chance(70)) delivered = uniform(prev + 1, t);
    if (chance(10)) backed_up = uniform(prev + 1, t);
    // A state reports them, or (lagging) an earlier one: never going back.
    if (chance(80)) reported_delivery = std::max(reported_delivery, delivered);
    if (chance(60)) reported_backup = std::max(reported_backup, backed_up);
    out.push_back(Beat(t));
    if (chance(85)) {
      v1::Observation o;
      o.set_t(T0 + t);
      o.mutable_log()->set_shipper("rsyslog");
      o.mutable_log()->set_active(!chance(4));
      if (reported_delivery > 0) o.mutable_log()->set_last_delivery(T0 + reported_delivery);
      out.push_back(o);
    }
    if (chance(40)) {
      v1::Signal s;
      s.mutable_backup()->set_name("nightly");
      s.mutable_backup()->set_probe(v1::BACKUP_PROBE_RESTIC);
      if (reported_backup > 0)
        s.mutable_backup()->mutable_last_success()->set_seconds(T0 + reported_backup);
      out.push_back(Host(t, s));
    }
    if (chance(50)) {
      v1::Observation o;
      o.set_t(T0 + t);
      o.mutable_check()->set_name("ntp");
      o.mutable_check()->set_status(chance(80) ? v1::CHECK_STATUS_OK : v1::CHECK_STATUS_CRITICAL);
      out.push_back(o);
    }
    if (chance(15)) {
      v1::Observation o;
      o.set_t(T0 + t);
      if (chance(50)) o.mutable_patch()->add_security_pending("libc6");
      if (chance(30)) o.mutable_patch()->add_security_pending("openssl");
      o.mutable_patch()->set_reboot_required(chance(20));
      out.push_back(o);
    }
    if (chance(2)) out.push_back(Failed(t, chance(50) ? "log_shipping" : "patch"));
    if (chance(1)) out.push_back(Gap(std::max<Seconds>(0, t - uniform(60, kH)), t));
    prev = t;
  }
  // Sorted by t, as the engine gives them (stable: a state's kinds keep
  // their order).
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.t() < b.t(); });
  return out;
}

std::vector<v1::Interval> Judge(const Control& control, const std::vector<v1::Observation>& all,
                                Seconds from, Seconds to) {
  v1::JudgeFacts facts;
  std::vector<v1::Observation> later;
  for (const v1::Observation& o : all) {
    if (o.t() < from) {
      AdvanceFacts(&facts, o);
    } else {
      later.push_back(o);
    }
  }
  JudgeInput in;
  in.facts = &facts;
  in.observations = later;
  in.from = from;
  in.to = to;
  in.segments = {PolicySegment{0, kForever, &control, "sha256:v1", kJudgement}};
  return JudgeControl(in);
}

// `a` then `b`, with the interval that the split cut in two made whole.
std::vector<v1::Interval> Join(std::vector<v1::Interval> a, const std::vector<v1::Interval>& b) {
  for (const v1::Interval& iv : b) {
    if (!a.empty() && a.back().end() == iv.start() && a.back().state() == iv.state() &&
        a.back().cause() == iv.cause() && a.back().policy_version() == iv.policy_version()) {
      a.back().set_end(iv.end());
    } else {
      a.push_back(iv);
    }
  }
  return a;
}

std::string Describe(const std::vector<v1::Interval>& v) {
  std::string out;
  for (const v1::Interval& iv : v) {
    StrAppend(&out, "[", iv.start() - T0, ",", iv.end() - T0, ") ", Letter(iv.state()), " ",
              iv.cause(), "\n");
  }
  return out;
}

TEST(JudgeSplitTest, JudgingFromAnyInstantGivesWhatJudgingAtOnceGives) {
  const std::vector<Control> controls = Controls();
  int splits = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const std::vector<v1::Observation> stream = Stream(seed);
    // Split at every instant where something happens or was reported to
    // have happened, a second either side, and at random instants.
    std::vector<Seconds> at;
    std::mt19937 rng(seed * 7919);
    for (int i = 0; i < 20; ++i)
      at.push_back(T0 + std::uniform_int_distribution<Seconds>(1, 2 * kD - 1)(rng));
    for (const v1::Observation& o : stream) {
      std::vector<Seconds> times = {o.t()};
      if (o.has_log() && o.log().last_delivery() > 0) times.push_back(o.log().last_delivery());
      if (o.has_host() && o.host().backup().has_last_success()) {
        times.push_back(o.host().backup().last_success().seconds());
      }
      for (Seconds t : times) {
        for (Seconds d : {-1, 0, 1}) at.push_back(t + d);
      }
    }
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());
    std::erase_if(at, [](Seconds s) { return s <= T0 || s >= T0 + 2 * kD; });
    // 250 of them per stream: each split judges the stream twice.
    std::shuffle(at.begin(), at.end(), rng);
    if (at.size() > 250) at.resize(250);
    for (const Control& control : controls) {
      const std::vector<v1::Interval> whole = Judge(control, stream, T0, T0 + 2 * kD);
      for (Seconds s : at) {
        const auto joined =
            Join(Judge(control, stream, T0, s), Judge(control, stream, s, T0 + 2 * kD));
        ++splits;
        const std::string want = Describe(whole);
        const std::string got = Describe(joined);
        ASSERT_EQ(got, want) << "seed " << seed << ", control " << control.id << ", split at "
                             << s - T0;
      }
    }
  }
  EXPECT_EQ(splits, 12 * 250 * 5);
}

}  // namespace
}  // namespace attest::engine
