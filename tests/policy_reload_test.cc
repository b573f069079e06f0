// How attestd loads its policy file, as an operator sees it: a bad file at
// the first start stops it, a bad file later (SIGHUP or a restart) leaves it
// judging with the last good version, and nothing is silently replaced.
#include <signal.h>

#include <fstream>

#include "attest/v1/admin.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

constexpr char kPolicy[] = R"(controls:
  - id: agent-reporting
    tsc: [CC7.1]
    rule: agent.reporting
    freshness: 15m
)";

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::vector<std::string> StoredVersions(DaemonHarness& daemon) {
  grpc::ClientContext ctx;
  v1::ListPolicyVersionsResponse response;
  const grpc::Status s =
      daemon.Admin()->ListPolicyVersions(&ctx, v1::ListPolicyVersionsRequest(), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> versions;
  for (const auto& v : response.versions()) versions.push_back(v.version());
  return versions;
}

bool LogHas(const DaemonHarness& daemon, const std::string& text) {
  return ReadAll(daemon.log_path()).find(text) != std::string::npos;
}

TEST(PolicyReloadTest, ABadPolicyAtTheFirstStartIsExitTwoNamingTheLine) {
  const std::string dir = FreshDir("policy_first_start");
  Write(dir + "/policy.yaml", "controls:\n  - id: x\n    tsc: [CC7.1]\n    rule: patch.sla\n");
  for (const std::string& policy : {dir + "/policy.yaml", dir + "/missing.yaml"}) {
    std::string out, err;
    const int code = RunTool({BinaryPath("attestd"), "--insecure", "--listen=127.0.0.1:0",
                              "--data-dir=" + dir + "/data", "--policy=" + policy},
                             dir, &out, &err);
    EXPECT_EQ(code, 2) << err;  // bad configuration, as the README says
    EXPECT_NE(err.find("cannot start"), std::string::npos) << err;
    EXPECT_NE(err.find(policy.substr(dir.size() + 1)), std::string::npos) << err;
  }
  std::string out, err;
  RunTool({BinaryPath("attestd"), "--insecure", "--listen=127.0.0.1:0",
           "--data-dir=" + dir + "/data2", "--policy=" + dir + "/policy.yaml"},
          dir, &out, &err);
  EXPECT_NE(err.find("policy.yaml:4: rule: unknown rule \"patch.sla\""), std::string::npos) << err;
}

TEST(PolicyReloadTest, ABadFileAtSighupOrRestartKeepsTheLastGoodVersion) {
  const std::string dir = FreshDir("policy_reload");
  const std::string policy = dir + "/policy.yaml";
  Write(policy, kPolicy);
  DaemonHarness daemon(dir, nullptr, {"--policy=" + policy});
  ASSERT_TRUE(daemon.Start().ok());
  const std::vector<std::string> first = StoredVersions(daemon);
  ASSERT_EQ(first.size(), 1u);

  // A good change is a new version.
  Write(policy, std::string(kPolicy) + "# reviewed by secops\n");
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return StoredVersions(daemon).size() == 2; }));
  const std::vector<std::string> good = StoredVersions(daemon);

  // A bad one is refused with its line, and the last good one stays.
  Write(policy, std::string(kPolicy) + "    grace: soon\n");
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return LogHas(daemon, "keeping the last good policy version"); }))
      << ReadAll(daemon.log_path());
  EXPECT_TRUE(LogHas(daemon, "policy refused: ")) << ReadAll(daemon.log_path());
  EXPECT_TRUE(LogHas(daemon, "policy.yaml:6:")) << ReadAll(daemon.log_path());
  EXPECT_EQ(StoredVersions(daemon), good);

  // A file that cannot be read is the same.
  std::remove(policy.c_str());
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return LogHas(daemon, "cannot read " + policy); }))
      << ReadAll(daemon.log_path());
  EXPECT_EQ(StoredVersions(daemon), good);

  // A restart with a bad file starts, judging with the stored version.
  Write(policy, "controls: []\n");
  ASSERT_EQ(*daemon.Stop(), 0);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  EXPECT_TRUE(LogHas(daemon, "judging with the last good policy version"))
      << ReadAll(daemon.log_path());
  EXPECT_EQ(StoredVersions(daemon), good);
}

// A window made with the admin API is not silently replaced by a policy
// window of the same id: the policy version is refused and the window stays.
TEST(PolicyReloadTest, APolicyWindowWithTheIdOfAnApiWindowIsRefused) {
  const std::string dir = FreshDir("policy_api_window");
  const std::string policy = dir + "/policy.yaml";
  Write(policy, kPolicy);
  DaemonHarness daemon(dir, nullptr, {"--policy=" + policy});
  ASSERT_TRUE(daemon.Start().ok());
  v1::WindowDef made;
  made.set_id("fy2026");
  made.mutable_start()->set_seconds(1767225600);  // 2026-01-01
  made.mutable_end()->set_seconds(1798761600);    // 2027-01-01
  made.mutable_thresholds()->set_effectiveness(0.95);
  {
    grpc::ClientContext ctx;
    v1::WindowDef created;
    ASSERT_TRUE(daemon.Admin()->CreateWindow(&ctx, made, &created).ok());
  }
  const std::vector<std::string> before = StoredVersions(daemon);

  Write(policy, std::string(kPolicy) + R"(windows:
  - id: fy2026
    start: 2026-07-01T00:00:00Z
    end: 2026-10-01T00:00:00Z
    thresholds: {effectiveness: 0.5, coverage: 0.5, max_deviation: 72h}
)");
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return LogHas(daemon, "keeping the last good policy version"); }))
      << ReadAll(daemon.log_path());
  EXPECT_TRUE(LogHas(daemon,
                     "window \"fy2026\" would replace the window of that id made with "
                     "attestctl windows create"))
      << ReadAll(daemon.log_path());
  EXPECT_EQ(StoredVersions(daemon), before);
  grpc::ClientContext ctx;
  v1::ListWindowsResponse windows;
  ASSERT_TRUE(daemon.Admin()->ListWindows(&ctx, v1::ListWindowsRequest(), &windows).ok());
  ASSERT_EQ(windows.windows_size(), 1);
  EXPECT_EQ(windows.windows(0).origin(), "api");
  EXPECT_EQ(windows.windows(0).start().seconds(), made.start().seconds());
  EXPECT_EQ(windows.windows(0).thresholds().effectiveness(), 0.95);
}

TEST(PolicyReloadTest, SighupWithoutAPolicyFileIsAWarningOnly) {
  const std::string dir = FreshDir("policy_no_file");
  DaemonHarness daemon(dir, nullptr);
  ASSERT_TRUE(daemon.Start().ok());
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return LogHas(daemon, "SIGHUP: no --policy file to reload"); }))
      << ReadAll(daemon.log_path());
  EXPECT_EQ(*daemon.Stop(), 0);  // still running until asked to stop
}

}  // namespace
}  // namespace attest::testing_support
