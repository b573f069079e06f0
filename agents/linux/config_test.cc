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

namespace attest::agent {
namespace {

TEST(AgentConfigTest, ServerControlFlags) {
  auto p = Parse({"--daemon=127.0.0.1:7443", "--insecure", "--service=auditd",
                  "--service=falcon-sensor.service", "--service=auditd.service",
                  "--sshd-config=/etc/ssh/alt_config", "--interval=time_sync=1m"});
  ASSERT_TRUE(p.ok()) << p.status();
  // Normalized and each once.
  EXPECT_EQ(p->config.services,
            (std::vector<std::string>{"auditd.service", "falcon-sensor.service"}));
  EXPECT_EQ(p->config.sshd_config, "/etc/ssh/alt_config");
  EXPECT_EQ(p->config.intervals.at("time_sync"), absl::Minutes(1));
  EXPECT_EQ(p->config.intervals.at("firewall"), absl::Minutes(5));
  EXPECT_EQ(p->config.intervals.at("sshd"), absl::Minutes(15));

  auto error = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--daemon=127.0.0.1:7443", "--insecure"});
    auto parsed = Parse(args);
    return parsed.ok() ? std::string() : std::string(parsed.status().message());
  };
  EXPECT_NE(error({"--service=a b"}).find("--service: unit name \"a b\""), std::string::npos);
  EXPECT_NE(error({"--service="}).find("--service: unit name \"\" is empty"), std::string::npos);
  std::vector<std::string> many;
  for (int i = 0; i < 65; ++i) many.push_back("--service=u" + std::to_string(i));
  EXPECT_NE(error(many).find("--service: at most 64 units"), std::string::npos);
  EXPECT_NE(error({"--sshd-config=sshd_config"}).find("--sshd-config: want an absolute path"),
            std::string::npos);
  EXPECT_TRUE(error({"--disable=firewall", "--disable=sshd", "--disable=time_sync"}).empty());
  EXPECT_TRUE(error({"--backup=name=db,probe=marker_file,path=/var/backups/db.ok"}).empty());
  EXPECT_NE(error({"--backup=name=db,probe=marker_file,path=/a",
                   "--backup=name=db,probe=marker_file,path=/b"})
                .find("--backup: the name \"db\" is used twice"),
            std::string::npos);
  EXPECT_NE(error({"--backup=name=r,probe=restic"})
                .find("--backup: restic and borg need an absolute env_file="),
            std::string::npos);
}

}  // namespace
}  // namespace attest::agent
