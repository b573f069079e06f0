#include "daemon/engine/review_rule.h"

#include "common/strings.h"

namespace attest::engine {

ReviewVerdict JudgeReview(const Control& c, std::span<const ReviewSpan> reviews,
                          Seconds scope_start, Seconds b) {
  const Seconds cadence = ToSeconds(c.review_cadence);
  const Seconds grace = ToSeconds(c.due_grace);
  const Seconds within = ToSeconds(c.revoke_within);
  const ReviewSpan* latest = nullptr;
  const ReviewSpan* last_done = nullptr;
  for (const ReviewSpan& r : reviews) {
    if (r.start > b) break;
    latest = &r;
    for (const ReviewRevocation& x : r.revocations) {
      if (x.decided + within <= b && b < x.confirmed) {
        return {v1::CONTROL_STATE_FAIL,
                StrCat(x.entry, " revoked in campaign ", r.campaign, " at ", CauseTime(x.decided),
                       ", still on the host after ", CauseDuration(within))};
      }
    }
    if (r.due + grace <= b && b < r.host_decided) {
      return {v1::CONTROL_STATE_FAIL, StrCat("campaign ", r.campaign, " due ", CauseTime(r.due),
                                             " with this host's access entries undecided")};
    }
    if (r.has_snapshot && r.completed <= b &&
        (last_done == nullptr || r.completed > last_done->completed)) {
      last_done = &r;
    }
  }
  if (latest != nullptr && !latest->has_snapshot) {
    return {v1::CONTROL_STATE_NO_EVIDENCE,
            StrCat("no access snapshot of the host at the start of campaign ", latest->campaign)};
  }
  if (last_done == nullptr) {
    if (b >= scope_start + cadence) {
      return {v1::CONTROL_STATE_FAIL, StrCat("no access review completed within ",
                                             CauseDuration(cadence), " of the host's enrolment")};
    }
  } else if (b >= last_done->completed + cadence) {
    return {v1::CONTROL_STATE_FAIL, StrCat("last access review, campaign ", last_done->campaign,
                                           ", completed ", CauseTime(last_done->completed),
                                           ": more than ", CauseDuration(cadence), " ago")};
  }
  return {v1::CONTROL_STATE_PASS, ""};
}

void ReviewBreakpoints(const Control& c, std::span<const ReviewSpan> reviews, Seconds scope_start,
                       std::vector<Seconds>* p) {
  const Seconds cadence = ToSeconds(c.review_cadence);
  const Seconds grace = ToSeconds(c.due_grace);
  const Seconds within = ToSeconds(c.revoke_within);
  p->push_back(scope_start + cadence);
  for (const ReviewSpan& r : reviews) {
    for (Seconds t : {r.start, r.due + grace, r.host_decided, r.completed}) p->push_back(t);
    if (r.completed < kForever) p->push_back(r.completed + cadence);
    for (const ReviewRevocation& x : r.revocations) {
      p->push_back(x.decided + within);
      p->push_back(x.confirmed);
    }
  }
}

}  // namespace attest::engine
