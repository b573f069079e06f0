#include "ctl/bundle_sample.h"

#include <gtest/gtest.h>

namespace attest::ctl {
namespace {

// An item is complete only when both of its checkpoints bracket the day:
// `from` made (with witness keys: cosigned) before the day began, and `to`
// made at least --late-after after the day ended. Each side that falls short
// is named.
TEST(SampleCompletenessTest, BothCheckpointsMustBracketTheDay) {
  const absl::Time day = absl::FromUnixSeconds(1772755200);  // 2026-03-06T00:00:00Z
  const absl::Time end = day + absl::Hours(24);
  std::vector<State> states(3);
  LogCheck log;
  states[0].created_at = day - absl::Minutes(5);
  states[1].created_at = end + absl::Hours(1);  // before end + 26h
  states[2].created_at = end + absl::Hours(27);
  for (const State& s : states) log.committed_at.push_back(s.created_at);
  VerifyOptions options;  // --late-after 26h

  auto says = [&](uint64_t from, uint64_t to) {
    return SampleItemCompleteness(from, to, day, states, log, options);
  };
  EXPECT_EQ(says(1, 3).rfind("complete: checkpoint 1 was made at 2026-03-05T23:55:00Z, before "
                             "the day began; checkpoint 3 was made at 2026-03-08T03:00:00Z",
                             0),
            0u)
      << says(1, 3);
  EXPECT_EQ(says(0, 3).rfind("complete: the chain starts within these records", 0), 0u);
  // `to` too early: a record of the day received after it would be missing.
  const std::string early = says(1, 2);
  EXPECT_EQ(early.rfind("not proven complete: ", 0), 0u) << early;
  EXPECT_NE(early.find("checkpoint 2 was made at 2026-03-07T01:00:00Z, less than --late-after "
                       "(26h) after the day's end"),
            std::string::npos)
      << early;
  // A shorter --late-after accepts it.
  options.late_after = absl::Hours(1);
  EXPECT_EQ(says(1, 2).rfind("complete: ", 0), 0u) << says(1, 2);
  options.late_after = absl::Hours(26);
  // `from` made after the day began: records of the day before it are not here.
  states[0].created_at = day + absl::Minutes(1);
  log.committed_at[0] = states[0].created_at;
  const std::string late_from = says(1, 3);
  EXPECT_EQ(late_from.rfind("not proven complete: checkpoint 1 was made at", 0), 0u) << late_from;
  EXPECT_NE(late_from.find("after the day began"), std::string::npos) << late_from;

  // With witness keys the start is the cosignature time, not attestd's word.
  options.witnesses.push_back(evidence::note::VerifierKey{});
  states[0].created_at = day - absl::Hours(1);
  log.committed_at[0] = day + absl::Hours(2);  // attestd backdated it
  const std::string backdated = says(1, 3);
  EXPECT_EQ(backdated.rfind("not proven complete: checkpoint 1 was cosigned at "
                            "2026-03-06T02:00:00Z, after the day began",
                            0),
            0u)
      << backdated;
  log.committed_at[0] = absl::InfiniteFuture();  // no cosignature by every witness
  EXPECT_NE(says(1, 3).find("carries no cosignature by every --witness-key"), std::string::npos);
  log.committed_at[0] = day - absl::Minutes(30);
  EXPECT_EQ(says(1, 3).rfind("complete: checkpoint 1 was cosigned at 2026-03-05T23:30:00Z", 0), 0u)
      << says(1, 3);
}

}  // namespace
}  // namespace attest::ctl
