// The replay a window-sized bundle's verify makes, against the one a whole
// bundle's makes: a simulated fleet's chains imported as attestd stores
// them, then judged by the engine once from every record and once from
// each host's suffix (from the latest daily state the suffix rule accepts,
// for the window's start and for each FAIL run in progress then), with
// every earlier access change. The window's summaries must be equal.
#include "ctl/bundle_suffix.h"

#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_replay.h"
#include "ctl/simulate.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/suffix.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/interchange.h"
#include "daemon/ingest/committer.h"
#include "daemon/store/memory_store.h"
#include "daemon/store/store.h"
#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int kWindowDays = 30;

using Chains = std::map<std::string, std::vector<v1::EvidenceRecord>>;

// The simulated fleet's chains as attestd's committer stores them.
Chains ImportFleet(int hosts, int days, uint64_t seed) {
  google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
  uint64_t line = 0;
  Simulate(
      {.hosts = hosts, .days = days, .seed = seed, .start = kStart},
      [&](const std::string& text) {
        auto r = evidence::ParseInterchangeLine(text);
        EXPECT_TRUE(r.ok()) << r.status();
        r->set_line(++line);
        *records.Add() = std::move(*r);
      },
      [](const std::string&) {});
  store::MemoryStore store;
  FakeClock clock(absl::FromUnixSeconds(kStart + days * kDay + 3600));
  ingest::Committer committer(store, clock, {});
  EXPECT_TRUE(committer.Start().ok());
  EXPECT_TRUE(admin::CommitImport(committer, clock.Now(), &records).ok());
  committer.Stop();
  Chains out;
  EXPECT_TRUE(store::ScanPrefix(store, store::Family::kEvidence, "",
                                [&](std::string_view, std::string_view value) {
                                  v1::EvidenceRecord r;
                                  EXPECT_TRUE(r.ParseFromArray(value.data(),
                                                               static_cast<int>(value.size())));
                                  out[r.host()].push_back(std::move(r));
                                  return true;
                                })
                  .ok());
  return out;
}

// The policy; `before` is an earlier version that read the NTP check and
// the log shipper while fresh for longer, and allowed an older security
// update.
std::string Policy(int64_t window_start, int64_t window_end, bool before = false) {
  return StrCat(
      "controls:\n"
      "  - {id: patch-sla, tsc: [CC7.1], rule: patch.security_sla,\n"
      "     params: {security_max_age: ",
      before ? "3d" : "2d",
      ", reboot_grace: 1d}, freshness: 2h}\n"
      "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
      "     params: {max_gap: 15m}, freshness: ",
      before ? "3h" : "30m",
      "}\n"
      "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
      "     params: {approval_window: 24h}}\n"
      "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n"
      "  - {id: ntp, tsc: [CC7.1], rule: check.pass, params: {check: ntp}, freshness: ",
      before ? "12h" : "1h",
      "}\n"
      "windows:\n"
      "  - {id: audit, start: ",
      FormatRfc3339(absl::FromUnixSeconds(window_start)),
      ", end: ", FormatRfc3339(absl::FromUnixSeconds(window_end)), "}\n");
}

// With `changed`, the policy was changed `changed` seconds before the
// window's start, from Policy(..., before = true).
v1::BundleManifest Manifest(int days, int64_t changed = 0) {
  const int64_t end = kStart + days * kDay;
  const int64_t window_start = end - kWindowDays * kDay;
  v1::BundleManifest m;
  v1::PolicyVersion* v = m.add_policy_versions();
  v->set_file("policy.yaml");
  v->set_source(Policy(window_start, end, changed > 0));
  v->mutable_loaded_at()->set_seconds(kStart - kDay);
  if (changed > 0) {
    v = m.add_policy_versions();
    v->set_file("policy.yaml");
    v->set_source(Policy(window_start, end));
    v->mutable_loaded_at()->set_seconds(window_start - changed);
  }
  m.mutable_window()->set_id("audit");
  m.mutable_window()->set_origin("policy");
  m.mutable_window()->mutable_start()->set_seconds(window_start);
  m.mutable_summary()->mutable_computed_at()->set_seconds(end + 3600);
  return m;
}

// Each host's first state, nullopt for its whole chain.
using Starts = std::map<std::string, std::optional<SuffixHead>>;

