#include "ctl/bundle_suffix.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/observations.h"
#include "daemon/engine/scan.h"
#include "daemon/engine/suffix.h"
#include "daemon/store/keys.h"

namespace attest::ctl {

void SuffixObservations::Add(const v1::EvidenceRecord& r) {
  if (engine::Quarantined(r)) {  // the engine's prev_t skips them too
    quarantined_.push_back(r.index());
    return;
  }
  v1::Observation o;
  if (engine::ObservationFromRecord(r, prev_t_ > 0 ? prev_t_ : r.observed_at().seconds(), &o)) {
    observations_.push_back(std::move(o));
  }
  prev_t_ = r.observed_at().seconds();
}

std::vector<v1::Observation> SuffixObservations::Take() {
  std::sort(observations_.begin(), observations_.end(),
            [](const v1::Observation& a, const v1::Observation& b) {
              return a.t() != b.t() ? a.t() < b.t() : a.index() < b.index();
            });
  return std::move(observations_);
}

absl::Status ObserveStored(store::Store& store, const std::string& host, SuffixObservations* into) {
  return engine::ScanMessages<v1::EvidenceRecord>(
      store, store::Family::kEvidence, store::EvidencePrefix(host),
      store::PrefixEnd(store::EvidencePrefix(host)), [&](v1::EvidenceRecord&& r) { into->Add(r); });
}

absl::StatusOr<ControlsInForce> ControlsInForce::From(
    const std::vector<v1::PolicyVersion>& versions, int64_t window_start) {
  std::vector<const v1::PolicyVersion*> sorted;
  for (const v1::PolicyVersion& v : versions) sorted.push_back(&v);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->loaded_at().seconds() < b->loaded_at().seconds();
  });
  ControlsInForce out;
  for (const v1::PolicyVersion* v : sorted) {
    auto policy = engine::ParsePolicy(v->source(), v->file());
    if (!policy.ok()) return policy.status();
    out.policies_.push_back(std::move(*policy));
    out.loaded_at_.push_back(v->loaded_at().seconds());
  }
  out.controls_ = out.InForceFrom(window_start);
  return out;
}

std::vector<const engine::Control*> ControlsInForce::InForceFrom(int64_t t) const {
  size_t first = 0;
  for (size_t i = 0; i < loaded_at_.size(); ++i) {
    if (loaded_at_[i] <= t) first = i;
  }
  std::vector<const engine::Control*> out;
  for (size_t i = first; i < policies_.size(); ++i) {
    for (const engine::Control& c : policies_[i].controls) out.push_back(&c);
  }
  return out;
}

namespace {

std::vector<const engine::Control*> WithId(const std::vector<const engine::Control*>& controls,
                                           std::string_view id) {
  std::vector<const engine::Control*> out;
  for (const engine::Control* c : controls) {
    if (c->id == id) out.push_back(c);
  }
  return out;
}

}  // namespace

absl::Status SuffixStartAt(SuffixHead head, bool head_quarantined,
                           std::span<const v1::Observation> observations,
                           const ControlsInForce& policies,
                           std::span<const engine::ReviewSpan> reviews, int64_t window_start,
                           const std::map<std::string, int64_t>& runs) {
  if (head_quarantined) {
    return absl::FailedPreconditionError(
        StrCat("the state's head record ", head.head_index, " is quarantined"));
  }
  engine::SuffixInput in;
  in.prefix_bound = head.created_at + absl::ToInt64Seconds(engine::kMaxObservationLead);
  in.window_start = window_start;
  in.controls = policies.controls();
  in.observations = observations;
  in.reviews = reviews;
  if (absl::Status s = engine::SuffixSuffices(in); !s.ok()) return s;
  in.fail_runs_only = true;
  for (const auto& [control, began] : runs) {
    const std::vector<const engine::Control*> in_force = policies.InForceFrom(began - 1);
    in.controls = WithId(in_force, control);
    in.window_start = began - 1;
    if (in.controls.empty()) {
      return absl::FailedPreconditionError(StrCat("no control ", control, " in force"));
    }
    if (absl::Status s = engine::SuffixSuffices(in); !s.ok()) {
      return absl::FailedPreconditionError(StrCat(
          "control ", control, " has a deviation in progress at the window's start since ",
          FormatRfc3339(absl::FromUnixSeconds(began)),
          ", and the rule does not hold from the second before it began (as the window's start): ",
          s.message()));
    }
  }
  return absl::OkStatus();
}

std::optional<SuffixHead> PickSuffixStart(
    std::span<const v1::Observation> chain, std::span<const uint64_t> quarantined,
    std::vector<SuffixHead> heads, const ControlsInForce& policies,
    std::span<const engine::ReviewSpan> reviews, int64_t window_start,
    const std::map<std::string, int64_t>& runs, absl::Status* latest_refused) {
  std::sort(heads.begin(), heads.end(),
            [](const SuffixHead& a, const SuffixHead& b) { return a.created_at > b.created_at; });
  std::vector<v1::Observation> observations;
  for (const SuffixHead& head : heads) {
    if (head.head_index <= 1) break;  // from the chain's start: the whole chain
    if (head.created_at + absl::ToInt64Seconds(engine::kMaxObservationLead) > window_start) {
      continue;  // refused whatever its suffix (SignedBeforeStart)
    }
    observations.clear();
    for (const v1::Observation& o : chain) {
      if (o.index() >= head.head_index || (o.has_access() && !o.access().snapshot())) {
        observations.push_back(o);
      }
    }
    const bool head_quarantined =
        std::binary_search(quarantined.begin(), quarantined.end(), head.head_index);
    absl::Status s =
        SuffixStartAt(head, head_quarantined, observations, policies, reviews, window_start, runs);
    if (s.ok()) return head;
    if (latest_refused != nullptr && latest_refused->ok()) *latest_refused = s;
  }
  return std::nullopt;
}

}  // namespace attest::ctl
