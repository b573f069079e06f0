// An exported chain verifies with an independent implementation of
// docs/evidence-format.md (tests/tools/verify_chain.py, Python standard
// library), and stops verifying when a single byte is edited.
#include <fstream>
#include <sstream>

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
using testing_support::ReadAll;
using testing_support::TestAgent;

// Runs a program to completion; returns its exit code and stdout.
std::pair<int, std::string> RunProgram(const std::string& dir,
                                       const std::vector<std::string>& argv) {
  auto child = ChildProcess::Start(argv, dir + "/stderr.log", dir + "/stdout.txt");
  if (!child.ok()) return {-1, ""};
  auto code = child->Wait(absl::Seconds(60));
  return {code.ok() ? *code : -1, ReadAll(dir + "/stdout.txt")};
}

TEST(EvidenceExportTest, ExportVerifiesIndependentlyAndDetectsAnEdit) {
  const std::string dir = testing_support::FreshDir("export");
  DaemonHarness daemon(dir, nullptr);
  ASSERT_TRUE(daemon.Start().ok());
  const absl::Time now = absl::Now();
  TestAgent agent(daemon.ChannelAs("host", "exp-1"));
  v1::Hello hello = ts::Hello("exp-1", "inst-e");
  (*hello.mutable_labels())["team"] = "Zürich \"ops\" 運用";
  ASSERT_TRUE(agent.Hello(hello));
  v1::Signal tricky = ts::AccessChange(2, now, "chg-é");
  tricky.mutable_access_change()->set_diff(
      std::string("+line1\n-line2\t\\ quote\" ctrl\x01\x1f del\x7f emoji \xf0\x9f\x94\x91"));
  v1::Signal check;
  check.set_seq(3);
  *check.mutable_observed_at() = ToProto(now + absl::Nanoseconds(123456789));
  check.mutable_check()->set_name("backup");
  check.mutable_check()->set_status(v1::CHECK_STATUS_UNKNOWN);
  check.mutable_check()->set_detail("UNKNOWN - no result");
  ASSERT_TRUE(agent.Send({ts::Patch(1, now), tricky, check, ts::Heartbeat(5, now)}));
  ASSERT_TRUE(agent.Finish().ok());

  auto [code, jsonl] = RunProgram(
      dir, {BinaryPath("attestctl"), "--daemon=" + daemon.address(), "evidence", "exp-1"});
  ASSERT_EQ(code, 0) << ReadAll(dir + "/stderr.log");
  const std::string path = dir + "/exp-1.jsonl";
  std::ofstream(path) << jsonl;
  // hello, patch, access change, check, gap (seq 4), heartbeat
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 6);
  EXPECT_NE(jsonl.find(R"("kind":"gap")"), std::string::npos);

  const std::string verifier = testing_support::SourcePath("tests/tools/verify_chain.py");
  auto [ok_code, ok_out] = RunProgram(dir, {"/usr/bin/python3", verifier, path});
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_EQ(ok_out, "verified 6\n");

  // One changed character in record 3 breaks it there.
  std::string edited = jsonl;
  const size_t at = edited.find("chg-é");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 3, "chg-x");
  std::ofstream(path, std::ios::trunc) << edited;
  auto [bad_code, bad_out] = RunProgram(dir, {"/usr/bin/python3", verifier, path});
  EXPECT_EQ(bad_code, 1);
  EXPECT_EQ(bad_out, "record 3: content does not match its hash\n");
}

}  // namespace
}  // namespace attest
