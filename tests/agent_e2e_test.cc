// attest-agent against a real attestd over mTLS, on this machine (--root /).
// Waits are polls of observable state with deadlines, never fixed sleeps.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "agents/linux/spool/spool.h"
#include "agents/linux/uplink/uplink.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

namespace fs = std::filesystem;
using testing_support::BinaryPath;
using testing_support::ChildProcess;
using testing_support::DaemonHarness;
using testing_support::Eventually;
using testing_support::FixturePki;
using testing_support::ReadAll;

uint64_t SpoolBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("segment-", 0) == 0)
      total += fs::file_size(e.path(), ec);
  }
  return total;
}

class AgentE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::FreshDir(std::string("agent-") +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = std::make_unique<FixturePki>(dir_ + "/pki");
    daemon_ = std::make_unique<DaemonHarness>(dir_, pki_.get());
    spool_dir_ = dir_ + "/spool";
    fs::create_directories(dir_ + "/checks");
  }
  void TearDown() override { agent_.reset(); }

  // Starts attest-agent for `host` with the test's spool and extra flags.
  void StartAgent(const std::string& host, std::vector<std::string> extra) {
    auto child = ChildProcess::Start(
        testing_support::AgentCommand(*daemon_, *pki_, host, spool_dir_, dir_ + "/checks", extra),
        dir_ + "/agent.log");
    ASSERT_TRUE(child.ok()) << child.status();
    agent_ = std::make_unique<ChildProcess>(std::move(*child));
  }

  std::vector<v1::EvidenceRecord> Signals(const std::string& host) {
    std::vector<v1::EvidenceRecord> out;
    for (auto& r : daemon_->Evidence(host)) {
      if (r.has_signal()) out.push_back(std::move(r));
    }
    return out;
  }

  // Every signal seq from 1 to the highest appears exactly once.
  static void ExpectContiguousOnce(const std::vector<v1::EvidenceRecord>& all) {
    std::map<uint64_t, int> seen;
    for (const auto& r : all) {
      if (r.has_signal()) ++seen[r.seq()];
      EXPECT_FALSE(r.has_gap()) << "gap at index " << r.index();
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.begin()->first, 1u);
    EXPECT_EQ(seen.rbegin()->first, seen.size());
    for (const auto& [seq, n] : seen) EXPECT_EQ(n, 1) << "seq " << seq;
    EXPECT_TRUE(evidence::VerifyChain(all).ok());
  }

  // Streams `spool` to the daemon as `host` through an Uplink until a signal
  // with seq `last` is stored; false if it never is. `left_out`: how many
  // signals the uplink left out.
  bool StreamThrough(const std::string& host, agent::Spool& spool, uint64_t last,
                     uint64_t* left_out) {
    const auto cert = pki_->Client("host", host);
    agent::UplinkOptions o{.daemon = daemon_->address(),
                           .tls_cert = cert.cert,
                           .tls_key = cert.key,
                           .ca = pki_->ca_file(),
                           .server_name = "localhost",
                           .initial_backoff = absl::Milliseconds(10),
                           .max_backoff = absl::Milliseconds(100)};
    o.hello.set_agent_version("test");
    o.hello.set_instance_id(spool.instance_id());
    auto channel = agent::MakeDaemonChannel(o);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return false;
    agent::Uplink uplink(o, *channel, spool);
    std::thread run([&] { uplink.Run(); });
    const bool arrived = Eventually([&] {
      for (const auto& r : Signals(host)) {
        if (r.seq() == last) return true;
      }
      return false;
    });
    uplink.Stop();
    run.join();
    *left_out = uplink.refused();
    return arrived;
  }

  // Signal seqs and gap ranges stored for `host`, in chain order; the chain
  // must verify.
  struct Stored {
    std::vector<uint64_t> seqs;
    std::vector<std::pair<uint64_t, uint64_t>> gaps;
  };
  Stored StoredSeqsAndGaps(const std::string& host) {
    Stored stored;
    const auto all = daemon_->Evidence(host);
    for (const auto& r : all) {
      if (r.has_signal()) stored.seqs.push_back(r.seq());
      if (r.has_gap()) stored.gaps.emplace_back(r.gap().first_seq(), r.gap().last_seq());
    }
    EXPECT_TRUE(evidence::VerifyChain(all).ok());
    return stored;
  }

  std::string dir_, spool_dir_;
  std::unique_ptr<FixturePki> pki_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(AgentE2eTest, UseraddAndANewAuthorizedKeyArriveAsAccessChanges) {
  ASSERT_EQ(geteuid(), 0u) << "this test creates a real user: run it as root (CI does)";
  ASSERT_TRUE(daemon_->Start().ok());
  StartAgent("e2e-access", {"--disable=patch", "--interval=access=2s"});
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : Signals("e2e-access")) {
      if (r.signal().has_access_snapshot()) return true;
    }
    return false;
  })) << ReadAll(dir_ + "/agent.log");

  const std::string user = "attest-e2e-" + std::to_string(getpid() % 100000);
  struct Cleanup {
    std::string user;
    ~Cleanup() {
      auto c = ChildProcess::Start({"/usr/sbin/userdel", "-r", user}, "/dev/null");
      if (c.ok()) (void)c->Wait(absl::Seconds(30));
    }
  } cleanup{user};
  auto useradd = ChildProcess::Start({"/usr/sbin/useradd", "-m", "-s", "/bin/bash", user},
                                     dir_ + "/useradd.log");
  ASSERT_TRUE(useradd.ok());
  ASSERT_EQ(*useradd->Wait(absl::Seconds(30)), 0) << ReadAll(dir_ + "/useradd.log");
  const std::string ssh = "/home/" + user + "/.ssh";
  fs::create_directories(ssh);
  // The ed25519 key recorded in tests/fixtures/debian12 (fingerprint known).
  std::ofstream(ssh + "/authorized_keys")
      << ReadAll(
             testing_support::SourcePath("tests/fixtures/debian12/home/alice/.ssh/authorized_keys"))
             .substr(0, 200);

  bool user_added = false, key_added = false;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : Signals("e2e-access")) {
      if (!r.signal().has_access_change()) continue;
      const auto& c = r.signal().access_change();
      if (c.subject() != user) continue;
      if (c.change() == v1::ACCESS_CHANGE_KIND_USER_ADDED) user_added = true;
      if (c.change() == v1::ACCESS_CHANGE_KIND_KEY_ADDED &&
          c.after() == "SHA256:eO83LcJuUK7RGeNPcl9jCUDxuQmzUqnE+xp3b9QN2+M") {
        key_added = true;
      }
    }
    return user_added && key_added;
  })) << "user_added="
      << user_added << " key_added=" << key_added << "\n"
      << ReadAll(dir_ + "/agent.log");
}

