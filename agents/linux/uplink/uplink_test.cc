#include "agents/linux/uplink/uplink.h"

#include "gtest/gtest.h"

namespace attest::agent {
namespace {

const absl::Time kDaemonNow = absl::FromUnixSeconds(1795400000);

TEST(ClockSkewTest, AHostClockOffTheDaemonsBeyondTheToleranceIsNamedWithTheWayItErrs) {
  EXPECT_EQ(ClockSkewNote(kDaemonNow + absl::Seconds(59), kDaemonNow, "attestd:7443"),
            std::nullopt);
  EXPECT_EQ(ClockSkewNote(kDaemonNow - absl::Seconds(60), kDaemonNow, "attestd:7443"),
            std::nullopt);
  EXPECT_EQ(ClockSkewNote(kDaemonNow + absl::Hours(2) + absl::Milliseconds(300), kDaemonNow,
                          "attestd:7443"),
            "this host's clock is 2h ahead of attestd:7443's: it refuses signals observed more "
            "than 5m in its future, so they wait until its clock catches up; fix this host's "
            "time sync");
  EXPECT_EQ(ClockSkewNote(kDaemonNow - absl::Minutes(3), kDaemonNow, "attestd:7443"),
            "this host's clock is 3m behind attestd:7443's: evidence is timed by this clock; fix "
            "this host's time sync");
}

}  // namespace
}  // namespace attest::agent
