#include "agents/linux/config.h"

#include "gtest/gtest.h"

namespace attest::agent {
namespace {

absl::StatusOr<ParsedAgentArgs> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "attest-agent");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseAgentArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(AgentConfigTest, DefaultsAndOverrides) {
  auto p = Parse({"--daemon=127.0.0.1:7443", "--insecure", "--host-id=h1", "--label=env=prod",
                  "--interval=patch=30m", "--disable=checks",
                  "--shipper=name=c,probe=marker_file,path=/var/lib/x"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.intervals.at("patch"), absl::Minutes(30));
  EXPECT_EQ(p->config.intervals.at("heartbeat"), absl::Seconds(60));
  EXPECT_EQ(p->config.labels.at("env"), "prod");
  EXPECT_EQ(p->config.shippers.size(), 1u);
}

TEST(AgentConfigTest, BadConfigurationIsRefusedWithTheReason) {
  auto expect_error = [](std::vector<std::string> args, const std::string& needle) {
    auto p = Parse(args);
    ASSERT_FALSE(p.ok()) << needle;
    EXPECT_NE(std::string(p.status().message()).find(needle), std::string::npos) << p.status();
  };
  expect_error({}, "--daemon is required");
  expect_error({"--daemon=a:1", "--daemon=b:2", "--daemon=c:3", "--insecure"}, "at most two");
  expect_error({"--daemon=10.0.0.5:7443", "--insecure"}, "loopback");
  expect_error({"--daemon=10.0.0.5:7443"}, "TLS needs");
  // No daemon or no TLS: the packaged, not-yet-configured state
  // (--is-configured exits 1); anything else is a bad configuration.
  EXPECT_EQ(Parse({}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Parse({"--daemon=10.0.0.5:7443"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Parse({"--daemon=10.0.0.5:7443", "--insecure"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--label=novalue"}, "KEY=VALUE");
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--interval=patch=soon"}, "--interval");
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--interval=coffee=1h"}, "known collector");
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--disable=coffee"}, "unknown collector");
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--shipper=name=x"}, "shipper");
  expect_error({"--daemon=127.0.0.1:1", "--insecure", "--spool-max-bytes=10"}, "at least 4096");
}

}  // namespace
}  // namespace attest::agent
