// The suffix rule's conditions one at a time (daemon/engine/suffix.h), and
// the judge's own output showing why each is there.
#include <algorithm>
#include <vector>

#include "daemon/engine/judge_test_support.h"
#include "daemon/engine/suffix.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using testing_support::kD;
using testing_support::kH;
using testing_support::T0;

// Each condition, one at a time, on a host heard every minute.
class SuffixRuleTest : public ::testing::Test {
 protected:
  SuffixRuleTest() {
    Beats();
    agent_.id = "agent";
    agent_.rule = Rule::kAgentReporting;
    agent_.freshness = absl::Minutes(10);
    in_.prefix_bound = bound_;
    in_.window_start = start_;
    in_.controls = {&agent_};
  }

  void Beats() {
    observations_.clear();
    for (Seconds t = T0; t < start_ + kD; t += 60) observations_.push_back(Beat(t));
  }
  static v1::Observation Beat(Seconds t) {
    v1::Observation o;
    o.set_t(t);
    o.set_any(true);
    return o;
  }
  // The state `control` is in at the window's start, judged from
  // `observations` (sorted) for a host enrolled at `enrolled`.
  v1::ControlState StateAtStart(const std::vector<v1::Observation>& observations,
                                const Control& control, Seconds enrolled) {
    const v1::JudgeFacts none;
    JudgeInput in;
    in.facts = &none;
    in.observations = observations;
    in.from = enrolled;
    in.to = start_ + kD;
    in.scope_start = enrolled;
    in.segments = {PolicySegment{0, kForever, &control, "v1"}};
    for (const v1::Interval& iv : JudgeControl(in)) {
      if (iv.start() <= start_ && start_ < iv.end()) return iv.state();
    }
    return v1::CONTROL_STATE_UNSPECIFIED;
  }
  std::optional<Seconds> Earliest() {
    in_.observations = observations_;
    return EarliestSufficient(in_);
  }
  absl::Status Run() {
    std::sort(observations_.begin(), observations_.end(),
              [](const auto& a, const auto& b) { return a.t() < b.t(); });
    in_.observations = observations_;
    return SuffixSuffices(in_);
  }

  const Seconds bound_ = T0 + 2 * kD;
  const Seconds start_ = T0 + 3 * kD;
  std::vector<v1::Observation> observations_;
  Control agent_;
  SuffixInput in_;
};

TEST_F(SuffixRuleTest, HeardBetweenTheStateAndTheWindow) {
  EXPECT_TRUE(Run().ok());
  std::erase_if(observations_, [&](const auto& o) { return o.t() > bound_ && o.t() <= start_; });
  EXPECT_EQ(Run().code(), absl::StatusCode::kFailedPrecondition);

  // Why: a record before the suffix's first may be dated later than it
  // (up to P), and the agent's silence is named from the last one.
  std::vector<v1::Observation> whole = {Beat(bound_ - 60), Beat(bound_ - 10)};
  std::vector<v1::Observation> suffix = {Beat(bound_ - 60)};
  for (auto* list : {&whole, &suffix}) list->push_back(Beat(start_ + kH));
  auto judge = [&](const std::vector<v1::Observation>& observations) {
    const v1::JudgeFacts none;
    JudgeInput in;
    in.facts = &none;
    in.observations = observations;
    in.from = observations.front().t();
    in.to = start_ + kD;
    in.scope_start = in.from;
    in.segments = {PolicySegment{0, kForever, &agent_, "v1"}};
    std::vector<v1::Interval> got = JudgeControl(in);
    std::erase_if(got, [&](const v1::Interval& iv) { return iv.end() <= start_; });
    return got.front().cause();
  };
  EXPECT_EQ(judge(whole), "agent silent since 2026-01-02T23:59:50Z");
  EXPECT_EQ(judge(suffix), "agent silent since 2026-01-02T23:59:00Z");
}

