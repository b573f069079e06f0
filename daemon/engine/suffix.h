// When a host's chain from a signed state on judges a window as its whole
// chain does (docs/design.md, "Window-sized bundles").
//
// A window-sized bundle carries each host's records from the head record of
// a signed state S on. Every judged record before that head was observed at
// or before P = S's created_at + 5 minutes (a record dated later than 5
// minutes after attestd received it is quarantined, never judged), so what
// the suffix leaves out is older than P. The rule below says when nothing
// older than P can change a control's state at or after the window's start.
// The exporter uses it to pick each host's S and the verifier to check the
// exporter's pick; both call this one function, so they cannot disagree.
#ifndef ATTEST_DAEMON_ENGINE_SUFFIX_H_
#define ATTEST_DAEMON_ENGINE_SUFFIX_H_

#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "attest/v1/engine.pb.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/policy.h"

namespace attest::engine {

struct SuffixInput {
  // P: every judged observation the suffix leaves out is at or before it
  // (S's created_at + kMaxObservationLead, daemon/engine/engine.h).
  Seconds prefix_bound = 0;
  Seconds window_start = 0;
  // Every control of every policy version in force at or after the
  // window's start.
  std::vector<const Control*> controls;
  // The suffix's observations (from S's head record on) and those of every
  // earlier access change (a window-sized bundle carries them), sorted by
  // (t, index), quarantined records left out, as the engine indexes them.
  std::span<const v1::Observation> observations;
  // The host's review campaigns as judged from the suffix.
  std::span<const ReviewSpan> reviews;
  // Only the controls' FAIL states need be the whole chain's, cause for
  // cause: the question for a deviation in progress at the window's start
  // (EarliestSufficient below). A gap voids no FAIL of
  // access.change_approved or access.review_performed, so a state signed
  // after that moment does not matter to them; every other control's
  // condition already implies P <= it.
  bool fail_runs_only = false;
};

// OK when judging from the suffix gives every control the same states from
// the window's start on as judging from the whole chain, given the host's
// every access change (a window-sized bundle carries them all); otherwise
// FailedPrecondition naming the first fact the suffix cannot fix. The rule:
//   - P <= the window's start (S was signed at least 5 minutes before
//     it): a gap recorded before S's head voids states until its end, up
//     to P (not asked with fail_runs_only);
//   - every control that reads a host's last observations has a freshness
//     F with P + F <= the window's start, so what the suffix leaves out is
//     stale there, and stale judges as absent (agent.reporting names the
//     time, so it needs an observation after P instead);
//   - agent.reporting: the suffix holds an observation after P, at or
//     before the window's start;
//   - patch.security_sla: no pending package or reboot reaches back past
//     P: at the window's start (or at the first patch state after it, when
//     none came between P and it) each is missing from some patch state
//     after P, so its first-seen time is the suffix's;
//   - the host is enrolled by the window's start in the suffix too, and,
//     unless a review was completed by then, a cadence of every review
//     control has passed since the suffix's first observation (with no
//     review completed, the judge counts it from the enrolment, which may
//     lie before the suffix);
//   - a review revocation decided at or before P is confirmed by the
//     window's start (its confirmation may lie before the suffix).
absl::Status SuffixSuffices(const SuffixInput& in);

// The earliest moment T, at or before the window's start, from which the
// suffix judges every control as the whole chain does (SuffixSuffices with
// T as the window's start); nullopt when not even from the window's start.
// A deviation in progress at the window's start keeps the cause it began
// with: the suffix fixes it when that run began after T, T found per
// control with fail_runs_only. T is for `controls` alone: a policy version
// replaced between T and the window's start is not among them, so a
// caller with one must ask again with the versions in force from T on
// (ctl/bundle_suffix.h's SuffixStartAt asks from each run's start).
std::optional<Seconds> EarliestSufficient(const SuffixInput& in);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_SUFFIX_H_
