#include "ctl/bundle_window.h"

#include <algorithm>
#include <limits>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_suffix.h"
#include "daemon/engine/engine.h"
#include "daemon/evidence/note.h"

namespace attest::ctl {

std::vector<int64_t> ExistedBy(const std::vector<v1::Checkpoint>& leaves) {
  constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> out(leaves.size());
  int64_t later = kUnknown;
  for (size_t i = leaves.size(); i-- > 0;) {
    int64_t cosigned = kUnknown;
    if (auto note = evidence::note::Parse(leaves[i].note()); note.ok()) {
      int64_t latest = -1;
      for (const evidence::note::Signature& sig : note->signatures) {
        if (sig.blob.size() != 8 + 64) continue;  // attestd's own: no timestamp
        int64_t t = 0;
        for (int b = 0; b < 8; ++b) t = (t << 8) | static_cast<uint8_t>(sig.blob[b]);
        latest = std::max(latest, t);
      }
      if (latest >= 0) cosigned = latest;
    }
    later = std::min(later, cosigned);
    const int64_t created = leaves[i].created_at().seconds();
    out[i] = later == kUnknown ? created : std::max(created, later);
  }
  return out;
}

absl::StatusOr<WindowStarts> PickWindowStarts(v1::AdminService::Stub& admin,
                                              const v1::BundleManifest& decisions,
                                              ReplayStore& whole,
                                              const ReviewPopulations& populations,
                                              const std::vector<v1::Checkpoint>& leaves) {
  // The runs in progress at the window's start and the hosts' review
  // campaigns, from the whole chains, exactly as verify's replay of them
  // finds them; the replay must reproduce attestd's summary.
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
  const std::vector<int64_t> existed = ExistedBy(leaves);
  const int64_t lead = absl::ToInt64Seconds(engine::kMaxObservationLead);
  uint64_t last_candidate = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (existed[i] + lead <= window_start) last_candidate = leaves[i].sequence();
  }
  WindowStarts out;
  struct Candidate {
    int64_t existed = 0;
    uint64_t sequence = 0;
    // The verifier takes the earliest state with the head; one before
    // attest-state-v2 makes no access-change commitment to check against.
    bool commits = false;
  };
  std::map<std::string, std::map<uint64_t, Candidate>> heads;
  std::vector<v1::Checkpoint> page;
  for (uint64_t from = 1; from <= last_candidate; from += 16) {
    page.clear();
    const uint64_t to = std::min<uint64_t>(last_candidate, from + 15);
    if (absl::Status s = ListCheckpointRange(admin, from, to, false, 16, &page); !s.ok()) return s;
    for (const v1::Checkpoint& c : page) {
      for (const v1::ChainHead& h : c.heads()) {
        heads[h.host()].try_emplace(
            h.length(), Candidate{existed[c.sequence() - 1], c.sequence(), c.state_version() == 2});
      }
    }
  }
  const SummaryReplay::Runs& runs = replay.RunsAtWindowStart();
  const std::map<std::string, int64_t> none;
  for (const std::string& host : whole.Hosts()) {
    out.first_index[host] = 1;
    auto h = heads.find(host);
    if (h == heads.end()) continue;
    std::vector<SuffixHead> candidates;
    for (const auto& [length, at] : h->second) {
      if (at.commits) candidates.push_back({.created_at = at.existed, .head_index = length});
    }
    SuffixObservations fold;
    if (absl::Status s = ObserveStored(whole.store(), host, &fold); !s.ok()) return s;
    const std::vector<uint64_t> quarantined = fold.quarantined();
    const std::vector<v1::Observation> chain = fold.Take();
    const std::vector<engine::ReviewSpan> spans = replay.ReviewSpansOf(host);
    auto r = runs.find(host);
    std::optional<SuffixHead> start =
        PickSuffixStart(chain, quarantined, std::move(candidates), *policies, spans, window_start,
                        r == runs.end() ? none : r->second);
    if (!start) continue;
    out.first_index[host] = start->head_index;
    const uint64_t sequence = h->second.at(start->head_index).sequence;
    if (out.first_state == 0 || sequence < out.first_state) out.first_state = sequence;
  }
  return out;
}

}  // namespace attest::ctl
