// The real attest-agent under the faults that once lost evidence silently:
// a power loss that cuts the spool's tail (fsync off), a spool restored
// from an older copy (a VM snapshot), and a second agent started on the
// same spool. A check numbers every observation it makes, with the time it
// ran; afterwards each number must be stored at attestd, or fall inside a
// gap record that says its evidence is missing. Nothing else is allowed.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/time/clock.h"
#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

namespace fs = std::filesystem;
using testing_support::ChildProcess;
using testing_support::DaemonHarness;
using testing_support::Eventually;
using testing_support::FixturePki;
using testing_support::ReadAll;

class AgentFaultsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::FreshDir(std::string("faults-") +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = std::make_unique<FixturePki>(dir_ + "/pki");
    daemon_ = std::make_unique<DaemonHarness>(dir_, pki_.get());
    spool_dir_ = dir_ + "/spool";
    fs::create_directories(dir_ + "/checks");
    // The check: each run takes the next number, notes it with the time,
    // and reports it as its detail.
    const std::string script = dir_ + "/checks/numbered";
    std::ofstream(script) << "#!/bin/sh\n"
                          << "n=$(( $(cat " << dir_ << "/counter 2>/dev/null || echo 0) + 1 ))\n"
                          << "echo $n > " << dir_ << "/counter\n"
                          << "echo \"$n $(date +%s)\" >> " << dir_ << "/observed\n"
                          << "echo \"obs $n\"\n";
    fs::permissions(script, fs::perms::owner_all);
    ASSERT_TRUE(daemon_->Start().ok());
  }

  std::unique_ptr<ChildProcess> StartAgent(std::vector<std::string> extra = {},
                                           const std::string& log = "agent.log") {
    extra.insert(extra.end(), {"--disable=patch", "--disable=access", "--disable=log_shipping",
                               "--interval=checks=1s", "--interval=heartbeat=1h"});
    auto child = ChildProcess::Start(
        testing_support::AgentCommand(*daemon_, *pki_, kHost, spool_dir_, dir_ + "/checks", extra),
        dir_ + "/" + log);
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? std::make_unique<ChildProcess>(std::move(*child)) : nullptr;
  }

  // Numbers stored at attestd, from the checks' details.
  std::set<int> Stored() {
    std::set<int> out;
    for (const auto& r : daemon_->Evidence(kHost)) {
      if (r.has_signal() && r.signal().has_check()) {
        out.insert(std::stoi(r.signal().check().detail().substr(4)));
      }
    }
    return out;
  }
  int HighestStored() {
    const std::set<int> s = Stored();
    return s.empty() ? 0 : *s.rbegin();
  }

  // Every number the check handed out, with the second it ran at.
  std::map<int, int64_t> Observed() {
    std::map<int, int64_t> out;
    std::istringstream in(ReadAll(dir_ + "/observed"));
    int n = 0;
    int64_t at = 0;
    while (in >> n >> at) out[n] = at;
    return out;
  }

  // Every number is stored, or ran inside a gap: the span from the record
  // before the gap to the gap's own time, which attestd judges NO_EVIDENCE.
  // Returns how many were covered only by a gap.
  int ExpectEveryObservationAccounted() {
    const auto records = daemon_->Evidence(kHost);
    EXPECT_TRUE(evidence::VerifyChain(records).ok());
    std::vector<std::pair<int64_t, int64_t>> gaps;
    std::map<uint64_t, int> seqs;
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].has_gap() && i > 0) {
        gaps.emplace_back(records[i - 1].observed_at().seconds(),
                          records[i].observed_at().seconds());
      }
      if (records[i].has_signal()) {
        EXPECT_EQ(++seqs[records[i].seq()], 1) << records[i].seq();
      }
    }
    const std::set<int> stored = Stored();
    int in_gaps = 0;
    for (const auto& [n, at] : Observed()) {
      if (stored.count(n) > 0) continue;
      bool covered = false;
      for (const auto& [from, to] : gaps) covered = covered || (at >= from - 1 && at <= to + 1);
      EXPECT_TRUE(covered) << "observation " << n << " (at " << at
                           << ") is neither stored nor inside a gap";
      ++in_gaps;
    }
    return in_gaps;
  }

  // `agent` was just started after a fault: once it has stored six new
  // observations it stops cleanly, and every observation is accounted for,
  // each made after the restart stored. `before`: how many observations the
  // check had made before the restart.
  void RestartAndExpectEverythingAfterItStored(std::unique_ptr<ChildProcess> agent,
                                               const std::string& log, int before) {
    ASSERT_TRUE(Eventually([&] { return HighestStored() >= before + 6; }))
        << ReadAll(dir_ + "/" + log);
    agent->Signal(SIGTERM);
    ASSERT_EQ(*agent->Wait(absl::Seconds(30)), 0);
    ExpectEveryObservationAccounted();
    const std::set<int> stored = Stored();
    for (const auto& [n, at] : Observed()) {
      if (n > before) {
        EXPECT_EQ(stored.count(n), 1u) << "observation " << n;
      }
    }
  }

  static constexpr char kHost[] = "faults-1";
  std::string dir_;
  std::string spool_dir_;
  std::unique_ptr<FixturePki> pki_;
  std::unique_ptr<DaemonHarness> daemon_;
};

