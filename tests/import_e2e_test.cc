// attestctl import against attestd: what attestd refuses is named line by
// line (FILE:LINE: reason), the rest is stored, and the exit code is 1.
#include <cstdio>
#include <fstream>

#include "absl/time/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

std::string Beat(const std::string& host, uint64_t seq, absl::Time at) {
  return StrCat(R"({"heartbeat":{},"host":")", host,
                R"(","instance_id":"i1","kind":"heartbeat","observed_at":")", FormatRfc3339(at),
                R"(","seq":)", seq, "}");
}

TEST(ImportE2eTest, RefusedLinesAreNamedTheRestIsStoredAndTheExitCodeIsOne) {
  const std::string dir = FreshDir("import_e2e");
  DaemonHarness daemon(FreshDir("import_e2e_daemon"), nullptr);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const absl::Time t = absl::Now() - absl::Hours(2);
  const std::string file = dir + "/in.jsonl";
  {
    std::ofstream f(file);
    f << Beat("web-1", 1, t) << "\n"                             // 1 stored
      << Beat("bad host!", 1, t) << "\n"                         // 2 invalid host id
      << Beat("web-1", 3, t + absl::Minutes(2)) << "\n"          // 3 stored (gap 2)
      << Beat("web-1", 2, t + absl::Minutes(1)) << "\n"          // 4 out of order
      << Beat("web-1", 3, t + absl::Minutes(2)) << "\n"          // 5 duplicate
      << Beat("web-1", 4, absl::Now() + absl::Hours(1)) << "\n"  // 6 in the future
      << "\n"                                                    // 7 blank: skipped
      << Beat("web-1", 5, t + absl::Minutes(4)) << "\n";         // 8 stored
  }
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 1) << out << err;
  EXPECT_NE(err.find(file + ":2: host: \"bad host!\" is not a valid host id"), std::string::npos)
      << err;
  EXPECT_NE(err.find(file + ":4: seq 2 comes after seq 3"), std::string::npos) << err;
  EXPECT_NE(err.find(file + ":6: "), std::string::npos) << err;
  EXPECT_NE(err.find("in the future"), std::string::npos) << err;
  EXPECT_EQ(err.find(file + ":7:"), std::string::npos) << err;
  EXPECT_NE(out.find("accepted 3, duplicates 1"), std::string::npos) << out;
  EXPECT_NE(out.find("rejected 3"), std::string::npos) << out;

  std::vector<uint64_t> seqs;
  int gaps = 0;
  for (const auto& r : daemon.Evidence("web-1")) {
    if (r.has_signal()) {
      seqs.push_back(r.seq());
      EXPECT_EQ(r.origin(), v1::ORIGIN_IMPORTED);
    }
    gaps += r.has_gap();
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(gaps, 2);  // seq 2, and seq 4 (refused)
  EXPECT_TRUE(daemon.Stop().ok());
}

// A file written to the original v1 field list (tests/fixtures/interchange-v1)
// loads unchanged: every line stored under its hello's instance, the hello's
// own seq taken as received (no false gap), and the fields added since then
// at their documented default.
TEST(ImportE2eTest, LinesWrittenToTheOriginalV1FieldListLoadUnchanged) {
  const std::string dir = FreshDir("import_v1");
  DaemonHarness daemon(FreshDir("import_v1_daemon"), nullptr);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const std::string file = SourcePath("tests/fixtures/interchange-v1/fleet.jsonl");
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("accepted 8, duplicates 0, gaps 0, rejected 0"), std::string::npos) << out;
  std::vector<uint64_t> seqs;
  for (const auto& r : daemon.Evidence("web-1")) {
    EXPECT_FALSE(r.has_gap()) << r.ShortDebugString();
    EXPECT_EQ(r.instance_id(), "web-1-a") << r.ShortDebugString();
    if (r.has_hello()) {
      EXPECT_EQ(r.seq(), 1u);  // the seq its line gave it
    }
    if (!r.has_signal()) continue;
    seqs.push_back(r.seq());
    if (r.signal().has_patch()) {
      EXPECT_EQ(r.signal().patch().package_manager(), v1::PACKAGE_MANAGER_NOT_RECORDED);
    }
    if (r.signal().has_log_shipping()) {
      EXPECT_EQ(r.signal().log_shipping().probe(), v1::SHIPPER_PROBE_NOT_RECORDED);
    }
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{2, 3, 4, 5, 6, 7, 8}));
  // Loading it again stores nothing twice.
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("duplicates 7, gaps 0, rejected 0"), std::string::npos) << out;
  // What attestd exports of it imports again, the defaults included.
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"evidence", "web-1"}, &out, &err), 0) << err;
  std::ofstream(dir + "/again.jsonl") << out;
  DaemonHarness second(FreshDir("import_v1_second"), nullptr);
  ASSERT_TRUE(second.Start().ok());
  EXPECT_EQ(Attestctl(second.address(), dir, {"import", dir + "/again.jsonl"}, &out, &err), 0)
      << out << err;
  EXPECT_NE(out.find("accepted 8, duplicates 0, gaps 0, rejected 0"), std::string::npos) << out;
  EXPECT_TRUE(daemon.Stop().ok());
  EXPECT_TRUE(second.Stop().ok());
}

