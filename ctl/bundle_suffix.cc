#include "ctl/bundle_suffix.h"

#include <algorithm>

#include "daemon/engine/engine.h"
#include "daemon/engine/observations.h"

namespace attest::ctl {

void SuffixObservations::Add(const v1::EvidenceRecord& r) {
  if (engine::Quarantined(r)) return;  // the engine's prev_t skips them too
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

absl::StatusOr<ControlsInForce> ControlsInForce::From(
    const std::vector<v1::PolicyVersion>& versions, int64_t window_start) {
  std::vector<const v1::PolicyVersion*> sorted;
  for (const v1::PolicyVersion& v : versions) sorted.push_back(&v);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->loaded_at().seconds() < b->loaded_at().seconds();
  });
  size_t first = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i]->loaded_at().seconds() <= window_start) first = i;
  }
  ControlsInForce out;
  for (size_t i = first; i < sorted.size(); ++i) {
    auto policy = engine::ParsePolicy(sorted[i]->source(), sorted[i]->file());
    if (!policy.ok()) return policy.status();
    out.policies_.push_back(std::move(*policy));
  }
  for (const engine::Policy& p : out.policies_) {
    for (const engine::Control& c : p.controls) out.controls_.push_back(&c);
  }
  return out;
}

}  // namespace attest::ctl