TEST_F(AgentFaultsTest, APowerLossThatCutsTheSpoolTailIsAGapNeverASilentLoss) {
  auto agent = StartAgent({"--spool-fsync=false"});
  ASSERT_TRUE(Eventually([&] { return HighestStored() >= 8; })) << ReadAll(dir_ + "/agent.log");
  agent->Signal(SIGKILL);
  ASSERT_TRUE(agent->Wait(absl::Seconds(30)).ok());
  // What the page cache held is gone: the newest records and the cursor.
  for (const auto& e : fs::directory_iterator(spool_dir_)) {
    const std::string name = e.path().filename();
    if (name.rfind("cursor-", 0) == 0) fs::remove(e.path());
    if (name.rfind("segment-", 0) == 0 && fs::file_size(e.path()) > 0) {
      fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
    }
  }
  const int before = static_cast<int>(Observed().size());
  RestartAndExpectEverythingAfterItStored(StartAgent({"--spool-fsync=false"}, "agent2.log"),
                                          "agent2.log", before);
  EXPECT_NE(ReadAll(dir_ + "/agent2.log").find("did not close it"), std::string::npos);
}

TEST_F(AgentFaultsTest, ASpoolRestoredFromAnOlderCopyNeverReusesASeq) {
  auto agent = StartAgent();
  ASSERT_TRUE(Eventually([&] { return HighestStored() >= 4; }));
  agent->Signal(SIGTERM);
  ASSERT_EQ(*agent->Wait(absl::Seconds(30)), 0);
  fs::copy(spool_dir_, dir_ + "/snapshot", fs::copy_options::recursive);
  agent = StartAgent();
  const int taken = static_cast<int>(Observed().size());
  ASSERT_TRUE(Eventually([&] { return HighestStored() >= taken + 6; }));
  agent->Signal(SIGKILL);  // the VM goes back to its snapshot
  ASSERT_TRUE(agent->Wait(absl::Seconds(30)).ok());
  fs::remove_all(spool_dir_);
  fs::rename(dir_ + "/snapshot", spool_dir_);
  const int before = static_cast<int>(Observed().size());
  RestartAndExpectEverythingAfterItStored(StartAgent({}, "agent3.log"), "agent3.log", before);
  EXPECT_NE(ReadAll(dir_ + "/agent3.log").find("more than this spool knew of"), std::string::npos)
      << ReadAll(dir_ + "/agent3.log");
}

TEST_F(AgentFaultsTest, ASecondAgentOnTheSameSpoolExitsAndTheFirstLosesNothing) {
  auto first = StartAgent();
  ASSERT_TRUE(Eventually([&] { return HighestStored() >= 3; }));
  auto second = StartAgent({}, "second.log");
  auto code = second->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(ReadAll(dir_ + "/second.log")
                .find(StrCat("is in use by another attest-agent (pid ", first->pid(), ")")),
            std::string::npos)
      << ReadAll(dir_ + "/second.log");
  const int before = static_cast<int>(Observed().size());
  ASSERT_TRUE(Eventually([&] { return HighestStored() >= before + 4; }));
  first->Signal(SIGTERM);
  ASSERT_EQ(*first->Wait(absl::Seconds(30)), 0);
  EXPECT_EQ(ExpectEveryObservationAccounted(), 0);
}

}  // namespace
}  // namespace attest
