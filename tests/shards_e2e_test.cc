// Shards (DESIGN.md, "Growing past one machine"): a simulated fleet split
// across two daemons gives, through `attestctl report --daemon A --daemon B`,
// exactly the report of one daemon holding every host, grouped or not.
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {
namespace {

const std::string kPolicy =
    std::string(kTestControls) +
    "windows:\n"
    "  - {id: q1, start: 2026-01-01T06:00:00Z, end: 2026-01-09T00:00:00Z,\n"
    "     thresholds: {effectiveness: 0.9, coverage: 0.9, max_deviation: 24h}}\n";

// The report as JSON, without the moment it was computed.
std::string Report(const std::vector<std::string>& daemons, const std::string& dir,
                   const std::string& group_by = "") {
  std::vector<std::string> argv = {BinaryPath("attestctl")};
  for (const std::string& d : daemons) argv.insert(argv.end(), {"--daemon", d});
  argv.insert(argv.end(), {"report", "--window", "q1", "--format", "json"});
  if (!group_by.empty()) argv.insert(argv.end(), {"--group-by", group_by});
  std::string out, err;
  EXPECT_EQ(RunTool(argv, dir, &out, &err), 0) << err;
  auto j = Json::ParseReport(out);
  EXPECT_TRUE(j.ok()) << out << err;
  if (!j.ok()) return "";
  j->as_object().erase("computed_at");
  return j->Canonical();
}

TEST(ShardsE2eTest, MergedShardReportsEqualOneDaemonHoldingEverything) {
  const std::string dir = FreshDir("shards_e2e");
  std::ofstream(dir + "/policy.yaml") << kPolicy;
  const std::string sim = dir + "/fleet.jsonl";
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "simulate", "--hosts", "8", "--days", "8", "--seed",
                     "3", "--start", "2026-01-01T00:00:00Z", "--out", sim},
                    dir),
            0);
  // Hosts h0001..h0004 to shard a, the rest to b; approvals follow their
  // change's host (change ids start with the host).
  std::ofstream a(dir + "/a.jsonl"), b(dir + "/b.jsonl"), aa(dir + "/a.approvals"),
      ba(dir + "/b.approvals");
  auto shard_a = [](const std::string& line) {
    for (const char* h : {"h0001", "h0002", "h0003", "h0004"}) {
      if (line.find(StrCat("\"host\":\"", h, "\"")) != std::string::npos ||
          line.find(StrCat("\"change_id\":\"", h, "-")) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  std::istringstream records(ReadAll(sim)), approvals(ReadAll(sim + ".approvals"));
  int lines_a = 0, lines_b = 0, approvals_a = 0;
  for (std::string line; std::getline(records, line);) {
    (shard_a(line) ? a : b) << line << "\n";
    ++(shard_a(line) ? lines_a : lines_b);
  }
  for (std::string line; std::getline(approvals, line);) {
    (shard_a(line) ? aa : ba) << line << "\n";
    approvals_a += shard_a(line) ? 1 : 0;
  }
  a.close(), b.close(), aa.close(), ba.close();
  ASSERT_GT(lines_a, 0);
  ASSERT_GT(lines_b, 0);
  ASSERT_GT(approvals_a, 0);

  const std::vector<std::string> flags = {"--policy", dir + "/policy.yaml", "--judge-delay", "0s"};
  DaemonHarness all(FreshDir("shards_all"), nullptr, flags);
  DaemonHarness da(FreshDir("shards_a"), nullptr, flags);
  DaemonHarness db(FreshDir("shards_b"), nullptr, flags);
  for (DaemonHarness* d : {&all, &da, &db}) ASSERT_TRUE(d->Start().ok()) << ReadAll(d->log_path());
  auto load = [&](DaemonHarness& d, const std::string& jsonl, const std::string& approvals_file) {
    std::string out, err;
    ASSERT_EQ(RunTool({BinaryPath("attestctl"), "--daemon", d.address(), "import", jsonl}, dir,
                      &out, &err),
              0)
        << err;
    ASSERT_EQ(RunTool({BinaryPath("attestctl"), "--daemon", d.address(), "approve", "--from-file",
                       approvals_file},
                      dir, &out, &err),
              0)
        << err;
  };
  load(all, sim, sim + ".approvals");
  load(da, dir + "/a.jsonl", dir + "/a.approvals");
  load(db, dir + "/b.jsonl", dir + "/b.approvals");

  const std::string whole = Report({all.address()}, dir);
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(Report({da.address(), db.address()}, dir), whole);
  EXPECT_EQ(Report({db.address(), da.address()}, dir), whole) << "order does not matter";
  EXPECT_NE(Report({da.address()}, dir), whole) << "one shard alone is not the fleet";
  EXPECT_EQ(Report({da.address(), db.address()}, dir, "team"),
            Report({all.address()}, dir, "team"));

  // The HTML report of the shards: the same summary table and heatmap as
  // one daemon's page, and each shard's checkpoint.
  auto page = [&](const std::vector<std::string>& daemons, const std::string& name) {
    std::string out, err;
    std::vector<std::string> argv = {BinaryPath("attestctl")};
    for (const std::string& d : daemons) argv.insert(argv.end(), {"--daemon", d});
    const std::string path = dir + "/" + name + ".html";
    argv.insert(argv.end(), {"report", "--window", "q1", "--format", "html", "--out", path});
    EXPECT_EQ(RunTool(argv, dir, &out, &err), 0) << err;
    return ReadAll(path);
  };
  // The figures of the summary table and the heatmap, in page order.
  auto figures = [](const std::string& html) {
    std::string shown;
    const std::string marker = "data-figure=\"";
    for (size_t at = html.find(marker); at != std::string::npos; at = html.find(marker, at + 1)) {
      const size_t t0 = html.find('>', at) + 1;
      shown += html.substr(at, html.find('<', t0) - at) + "\n";
    }
    const size_t svg = html.find("<svg");
    return shown + html.substr(svg, html.find("</svg>") - svg);
  };
  const std::string whole_page = page({all.address()}, "whole");
  const std::string merged_page = page({da.address(), db.address()}, "merged");
  EXPECT_NE(figures(whole_page).find("data-figure"), std::string::npos);
  EXPECT_EQ(figures(merged_page), figures(whole_page));
  EXPECT_NE(merged_page.find("<code>" + da.address() + "</code>: signed checkpoint"),
            std::string::npos);
  EXPECT_NE(merged_page.find("<code>" + db.address() + "</code>: signed checkpoint"),
            std::string::npos);
  for (DaemonHarness* d : {&all, &da, &db}) EXPECT_TRUE(d->Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
