// attestd as an operator sees it: exit codes, clear errors, clean shutdown.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

namespace ts = testing_signals;
using testing_support::BinaryPath;
using testing_support::ChildProcess;
using testing_support::DaemonHarness;
using testing_support::Eventually;
using testing_support::FixturePki;
using testing_support::ReadAll;
using testing_support::TestAgent;

// Runs attestd with `args` to completion; returns exit code and stderr.
std::pair<int, std::string> RunAttestd(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), BinaryPath("attestd"));
  const std::string log = dir + "/run.log";
  std::remove(log.c_str());
  auto child = ChildProcess::Start(args, log);
  if (!child.ok()) return {-1, std::string(child.status().message())};
  auto code = child->Wait(absl::Seconds(30));
  return {code.ok() ? *code : -1, ReadAll(log)};
}

TEST(DaemonLifecycleTest, SigtermDrainsAcksAndExitsZero) {
  const std::string dir = testing_support::FreshDir("sigterm");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki);
  ASSERT_TRUE(daemon.Start().ok());
  const absl::Time now = absl::Now();
  TestAgent agent(daemon.ChannelAs("host", "term-1"));
  ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-t")));
  uint64_t acked = 0;
  ASSERT_TRUE(agent.Send({ts::Heartbeat(1, now), ts::Heartbeat(2, now)}, &acked));
  auto code = daemon.Stop();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("shutting down"), std::string::npos);
  const std::string log = ReadAll(daemon.log_path());
  EXPECT_NE(log.find("attestd stopped"), std::string::npos) << log;
  ASSERT_TRUE(daemon.Start().ok());
  EXPECT_EQ(daemon.Evidence("term-1").size(), 3u);
}

TEST(DaemonLifecycleTest, PortInUseIsExitOneWithAClearError) {
  const std::string dir = testing_support::FreshDir("port");
  DaemonHarness first(dir, nullptr);
  ASSERT_TRUE(first.Start().ok());
  auto [code, err] = RunAttestd(
      dir, {"--insecure", "--listen=" + first.address(), "--data-dir=" + dir + "/other-data"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("cannot listen on " + first.address()), std::string::npos) << err;
}

TEST(DaemonLifecycleTest, DataDirInUseOrUnwritableIsExitOne) {
  const std::string dir = testing_support::FreshDir("datadir");
  DaemonHarness first(dir, nullptr);
  ASSERT_TRUE(first.Start().ok());
  auto [code, err] =
      RunAttestd(dir, {"--insecure", "--listen=127.0.0.1:0", "--data-dir=" + first.data_dir()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("another attestd"), std::string::npos) << err;

  auto [code2, err2] =
      RunAttestd(dir, {"--insecure", "--listen=127.0.0.1:0", "--data-dir=/proc/attest-data"});
  EXPECT_EQ(code2, 1);
  EXPECT_NE(err2.find("/proc/attest-data"), std::string::npos) << err2;
}

TEST(DaemonLifecycleTest, BadConfigurationIsExitTwo) {
  const std::string dir = testing_support::FreshDir("badconfig");
  EXPECT_EQ(RunAttestd(dir, {"--no-such-flag"}).first, 2);
  auto [code, err] = RunAttestd(dir, {"--insecure", "--listen=0.0.0.0:7443"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("loopback"), std::string::npos);
  EXPECT_EQ(RunAttestd(dir, {"--listen=127.0.0.1:0"}).first, 2);  // neither TLS nor insecure
  std::ofstream(dir + "/bad.yaml") << "listen: 127.0.0.1:0\ninsecure: true\nwat: 1\n";
  auto [code3, err3] = RunAttestd(dir, {"--config=" + dir + "/bad.yaml"});
  EXPECT_EQ(code3, 2);
  EXPECT_NE(err3.find("bad.yaml:3: unknown setting \"wat\""), std::string::npos) << err3;
  auto [code4, err4] = RunAttestd(dir, {"--tls-cert=/nonexistent.pem", "--tls-key=/x",
                                        "--client-ca=/y", "--data-dir=" + dir + "/d"});
  EXPECT_EQ(code4, 2);
  EXPECT_NE(err4.find("/nonexistent.pem"), std::string::npos) << err4;
}

TEST(DaemonLifecycleTest, ConfigFileWorksAndHelpExitsZero) {
  const std::string dir = testing_support::FreshDir("configfile");
  auto [code, out] = RunAttestd(dir, {"--help"});
  EXPECT_EQ(code, 0);
  std::ofstream(dir + "/attestd.yaml") << "listen: 127.0.0.1:0\ninsecure: true\ndata_dir: " << dir
                                       << "/data\nready_file: " << dir << "/ready\n"
                                       << "log_format: json\n";
  auto child = ChildProcess::Start({BinaryPath("attestd"), "--config=" + dir + "/attestd.yaml"},
                                   dir + "/json.log");
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(testing_support::WaitForFile(dir + "/ready", &*child, absl::Seconds(30)).ok());
  child->Signal(SIGTERM);
  EXPECT_EQ(*child->Wait(absl::Seconds(30)), 0);
  const std::string log = ReadAll(dir + "/json.log");
  EXPECT_NE(log.find(R"("level":"warning","logger":"attestd","msg":"INSECURE MODE)"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace attest

namespace attest {
namespace {

TEST(DaemonLimitsTest, StreamsBeyondMaxStreamsAreResourceExhausted) {
  const std::string dir = testing_support::FreshDir("maxstreams");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki, {"--max-streams=2"});
  ASSERT_TRUE(daemon.Start().ok());
  TestAgent a(daemon.ChannelAs("host", "limit-a"));
  TestAgent b(daemon.ChannelAs("host", "limit-b"));
  ASSERT_TRUE(a.Hello(ts::Hello("", "ia")));
  ASSERT_TRUE(b.Hello(ts::Hello("", "ib")));
  TestAgent c(daemon.ChannelAs("host", "limit-c"));
  EXPECT_FALSE(c.Hello(ts::Hello("", "ic")));
  grpc::Status s = c.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("too many agent streams (limit 2)"), std::string::npos);
  EXPECT_TRUE(daemon.Evidence("limit-c").empty());
  // A slot frees up when a stream ends (the server forgets it just after the
  // client sees the end, so poll with a deadline).
  ASSERT_TRUE(a.Finish().ok());
  EXPECT_TRUE(Eventually(
      [&] {
        TestAgent d(daemon.ChannelAs("host", "limit-c"));
        return d.Hello(ts::Hello("", "ic"));
      },
      absl::Seconds(10)));
}

}  // namespace
}  // namespace attest