TEST_F(AgentE2eTest, ADaemonOutageDeliversEverythingOnceWithOriginalObservedAt) {
  ASSERT_TRUE(daemon_->Start().ok());
  StartAgent("e2e-outage", {"--disable=patch", "--disable=access", "--interval=heartbeat=1s"});
  ASSERT_TRUE(Eventually([&] { return Signals("e2e-outage").size() >= 2; }));
  ASSERT_EQ(*daemon_->Stop(), 0);
  const absl::Time down_at = absl::Now();
  // The agent keeps collecting into its spool: wait for three more records.
  const uint64_t spooled = SpoolBytes(spool_dir_);
  ASSERT_TRUE(Eventually([&] { return SpoolBytes(spool_dir_) >= spooled + 3 * 20; }));
  const absl::Time up_at = absl::Now();
  ASSERT_TRUE(daemon_->Start().ok());
  std::vector<v1::EvidenceRecord> observed_while_down;
  ASSERT_TRUE(Eventually([&] {
    observed_while_down.clear();
    for (auto& r : Signals("e2e-outage")) {
      const absl::Time observed = FromProto(r.observed_at());
      if (observed > down_at && observed < up_at) observed_while_down.push_back(r);
    }
    return observed_while_down.size() >= 2;
  })) << ReadAll(dir_ + "/agent.log");
  for (const auto& r : observed_while_down) {
    EXPECT_GE(FromProto(r.received_at()), up_at) << "seq " << r.seq();
  }
  ExpectContiguousOnce(daemon_->Evidence("e2e-outage"));
}