struct Replayed {
  v1::WindowSummary summary;
  SummaryReplay::Runs runs_at_start;
};

absl::StatusOr<Replayed> Replay(const v1::BundleManifest& m, const Chains& chains,
                                const Starts& starts) {
  ReplayStore store;
  for (const auto& [host, chain] : chains) {
    const std::optional<SuffixHead>& start = starts.at(host);
    const uint64_t from = start.has_value() ? start->head_index : 1;
    std::map<std::string, std::string> labels;
    for (const v1::EvidenceRecord& r : chain) {
      if (r.index() >= from || evidence::IsAccessChange(r)) {
        if (absl::Status s = store.Add(r); !s.ok()) return s;
      } else if (r.has_hello()) {
        labels = {r.hello().labels().begin(), r.hello().labels().end()};
      }
    }
    if (from > 1) store.SetLabels(host, labels);
    if (absl::Status s = store.EndHost(host); !s.ok()) return s;
  }
  if (absl::Status s = store.Finish(); !s.ok()) return s;
  SummaryReplay replay(m, store, nullptr);
  if (absl::Status s = replay.Begin(); !s.ok()) return s;
  auto summary = replay.Finish();
  if (!summary.ok()) return summary.status();
  return Replayed{*summary, replay.RunsAtWindowStart()};
}

// A host's records as the suffix rule reads them: from `first` on, and
// every earlier access change.
SuffixObservations Fold(const std::vector<v1::EvidenceRecord>& chain, uint64_t first) {
  SuffixObservations fold;
  for (const v1::EvidenceRecord& r : chain) {
    if (r.index() >= first || evidence::IsAccessChange(r)) fold.Add(r);
  }
  return fold;
}

// A host's start in a window-sized bundle, as the exporter picks it, from
// daily states made at 00:00:01 as attestd makes them.
std::optional<SuffixHead> LatestStart(const std::vector<v1::EvidenceRecord>& chain,
                                      const ControlsInForce& policies, int64_t window_start,
                                      const std::map<std::string, int64_t>& runs) {
  SuffixObservations fold = Fold(chain, 1);
  const std::vector<v1::Observation> all = fold.Take();
  std::vector<SuffixHead> heads;
  for (int64_t created = window_start - window_start % kDay + 1; created > kStart;
       created -= kDay) {
    // The state's head: the last record received by then (the fleet is
    // imported at once; its records are in time order, as if live).
    auto head = std::upper_bound(
        chain.begin(), chain.end(), created,
        [](int64_t t, const v1::EvidenceRecord& r) { return t < r.observed_at().seconds(); });
    if (head == chain.begin()) break;
    heads.push_back({created, std::prev(head)->index()});
  }
  return PickSuffixStart(all, fold.quarantined(), heads, policies, {}, window_start, runs);
}

