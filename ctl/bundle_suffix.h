// Window-sized bundles (docs/design.md, "Window-sized bundles"): what the
// exporter and the verifier need around engine::SuffixSuffices, the rule
// for when a host's chain from a signed state on judges a window as its
// whole chain does. Both sides build the rule's input here, from the same
// records and the same ledger, so that they cannot disagree.
#ifndef ATTEST_CTL_BUNDLE_SUFFIX_H_
#define ATTEST_CTL_BUNDLE_SUFFIX_H_

#include <deque>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/engine.pb.h"
#include "attest/v1/evidence.pb.h"
#include "daemon/engine/policy.h"

namespace attest::ctl {

// A host's records from the suffix's first on, as the engine indexes them:
// quarantined records left out, a gap starting at the record before it
// (the first record's own time for the first).
class SuffixObservations {
 public:
  // Records in chain order.
  void Add(const v1::EvidenceRecord& record);
  // The observations, sorted by (t, index) as the judge reads them.
  std::vector<v1::Observation> Take();

 private:
  int64_t prev_t_ = 0;
  std::vector<v1::Observation> observations_;
};

// The controls of every policy version in force at or after a window's
// start: the last version loaded at or before it, and every later one.
class ControlsInForce {
 public:
  static absl::StatusOr<ControlsInForce> From(const std::vector<v1::PolicyVersion>& versions,
                                              int64_t window_start);
  const std::vector<const engine::Control*>& controls() const { return controls_; }

 private:
  std::deque<engine::Policy> policies_;  // stable addresses for controls_
  std::vector<const engine::Control*> controls_;
};

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_SUFFIX_H_