TEST_F(AgentE2eTest, KillDashNineLosesNothingSpooled) {
  ASSERT_TRUE(daemon_->Start().ok());
  StartAgent("e2e-kill", {"--disable=patch", "--disable=access", "--interval=heartbeat=1s"});
  ASSERT_TRUE(Eventually([&] { return Signals("e2e-kill").size() >= 3; }));
  agent_->Signal(SIGKILL);
  ASSERT_TRUE(agent_->Wait(absl::Seconds(30)).ok());
  uint64_t spooled_last = 0;
  {
    auto spool = agent::Spool::Open({.dir = spool_dir_, .consumers = {daemon_->address()}});
    ASSERT_TRUE(spool.ok()) << spool.status();
    spooled_last = (*spool)->Stats().last_seq;
  }
  ASSERT_GE(spooled_last, 3u);
  StartAgent("e2e-kill", {"--disable=patch", "--disable=access", "--interval=heartbeat=1s"});
  ASSERT_TRUE(Eventually([&] {
    auto s = Signals("e2e-kill");
    return !s.empty() && s.back().seq() > spooled_last;
  })) << ReadAll(dir_ + "/agent.log");
  ExpectContiguousOnce(daemon_->Evidence("e2e-kill"));
}

TEST_F(AgentE2eTest, ATinySpoolOverflowsIntoAGapRecord) {
  ASSERT_TRUE(daemon_->Start().ok());  // fixes the address, then goes away
  ASSERT_EQ(*daemon_->Stop(), 0);
  StartAgent("e2e-gap", {"--disable=patch", "--interval=access=1s", "--snapshot-interval=1s",
                         "--interval=heartbeat=1s", "--spool-max-bytes=4096", "--inotify=false"});
  ASSERT_TRUE(Eventually([&] {
    return ReadAll(dir_ + "/agent.log").find("dropping unsent signals") != std::string::npos;
  })) << ReadAll(dir_ + "/agent.log");
  ASSERT_TRUE(daemon_->Start().ok());
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : daemon_->Evidence("e2e-gap")) {
      if (r.has_gap()) return true;
    }
    return false;
  })) << ReadAll(dir_ + "/agent.log");
  auto all = daemon_->Evidence("e2e-gap");
  EXPECT_TRUE(evidence::VerifyChain(all).ok());
  for (const auto& r : all) {
    if (r.has_gap()) {
      EXPECT_EQ(r.gap().first_seq(), 1u);  // the oldest went first
    }
  }
}

// The agent's uplink against attestd, with the spool filled by the test: a
// signal attestd will never accept (observed in 1970, as a host whose clock
// was reset before NTP synced gives) must not hold back everything behind it.
TEST_F(AgentE2eTest, ASignalTheDaemonRefusesForGoodBecomesAGapAndTheRestGetsThrough) {
  ASSERT_TRUE(daemon_->Start().ok());
  auto spool = agent::Spool::Open({.dir = spool_dir_, .consumers = {daemon_->address()}});
  ASSERT_TRUE(spool.ok()) << spool.status();
  auto beat = [](absl::Time at) {
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(at);
    s.mutable_heartbeat();
    return s;
  };
  const absl::Time now = absl::Now();
  ASSERT_TRUE((*spool)->Append({beat(now), beat(now), beat(now)}).ok());
  ASSERT_TRUE((*spool)->Append({beat(absl::UnixEpoch() + absl::Hours(1))}).ok());  // seq 4
  ASSERT_TRUE((*spool)->Append({beat(now), beat(now), beat(now)}).ok());

  uint64_t left_out = 0;
  ASSERT_TRUE(StreamThrough("e2e-refused", **spool, 7, &left_out)) << ReadAll(daemon_->log_path());
  EXPECT_EQ(left_out, 1u);
  const Stored stored = StoredSeqsAndGaps("e2e-refused");
  EXPECT_EQ(stored.seqs, (std::vector<uint64_t>{1, 2, 3, 5, 6, 7}));
  EXPECT_EQ(stored.gaps, (std::vector<std::pair<uint64_t, uint64_t>>{{4, 4}}));
  EXPECT_EQ((*spool)->Acked(daemon_->address()), 7u);
}

