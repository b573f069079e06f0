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

TEST(HelloMessageTest, CarriesTheHelloAndThisHostsClock) {
  v1::Hello hello;
  hello.set_instance_id("inst-1");
  hello.set_agent_version("1.2.3");
  (*hello.mutable_labels())["env"] = "prod";
  const v1::AgentMessage m = HelloMessage(hello, kDaemonNow + absl::Hours(2));
  ASSERT_TRUE(m.has_hello());
  EXPECT_EQ(m.hello().instance_id(), "inst-1");
  EXPECT_EQ(m.hello().labels().at("env"), "prod");
  EXPECT_EQ(m.hello().agent_clock().seconds(), absl::ToUnixSeconds(kDaemonNow + absl::Hours(2)));
  EXPECT_FALSE(m.hello().has_sent_at());  // the hello record is dated by attestd
}

}  // namespace
}  // namespace attest::agent