// Judges the fleet both ways and compares; returns the share of records
// the suffixes carry.
double ExpectSameFigures(int hosts, int days, uint64_t seed, int64_t policy_changed = 0) {
  const Chains chains = ImportFleet(hosts, days, seed);
  const v1::BundleManifest m = Manifest(days, policy_changed);
  const int64_t window_start = m.window().start().seconds();
  Starts whole_chains;
  size_t records = 0;
  for (const auto& [host, chain] : chains) {
    whole_chains[host] = std::nullopt;
    records += chain.size();
  }
  const auto whole = Replay(m, chains, whole_chains);
  EXPECT_TRUE(whole.ok()) << whole.status();
  if (!whole.ok()) return 1;

  // Each host from the latest state the rule fixes from before the window
  // starts, and from before the start of any FAIL run in progress then (a
  // deviation keeps the cause its run began with): what the exporter will
  // pick, reading those runs from attestd (GetTimeline); here from the
  // whole replay.
  std::vector<v1::PolicyVersion> versions(m.policy_versions().begin(), m.policy_versions().end());
  auto controls = ControlsInForce::From(versions, window_start);
  EXPECT_TRUE(controls.ok()) << controls.status();
  Starts starts;
  for (const auto& [host, chain] : chains) {
    static const std::map<std::string, int64_t> kNone;
    auto runs = whole->runs_at_start.find(host);
    starts[host] = LatestStart(chain, *controls, window_start,
                               runs == whole->runs_at_start.end() ? kNone : runs->second);
  }
  const absl::StatusOr<Replayed> suffix = Replay(m, chains, starts);
  EXPECT_TRUE(suffix.ok()) << suffix.status();
  if (!suffix.ok()) return 1;
  // What the verifier will check of that pick, from the suffix alone and
  // the runs its own replay found.
  EXPECT_EQ(suffix->runs_at_start.size(), whole->runs_at_start.size());
  for (const auto& [host, start] : starts) {
    if (!start.has_value()) continue;
    SuffixObservations fold = Fold(chains.at(host), start->head_index);
    const std::vector<v1::Observation> observations = fold.Take();
    static const std::map<std::string, int64_t> kNone;
    auto runs = suffix->runs_at_start.find(host);
    EXPECT_TRUE(SuffixStartAt(*start, false, observations, *controls, {}, window_start,
                              runs == suffix->runs_at_start.end() ? kNone : runs->second)
                    .ok())
        << host;
  }
  size_t carried = 0;
  for (const auto& [host, chain] : chains) {
    const uint64_t first = starts.at(host).has_value() ? starts.at(host)->head_index : 1;
    for (const v1::EvidenceRecord& r : chain) {
      carried += r.index() >= first || evidence::IsAccessChange(r);
    }
  }
  // Every figure is the same, deviations' causes included.
  EXPECT_TRUE(CompareSummaries(whole->summary, suffix->summary).ok())
      << CompareSummaries(whole->summary, suffix->summary);
  const v1::StateSeconds& judged = whole->summary.controls(0).seconds();
  EXPECT_GT(judged.pass() + judged.fail() + judged.no_evidence(), 0);
  EXPECT_FALSE(whole->runs_at_start.empty()) << "no run in progress at the window's start";
  return static_cast<double>(carried) / static_cast<double>(records);
}

TEST(BundleSuffixTest, SuffixesGiveTheWholeChainsFigures) { ExpectSameFigures(3, 60, 7); }

// The same with a policy version loaded two days before the window: the
// patch runs in progress at its start began under the earlier version
// (a 3-day SLA), and the suffixes are checked with the versions in force
// from each run's start. (Here that changes no pick; PickTest shows a run
// the earlier version judges from older evidence.)
TEST(BundleSuffixTest, APolicyChangedShortlyBeforeTheWindow) {
  ExpectSameFigures(3, 60, 7, /*policy_changed=*/2 * kDay);
}

// The suffix follows the window's length more than the history's: past
// the window's start it goes back only as far as the rules need, to the
// start of a security update left pending, or of a FAIL run in progress at
// the window's start. Two hosts, each with 395 days of history before
// the end of a 30-day window (7.6% of the chain): their suffixes carried
// 33% and 8% (a third host, seed 12, carried 11.5%; it was dropped to save
// test time once tests/window_sized_bundle_test.cc took a year of history
// through a real attestd).
TEST(BundleSuffixTest, AYearOfHistoryBeforeTheWindow) {
  double carried = 0;
  std::string each;
  for (uint64_t seed : {11, 13}) {
    const double share = ExpectSameFigures(1, 395, seed);
    carried += share / 2;
    StrAppend(&each, " ", share);
  }
  EXPECT_LT(carried, 0.25) << each;
}

