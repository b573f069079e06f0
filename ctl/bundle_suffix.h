// Window-sized bundles (docs/design.md, "Window-sized bundles"): what the
// exporter and the verifier need around engine::SuffixSuffices, the rule
// for when a host's chain from a signed state on judges a window as its
// whole chain does. Both sides build the rule's input here, from the same
// records and the same ledger, so that they cannot disagree.
#ifndef ATTEST_CTL_BUNDLE_SUFFIX_H_
#define ATTEST_CTL_BUNDLE_SUFFIX_H_

#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/engine.pb.h"
#include "attest/v1/evidence.pb.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/policy.h"
#include "daemon/store/store.h"

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
  // The indexes of the quarantined records added, in chain order.
  const std::vector<uint64_t>& quarantined() const { return quarantined_; }

 private:
  int64_t prev_t_ = 0;
  std::vector<v1::Observation> observations_;
  std::vector<uint64_t> quarantined_;
};

// Adds `host`'s records in `store` (a replay's: ReplayStore) to `into`, in
// chain order.
absl::Status ObserveStored(store::Store& store, const std::string& host, SuffixObservations* into);

// The controls of a bundle's policy versions by when they were in force.
class ControlsInForce {
 public:
  static absl::StatusOr<ControlsInForce> From(const std::vector<v1::PolicyVersion>& versions,
                                              int64_t window_start);
  // Every control of every version in force at or after the window's start:
  // the last version loaded at or before it, and every later one.
  const std::vector<const engine::Control*>& controls() const { return controls_; }
  // The same from t on (t at or before the window's start).
  std::vector<const engine::Control*> InForceFrom(int64_t t) const;

 private:
  std::deque<engine::Policy> policies_;  // in load order; stable addresses
  std::vector<int64_t> loaded_at_;       // of each
  std::vector<const engine::Control*> controls_;
};

// A signed state as a host's suffix may start at it: when attestd made the
// state, and the index of the host's head record in it.
struct SuffixHead {
  int64_t created_at = 0;
  uint64_t head_index = 0;
};

// What the rule says of the suffix from `head` (the exporter's question for
// each state, and the verifier's check of the exporter's pick). The suffix
// starts at the head record itself, which must not be quarantined (the
// next record's gap would then start elsewhere in the suffix than in the
// chain). `observations` are the host's from the head's index on and every
// earlier access change, sorted (SuffixObservations); `runs` the FAIL runs
// in progress at the window's start, control id -> when each began. A
// deviation keeps the cause it began with, so for each run the rule must
// hold, on FAIL states, from the second before it began, for every version
// of its control in force from then on (a version replaced before the
// window's start still judged the run's first interval). OK, or
// FailedPrecondition naming why not.
absl::Status SuffixStartAt(SuffixHead head, bool head_quarantined,
                           std::span<const v1::Observation> observations,
                           const ControlsInForce& policies,
                           std::span<const engine::ReviewSpan> reviews, int64_t window_start,
                           const std::map<std::string, int64_t>& runs);

// The exporter's pick: the latest of `heads` that SuffixStartAt accepts,
// nullopt (the whole chain) when none does. `chain` is every observation of
// the host's chain and `quarantined` its quarantined records' indexes in
// ascending order (SuffixObservations of every record, in chain order: the
// rule reads no gap's start, so
// one fold serves every head). The rule is not monotone in the state (a
// state whose suffix holds a patch state stale by the window's start can
// be refused where a later one is not), so heads are tried from the latest
// back, each in time linear in `chain`. `latest_refused`, when given, gets
// why the latest head made early enough was refused (OK when none was).
std::optional<SuffixHead> PickSuffixStart(
    std::span<const v1::Observation> chain, std::span<const uint64_t> quarantined,
    std::vector<SuffixHead> heads, const ControlsInForce& policies,
    std::span<const engine::ReviewSpan> reviews, int64_t window_start,
    const std::map<std::string, int64_t>& runs, absl::Status* latest_refused = nullptr);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_SUFFIX_H_
