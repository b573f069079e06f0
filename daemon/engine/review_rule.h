// The rule access.review_performed (docs/design.md, "Access reviews"): a
// host's state at one instant from the campaigns whose scope held it. Pure,
// like the rest of the judge; the engine builds the ReviewSpans
// (engine_reviews_confirm.cc).
#ifndef ATTEST_DAEMON_ENGINE_REVIEW_RULE_H_
#define ATTEST_DAEMON_ENGINE_REVIEW_RULE_H_

#include <span>
#include <string>
#include <vector>

#include "attest/v1/engine.pb.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/policy.h"

namespace attest::engine {

struct ReviewVerdict {
  v1::ControlState state = v1::CONTROL_STATE_NO_EVIDENCE;
  std::string cause;
};

// The state at `b`, first match wins: a revocation not carried out within
// revoke_within (FAIL); a campaign past due + due_grace with this host's
// entries undecided (FAIL); the latest campaign found no access snapshot
// (NO_EVIDENCE); no campaign covering the host completed within the cadence,
// counted from enrolment (`scope_start`) until the first one (FAIL); PASS.
ReviewVerdict JudgeReview(const Control& c, std::span<const ReviewSpan> reviews,
                          Seconds scope_start, Seconds b);

// Every instant where that state can change.
void ReviewBreakpoints(const Control& c, std::span<const ReviewSpan> reviews, Seconds scope_start,
                       std::vector<Seconds>* points);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_REVIEW_RULE_H_