// The exporter's pick on a host heard every minute, with daily states.
class PickTest : public ::testing::Test {
 protected:
  PickTest() {
    for (int64_t t = kStart; t < kStart + 10 * kDay; t += 60) {
      v1::Observation& o = chain_.emplace_back();
      o.set_t(t);
      o.set_index(chain_.size());
      o.set_any(true);
    }
    for (int d = 1; d <= 5; ++d) heads_.push_back(Head(d));
  }
  // The state made a second into day d: its head is that day's first beat.
  static SuffixHead Head(int d) { return {kStart + d * kDay + 1, d * 1440u + 1}; }
  // A policy version of the agent control and, when `disk` is given, a
  // disk check with that freshness, loaded at `at`.
  static v1::PolicyVersion Version(int64_t at, std::string_view disk = "") {
    v1::PolicyVersion v;
    v.set_file("policy.yaml");
    v.mutable_loaded_at()->set_seconds(at);
    v.set_source(StrCat(
        "controls:\n"
        "  - {id: agent, tsc: [CC7.1], rule: agent.reporting, freshness: 10m}\n",
        disk.empty() ? ""
                     : StrCat("  - {id: disk, tsc: [CC7.1], rule: check.pass, params: {check: "
                              "disk}, freshness: ",
                              disk, "}\n")));
    return v;
  }
  std::optional<SuffixHead> Pick(const std::vector<v1::PolicyVersion>& versions,
                                 std::map<std::string, int64_t> runs = {}) {
    auto policies = ControlsInForce::From(versions, window_start_);
    EXPECT_TRUE(policies.ok()) << policies.status();
    return PickSuffixStart(chain_, quarantined_, heads_, *policies, {}, window_start_, runs);
  }
  uint64_t PickIndex(const std::vector<v1::PolicyVersion>& versions,
                     std::map<std::string, int64_t> runs = {}) {
    const std::optional<SuffixHead> head = Pick(versions, std::move(runs));
    return head.has_value() ? head->head_index : 1;
  }

  const int64_t window_start_ = kStart + 5 * kDay;
  std::vector<v1::Observation> chain_;
  std::vector<uint64_t> quarantined_;
  std::vector<SuffixHead> heads_;
};

TEST_F(PickTest, TheLatestStateTheRuleAccepts) {
  // Day 5's state was made after the window began: day 4's.
  EXPECT_EQ(PickIndex({Version(kStart - kDay)}), Head(4).head_index);
  // A check read while fresh for 47 hours: day 3's.
  EXPECT_EQ(PickIndex({Version(kStart - kDay, "47h")}), Head(3).head_index);
  // Its head quarantined (a chain from before attestd refused such
  // records): the gap after it would start elsewhere. Day 3's.
  quarantined_ = {Head(4).head_index};
  EXPECT_EQ(PickIndex({Version(kStart - kDay)}), Head(3).head_index);
}

TEST_F(PickTest, ADeviationInProgressGoesBackBeforeItBegan) {
  // A disk check failing since noon the day before the window: day 3's
  // state fixes the check only from 47 hours after it, day 2's.
  const std::vector<v1::PolicyVersion> versions = {Version(kStart - kDay, "47h")};
  const int64_t began = kStart + 4 * kDay + 12 * 3600;
  EXPECT_EQ(PickIndex(versions), Head(3).head_index);
  EXPECT_EQ(PickIndex(versions, {{"disk", began}}), Head(2).head_index);
  // What the verifier says of day 3's state.
  std::vector<v1::Observation> suffix(chain_.begin() + Head(3).head_index - 1, chain_.end());
  auto policies = ControlsInForce::From(versions, window_start_);
  ASSERT_TRUE(policies.ok());
  EXPECT_EQ(std::string(SuffixStartAt(Head(3), false, suffix, *policies, {}, window_start_,
                                      {{"disk", began}})
                            .message()),
            "control disk has a deviation in progress at the window's start since "
            "2026-01-05T12:00:00Z, and the rule does not hold from the second before it began (as "
            "the window's start): control disk (freshness 47h) can still read evidence from "
            "before the suffix at the window's start");
  // Before every state: the whole chain.
  EXPECT_EQ(Pick(versions, {{"disk", kStart + 100}}), std::nullopt);
}

TEST_F(PickTest, AVersionReplacedBeforeTheWindowStillJudgesTheRun) {
  // The disk check read while fresh for 7 days until a day before the
  // window, then for 30 minutes: from the window's start, day 4's state.
  const std::vector<v1::PolicyVersion> versions = {Version(kStart - kDay, "7d"),
                                                   Version(window_start_ - kDay, "30m")};
  EXPECT_EQ(PickIndex(versions), Head(4).head_index);
  // A disk deviation in progress since day 3 began under the 7-day
  // version: its first cause may read a disk check from before any state.
  EXPECT_EQ(Pick(versions, {{"disk", kStart + 3 * kDay + 7200}}), std::nullopt);
  // Under the 30-minute version alone, day 3's would do.
  EXPECT_EQ(PickIndex({Version(kStart - kDay, "30m")}, {{"disk", kStart + 3 * kDay + 7200}}),
            Head(3).head_index);
}

}  // namespace
}  // namespace attest::ctl
