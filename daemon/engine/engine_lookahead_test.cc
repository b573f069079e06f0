// The judge looks ahead (a shipper's next state says whether it delivered
// since the one before; a backup's later states report successes), so
// evidence that arrives a day at a time must be judged back as far as it
// reaches, and a delivery must count from when it was made (judgement 2),
// or a day-at-a-time judgement differs from an all-at-once one near
// midnight. A store from before judgements were numbered keeps judgement 1
// for the time it judged, and judgement 2 from its upgrade on.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "daemon/engine/engine.h"
#include "daemon/engine/engine_test_world.h"

namespace attest::engine {
namespace {

using namespace testing_world;  // NOLINT: the tests' shared world

// The times of `host`'s log-shipping states.
std::vector<int64_t> LogTimes(const Records& history, const std::string& host) {
  std::vector<int64_t> out;
  for (const v1::ImportRecord& r : history) {
    if (r.host() == host && r.has_signal() && r.signal().has_log_shipping()) {
      out.push_back(TimeOf(r));
    }
  }
  return out;
}

// `host`'s log-shipping states observed in [from, to) report a last
// delivery at `at`.
void SetLastDelivery(Records* history, const std::string& host, int64_t from, int64_t to,
                     int64_t at) {
  for (v1::ImportRecord& r : *history) {
    if (r.host() != host || !r.has_signal() || !r.signal().has_log_shipping()) continue;
    if (TimeOf(r) < from || TimeOf(r) >= to) continue;
    r.mutable_signal()->mutable_log_shipping()->mutable_last_delivery()->set_seconds(at);
  }
}

// `host` delivers nothing for the three hours before `midnight` but once,
// between its last state before midnight and midnight, which only its
// first state after midnight reports. Returns when that delivery was made.
int64_t ResumeBeforeMidnight(Records* history, const std::string& host, int64_t midnight) {
  const std::vector<int64_t> times = LogTimes(*history, host);
  const auto after = std::upper_bound(times.begin(), times.end(), midnight);
  EXPECT_TRUE(after != times.begin() && after != times.end());
  if (after == times.begin() || after == times.end()) return 0;
  const int64_t before = *std::prev(after);
  EXPECT_GT(before, midnight - 900);  // the host was reporting
  const int64_t resumed = before + (midnight - before) / 2;
  EXPECT_LT(before, resumed);
  SetLastDelivery(history, host, midnight - 3 * 3600, *after, midnight - 3 * 3600);
  SetLastDelivery(history, host, *after, *after + 1, resumed);
  return resumed;
}

// The judge looks ahead: a shipper's next observation says whether it
// delivered since the one before. Evidence that arrives a day at a time
// must give what it gives all at once when that next observation is in a
// later day's evidence: an outage that turns to FAIL minutes before
// midnight, found only from the first state after it; a shipper silent for
// two days whose next state says it delivered nothing since; an outage that
// ends minutes before midnight, reported only after it.
TEST(EngineTest, EvidenceADayAtATimeGivesWhatItGivesAllAtOnce) {
  Records history = History();
  auto log_times = [&](const std::string& host) { return LogTimes(history, host); };
  auto set_last_delivery = [&](const std::string& host, int64_t from, int64_t to, int64_t at) {
    SetLastDelivery(&history, host, from, to, at);
  };
  // h0002 delivers last 14 minutes before its last state of day 4: that
  // state still passes (max gap 15m), and the FAIL begins a minute later.
  const int64_t midnight = kStart + 5 * kDay;
  const std::vector<int64_t> h2 = log_times("h0002");
  const int64_t before = *std::prev(std::lower_bound(h2.begin(), h2.end(), midnight));
  ASSERT_LT(before + 60, midnight);
  const int64_t delivered = before - 14 * 60;
  set_last_delivery("h0002", delivered, midnight + 3 * 3600, delivered);
  // h0003's shipper is renamed for two days (silent as itself), and then
  // says it delivered nothing since a minute before its last state.
  const int64_t silent = kStart + 7 * kDay;
  const std::vector<int64_t> h3 = log_times("h0003");
  const int64_t last_heard = *std::prev(std::lower_bound(h3.begin(), h3.end(), silent));
  for (v1::ImportRecord& r : history) {
    if (r.host() == "h0003" && r.has_signal() && r.signal().has_log_shipping() &&
        TimeOf(r) >= silent && TimeOf(r) < silent + 2 * kDay) {
      r.mutable_signal()->mutable_log_shipping()->set_shipper("renamed");
    }
  }
  set_last_delivery("h0003", silent + 2 * kDay, silent + 2 * kDay + 3600, last_heard - 60);
  // h0001's outage ends two minutes before a midnight; only its first
  // state after midnight reports the delivery (judgement 2 counts it from
  // when it was made; judgement 1 from the day's start when judged a day at
  // a time, and from that state when judged at once).
  const int64_t resumed = ResumeBeforeMidnight(&history, "h0001", kStart + 3 * kDay);
  World at_once;
  at_once.Import(history);
  std::map<int64_t, Records> by_day;
  for (const v1::ImportRecord& r : history) *by_day[TimeOf(r) / kDay].Add() = r;
  World daily;
  for (auto& [day, records] : by_day) {
    daily.Import(records);
    daily.Views();  // judged before the next day arrives
  }

  // The outage's FAIL begins before midnight, and the silent shipper's
  // within its last state's freshness (the cases bite).
  auto begins = [&](const std::string& host, v1::ControlState state, int64_t t) {
    bool found = false;
    for (const auto& [k, v] : at_once.Dump(store::Family::kTimeline, keys::Str(host))) {
      v1::HostDay d;
      EXPECT_TRUE(d.ParseFromString(v));
      for (const v1::Interval& iv : d.intervals()) {
        found |= d.control() == "log-shipping" && iv.state() == state && iv.start() == t;
      }
    }
    return found;
  };
  EXPECT_TRUE(begins("h0002", v1::CONTROL_STATE_FAIL, delivered + 15 * 60));
  EXPECT_TRUE(begins("h0003", v1::CONTROL_STATE_FAIL, last_heard - 60 + 15 * 60));
  EXPECT_TRUE(begins("h0001", v1::CONTROL_STATE_PASS, resumed));
  ExpectSame(daily.Summary("all"), at_once.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(daily.Dump(f), at_once.Dump(f)) << store::FamilyName(f);
  }
  EXPECT_EQ(daily.Views(), at_once.Views());
}

// The same for a backup: a success taken ten minutes before midnight,
// which only a state after midnight reports, ends the FAIL at the success.
TEST(EngineTest, ABackupSuccessReportedAfterMidnightEndsTheFailBeforeIt) {
  const std::string policy =
      "controls:\n"
      "  - {id: backup, tsc: [A1.2], rule: host.backup_fresh, params: {max_age: 3h},\n"
      "     freshness: 1h}\n"
      "windows:\n"
      "  - {id: all, start: " +
      T(kStart) + ", end: " + T(kEnd) + "}\n";
  const int64_t midnight = kStart + kDay;
  const std::vector<int64_t> taken = {midnight - 5 * 3600, midnight - 600, midnight + 3 * 3600};
  Records records;
  uint64_t seq = 0;
  for (int64_t t = midnight - 6 * 3600; t < midnight + 4 * 3600; t += 1200) {
    v1::ImportRecord* r = records.Add();
    r->set_host("b1");
    r->set_line(++seq);
    v1::Signal& s = *r->mutable_signal();
    s.set_seq(seq);
    *s.mutable_observed_at() = ToProto(absl::FromUnixSeconds(t));
    v1::BackupState* b = s.mutable_backup();
    b->set_name("nightly");
    b->set_probe(v1::BACKUP_PROBE_MARKER_FILE);
    for (int64_t x : taken) {
      if (x <= t - 1200) b->mutable_last_success()->set_seconds(x);  // seen 20 min after
    }
  }
  World at_once(policy);
  at_once.Import(records);
  World daily(policy);
  std::map<int64_t, Records> by_day;
  for (const v1::ImportRecord& r : records) *by_day[TimeOf(r) / kDay].Add() = r;
  for (auto& [day, part] : by_day) {
    daily.Import(part);
    daily.Views();
  }
  bool passes_from_success = false;
  for (const auto& [k, v] : at_once.Dump(store::Family::kTimeline, keys::Str("b1"))) {
    v1::HostDay d;
    ASSERT_TRUE(d.ParseFromString(v));
    for (const v1::Interval& iv : d.intervals()) {
      passes_from_success |= iv.state() == v1::CONTROL_STATE_PASS && iv.start() == midnight - 600;
    }
  }
  EXPECT_TRUE(passes_from_success);
  ExpectSame(daily.Summary("all"), at_once.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(daily.Dump(f), at_once.Dump(f)) << store::FamilyName(f);
  }
}

// A store from before judgements were numbered (its policy recorded with
// no judgement), taking evidence a day at a time, upgraded mid-day: the
// days before keep what judgement 1 gave them, and from the upgrade's day
// on every day is what verify's replay gives (the ledger's versions at
// their load times, then all the evidence at once).
TEST(EngineTest, AnUpgradedStoreKeepsJudgement1ForTheTimeBeforeAndJudgement2After) {
  Records history = History();
  const int64_t before = ResumeBeforeMidnight(&history, "h0001", kStart + 3 * kDay);
  const int64_t after = ResumeBeforeMidnight(&history, "h0001", kStart + 10 * kDay);
  const int64_t upgrade = kStart + 6 * kDay + 7 * 3600;
  // By day; a hello (no observed_at) goes with the day it was sent.
  std::map<int64_t, Records> by_day;
  for (const v1::ImportRecord& r : history) {
    const int64_t t = r.has_hello() ? r.hello().sent_at().seconds() : TimeOf(r);
    *by_day[t / kDay].Add() = r;
  }
  // Each day's evidence a minute after the day ends, as a live fleet's;
  // with `adopt`, attestd upgraded at `upgrade`.
  auto daily = [&](World& w, bool adopt) {
    for (auto& [day, records] : by_day) {
      const int64_t end = (day + 1) * kDay;
      if (adopt && end > upgrade) {
        w.clock().Set(absl::FromUnixSeconds(upgrade));
        ASSERT_TRUE(w.engine().AdoptNewestJudgement().ok());
        ASSERT_TRUE(w.engine().AdoptNewestJudgement().ok());  // once only
        adopt = false;
      }
      w.clock().Set(absl::FromUnixSeconds(end + 60));
      w.Import(records);
      w.Views();  // judged before the next day arrives
    }
    w.clock().Set(absl::FromUnixSeconds(kEnd + 3600));
  };
  World upgraded(PolicyText(), kFirstJudgement, absl::FromUnixSeconds(kStart));
  daily(upgraded, true);

  const std::vector<v1::PolicyVersion> versions = upgraded.engine().PolicyVersions();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].judge(), 0u);  // recorded as before judgements were numbered
  EXPECT_EQ(versions[1].judge(), kJudgement);
  EXPECT_EQ(versions[1].loaded_at().seconds(), upgrade);
  EXPECT_EQ(versions[1].version(), versions[0].version());
  EXPECT_EQ(versions[1].source(), versions[0].source());
  // The summary names the version once.
  const v1::WindowSummary summary = upgraded.Summary("all");
  ASSERT_GT(summary.controls_size(), 0);
  for (const v1::ControlSummary& c : summary.controls()) {
    EXPECT_EQ(c.policy_versions_size(), 1) << c.id();
  }

