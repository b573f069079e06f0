// The engine as a whole, in-process on the in-memory store: evidence goes
// through the real import path and committer, and the figures it keeps
// incrementally (day records, deviations, window aggregates, in-memory
// views) must equal what a from-scratch judgement of the same evidence
// gives, whatever order the evidence arrived in and however the engine was
// stopped in between.
#include "daemon/engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "daemon/engine/engine_test_world.h"

namespace attest::engine {
namespace {

using namespace testing_world;  // NOLINT: the tests' shared world

// Under steady ingest a host gets new evidence while the engine judges it.
// A read must judge what was pending when it came and return; it once
// chased every new notification, so under steady ingest every report,
// status and export hung. The store here notifies the host again each time
// the engine reads its state: the race, made certain.
TEST(EngineTest, AReadReturnsWhileItsHostsGetNewEvidence) {
  World w;
  w.Import(History());
  std::atomic<bool> renotify{true};
  w.store().on_host_read = [&](std::string_view host) {
    if (renotify) w.engine().NotifyEvidence(std::string(host));
  };
  w.engine().Read([&](const EngineState& state) {
    for (const auto& entry : state.hosts) w.engine().NotifyEvidence(entry.first);
  });
  auto read = std::async(std::launch::async, [&] { return w.Summary("all"); });
  // A bound, not a wait for time to pass: the read returns at once when
  // correct, and never when not.
  const bool returned = read.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  renotify = false;
  EXPECT_TRUE(returned) << "a read never returned while its hosts kept getting evidence";
  EXPECT_GT(read.get().controls_size(), 0);
  w.store().on_host_read = nullptr;
}

// A read made just after the clock passed midnight judges the days that
// passed first, as a judgement made then from scratch would. It once read
// hosts judged through the day before until the engine's loop next went
// round: a bundle replay, which moves its clock back to an access review's
// start and then on to the summary's moment, summed a host that had gone
// silent before that moment with its silence left out.
TEST(EngineTest, AReadRightAfterTheClockMovesOnJudgesTheDaysThatPassed) {
  const int64_t cut = kEnd - 5 * kDay;
  Records early;
  for (const v1::ImportRecord& r : History()) {
    if (TimeOf(r) < cut) *early.Add() = r;
  }
  World moved(PolicyText(), kJudgement, absl::FromUnixSeconds(cut + 3600));
  moved.Import(early);
  const v1::WindowSummary before = moved.Summary("all");
  moved.clock().Set(absl::FromUnixSeconds(kEnd + 3600));
  v1::WindowSummary after = moved.Summary("all");
  World fresh;  // its clock at kEnd + 1h from the start
  fresh.Import(early);
  v1::WindowSummary expected = fresh.Summary("all");
  // (The policy, and so its window, was loaded at each world's start.)
  after.mutable_window()->clear_created_at();
  expected.mutable_window()->clear_created_at();
  ExpectSame(after, expected);
  // The silent days count (the test would catch a read that saw nothing new).
  EXPECT_NE(before.controls(3).seconds().SerializeAsString(),
            after.controls(3).seconds().SerializeAsString());
}

// Decisions recorded inside Engine::Batch are judged once, after the batch,
// at the clock it leaves; one by one, each is judged before the next, at
// the next one's moment (as attestd judged them live). A bundle replay
// batches them: the figures, day records and deviations must not change.
TEST(EngineTest, DecisionsInABatchGiveWhatTheyGiveOneByOne) {
  const Records history = History();
  // Every access change approved: most within the policy's 24 h, one days
  // late, one approved and then revoked.
  std::vector<v1::Approval> approvals;
  int n = 0;
  for (const v1::ImportRecord& r : history) {
    if (!r.has_signal() || !r.signal().has_access_change()) continue;
    ++n;
    v1::Approval a;
    a.set_change_id(r.signal().access_change().id());
    a.set_ticket(attest::StrCat("T-", n));
    a.set_approver("carol");
    const int64_t at = std::min(TimeOf(r) + (n % 3 == 0 ? 3 * kDay : 2 * 3600), kEnd - 2 * kDay);
    *a.mutable_approved_at() = ToProto(absl::FromUnixSeconds(at));
    *a.mutable_recorded_at() = ToProto(absl::FromUnixSeconds(at + 600));
    approvals.push_back(a);
    if (n == 2) {
      a.set_revoked(true);
      *a.mutable_approved_at() = ToProto(absl::FromUnixSeconds(at + kDay));
      *a.mutable_recorded_at() = ToProto(absl::FromUnixSeconds(at + kDay + 600));
      approvals.push_back(a);
    }
  }
  ASSERT_GE(approvals.size(), 4u);  // 3 changes and a revocation
  std::stable_sort(approvals.begin(), approvals.end(), [](const auto& a, const auto& b) {
    return a.recorded_at().seconds() < b.recorded_at().seconds();
  });
  v1::Exception x;
  x.set_id("x-1");
  x.set_control("patch-sla");
  x.set_host("h0002");
  x.set_reason("vendor patch late");
  x.set_approver("carol");
  x.set_ticket("T-x");
  *x.mutable_start() = ToProto(absl::FromUnixSeconds(kStart + 3 * kDay));
  *x.mutable_end() = ToProto(absl::FromUnixSeconds(kStart + 6 * kDay));
  *x.mutable_recorded_at() = ToProto(absl::FromUnixSeconds(kStart + 2 * kDay));
  v1::Decommission d;
  d.set_host("h0004");
  *d.mutable_at() = ToProto(absl::FromUnixSeconds(kEnd - 2 * kDay));
  *d.mutable_recorded_at() = ToProto(absl::FromUnixSeconds(kEnd - kDay));
  auto decide = [&](World& w) {
    for (v1::Approval a : approvals) {
      w.clock().Set(FromProto(a.recorded_at()));
      auto r = w.engine().Approve(std::move(a));
      ASSERT_TRUE(r.ok()) << r.status();
    }
    w.clock().Set(FromProto(x.recorded_at()));
    auto created = w.engine().CreateException(x);
    ASSERT_TRUE(created.ok()) << created.status();
    w.clock().Set(FromProto(d.recorded_at()));
    auto decommissioned = w.engine().Decommission(d);
    ASSERT_TRUE(decommissioned.ok()) << decommissioned.status();
  };
  const absl::Time end = absl::FromUnixSeconds(kEnd + 3600);

  World undecided;
  undecided.Import(history);
  World one_by_one;
  one_by_one.Import(history);
  decide(one_by_one);
  one_by_one.clock().Set(end);
  World batched;
  batched.Import(history);
  batched.engine().Batch([&] {
    decide(batched);
    batched.clock().Set(end);
  });

  for (const std::string window : {"all", "prod", "staging"}) {
    ExpectSame(batched.Summary(window), one_by_one.Summary(window));
    ExpectSame(batched.Summary(window, "env"), one_by_one.Summary(window, "env"));
    ExpectMatchesDayRecords(batched, window);
  }
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(batched.Dump(f), one_by_one.Dump(f)) << store::FamilyName(f);
  }
  EXPECT_EQ(batched.Views(), one_by_one.Views());
  // The decisions changed the figures (the test would catch a batch that
  // dropped them): approvals, the exception, the decommission.
  const v1::WindowSummary before = undecided.Summary("all");
  const v1::WindowSummary after = batched.Summary("all");
  for (int c : {0, 2, 3}) {
    EXPECT_NE(before.controls(c).SerializeAsString(), after.controls(c).SerializeAsString())
        << before.controls(c).id();
  }
  EXPECT_GT(after.controls(0).seconds().excepted(), 0);
}

TEST(EngineTest, LateBackfillGivesWhatInOrderEvidenceGives) {
  const Records history = History();
  World in_order;
  in_order.Import(history);

  // h0002's last 5 days arrive late, after everything else was judged.
  World late;
  Records first, backfill;
  for (const v1::ImportRecord& r : history) {
    *(r.host() == "h0002" && TimeOf(r) >= kEnd - 5 * kDay ? backfill : first).Add() = r;
  }
  ASSERT_GT(backfill.size(), 1000);
  late.Import(first);
  const v1::WindowSummary before = late.Summary("all");
  late.Import(backfill);

  ExpectSame(late.Summary("all"), in_order.Summary("all"));
  ExpectSame(late.Summary("all", "env"), in_order.Summary("all", "env"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(late.Dump(f), in_order.Dump(f)) << store::FamilyName(f);
  }
  // The backfill changed the figures (the test would catch a no-op).
  EXPECT_NE(before.controls(1).seconds().SerializeAsString(),
            late.Summary("all").controls(1).seconds().SerializeAsString());
  ExpectMatchesDayRecords(late, "all");
}

// attest-agent sends a heartbeat only when nothing else went out for the
// heartbeat's interval (docs/design.md, "Fewer records at the source"). The
// same history thinned by that rule, each host's seq renumbered as the
// agent numbers what it sends (a gap in the history stays a gap), gives
// the same figures, timelines and deviations, causes included.
TEST(EngineTest, HeartbeatsSentOnlyAfterSilenceGiveTheSameFigures) {
  const Records history = History();
  constexpr int64_t kHeartbeatInterval = 10 * 60;  // the simulator's heartbeat interval
  Records thinned;
  std::map<std::string, int64_t> last_sent;  // host -> when it last sent anything
  std::map<std::string, uint64_t> skipped;   // host -> heartbeats left out so far
  for (const v1::ImportRecord& r : history) {
    const int64_t at =
        r.has_signal() ? r.signal().observed_at().seconds() : r.hello().sent_at().seconds();
    auto last = last_sent.find(r.host());
    if (r.has_signal() && r.signal().has_heartbeat() && last != last_sent.end() &&
        last->second > at - kHeartbeatInterval) {
      ++skipped[r.host()];
      continue;
    }
    last_sent[r.host()] = at;
    v1::ImportRecord& kept = *thinned.Add() = r;
    if (kept.has_signal()) kept.mutable_signal()->set_seq(r.signal().seq() - skipped[r.host()]);
    if (kept.has_hello() && kept.hello_seq() > 0) {
      kept.set_hello_seq(r.hello_seq() - skipped[r.host()]);
    }
  }
  uint64_t dropped = 0;
  for (const auto& [host, n] : skipped) dropped += n;
  ASSERT_GT(dropped, 4000u) << "the rule should leave out most of the heartbeats";

  World whole;
  whole.Import(history);
  World thin;
  thin.Import(thinned);
  ExpectSame(thin.Summary("all"), whole.Summary("all"));
  ExpectSame(thin.Summary("prod"), whole.Summary("prod"));
  ExpectSame(thin.Summary("all", "env"), whole.Summary("all", "env"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(thin.Dump(f), whole.Dump(f)) << store::FamilyName(f);
  }
  // Not trivially equal: agent.reporting saw the agents both speak and
  // fall silent, and its figures came from the records left.
  const v1::WindowSummary all = whole.Summary("all");
  const v1::StateSeconds* reporting = nullptr;
  for (const auto& c : all.controls()) {
    if (c.id() == "agent-reporting") reporting = &c.seconds();
  }
  ASSERT_NE(reporting, nullptr);
  EXPECT_GT(reporting->pass(), 0) << reporting->ShortDebugString();
  EXPECT_GT(reporting->fail() + reporting->no_evidence(), 0) << reporting->ShortDebugString();
}

TEST(EngineTest, RestartLoadsWhatItKeptIncrementally) {
  World w;
  Records history = History();
  Records first, rest;
  for (const v1::ImportRecord& r : history) *(TimeOf(r) < kEnd - 4 * kDay ? first : rest).Add() = r;
  w.Import(first);
  w.Import(rest);
  const v1::WindowSummary all = w.Summary("all");
  const v1::WindowSummary grouped = w.Summary("all", "team");
  int deviations = 0;
  for (const auto& c : all.controls()) deviations += c.deviations_size();
  ASSERT_GT(deviations, 0);
  const auto views = w.Views();
  bool pending = false;
  w.engine().Read([&](const EngineState& state) {
    for (const auto& [host, view] : state.views) pending |= view.patch.first_seen_size() > 0;
  });
  EXPECT_TRUE(pending) << "the history should leave security updates pending";

  w.Stop();
  w.Start();
  EXPECT_EQ(w.Views(), views);
  ExpectSame(w.Summary("all"), all);
  ExpectSame(w.Summary("all", "team"), grouped);
}

TEST(EngineTest, AnInterruptedRejudgeIsFinishedAtTheNextStart) {
  const Records history = History();
  World reference;
  reference.Import(history);

  World w;
  Records first, late;
  for (const v1::ImportRecord& r : history) {
    *(r.host() == "h0003" && TimeOf(r) >= kEnd - 3 * kDay ? late : first).Add() = r;
  }
  w.Import(first);
  // The late evidence is indexed, but the rejudge's batch never lands.
  w.store().fail_timeline = true;
  w.Import(late);
  EXPECT_NE(w.Dump(store::Family::kTimeline), reference.Dump(store::Family::kTimeline));
  w.Stop();
  w.store().fail_timeline = false;
  w.Start();
  w.engine().Sync();
  ExpectSame(w.Summary("all"), reference.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(w.Dump(f), reference.Dump(f)) << store::FamilyName(f);
  }
}

TEST(EngineTest, ALabelChangeMovesTheHostBetweenWindows) {
  World w;
  Records history = History();
  w.Import(history);
  std::string env;
  w.engine().Read([&](const EngineState& s) { env = s.hosts.at("h0001").labels().at("env"); });
  const std::string other = env == "prod" ? "staging" : "prod";
  const uint32_t before_env = w.Summary(env).controls(0).hosts();
  const uint32_t before_other = w.Summary(other).controls(0).hosts();

  // The agent restarts with the other label.
  Records hello;
  v1::ImportRecord* r = hello.Add();
  r->set_line(1);
  r->set_host("h0001");
  r->mutable_hello()->set_agent_version("1.0.0");
  (*r->mutable_hello()->mutable_labels())["env"] = other;
  w.Import(hello);

  EXPECT_EQ(w.Summary(env).controls(0).hosts(), before_env - 1);
  EXPECT_EQ(w.Summary(other).controls(0).hosts(), before_other + 1);
  for (const std::string window : {"all", "prod", "staging"}) ExpectMatchesDayRecords(w, window);
}

// Change ids name one host's change: a host that reports an id another
// host reported first must not take that change's approvals.
TEST(EngineTest, AnAccessChangeIdAnotherHostReportedFirstStaysWithThatHost) {
  World w;
  auto change = [](const std::string& host) {
    Records records;
    v1::ImportRecord* r = records.Add();
    r->set_host(host);
    r->set_line(1);
    *r->mutable_signal() =
        testing_signals::AccessChange(1, absl::FromUnixSeconds(kEnd), "chg-shared");
    return records;
  };
  w.Import(change("victim"));
  w.Import(change("thief"));
  auto owner = w.store().Get(store::Family::kApprovals, keys::ChangeHost("chg-shared"));
  ASSERT_TRUE(owner.ok()) << owner.status();
  EXPECT_EQ(*owner, "victim");
}

// A store in which an older attestd indexed an observation dated next
// month (an unbounded hello.sent_at): at start the engine takes it out of
// judging, counts it, and judges the host again without it.
TEST(EngineTest, AnIndexedObservationFromTheFutureIsQuarantinedAtStart) {
  World w;
  Records records;
  for (int i = 1; i <= 3; ++i) {
    v1::ImportRecord* r = records.Add();
    r->set_host("h1");
    r->set_line(i);
    *r->mutable_signal() = testing_signals::Heartbeat(i, absl::FromUnixSeconds(kEnd - 3600 * i));
  }
  w.Import(records);
  const std::string views_before = w.Views()["h1"];
  w.Stop();
  const int64_t future = kEnd + 30 * kDay;
  v1::Observation bad;
  bad.set_index(2);  // the record of heartbeat 1, received at the world's clock
  bad.set_t(future);
  bad.set_any(true);
  store::WriteBatch batch;
  batch.Put(store::Family::kObservations, keys::Observation("h1", future, 2),
            bad.SerializeAsString());
  v1::Observation year1 = bad;
  year1.set_t(-62135596800);
  batch.Put(store::Family::kObservations, keys::Observation("h1", year1.t(), 3),
            year1.SerializeAsString());
  ASSERT_TRUE(w.store().Write(batch, {}).ok());
  w.Start();
  w.engine().Sync();
  EXPECT_FALSE(
      w.store().Get(store::Family::kObservations, keys::Observation("h1", future, 2)).ok());
  auto eh = w.store().Get(store::Family::kEngineHosts, "h1");
  ASSERT_TRUE(eh.ok());
  v1::EngineHost host;
  ASSERT_TRUE(host.ParseFromString(*eh));
  EXPECT_EQ(host.quarantined(), 2u);
  EXPECT_EQ(host.enrolled(), kEnd - 3 * 3600);
  // Judged as if the bad observations had never been indexed.
  EXPECT_EQ(w.Views()["h1"], views_before);
  // And nothing happens to it at the next start.
  w.Stop();
  w.Start();
  w.engine().Sync();
  ASSERT_TRUE(host.ParseFromString(*w.store().Get(store::Family::kEngineHosts, "h1")));
  EXPECT_EQ(host.quarantined(), 2u);
}

// A host that backdates one large patch state to 2000 makes the engine
// judge ~9,800 days. The judge facts (the pending list included) are kept
// only for days where they changed, so that costs one copy, not one per day:
// a 20,000-package list stored daily was ~40 GB in one write batch.
TEST(EngineTest, ABackdatedObservationCostsFactsPerDayWithEvidenceNotPerDayOfTheSpan) {
  World w;
  Records records;
  v1::ImportRecord* patch = records.Add();
  patch->set_host("h1");
  patch->set_line(1);
  *patch->mutable_signal() = testing_signals::Patch(1, absl::FromUnixSeconds(946771200));
  for (int i = 0; i < 2000; ++i) {
    auto* u = patch->mutable_signal()->mutable_patch()->add_pending();
    u->set_package(StrCat("pkg-", i));
    u->set_candidate_version("2");
    u->set_security(true);
  }
  v1::ImportRecord* beat = records.Add();
  beat->set_host("h1");
  beat->set_line(2);
  *beat->mutable_signal() = testing_signals::Heartbeat(2, absl::FromUnixSeconds(kEnd));
  w.Import(records);
  const auto views = w.Views();  // judges everything
  ASSERT_EQ(views.count("h1"), 1u);
  const auto facts = w.Dump(store::Family::kFacts, keys::Str("h1"));
  EXPECT_LE(facts.size(), 2u);  // the day after the patch, the day after the heartbeat
  EXPECT_GE(w.Dump(store::Family::kTimeline, keys::Str("h1")).size(), 9000u);  // judged, all of it
}

}  // namespace
}  // namespace attest::engine