// A backlog whose batch of 500 would be larger than the daemon accepts in
// one message goes in several messages, and a signal that cannot fit even
// alone becomes a gap instead of blocking everything after it forever.
TEST_F(AgentE2eTest, ABacklogLargerThanOneMessageGoesInPiecesAndAnOversizedSignalBecomesAGap) {
  daemon_ = std::make_unique<DaemonHarness>(dir_, pki_.get(),
                                            std::vector<std::string>{"--max-message-bytes=65536"});
  ASSERT_TRUE(daemon_->Start().ok());
  auto spool = agent::Spool::Open({.dir = spool_dir_, .consumers = {daemon_->address()}});
  ASSERT_TRUE(spool.ok()) << spool.status();
  const absl::Time now = absl::Now();
  std::vector<v1::Signal> backlog;
  for (int i = 0; i < 40; ++i) {  // seq 1-40: about 120 KiB together
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(now);
    s.mutable_check()->set_name("disk");
    s.mutable_check()->set_status(v1::CHECK_STATUS_OK);
    s.mutable_check()->set_detail(std::string(3000, 'x'));
    backlog.push_back(std::move(s));
  }
  v1::Signal big;  // seq 41: a 64 KiB diff, valid but over the 64 KiB message limit
  *big.mutable_observed_at() = ToProto(now);
  v1::AccessChange* change = big.mutable_access_change();
  change->set_id("chg-1");
  change->set_change(v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED);
  change->set_subject("/etc/sudoers");
  change->set_diff(std::string(64 * 1024, 'y'));
  backlog.push_back(std::move(big));
  for (int i = 0; i < 4; ++i) {  // seq 42-45
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(now);
    s.mutable_heartbeat();
    backlog.push_back(std::move(s));
  }
  ASSERT_TRUE((*spool)->Append(backlog).ok());

  uint64_t left_out = 0;
  ASSERT_TRUE(StreamThrough("e2e-backlog", **spool, 45, &left_out)) << ReadAll(daemon_->log_path());
  EXPECT_EQ(left_out, 1u);
  const Stored stored = StoredSeqsAndGaps("e2e-backlog");
  std::vector<uint64_t> want;
  for (uint64_t seq = 1; seq <= 45; ++seq) {
    if (seq != 41) want.push_back(seq);
  }
  EXPECT_EQ(stored.seqs, want);
  EXPECT_EQ(stored.gaps, (std::vector<std::pair<uint64_t, uint64_t>>{{41, 41}}));
  EXPECT_EQ((*spool)->Acked(daemon_->address()), 45u);
}

TEST_F(AgentE2eTest, AnHaPairKeepsIndependentCursorsAndTheReturningDaemonCatchesUp) {
  DaemonHarness other(dir_ + "/b", pki_.get());
  std::filesystem::create_directories(dir_ + "/b");
  ASSERT_TRUE(daemon_->Start().ok());
  ASSERT_TRUE(other.Start().ok());
  StartAgent("e2e-ha", {"--disable=patch", "--disable=access", "--interval=heartbeat=1s",
                        "--daemon=" + other.address()});
  auto seqs = [](DaemonHarness& d) {
    std::vector<uint64_t> out;
    for (const auto& r : d.Evidence("e2e-ha")) {
      if (r.has_signal()) out.push_back(r.seq());
    }
    return out;
  };
  ASSERT_TRUE(Eventually([&] { return seqs(*daemon_).size() >= 2 && seqs(other).size() >= 2; }));
  ASSERT_EQ(*other.Stop(), 0);  // B goes away; A keeps receiving
  const size_t a_at_stop = seqs(*daemon_).size();
  ASSERT_TRUE(Eventually([&] { return seqs(*daemon_).size() >= a_at_stop + 3; }));
  ASSERT_TRUE(other.Start().ok());
  // B catches up from the agent's spool until it holds what A holds.
  std::vector<uint64_t> a, b;
  ASSERT_TRUE(Eventually([&] {
    a = seqs(*daemon_);
    b = seqs(other);
    return b.size() >= a_at_stop + 3 && std::equal(b.begin(), b.end(), a.begin());
  })) << ReadAll(dir_ + "/agent.log");
  ExpectContiguousOnce(daemon_->Evidence("e2e-ha"));
  ExpectContiguousOnce(other.Evidence("e2e-ha"));
  // SIGTERM: a clean exit.
  agent_->Signal(SIGTERM);
  auto code = agent_->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace attest
