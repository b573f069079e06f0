// Chaos: 100 agents stream while attestd is SIGKILLed 20 times at random
// moments and restarted. Afterwards every acked signal is stored exactly
// once, every host's chain verifies, and the window summary equals that of
// a daemon that received the same signals without a single kill.
//
// Nothing here waits for time to pass: kills happen when the fleet has
// acked a random number of further signals, and agents reconnect when the
// daemon announces a new life.
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {
namespace {

namespace ts = testing_signals;

constexpr int kAgents = 100;
constexpr uint64_t kSignalsPerAgent = 400;
constexpr int kKills = 20;

std::string HostName(int i) { return StrCat("chaos-", 1000 + i); }

// Signal `seq` of every agent; deterministic, so that resends are identical
// and the reference daemon receives exactly the same evidence.
v1::Signal SignalFor(int agent, uint64_t seq, absl::Time base) {
  const absl::Time at = base + absl::Seconds(60 * static_cast<int64_t>(seq));
  switch ((seq + static_cast<uint64_t>(agent)) % 4) {
    case 0:
      return ts::Patch(seq, at);
    case 1:
      return ts::AccessChange(seq, at, StrCat(HostName(agent), "/", seq));
    default:
      return ts::Heartbeat(seq, at);
  }
}

std::vector<v1::Signal> Range(int agent, uint64_t first, uint64_t last, absl::Time base) {
  std::vector<v1::Signal> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(SignalFor(agent, s, base));
  return out;
}

// The daemon's lives, as the agents see them.
struct Lives {
  std::mutex mu;
  std::condition_variable changed;
  bool up = false;
  int generation = 0;
  uint64_t acked = 0;         // signals acked by all agents together
  int done = 0;               // agents that delivered everything
  int streams = 0;            // streams opened, over all lives
  uint64_t held_unacked = 0;  // signals a welcome reported held that were never acked
  std::vector<std::string> broken_promises;
};

void RunAgent(int agent, const std::string& address, Lives& lives, absl::Time base, uint32_t seed,
              uint64_t* max_acked) {
  std::mt19937 rng(seed);
  int generation = 0;  // of the life this agent last talked to
  int failures_this_life = 0;
  std::string last_failure;
  const v1::Hello hello = ts::Hello(HostName(agent), HostName(agent) + "-i1");
  // After a failed stream: the same life again while the killer says it is
  // up (it marks a life down before killing it), else the next one. Like
  // attest-agent, retries of one life back off (a life that has just
  // started may still refuse), and a new life ends the wait at once.
  auto next_life = [&]() -> bool {
    std::unique_lock lock(lives.mu);
    if (lives.up && lives.generation == generation) {
      if (++failures_this_life > 200) {
        lives.broken_promises.push_back(
            StrCat(HostName(agent), ": 200 failed streams to one life, the last: ", last_failure));
        return false;
      }
      const auto backoff = std::chrono::milliseconds(1 << std::min(failures_this_life, 9));
      lives.changed.wait_for(lock, backoff, [&] { return lives.generation != generation; });
    }
    lives.changed.wait(lock, [&] { return lives.up; });
    if (lives.generation != generation) failures_this_life = 0;
    generation = lives.generation;
    return true;
  };
  while (*max_acked < kSignalsPerAgent) {
    if (!next_life()) break;
    // Not daemon.ChannelWith: each restart rewrites the harness's address.
    TestAgent stream(DaemonHarness::InsecureChannelTo(address));
    v1::Welcome welcome;
    if (!stream.Hello(hello, &welcome)) {
      last_failure = StrCat("hello: ", stream.Finish().error_message());
      continue;
    }
    if (welcome.highest_durable_seq() < *max_acked) {
      std::lock_guard lock(lives.mu);
      lives.broken_promises.push_back(StrCat(HostName(agent), ": acked ", *max_acked,
                                             " but the daemon holds ",
                                             welcome.highest_durable_seq()));
    }
    {
      // The welcome acks what the daemon holds: a kill can come between
      // storing a batch and acking it. (Without this, an agent whose last
      // batch was stored but never acked would retry forever.)
      std::lock_guard lock(lives.mu);
      const uint64_t held = std::min(welcome.highest_durable_seq(), kSignalsPerAgent);
      ++lives.streams;
      lives.held_unacked += held > *max_acked ? held - *max_acked : 0;
      lives.acked += held > *max_acked ? held - *max_acked : 0;
      *max_acked = std::max(*max_acked, held);
      lives.changed.notify_all();
    }
    uint64_t next = welcome.highest_durable_seq() + 1;
    while (next <= kSignalsPerAgent) {
      const uint64_t last = std::min<uint64_t>(kSignalsPerAgent, next + rng() % 20);
      uint64_t acked = 0;
      if (!stream.Send(Range(agent, next, last, base), &acked)) break;
      std::lock_guard lock(lives.mu);
      lives.acked += acked > *max_acked ? acked - *max_acked : 0;
      *max_acked = std::max(*max_acked, acked);
      next = acked + 1;
      lives.changed.notify_all();
    }
    const grpc::Status status = stream.Finish();
    if (!status.ok()) last_failure = StrCat("stream: ", status.error_message());
    // A stream ends because its daemon died or because it delivered
    // everything; anything else is a refusal this test does not expect.
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::CANCELLED) {
      std::lock_guard lock(lives.mu);
      lives.broken_promises.push_back(
          StrCat(HostName(agent), ": stream refused: ", status.error_message()));
    }
  }
  std::lock_guard lock(lives.mu);
  ++lives.done;
  lives.changed.notify_all();
}

// The window's report as JSON, without the moment it was computed.
std::string Report(const DaemonHarness& daemon, const std::string& dir) {
  std::string out, err;
  EXPECT_EQ(Attestctl(daemon.address(), dir, {"report", "--window", "chaos", "--format", "json"},
                      &out, &err),
            0)
      << err;
  auto j = Json::ParseReport(out);
  EXPECT_TRUE(j.ok()) << out;
  if (!j.ok()) return "";
  j->as_object().erase("computed_at");
  return j->Canonical();
}

TEST(ChaosTest, HundredAgentsSurviveTwentySigkillsWithNothingLostOrDoubled) {
  const std::string dir = FreshDir("chaos");
  // Evidence from two days ago; the window has ended, so its summary no
  // longer depends on when it is asked for.
  const absl::Time base =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 86400 * 86400) - absl::Hours(48);
  std::ofstream(dir + "/policy.yaml")
      << kTestControls << "windows:\n  - {id: chaos, start: " << FormatRfc3339(base)
      << ", end: " << FormatRfc3339(base + absl::Hours(24)) << "}\n";
  const std::vector<std::string> flags = {"--policy", dir + "/policy.yaml", "--judge-delay",
                                          "0s",       "--rate-per-host",    "0"};
  DaemonHarness daemon(FreshDir("chaos_killed"), nullptr, flags);
  const uint32_t seed = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  SCOPED_TRACE(StrCat("seed ", seed));
  std::mt19937 rng(seed);

  Lives lives;
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const std::string address = daemon.address();  // each restart listens on it again
  {
    std::lock_guard lock(lives.mu);
    lives.up = true;
    lives.generation = 1;
  }
  std::vector<uint64_t> max_acked(kAgents, 0);
  std::vector<std::thread> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.emplace_back(RunAgent, i, std::cref(address), std::ref(lives), base, seed + i,
                        &max_acked[i]);
  }
  // Kill when the fleet has acked a random share of what is left.
  const uint64_t total = kAgents * kSignalsPerAgent;
  int kills = 0;
  for (; kills < kKills; ++kills) {
    const uint64_t at = total * (kills + 1) / (kKills + 2) + rng() % (total / (kKills + 2));
    {
      std::unique_lock lock(lives.mu);
      lives.changed.wait(lock, [&] { return lives.acked >= at || lives.done == kAgents; });
      if (lives.done == kAgents) break;
      lives.up = false;
    }
    daemon.Kill();
    absl::Status started = daemon.Start();
    std::lock_guard lock(lives.mu);
    ASSERT_TRUE(started.ok()) << "restart " << kills << ": " << ReadAll(daemon.log_path());
    lives.up = true;
    ++lives.generation;
    lives.changed.notify_all();
  }
  for (std::thread& t : agents) t.join();
  EXPECT_EQ(kills, kKills) << "the fleet finished before every kill";
  std::printf(
      "chaos: %d SIGKILLs survived; %d streams; %llu signals acked, of which %llu were "
      "held but unacked at a kill (the next welcome acked them)\n",
      kills, lives.streams, static_cast<unsigned long long>(lives.acked),
      static_cast<unsigned long long>(lives.held_unacked));
  EXPECT_TRUE(lives.broken_promises.empty()) << lives.broken_promises.front();

  // Every acked signal once, nothing else, chains whole.
  for (int i = 0; i < kAgents; ++i) {
    const std::vector<v1::EvidenceRecord> records = daemon.Evidence(HostName(i));
    std::map<uint64_t, int> seen;
    for (const auto& r : records) {
      EXPECT_FALSE(r.has_gap()) << HostName(i) << ": a gap at index " << r.index();
      if (r.has_signal()) ++seen[r.seq()];
    }
    ASSERT_EQ(seen.size(), kSignalsPerAgent) << HostName(i);
    for (const auto& [seq, n] : seen) ASSERT_EQ(n, 1) << HostName(i) << " seq " << seq;
    EXPECT_EQ(max_acked[i], kSignalsPerAgent);
    const absl::Status chain = evidence::VerifyChain(records);
    EXPECT_TRUE(chain.ok()) << HostName(i) << ": " << chain;
  }

  // The same signals into a daemon that is never killed.
  DaemonHarness reference(FreshDir("chaos_reference"), nullptr, flags);
  ASSERT_TRUE(reference.Start().ok()) << ReadAll(reference.log_path());
  for (int i = 0; i < kAgents; ++i) {
    TestAgent stream(reference.ChannelWith(std::nullopt));
    ASSERT_TRUE(stream.Hello(ts::Hello(HostName(i), HostName(i) + "-i1")));
    for (uint64_t s = 1; s <= kSignalsPerAgent; s += 50) {
      ASSERT_TRUE(stream.Send(Range(i, s, std::min<uint64_t>(kSignalsPerAgent, s + 49), base)));
    }
    (void)stream.Finish();
  }
  const std::string expected = Report(reference, dir);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Report(daemon, dir), expected);
  EXPECT_TRUE(reference.Stop().ok());
  EXPECT_TRUE(daemon.Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