TEST_F(SuffixRuleTest, TheEarliestMomentTheSuffixFixes) {
  // Heard every minute: the first beat after P.
  EXPECT_EQ(Earliest(), bound_ + 60);
  // Silent from P for an hour: the first beat after it.
  std::erase_if(observations_,
                [&](const auto& o) { return o.t() > bound_ && o.t() < bound_ + kH; });
  EXPECT_EQ(Earliest(), bound_ + kH);
  // A check with a day's freshness: P + 1 day.
  Control check = agent_;
  check.rule = Rule::kCheckPass;
  check.check = "disk";
  check.freshness = absl::Hours(24);
  in_.controls.push_back(&check);
  EXPECT_EQ(Earliest(), bound_ + kD);
  // Not even from the window's start.
  std::erase_if(observations_, [&](const auto& o) { return o.t() > bound_ && o.t() <= start_; });
  EXPECT_EQ(Earliest(), std::nullopt);
}

TEST_F(SuffixRuleTest, FreshnessReachingPastTheState) {
  Control check = agent_;
  check.id = "disk";
  check.rule = Rule::kCheckPass;
  check.check = "disk";
  check.freshness = absl::Hours(24);
  in_.controls.push_back(&check);
  EXPECT_TRUE(Run().ok());
  check.freshness = absl::Hours(24) + absl::Seconds(1);
  EXPECT_EQ(Run().message().substr(0, 13), "control disk ");
  check.freshness = absl::InfiniteDuration();
  EXPECT_FALSE(Run().ok());
  // An access control without a freshness reads only the changes.
  check.rule = Rule::kAccessChangeApproved;
  EXPECT_TRUE(Run().ok());
}

TEST_F(SuffixRuleTest, PendingSinceBeforeTheState) {
  Control patch = agent_;
  patch.rule = Rule::kPatchSecuritySla;
  patch.freshness = absl::Hours(12);
  in_.controls.push_back(&patch);
  auto patch_at = [&](Seconds t, std::vector<std::string> pending, bool reboot = false) {
    v1::Observation o;
    o.set_t(t);
    for (auto& p : pending) o.mutable_patch()->add_security_pending(p);
    o.mutable_patch()->set_reboot_required(reboot);
    observations_.push_back(o);
  };
  patch_at(bound_ + kH, {"openssl"});
  patch_at(bound_ + 2 * kH, {"curl", "openssl"});
  EXPECT_EQ(Run().message(),
            "patch state: openssl pending in every patch state since the suffix began, so since "
            "when is not in the suffix");
  patch_at(bound_ + 3 * kH, {"curl"});  // curl's run began after the state
  EXPECT_TRUE(Run().ok());
  patch_at(bound_ + 4 * kH, {}, /*reboot=*/true);
  EXPECT_TRUE(Run().ok());

  // None between the state and the window: the first one after decides.
  Beats();
  patch_at(start_ + kH, {}, /*reboot=*/true);
  EXPECT_FALSE(Run().ok());
  Beats();
  patch_at(start_ + kH, {});
  patch_at(start_ + 2 * kH, {"openssl"});
  EXPECT_TRUE(Run().ok());
}

TEST_F(SuffixRuleTest, EnrolledAfterTheWindowStarts) {
  std::erase_if(observations_, [&](const auto& o) { return o.t() <= start_; });
  EXPECT_EQ(Run().message(), "no observation in the suffix at or before the window's start");
}

TEST_F(SuffixRuleTest, RevocationDecidedBeforeTheState) {
  ReviewSpan review;
  review.campaign = "Q3";
  review.revocations.push_back({"key alice", bound_ - kH, kForever});
  std::vector<ReviewSpan> reviews = {review};
  in_.reviews = reviews;
  EXPECT_FALSE(Run().ok());
  reviews[0].revocations[0].confirmed = start_;  // confirmed by the window's start
  EXPECT_TRUE(Run().ok());
  reviews[0].revocations[0] = {"key alice", bound_ + 1, kForever};  // its confirmation is later
  EXPECT_TRUE(Run().ok());
}

