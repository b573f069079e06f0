#include <gtest/gtest.h>

#include "daemon/windows/summary.h"

namespace attest::windows {
namespace {

// The usual audit guidance for sample sizes, at each boundary.
TEST(SampleSizeTest, FollowsTheAuditGuidance) {
  for (uint64_t all : {0, 1, 4, 5}) EXPECT_EQ(GuidanceSampleSize(all), all);
  EXPECT_EQ(GuidanceSampleSize(6), 5u);
  EXPECT_EQ(GuidanceSampleSize(50), 5u);
  EXPECT_EQ(GuidanceSampleSize(51), 6u);  // 10%, rounded up
  EXPECT_EQ(GuidanceSampleSize(100), 10u);
  EXPECT_EQ(GuidanceSampleSize(101), 11u);
  EXPECT_EQ(GuidanceSampleSize(250), 25u);
  EXPECT_EQ(GuidanceSampleSize(251), 25u);
  EXPECT_EQ(GuidanceSampleSize(3'650'000), 25u);
}

}  // namespace
}  // namespace attest::windows
