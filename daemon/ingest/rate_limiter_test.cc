#include "daemon/ingest/rate_limiter.h"

#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

TEST(RateLimiterTest, BurstThenSustainedRatePerHost) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  RateLimiter limiter(clock, /*rate=*/10, /*burst=*/100);
  EXPECT_TRUE(limiter.Admit("a", 100));
  EXPECT_FALSE(limiter.Admit("a", 1));
  EXPECT_TRUE(limiter.Admit("b", 50));  // buckets are per host
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Admit("a", 10));
  EXPECT_FALSE(limiter.Admit("a", 1));
  clock.Advance(absl::Seconds(100));  // refills only up to the burst
  EXPECT_FALSE(limiter.Admit("a", 101));
  EXPECT_TRUE(limiter.Admit("a", 100));
}

TEST(RateLimiterTest, ZeroRateDisablesLimiting) {
  FakeClock clock(absl::FromUnixSeconds(0));
  RateLimiter limiter(clock, 0, 0);
  EXPECT_TRUE(limiter.Admit("a", 1000000));
}

}  // namespace
}  // namespace attest::ingest