TEST(ImportE2eTest, AHelloLineAttestdWouldRefuseOnTheWireIsRefusedHere) {
  const std::string dir = FreshDir("import_hello");
  DaemonHarness daemon(FreshDir("import_hello_daemon"), nullptr);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const absl::Time t = absl::Now() - absl::Hours(2);
  std::string labels;
  for (int i = 0; i < 65; ++i) labels += StrCat(i == 0 ? "" : ",", "\"k", i, "\":\"v\"");
  const std::string file = dir + "/in.jsonl";
  std::ofstream(file) << StrCat(
                             R"({"hello":{"agent_version":"0.1.0","instance_id":"i1","labels":{)",
                             labels, R"(}},"host":"web-1","instance_id":"i1","kind":"hello",)",
                             R"("observed_at":")", FormatRfc3339(t), R"(","seq":0})")
                      << "\n"
                      << Beat("web-1", 1, t) << "\n"
                      << R"({"heartbeat":{},"host":"web-1","instance_id":"i1","kind":"heartbeat",)"
                      << "\"note\":\"caf\xe9\"}\n";  // Latin-1: not UTF-8
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 1) << out << err;
  EXPECT_NE(err.find(file + ":1: hello.labels: more than 64 labels"), std::string::npos) << err;
  EXPECT_NE(err.find(file + ":3: not valid UTF-8"), std::string::npos) << err;
  EXPECT_NE(out.find("accepted 1"), std::string::npos) << out;
  EXPECT_TRUE(daemon.Stop().ok());
}

// An access snapshot line of about `bytes` (users with long home paths).
std::string Snapshot(const std::string& host, uint64_t seq, absl::Time at, size_t bytes) {
  std::string users;
  for (size_t i = 0; users.size() < bytes; ++i) {
    users += StrCat(i == 0 ? "" : ",", R"({"gid":1000,"home":"/home/)", std::string(4000, 'h'),
                    R"(","name":"u)", i, R"(","shell":"/bin/bash","uid":)", 1000 + i, "}");
  }
  return StrCat(R"({"access_snapshot":{"groups":[],"keys":[],"sudoers":[],"users":[)", users,
                R"(]},"host":")", host, R"(","instance_id":"i1","kind":"access_snapshot",)",
                R"("observed_at":")", FormatRfc3339(at), R"(","seq":)", seq, "}");
}

// attestctl sends a request before a line would take it past its 2 MiB
// budget, so a large line after others still fits attestd's message limit;
// a line too large on its own stops the import naming that line, with
// everything before it stored.
TEST(ImportE2eTest, LargeLinesGoInTheirOwnRequestAndOneTooLargeForAttestdIsRejectedAlone) {
  const std::string dir = FreshDir("import_large");
  DaemonHarness daemon(FreshDir("import_large_daemon"), nullptr, {"--max-message-bytes=2621440"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const absl::Time t = absl::Now() - absl::Hours(2);
  const std::string file = dir + "/in.jsonl";
  std::ofstream(file) << Beat("web-1", 1, t) << "\n"
                      << Snapshot("web-1", 2, t, 1500 << 10) << "\n"
                      << Snapshot("web-1", 3, t, 1500 << 10) << "\n"  // 3 MiB with line 2
                      << Beat("web-1", 4, t) << "\n"
                      << Snapshot("web-1", 5, t, 3 << 20) << "\n"  // over 2.5 MiB alone
                      << Beat("web-1", 6, t) << "\n";
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 1) << out << err;
  EXPECT_NE(err.find(file + ":5: its record is "), std::string::npos) << err;
  EXPECT_NE(err.find("bytes, more than attestd takes in one message"), std::string::npos) << err;
  EXPECT_NE(out.find("rejected 1"), std::string::npos) << out;
  // The line too large is left out, and the import goes on after it.
  std::vector<uint64_t> seqs;
  for (const auto& r : daemon.Evidence("web-1")) {
    if (r.has_signal()) seqs.push_back(r.seq());
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 6}));
  EXPECT_TRUE(daemon.Stop().ok());
}

// A line longer than any record line may be (64 MiB, as in a bundle) is
// rejected by its number without being parsed or held, and the lines after
// it are imported.
TEST(ImportE2eTest, ALineLongerThanARecordLineMayBeIsRejectedByNumber) {
  const std::string dir = FreshDir("import_long_line");
  DaemonHarness daemon(FreshDir("import_long_line_daemon"), nullptr);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const absl::Time t = absl::Now() - absl::Hours(2);
  const std::string file = dir + "/in.jsonl";
  {
    std::ofstream f(file);
    f << Beat("web-1", 1, t) << "\n"
      << std::string((64 << 20) + 1, 'x') << "\n"
      << Beat("web-1", 2, t + absl::Minutes(1)) << "\n";
  }
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 1) << out << err;
  EXPECT_NE(
      err.find(file + ":2: the line is longer than 67108864 bytes, the most a record line may be"),
      std::string::npos)
      << err;
  EXPECT_NE(out.find("accepted 2, duplicates 0, gaps 0, rejected 1"), std::string::npos) << out;
  std::remove(file.c_str());
  EXPECT_TRUE(daemon.Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
