#include "daemon/engine/suffix.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "common/strings.h"

namespace attest::engine {
namespace {

absl::Status Insufficient(std::string why) { return absl::FailedPreconditionError(std::move(why)); }

// Rules whose state is a host's last observations, read while fresh. Access
// changes are not among them: the bundle carries every one.
bool ReadsLastObservations(const Control& c) {
  switch (c.rule) {
    case Rule::kAccessReviewPerformed:
    case Rule::kAgentReporting:  // checked by AgentHeardAfter
      return false;
    case Rule::kAccessChangeApproved:  // reads the last access state only with a freshness
      return ToSeconds(c.freshness) < kForever;
    default:
      return true;
  }
}

absl::Status StaleAtStart(const SuffixInput& in) {
  for (const Control* c : in.controls) {
    if (!ReadsLastObservations(*c)) continue;
    const Seconds fresh = ToSeconds(c->freshness);
    if (fresh >= kForever || in.prefix_bound + fresh > in.window_start) {
      return Insufficient(StrCat("control ", c->id, " (freshness ", CauseDuration(fresh),
                                 ") can still read evidence from before the suffix at the "
                                 "window's start"));
    }
  }
  return absl::OkStatus();
}

absl::Status AgentHeardAfter(const SuffixInput& in) {
  for (const v1::Observation& o : in.observations) {
    if (o.t() > in.window_start) break;
    if (o.t() > in.prefix_bound && o.what_case() != v1::Observation::kGapFrom) {
      return absl::OkStatus();
    }
  }
  return Insufficient(
      StrCat("no observation between ", CauseTime(in.prefix_bound),
             " and the window's start: when the agent was last heard lies before the suffix"));
}

// The pending packages (and "a reboot") whose run may have begun before P:
// every patch state after P so far has listed them.
absl::Status PatchRunsFixed(const SuffixInput& in) {
  constexpr char kReboot[] = "a required reboot";
  std::optional<std::set<std::string>> open;  // nullopt: no patch state after P yet
  for (const v1::Observation& o : in.observations) {
    if (!o.has_patch() || o.t() <= in.prefix_bound) continue;
    if (o.t() > in.window_start && open.has_value()) break;
    std::set<std::string> now(o.patch().security_pending().begin(),
                              o.patch().security_pending().end());
    if (o.patch().reboot_required()) now.insert(kReboot);
    if (open.has_value()) {
      std::erase_if(now, [&](const std::string& p) { return !open->contains(p); });
    }
    open = std::move(now);
  }
  if (!open.has_value() || open->empty()) return absl::OkStatus();
  return Insufficient(StrCat("patch state: ", *open->begin(),
                             " pending in every patch state since the suffix began, so since "
                             "when is not in the suffix"));
}

absl::Status EnrolledByStart(const SuffixInput& in) {
  if (!in.observations.empty() && in.observations.front().t() <= in.window_start) {
    return absl::OkStatus();
  }
  return Insufficient("no observation in the suffix at or before the window's start");
}

// Every record the suffix leaves out is dated at or before P; a gap among
// them voids every state until its end, so P must not pass the window's
// start whatever the controls.
absl::Status SignedBeforeStart(const SuffixInput& in) {
  if (in.prefix_bound <= in.window_start) return absl::OkStatus();
  return Insufficient(StrCat(
      "the state was signed after the window's start or less than 5 minutes before it: records "
      "before the suffix may be dated up to ",
      CauseTime(in.prefix_bound)));
}

// With no review completed, a review control counts its cadence from the
// host's enrolment, which may lie before the suffix's first observation:
// both must be a cadence past by the window's start, unless a review was
// completed by then (the campaigns come from the ledger, the same both
// ways, and the judge no longer reads the enrolment).
absl::Status EnrolmentCadencePast(const SuffixInput& in) {
  for (const ReviewSpan& r : in.reviews) {
    if (r.has_snapshot && r.completed <= in.window_start) return absl::OkStatus();
  }
  const Seconds first = in.observations.front().t();
  for (const Control* c : in.controls) {
    if (c->rule != Rule::kAccessReviewPerformed) continue;
    const Seconds cadence = ToSeconds(c->review_cadence);
    if (first + cadence <= in.window_start) continue;
    return Insufficient(StrCat("control ", c->id, ": no access review completed within ",
                               CauseDuration(cadence), " of the suffix's first observation at ",
                               CauseTime(first),
                               ", and the host may have been enrolled before it"));
  }
  return absl::OkStatus();
}

absl::Status RevocationsConfirmed(const SuffixInput& in) {
  for (const ReviewSpan& r : in.reviews) {
    for (const ReviewRevocation& x : r.revocations) {
      if (x.decided <= in.prefix_bound && x.confirmed > in.window_start) {
        return Insufficient(StrCat("the revocation of ", x.entry, " in campaign ", r.campaign,
                                   " may have been confirmed before the suffix"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SuffixSuffices(const SuffixInput& in) {
  if (absl::Status s = EnrolledByStart(in); !s.ok()) return s;
  if (!in.fail_runs_only) {
    if (absl::Status s = SignedBeforeStart(in); !s.ok()) return s;
  }
  if (absl::Status s = StaleAtStart(in); !s.ok()) return s;
  if (absl::Status s = EnrolmentCadencePast(in); !s.ok()) return s;
  bool agent = false;
  bool patch = false;
  for (const Control* c : in.controls) {
    agent = agent || c->rule == Rule::kAgentReporting;
    patch = patch || c->rule == Rule::kPatchSecuritySla;
  }
  if (agent) {
    if (absl::Status s = AgentHeardAfter(in); !s.ok()) return s;
  }
  if (patch) {
    if (absl::Status s = PatchRunsFixed(in); !s.ok()) return s;
  }
  return RevocationsConfirmed(in);
}

std::optional<Seconds> EarliestSufficient(const SuffixInput& in) {
  SuffixInput at = in;
  auto suffices = [&](Seconds t) {
    at.window_start = t;
    return SuffixSuffices(at).ok();
  };
  if (!suffices(in.window_start)) return std::nullopt;
  // The rule's verdict changes only at these moments, from no to yes (it
  // is monotone in the window's start): search them.
  std::vector<Seconds> moments;
  for (const v1::Observation& o : in.observations) {
    if (o.t() < in.window_start) moments.push_back(o.t());
  }
  moments.push_back(in.prefix_bound);
  for (const Control* c : in.controls) {
    const Seconds fresh = ToSeconds(c->freshness);
    if (fresh < kForever) moments.push_back(in.prefix_bound + fresh);
    if (c->rule == Rule::kAccessReviewPerformed) {
      moments.push_back(in.observations.front().t() + ToSeconds(c->review_cadence));
    }
  }
  for (const ReviewSpan& r : in.reviews) moments.push_back(r.completed);
  for (const ReviewSpan& r : in.reviews) {
    for (const ReviewRevocation& x : r.revocations) moments.push_back(x.confirmed);
  }
  std::erase_if(moments, [&](Seconds t) { return t >= in.window_start; });
  std::sort(moments.begin(), moments.end());
  moments.erase(std::unique(moments.begin(), moments.end()), moments.end());
  size_t lo = 0;
  size_t hi = moments.size();  // moments.size(): the window's start
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (suffices(moments[mid])) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo < moments.size() ? moments[lo] : in.window_start;
}

}  // namespace attest::engine