  // Judgement 1 throughout, the same evidence arriving the same way.
  World first(PolicyText(), kFirstJudgement, absl::FromUnixSeconds(kStart));
  daily(first, false);
  // Verify's replay: the two versions at their load times, then everything.
  World replay(PolicyText(), kFirstJudgement, absl::FromUnixSeconds(kStart));
  replay.clock().Set(absl::FromUnixSeconds(upgrade));
  ASSERT_TRUE(replay.engine().AdoptNewestJudgement().ok());
  replay.clock().Set(absl::FromUnixSeconds(kEnd + 3600));
  replay.Import(history);
  // Each judgement all at once, to show where they differ.
  World one(PolicyText(), kFirstJudgement);
  one.Import(history);
  World two;
  two.Import(history);

  const std::string h1 = keys::Str("h0001");
  const auto got = upgraded.Dump(store::Family::kTimeline, h1);
  ASSERT_EQ(got.size(), first.Dump(store::Family::kTimeline, h1).size());
  ASSERT_EQ(got.size(), replay.Dump(store::Family::kTimeline, h1).size());
  for (const std::string host : {"h0001", "h0002", "h0003", "h0004"}) {
    const auto mine = upgraded.Dump(store::Family::kTimeline, keys::Str(host));
    EXPECT_FALSE(mine.empty()) << host;
    const auto judged_1 = first.Dump(store::Family::kTimeline, keys::Str(host));
    const auto replayed = replay.Dump(store::Family::kTimeline, keys::Str(host));
    for (const auto& [key, value] : mine) {
      v1::HostDay d;
      ASSERT_TRUE(d.ParseFromString(value));
      const int64_t day_start = static_cast<int64_t>(d.day()) * kDay;
      if (day_start + kDay <= upgrade) {
        EXPECT_EQ(value, judged_1.at(key)) << host << " " << d.control() << " day " << d.day();
      } else {
        EXPECT_EQ(value, replayed.at(key)) << host << " " << d.control() << " day " << d.day();
      }
    }
  }
  // The two judgements differ around the two resumed deliveries, and
  // nowhere else (the cases bite).
  const auto j1 = one.Dump(store::Family::kTimeline, h1);
  const auto j2 = two.Dump(store::Family::kTimeline, h1);
  int differ_before = 0;
  int differ_after = 0;
  for (const auto& [key, value] : j1) {
    if (value == j2.at(key)) continue;
    v1::HostDay d;
    ASSERT_TRUE(d.ParseFromString(value));
    const uint32_t day = d.day();
    (static_cast<int64_t>(day) * kDay < upgrade ? differ_before : differ_after)++;
    EXPECT_TRUE(day == DayOf(before) || day == DayOf(before) + 1 || day == DayOf(after) ||
                day == DayOf(after) + 1)
        << d.control() << " day " << d.day();
  }
  EXPECT_GT(differ_before, 0);
  EXPECT_GT(differ_after, 0);
}

// A downgrade: a store whose policy version a newer attestd recorded under
// a judgement this one does not know. Judging it under another would give
// figures its bundles do not recompute, so attestd does not start.
TEST(EngineTest, AStoreANewerAttestdJudgedIsRefusedAtStart) {
  store::MemoryStore store;
  v1::PolicyVersion v;
  v.set_version("sha256:0123456789abcdef");
  v.set_file("test.yaml");
  v.set_source(PolicyText());
  v.set_judge(kJudgement + 1);
  v.mutable_loaded_at()->set_seconds(kStart);
  store::WriteBatch batch;
  batch.Put(store::Family::kPolicyVersions, keys::PolicyVersion(kStart * 1000000000),
            v.SerializeAsString());
  ASSERT_TRUE(store.Write(batch, {}).ok());
  FakeClock clock(absl::FromUnixSeconds(kEnd));
  Engine engine(store, clock, {});
  const absl::Status s = engine.Start();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find(StrCat("judged under judgement ", kJudgement + 1,
                                    ", which a newer attestd recorded; this one knows "
                                    "judgements 1 to ",
                                    kJudgement)),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace attest::engine
