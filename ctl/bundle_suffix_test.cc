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
constexpr int64_t kLead = 300;          // engine::kMaxObservationLead
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

std::string Policy(int64_t window_start, int64_t window_end) {
  return StrCat(
      "controls:\n"
      "  - {id: patch-sla, tsc: [CC7.1], rule: patch.security_sla,\n"
      "     params: {security_max_age: 2d, reboot_grace: 1d}, freshness: 2h}\n"
      "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
      "     params: {max_gap: 15m}, freshness: 30m}\n"
      "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
      "     params: {approval_window: 24h}}\n"
      "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n"
      "  - {id: ntp, tsc: [CC7.1], rule: check.pass, params: {check: ntp}, freshness: 1h}\n"
      "windows:\n"
      "  - {id: audit, start: ",
      FormatRfc3339(absl::FromUnixSeconds(window_start)),
      ", end: ", FormatRfc3339(absl::FromUnixSeconds(window_end)), "}\n");
}

v1::BundleManifest Manifest(int days) {
  const int64_t end = kStart + days * kDay;
  const int64_t window_start = end - kWindowDays * kDay;
  v1::BundleManifest m;
  v1::PolicyVersion* v = m.add_policy_versions();
  v->set_file("policy.yaml");
  v->set_source(Policy(window_start, end));
  v->mutable_loaded_at()->set_seconds(kStart - kDay);
  m.mutable_window()->set_id("audit");
  m.mutable_window()->set_origin("policy");
  m.mutable_window()->mutable_start()->set_seconds(window_start);
  m.mutable_summary()->mutable_computed_at()->set_seconds(end + 3600);
  return m;
}

// Where a host's records start: its first record, and per control the
// moment from which the suffix rule says they judge it as its whole chain
// does (none for a whole chain: from the start).
struct Start {
  uint64_t first = 1;
  std::map<std::string, int64_t> fixed_from;
};
using Starts = std::map<std::string, Start>;

struct Replayed {
  v1::WindowSummary summary;
  SummaryReplay::Runs runs_at_start;
};

absl::StatusOr<Replayed> Replay(const v1::BundleManifest& m, const Chains& chains,
                                const Starts& starts) {
  ReplayStore store;
  for (const auto& [host, chain] : chains) {
    const uint64_t from = starts.at(host).first;
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

// The controls with this id (one per policy version that has it).
std::vector<const engine::Control*> WithId(const std::vector<const engine::Control*>& controls,
                                           const std::string& id) {
  std::vector<const engine::Control*> out;
  for (const engine::Control* c : controls) {
    if (c->id == id) out.push_back(c);
  }
  return out;
}

// A host's start in a window-sized bundle: the head of the latest daily
// state (made at 00:00:01, as attestd makes them) whose suffix the rule
// fixes from the window's start, and, for each control with a FAIL run in
// progress then (`runs`: control -> when it began), from before that run
// began (a deviation keeps the cause it began with); the whole chain when
// none does.
Start LatestStart(const std::vector<v1::EvidenceRecord>& chain,
                  const std::vector<const engine::Control*>& controls, int64_t window_start,
                  const std::map<std::string, int64_t>& runs) {
  // The rule reads no gap's start, so one fold of the whole chain serves
  // every candidate: its observations from the head's index on, and every
  // earlier access change (the bundle carries them).
  SuffixObservations fold;
  for (const v1::EvidenceRecord& r : chain) fold.Add(r);
  const std::vector<v1::Observation> all = fold.Take();
  std::vector<v1::Observation> observations;
  engine::SuffixInput in;
  auto suffices = [&](const std::vector<const engine::Control*>& of, int64_t from) {
    in.controls = of;
    in.window_start = from;
    return engine::SuffixSuffices(in).ok();
  };
  for (int64_t created = window_start - window_start % kDay + 1; created > kStart;
       created -= kDay) {
    // The state's head: the last record received by then (the fleet is
    // imported at once; its records are in time order, as if live).
    auto head = std::upper_bound(
        chain.begin(), chain.end(), created,
        [](int64_t t, const v1::EvidenceRecord& r) { return t < r.observed_at().seconds(); });
    if (head == chain.begin()) break;
    --head;
    observations.clear();
    for (const v1::Observation& o : all) {
      if (o.index() >= head->index() || (o.has_access() && !o.access().snapshot())) {
        observations.push_back(o);
      }
    }
    in.prefix_bound = created + kLead;
    in.observations = observations;
    in.fail_runs_only = false;
    if (!suffices(controls, window_start)) continue;
    // Fixed from before a run began is fixed from the second before it
    // (the rule is monotone in that moment).
    in.fail_runs_only = true;
    if (!std::all_of(runs.begin(), runs.end(), [&](const auto& run) {
          return suffices(WithId(controls, run.first), run.second - 1);
        })) {
      continue;
    }
    Start out{head->index(), {}};
    for (const engine::Control* c : controls) {
      in.controls = WithId(controls, c->id);
      in.window_start = window_start;
      out.fixed_from[c->id] = *engine::EarliestSufficient(in);
    }
    return out;
  }
  return {};
}

// Judges the fleet both ways and compares; returns the share of records
// the suffixes carry.
double ExpectSameFigures(int hosts, int days, uint64_t seed) {
  const Chains chains = ImportFleet(hosts, days, seed);
  const v1::BundleManifest m = Manifest(days);
  const int64_t window_start = m.window().start().seconds();
  Starts whole_chains;
  size_t records = 0;
  for (const auto& [host, chain] : chains) {
    whole_chains[host] = {};
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
    starts[host] = LatestStart(chain, controls->controls(), window_start,
                               runs == whole->runs_at_start.end() ? kNone : runs->second);
  }
  const absl::StatusOr<Replayed> suffix = Replay(m, chains, starts);
  EXPECT_TRUE(suffix.ok()) << suffix.status();
  if (!suffix.ok()) return 1;
  // What the verifier will check of that pick: every run in progress at
  // the window's start began after the moment its control is fixed from.
  EXPECT_EQ(suffix->runs_at_start.size(), whole->runs_at_start.size());
  for (const auto& [host, runs] : suffix->runs_at_start) {
    const Start& start = starts.at(host);
    if (start.first == 1) continue;
    for (const auto& [control, began] : runs) {
      EXPECT_GT(began, start.fixed_from.at(control)) << host << " " << control;
    }
  }
  size_t carried = 0;
  for (const auto& [host, chain] : chains) {
    for (const v1::EvidenceRecord& r : chain) {
      carried += r.index() >= starts.at(host).first || evidence::IsAccessChange(r);
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

// The suffix follows the window's length more than the history's: past
// the window's start it goes back only as far as the rules need, to the
// start of a security update left pending, or of a FAIL run in progress at
// the window's start. Three hosts, each with 395 days of history before
// the end of a 30-day window (7.6% of the chain): their suffixes carried
// 33%, 12% and 8%.
TEST(BundleSuffixTest, AYearOfHistoryBeforeTheWindow) {
  double carried = 0;
  std::string each;
  for (uint64_t seed : {11, 12, 13}) {
    const double share = ExpectSameFigures(1, 395, seed);
    carried += share / 3;
    StrAppend(&each, " ", share);
  }
  EXPECT_LT(carried, 0.25) << each;
}

}  // namespace
}  // namespace attest::ctl
