// The replay a window-sized bundle's verify makes, against the one a whole
// bundle's makes: a simulated fleet's chains imported as attestd stores
// them, then judged by the engine once from every record and once from
// each host's suffix (from the latest daily state the suffix rule accepts,
// with every earlier access change). The window's summaries must be equal.
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

absl::StatusOr<v1::WindowSummary> Replay(const v1::BundleManifest& m, const Chains& chains,
                                         const std::map<std::string, uint64_t>& first) {
  ReplayStore store;
  for (const auto& [host, chain] : chains) {
    const uint64_t from = first.at(host);
    std::map<std::string, std::string> labels;
    for (const v1::EvidenceRecord& r : chain) {
      if (r.index() >= from) {
        if (absl::Status s = store.Add(r); !s.ok()) return s;
      } else if (evidence::IsAccessChange(r)) {
        if (absl::Status s = store.Add(r); !s.ok()) return s;
      } else if (r.has_hello()) {
        labels = {r.hello().labels().begin(), r.hello().labels().end()};
      }
    }
    if (from > 1) store.SetLabels(host, labels);
    if (absl::Status s = store.EndHost(host); !s.ok()) return s;
  }
  if (absl::Status s = store.Finish(); !s.ok()) return s;
  return ReplaySummary(m, store, nullptr);
}

// Each host's first record in a window-sized bundle: the head of the
// latest daily state (made at 00:00:01, as attestd makes them) before the
// window that the suffix rule accepts; 1 when none does.
std::map<std::string, uint64_t> FirstRecords(const v1::BundleManifest& m, const Chains& chains) {
  const int64_t window_start = m.window().start().seconds();
  std::vector<v1::PolicyVersion> versions(m.policy_versions().begin(), m.policy_versions().end());
  auto controls = ControlsInForce::From(versions, window_start);
  EXPECT_TRUE(controls.ok()) << controls.status();
  std::map<std::string, uint64_t> out;
  for (const auto& [host, chain] : chains) {
    uint64_t& first = out[host] = 1;
    for (int64_t created = window_start - window_start % kDay + 1; created > kStart;
         created -= kDay) {
      // The state's head: the last record received by then (the fleet is
      // imported at once; its records are in time order, as if live).
      auto head = std::upper_bound(
          chain.begin(), chain.end(), created,
          [](int64_t t, const v1::EvidenceRecord& r) { return t < r.observed_at().seconds(); });
      if (head == chain.begin()) break;
      --head;
      SuffixObservations observations;
      for (auto it = head; it != chain.end(); ++it) observations.Add(*it);
      const std::vector<v1::Observation> suffix = observations.Take();
      engine::SuffixInput in;
      in.prefix_bound = created + kLead;
      in.window_start = window_start;
      in.controls = controls->controls();
      in.observations = suffix;
      if (engine::SuffixSuffices(in).ok()) {
        first = head->index();
        break;
      }
    }
  }
  return out;
}

// The causes of deviations already in progress at the window's start: a
// run of FAIL keeps the cause it began with, before the window, which a
// suffix does not prove (docs/design.md, "Window-sized bundles"). Cleared,
// and counted.
int ClearCausesFromBefore(v1::WindowSummary* summary, int64_t window_start) {
  int cleared = 0;
  for (v1::ControlSummary& c : *summary->mutable_controls()) {
    for (v1::DeviationSummary& d : *c.mutable_deviations()) {
      if (d.start().seconds() > window_start) continue;
      d.clear_cause();
      ++cleared;
    }
  }
  return cleared;
}

// Judges the fleet both ways and compares; returns the share of records
// the suffixes carry.
double ExpectSameFigures(int hosts, int days, uint64_t seed) {
  const Chains chains = ImportFleet(hosts, days, seed);
  const v1::BundleManifest m = Manifest(days);
  std::map<std::string, uint64_t> whole_chains;
  size_t records = 0;
  for (const auto& [host, chain] : chains) {
    whole_chains[host] = 1;
    records += chain.size();
  }
  const auto whole = Replay(m, chains, whole_chains);
  EXPECT_TRUE(whole.ok()) << whole.status();
  if (!whole.ok()) return 1;

  const std::map<std::string, uint64_t> first = FirstRecords(m, chains);
  size_t carried = 0;
  for (const auto& [host, chain] : chains) {
    for (const v1::EvidenceRecord& r : chain) {
      carried += r.index() >= first.at(host) || evidence::IsAccessChange(r);
    }
  }
  auto suffix = Replay(m, chains, first);
  EXPECT_TRUE(suffix.ok()) << suffix.status();
  if (!suffix.ok()) return 1;
  // Every figure is the same: seconds per state, verdicts, and every
  // deviation's host, start, end and length; every deviation's cause but
  // those of runs begun before the window.
  v1::WindowSummary want = *whole;
  const int in_progress = ClearCausesFromBefore(&want, m.window().start().seconds());
  EXPECT_EQ(ClearCausesFromBefore(&*suffix, m.window().start().seconds()), in_progress);
  EXPECT_TRUE(CompareSummaries(want, *suffix).ok()) << CompareSummaries(want, *suffix);
  const v1::StateSeconds& judged = want.controls(0).seconds();
  EXPECT_GT(judged.pass() + judged.fail() + judged.no_evidence(), 0);
  return static_cast<double>(carried) / static_cast<double>(records);
}

TEST(BundleSuffixTest, SuffixesGiveTheWholeChainsFigures) { ExpectSameFigures(3, 60, 7); }

// The suffix follows the window's length more than the history's: it goes
// back past the window only as far as the rules need, here to the start
// of a security update left pending for weeks (what the window's patch
// failure is about).
TEST(BundleSuffixTest, AYearOfHistoryBeforeTheWindow) {
  EXPECT_LT(ExpectSameFigures(1, 395, 11), 0.2);
}

}  // namespace
}  // namespace attest::ctl