TEST_F(SuffixRuleTest, ReviewCadenceCountedFromAnEnrolmentBeforeTheSuffix) {
  Control review = agent_;
  review.id = "review";
  review.rule = Rule::kAccessReviewPerformed;
  review.freshness = absl::InfiniteDuration();
  review.review_cadence = absl::Hours(48);
  review.revoke_within = absl::Hours(24);
  in_.controls = {&agent_, &review};
  // The suffix begins a minute before P; the host was enrolled two days
  // earlier.
  std::erase_if(observations_, [&](const auto& o) { return o.t() < bound_ - 60; });
  EXPECT_EQ(Run().message(),
            "control review: no access review completed within 2d of the suffix's first "
            "observation at 2026-01-02T23:59:00Z, and the host may have been enrolled before it");
  // A cadence after the suffix's first observation is the window's start.
  review.review_cadence = absl::Hours(24) + absl::Seconds(60);
  EXPECT_TRUE(Run().ok());
  review.review_cadence = absl::Hours(24) + absl::Seconds(61);
  EXPECT_FALSE(Run().ok());
  // The earliest moment it fixes, between two beats.
  review.review_cadence = absl::Hours(24) - absl::Seconds(90);
  EXPECT_EQ(Earliest(), bound_ - 60 + kD - 90);
  // A review completed by the window's start: the enrolment no longer
  // matters.
  review.review_cadence = absl::Hours(48);
  ReviewSpan done;
  done.campaign = "Q1";
  done.completed = start_;
  std::vector<ReviewSpan> reviews = {done};
  in_.reviews = reviews;
  EXPECT_TRUE(Run().ok());
  reviews[0].completed = start_ + 1;
  EXPECT_FALSE(Run().ok());
  reviews[0].has_snapshot = false;  // no snapshot: not a completed review of this host
  reviews[0].completed = start_;
  EXPECT_FALSE(Run().ok());
  in_.reviews = {};

  // Why: with no review completed, the judge counts the cadence from the
  // host's enrolment, and the suffix's is later.
  review.review_cadence = absl::Hours(48);
  EXPECT_EQ(StateAtStart(observations_, review, T0), v1::CONTROL_STATE_FAIL);
  EXPECT_EQ(StateAtStart(observations_, review, bound_ - 60), v1::CONTROL_STATE_PASS);
}

TEST_F(SuffixRuleTest, StateSignedAfterTheWindowStarts) {
  // Only access changes, read without a freshness: nothing else asks for
  // P before the window's start. But a gap recorded before the state's
  // head may end as late as P, and voids every state until then.
  Control access = agent_;
  access.id = "access";
  access.rule = Rule::kAccessChangeApproved;
  access.freshness = absl::InfiniteDuration();
  in_.controls = {&access};
  EXPECT_TRUE(Run().ok());
  in_.prefix_bound = start_ + 60;
  EXPECT_EQ(Run().message(),
            "the state was signed after the window's start or less than 5 minutes before it: "
            "records before the suffix may be dated up to 2026-01-04T00:01:00Z");
  // Why: a gap recorded before the head, dated a minute past the window's
  // start.
  std::vector<v1::Observation> whole = observations_;
  v1::Observation gap = Beat(start_ + 60);
  gap.set_gap_from(start_ - 600);
  whole.push_back(gap);
  std::sort(whole.begin(), whole.end(), [](const auto& a, const auto& b) { return a.t() < b.t(); });
  EXPECT_EQ(StateAtStart(whole, access, T0), v1::CONTROL_STATE_NO_EVIDENCE);
  EXPECT_EQ(StateAtStart(observations_, access, T0), v1::CONTROL_STATE_PASS);

  // Its FAIL states are the same all the same: a gap voids none.
  in_.fail_runs_only = true;
  EXPECT_TRUE(Run().ok());
  in_.fail_runs_only = false;
  in_.prefix_bound = bound_ + kH + 30;  // between two beats
  EXPECT_EQ(Earliest(), bound_ + kH + 30);
}

}  // namespace
}  // namespace attest::engine
