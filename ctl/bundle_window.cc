#include "ctl/bundle_window.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_suffix.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/scan.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/note.h"

namespace attest::ctl {

std::vector<int64_t> ExistedBy(const std::vector<v1::Checkpoint>& leaves,
                               const std::vector<std::string>& witnesses) {
  constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> out(leaves.size());
  int64_t later = kUnknown;
  for (size_t i = leaves.size(); i-- > 0;) {
    int64_t cosigned = kUnknown;
    auto note = evidence::note::Parse(leaves[i].note());
    if (note.ok() && !witnesses.empty()) {
      int64_t latest = -1;
      for (const std::string& name : witnesses) {
        int64_t t = -1;
        for (const evidence::note::Signature& sig : note->signatures) {
          if (sig.name != name || sig.blob.size() != 8 + 64) continue;
          int64_t ts = 0;
          for (int b = 0; b < 8; ++b) ts = (ts << 8) | static_cast<uint8_t>(sig.blob[b]);
          t = std::max(t, ts);
        }
        if (t < 0) {  // this witness did not cosign the state
          latest = -1;
          break;
        }
        latest = std::max(latest, t);
      }
      if (latest >= 0) cosigned = latest;
    }
    later = std::min(later, cosigned);
    const int64_t created = leaves[i].created_at().seconds();
    // With witnesses and no cosignature by all of them from here on, the
    // state cannot start a host: an auditor with some of those witnesses'
    // keys would find it later than any time this could name.
    out[i] = later != kUnknown ? std::max(created, later) : witnesses.empty() ? created : kUnknown;
  }
  return out;
}

std::map<std::string, absl::Status> CheckStarts(const v1::BundleManifest& decisions,
                                                ReplayStore& records, const SummaryReplay& replay,
                                                const std::map<std::string, HostStart>& starts) {
  std::map<std::string, absl::Status> out;
  const int64_t window_start = decisions.window().start().seconds();
  std::vector<v1::PolicyVersion> versions(decisions.policy_versions().begin(),
                                          decisions.policy_versions().end());
  auto policies = ControlsInForce::From(versions, window_start);
  const SummaryReplay::Runs& runs = replay.RunsAtWindowStart();
  const std::map<std::string, int64_t> none;
  for (const auto& [host, x] : starts) {
    if (x.first_index <= 1) continue;
    absl::Status& s = out[host];
    if (!policies.ok()) {
      s = policies.status();
      continue;
    }
    SuffixObservations fold;
    if (s = ObserveStored(records.store(), host, &fold); !s.ok()) continue;
    const bool head_quarantined =
        std::binary_search(fold.quarantined().begin(), fold.quarantined().end(), x.first_index);
    const std::vector<v1::Observation> observations = fold.Take();
    const std::vector<engine::ReviewSpan> spans = replay.ReviewSpansOf(host);
    auto r = runs.find(host);
    s = SuffixStartAt({.created_at = x.signed_by, .head_index = x.first_index}, head_quarantined,
                      observations, *policies, spans, window_start,
                      r == runs.end() ? none : r->second);
    if (!s.ok()) {
      s = absl::DataLossError(StrCat(
          "host ", host, ": its records start at record ", x.first_index, " (its head in state ",
          x.sequence,
          "), from where they need not judge the window as its whole chain does: ", s.message()));
    }
  }
  return out;
}

absl::Status SnapshotsCovered(uint64_t first_index, uint64_t ledger_length,
                              const std::vector<CampaignSnapshot>& campaigns) {
  for (const CampaignSnapshot& c : campaigns) {
    if (c.snapshot_index > 0 && c.snapshot_index < first_index && c.ledger_index > ledger_length) {
      return absl::FailedPreconditionError(
          StrCat("review campaign ", c.campaign, " (ledger entry ", c.ledger_index,
                 ", after the state's ledger length ", ledger_length,
                 ") took the host's population from record ", c.snapshot_index,
                 ", before the host's first record ", first_index,
                 ": the bundle could not check that population against its snapshot"));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadSuffix(ReplayStore& whole, const std::string& host, const HostStart& start,
                        ReplayStore& into) {
  if (start.first_index > 1) into.SetLabels(host, start.labels);
  absl::Status s = engine::ScanMessages<v1::EvidenceRecord>(
      whole.store(), store::Family::kEvidence, store::EvidencePrefix(host),
      store::PrefixEnd(store::EvidencePrefix(host)), [&](v1::EvidenceRecord&& r) -> absl::Status {
        if (r.index() < start.first_index && !evidence::IsAccessChange(r)) {
          return absl::OkStatus();
        }
        return into.Add(r);
      });
  if (!s.ok()) return s;
  return into.EndHost(host);
}

namespace {

// A state a host's records may start at.
struct Candidate {
  int64_t existed = 0;
  uint64_t sequence = 0;
  uint64_t ledger_length = 0;
  std::map<std::string, std::string> labels;
  // verify takes the earliest state with the head; one before
  // attest-state-v2 makes no access-change commitment to check against.
  bool commits = false;
};

// The check of a pick on the suffixes alone, as verify makes it: the hosts
// it refuses (all of them when the suffixes do not give attestd's summary).
absl::StatusOr<std::vector<std::string>> Refused(const v1::BundleManifest& decisions,
                                                 ReplayStore& whole,
                                                 const ReviewPopulations& populations,
                                                 const std::map<std::string, HostStart>& starts) {
  ReplayStore suffixes;
  // In memory when the whole chains fit there, as the suffixes then do.
  if (absl::Status s = suffixes.Prepare(whole.scratch().empty() ? 0 : UINT64_MAX); !s.ok()) {
    return s;
  }
  for (const auto& [host, x] : starts) {
    if (absl::Status s = LoadSuffix(whole, host, x, suffixes); !s.ok()) return s;
  }
  if (absl::Status s = suffixes.Finish(); !s.ok()) return s;
  SummaryReplay replay(decisions, suffixes, &populations);
  if (absl::Status s = replay.Begin(); !s.ok()) return s;
  auto summary = replay.Finish();
  if (!summary.ok()) return summary.status();
  std::vector<std::string> refused;
  if (absl::Status s = CompareSummaries(decisions.summary(), *summary); !s.ok()) {
    fprintf(stderr, "export: window-sized: the suffixes do not give attestd's summary (%s)\n",
            std::string(s.message()).c_str());
    for (const auto& [host, x] : starts) {
      if (x.first_index > 1) refused.push_back(host);
    }
    return refused;
  }
  for (const auto& [host, s] : CheckStarts(decisions, suffixes, replay, starts)) {
    if (s.ok()) continue;
    fprintf(stderr, "export: window-sized: %s\n", std::string(s.message()).c_str());
    refused.push_back(host);
  }
  return refused;
}

}  // namespace

absl::StatusOr<std::map<std::string, HostStart>> PickWindowStarts(
    v1::AdminService::Stub& admin, const v1::BundleManifest& decisions, ReplayStore& whole,
    const ReviewPopulations& populations, const std::vector<v1::Checkpoint>& leaves,
    const std::vector<std::string>& witnesses,
    const std::map<std::string, std::vector<CampaignSnapshot>>& snapshots) {
  // The runs in progress at the window's start and the hosts' review
  // campaigns, from the whole chains; the replay must reproduce attestd's
  // summary.
  SummaryReplay replay(decisions, whole, &populations);
  if (absl::Status s = replay.Begin(); !s.ok()) return s;
  auto summary = replay.Finish();
  if (!summary.ok()) return summary.status();
  if (absl::Status s = CompareSummaries(decisions.summary(), *summary); !s.ok()) {
    return absl::DataLossError(StrCat("the whole chains do not give attestd's summary (",
                                      s.message(), "); a window-sized bundle needs them to"));
  }
  const int64_t window_start = decisions.window().start().seconds();
  std::vector<v1::PolicyVersion> versions(decisions.policy_versions().begin(),
                                          decisions.policy_versions().end());
  auto policies = ControlsInForce::From(versions, window_start);
  if (!policies.ok()) return policies.status();

  // Each host's heads in the states made early enough to start from: per
  // head length, the earliest state with it (the smallest bound on when
  // the records up to it were observed).
  const std::vector<int64_t> existed = ExistedBy(leaves, witnesses);
  const int64_t lead = absl::ToInt64Seconds(engine::kMaxObservationLead);
  // Candidates: the states made at least 5 minutes before the window and
  // at most kMaxLookBack before it. Each try costs a pass over the host's
  // observations, and a host whose figures need older history (a security
  // update pending for months, a review overdue since enrolment) is
  // carried whole.
  uint64_t first_candidate = 0, last_candidate = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (existed[i] > window_start - lead) continue;
    if (leaves[i].created_at().seconds() < window_start - absl::ToInt64Seconds(kMaxLookBack)) {
      continue;
    }
    if (first_candidate == 0) first_candidate = leaves[i].sequence();
    last_candidate = leaves[i].sequence();
  }
  std::map<std::string, std::map<uint64_t, Candidate>> heads;
  std::vector<v1::Checkpoint> page;
  for (uint64_t from = std::max<uint64_t>(first_candidate, 1); from <= last_candidate; from += 16) {
    page.clear();
    const uint64_t to = std::min<uint64_t>(last_candidate, from + 15);
    if (absl::Status s = ListCheckpointRange(admin, from, to, false, 16, &page); !s.ok()) return s;
    for (const v1::Checkpoint& c : page) {
      for (const v1::ChainHead& h : c.heads()) {
        heads[h.host()].try_emplace(h.length(), Candidate{existed[c.sequence() - 1],
                                                          c.sequence(),
                                                          c.ledger_length(),
                                                          {h.labels().begin(), h.labels().end()},
                                                          c.state_version() == 2});
      }
    }
  }
  const SummaryReplay::Runs& runs = replay.RunsAtWindowStart();
  const std::map<std::string, int64_t> none;
  const std::vector<CampaignSnapshot> no_campaigns;
  std::map<std::string, HostStart> out;
  for (const std::string& host : whole.Hosts()) {
    out[host] = HostStart{};
    auto h = heads.find(host);
    if (h == heads.end()) continue;
    auto campaigns = snapshots.find(host);
    std::vector<SuffixHead> candidates;
    for (const auto& [length, at] : h->second) {
      if (!at.commits) continue;
      if (!SnapshotsCovered(length, at.ledger_length,
                            campaigns == snapshots.end() ? no_campaigns : campaigns->second)
               .ok()) {
        continue;
      }
      candidates.push_back({.created_at = at.existed, .head_index = length});
    }
    SuffixObservations fold;
    if (absl::Status s = ObserveStored(whole.store(), host, &fold); !s.ok()) return s;
    const std::vector<uint64_t> quarantined = fold.quarantined();
    const std::vector<v1::Observation> chain = fold.Take();
    const std::vector<engine::ReviewSpan> spans = replay.ReviewSpansOf(host);
    auto r = runs.find(host);
    absl::Status why;
    std::optional<SuffixHead> start =
        PickSuffixStart(chain, quarantined, std::move(candidates), *policies, spans, window_start,
                        r == runs.end() ? none : r->second, &why);
    if (!start) {
      // Said, so that an operator sees what keeps a host's history in.
      fprintf(stderr, "export: window-sized: %s is carried whole: %s\n", host.c_str(),
              why.ok() ? StrCat("no signed state in the ", absl::ToInt64Hours(kMaxLookBack) / 24,
                                " days before the window has its head")
                             .c_str()
                       : std::string(why.message()).c_str());
      continue;
    }
    const Candidate& at = h->second.at(start->head_index);
    out[host] = {.first_index = start->head_index,
                 .signed_by = at.existed,
                 .sequence = at.sequence,
                 .labels = at.labels};
  }
  // The pick was made with the whole chains' runs and review campaigns;
  // verify has only the suffixes'. Check it as verify will, and carry whole
  // every host that check refuses (a revocation confirmed before a host's
  // first record, say), until none is.
  for (;;) {
    if (std::none_of(out.begin(), out.end(),
                     [](const auto& e) { return e.second.first_index > 1; }))
      break;  // every host whole: nothing to check
    auto refused = Refused(decisions, whole, populations, out);
    if (!refused.ok()) return refused.status();
    if (refused->empty()) break;
    for (const std::string& host : *refused) out[host] = HostStart{};
  }
  return out;
}

}  // namespace attest::ctl
