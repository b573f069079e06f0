// Durability of acknowledged evidence across daemon crashes and resends.
#include <signal.h>

#include <map>
#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "daemon/evidence/chain.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

namespace ts = testing_signals;
using testing_support::DaemonHarness;
using testing_support::FixturePki;
using testing_support::TestAgent;

// Signal `seq` of the test agent; deterministic so resends are identical.
v1::Signal SignalFor(uint64_t seq, absl::Time base) {
  const absl::Time at = base + absl::Seconds(seq);
  switch (seq % 3) {
    case 0:
      return ts::Patch(seq, at);
    case 1:
      return ts::Heartbeat(seq, at);
    default:
      return ts::AccessChange(seq, at, "chg-" + std::to_string(seq));
  }
}

std::vector<v1::Signal> Range(uint64_t first, uint64_t last, absl::Time base) {
  std::vector<v1::Signal> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(SignalFor(s, base));
  return out;
}

// Checks that `records` hold each seq 1..max exactly once, nothing else, and
// form a valid chain.
void ExpectExactlyOnce(const std::vector<v1::EvidenceRecord>& records, uint64_t max_acked,
                       uint64_t* max_stored) {
  std::map<uint64_t, int> seen;
  for (const auto& r : records) {
    EXPECT_FALSE(r.has_gap()) << "unexpected gap at index " << r.index();
    if (r.has_signal()) ++seen[r.seq()];
  }
  for (const auto& [seq, count] : seen) EXPECT_EQ(count, 1) << "seq " << seq << " stored twice";
  for (uint64_t s = 1; s <= max_acked; ++s) {
    EXPECT_EQ(seen.count(s), 1u) << "acked seq " << s << " is missing";
  }
  *max_stored = seen.empty() ? 0 : seen.rbegin()->first;
  EXPECT_EQ(seen.size(), *max_stored) << "stored seqs are not contiguous";
  absl::Status chain = evidence::VerifyChain(records);
  EXPECT_TRUE(chain.ok()) << chain;
}

TEST(DurabilityTest, EveryAckedSignalSurvivesRepeatedSigkill) {
  const std::string dir = testing_support::FreshDir("crash");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki);
  const absl::Time base = absl::Now() - absl::Hours(24);
  const uint32_t seed = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  uint64_t max_acked = 0;
  uint64_t next_seq = 1;
  constexpr int kKills = 12;
  for (int round = 0; round < kKills; ++round) {
    ASSERT_TRUE(daemon.Start().ok()) << "round " << round << ", see " << daemon.log_path();
    TestAgent agent(daemon.ChannelAs("host", "crash-1"));
    v1::Welcome welcome;
    ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-crash"), &welcome)) << "round " << round;
    // The promise: nothing acked is ever forgotten.
    ASSERT_GE(welcome.highest_durable_seq(), max_acked) << "round " << round;
    // Resume after what the daemon holds, sometimes re-sending a few to
    // exercise dedup.
    uint64_t daemon_highest = welcome.highest_durable_seq();
    next_seq = daemon_highest + 1;
    if (rng() % 2 == 0 && next_seq > 5) next_seq -= 5;
    const int acked_batches = static_cast<int>(rng() % 6);
    for (int b = 0; b < acked_batches; ++b) {
      const uint64_t size = 1 + rng() % 50;
      uint64_t acked = 0;
      ASSERT_TRUE(agent.Send(Range(next_seq, next_seq + size - 1, base), &acked));
      daemon_highest = std::max(daemon_highest, next_seq + size - 1);
      ASSERT_EQ(acked, daemon_highest);
      max_acked = std::max(max_acked, acked);
      next_seq += size;
    }
    // One more batch goes out and the daemon dies with it in flight.
    v1::AgentMessage in_flight;
    for (auto& s : Range(next_seq, next_seq + rng() % 200, base)) {
      *in_flight.mutable_batch()->add_signals() = s;
    }
    agent.Write(in_flight);
    if (rng() % 2 == 0) {
      // Sometimes wait for that batch to reach the committer (its ack may
      // or may not arrive before the kill).
      std::this_thread::yield();
    }
    daemon.Kill();
    (void)agent.Finish();
  }

  ASSERT_TRUE(daemon.Start().ok());
  uint64_t max_stored = 0;
  ExpectExactlyOnce(daemon.Evidence("crash-1"), max_acked, &max_stored);
  EXPECT_GE(max_stored, max_acked);
  EXPECT_GT(max_acked, 0u);
  EXPECT_EQ(*daemon.Stop(), 0);
}

TEST(DurabilityTest, ResendingEverythingAfterReconnectStoresNothingTwice) {
  const std::string dir = testing_support::FreshDir("resend");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki);
  ASSERT_TRUE(daemon.Start().ok());
  const absl::Time base = absl::Now() - absl::Hours(1);
  {
    TestAgent agent(daemon.ChannelAs("host", "resend-1"));
    ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-r")));
    for (uint64_t first = 1; first <= 100; first += 10) {
      ASSERT_TRUE(agent.Send(Range(first, first + 9, base)));
    }
    ASSERT_TRUE(agent.Finish().ok());
  }
  TestAgent again(daemon.ChannelAs("host", "resend-1"));
  v1::Welcome welcome;
  ASSERT_TRUE(again.Hello(ts::Hello("", "inst-r"), &welcome));
  EXPECT_EQ(welcome.highest_durable_seq(), 100u);
  for (uint64_t first = 1; first <= 150; first += 25) {
    uint64_t acked = 0;
    ASSERT_TRUE(again.Send(Range(first, first + 24, base), &acked));
    EXPECT_EQ(acked, std::max<uint64_t>(100, first + 24));
  }
  ASSERT_TRUE(again.Finish().ok());
  uint64_t max_stored = 0;
  auto records = daemon.Evidence("resend-1");
  ExpectExactlyOnce(records, 150, &max_stored);
  EXPECT_EQ(max_stored, 150u);
  EXPECT_EQ(records.size(), 151u);  // one hello + 150 signals
}

TEST(DurabilityTest, MissingSequenceNumbersAreStoredAsAGap) {
  const std::string dir = testing_support::FreshDir("gap");
  DaemonHarness daemon(dir, nullptr);  // insecure loopback mode
  ASSERT_TRUE(daemon.Start().ok());
  const absl::Time base = absl::Now() - absl::Hours(1);
  TestAgent agent(daemon.ChannelAs("host", "gap-1"));
  ASSERT_TRUE(agent.Hello(ts::Hello("gap-1", "inst-g")));
  ASSERT_TRUE(agent.Send(Range(1, 3, base)));
  uint64_t acked = 0;
  ASSERT_TRUE(agent.Send(Range(11, 12, base), &acked));  // the spool dropped 4..10
  EXPECT_EQ(acked, 12u);
  ASSERT_TRUE(agent.Finish().ok());
  auto records = daemon.Evidence("gap-1");
  ASSERT_EQ(records.size(), 7u);  // hello, 1-3, gap, 11, 12
  ASSERT_TRUE(records[4].has_gap());
  EXPECT_EQ(records[4].gap().first_seq(), 4u);
  EXPECT_EQ(records[4].gap().last_seq(), 10u);
  EXPECT_TRUE(evidence::VerifyChain(records).ok());
}

}  // namespace
}  // namespace attest
