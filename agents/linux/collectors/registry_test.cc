// The scheduler, on a FakeClock: every collector runs at its interval, and
// the heartbeat only after an interval in which nothing else went out, so
// the agent is never silent for longer than the heartbeat's interval.
#include "agents/linux/collectors/registry.h"

#include <map>
#include <vector>

#include "agents/linux/collectors/heartbeat.h"
#include "agents/linux/config.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

// Returns `n` signals (a check each) per run, or fails.
class Counting : public Collector {
 public:
  Counting(std::string name, int n) : name_(std::move(name)), n_(n) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext&) override {
    if (n_ < 0) return absl::UnavailableError("broken");
    std::vector<v1::Signal> out(static_cast<size_t>(n_));
    for (auto& s : out) s.mutable_check()->set_name(name_);
    return out;
  }

 private:
  std::string name_;
  int n_;
};

class NoCommands : public CommandRunner {
 public:
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>&, absl::Duration,
                                    const std::vector<std::string>&) const override {
    return absl::UnavailableError("no commands here");
  }
};

struct Sent {
  absl::Time at;
  std::string kind;  // "heartbeat", the check's name, or "error"
};

// Runs `collectors` from t0 for `span`, a second at a time.
std::vector<Sent> RunFor(std::vector<ScheduledCollector> collectors, absl::Duration span) {
  const absl::Time t0 = absl::FromUnixSeconds(1'780'000'000);
  FakeClock clock(t0);
  RootFs root("/nonexistent");
  NoCommands commands;
  std::vector<Sent> sent;
  Scheduler scheduler(
      std::move(collectors), root, commands, clock, [&](std::vector<v1::Signal> signals) {
        for (const v1::Signal& s : signals) {
          sent.push_back({clock.Now(), s.has_heartbeat()         ? "heartbeat"
                                       : s.has_collector_error() ? "error"
                                                                 : s.check().name()});
        }
      });
  for (absl::Time t = t0; t < t0 + span; t += absl::Seconds(1)) {
    clock.Set(t);
    scheduler.RunDue();
  }
  return sent;
}

ScheduledCollector Heartbeat(absl::Duration every = absl::Seconds(60)) {
  return {std::make_unique<HeartbeatCollector>(), every};
}
ScheduledCollector Every(absl::Duration every, std::string name, int n = 1) {
  return {std::make_unique<Counting>(std::move(name), n), every};
}

std::map<std::string, int> Count(const std::vector<Sent>& sent) {
  std::map<std::string, int> out;
  for (const Sent& s : sent) ++out[s.kind];
  return out;
}

absl::Duration LongestSilence(const std::vector<Sent>& sent) {
  absl::Duration longest;
  for (size_t i = 1; i < sent.size(); ++i) longest = std::max(longest, sent[i].at - sent[i - 1].at);
  return longest;
}

TEST(SchedulerTest, AHeartbeatGoesOutOnlyAfterAnIntervalOfSilence) {
  std::vector<ScheduledCollector> chatty;
  chatty.push_back(Heartbeat());
  chatty.push_back(Every(absl::Seconds(30), "chatty"));
  auto sent = RunFor(std::move(chatty), absl::Hours(1));
  EXPECT_EQ(Count(sent)["heartbeat"], 0);
  EXPECT_EQ(Count(sent)["chatty"], 120);
  EXPECT_LE(LongestSilence(sent), absl::Seconds(30));

  std::vector<ScheduledCollector> quiet;
  quiet.push_back(Heartbeat());
  quiet.push_back(Every(absl::Minutes(10), "quiet"));
  sent = RunFor(std::move(quiet), absl::Hours(1));
  EXPECT_EQ(Count(sent)["quiet"], 6);
  // Every minute but the ones quiet took: 9 in each 10 minutes.
  EXPECT_EQ(Count(sent)["heartbeat"], 54);
  EXPECT_EQ(LongestSilence(sent), absl::Seconds(60));

  // Every 90 s: a heartbeat fills the silence 60 s after each.
  std::vector<ScheduledCollector> slower;
  slower.push_back(Heartbeat());
  slower.push_back(Every(absl::Seconds(90), "slow"));
  sent = RunFor(std::move(slower), absl::Hours(1));
  EXPECT_EQ(Count(sent)["slow"], 40);
  EXPECT_EQ(Count(sent)["heartbeat"], 40);
  EXPECT_LE(LongestSilence(sent), absl::Seconds(60));
}

TEST(SchedulerTest, ACollectorWithNothingToSayDoesNotSilenceTheHeartbeat) {
  std::vector<ScheduledCollector> c;
  c.push_back(Heartbeat());
  c.push_back(Every(absl::Seconds(10), "empty", 0));
  auto sent = RunFor(std::move(c), absl::Hours(1));
  EXPECT_EQ(Count(sent)["heartbeat"], 60);
  EXPECT_EQ(LongestSilence(sent), absl::Seconds(60));
  // A failing collector's error is a signal: it says the agent is alive.
  std::vector<ScheduledCollector> failing;
  failing.push_back(Heartbeat());
  failing.push_back(Every(absl::Seconds(20), "broken", -1));
  sent = RunFor(std::move(failing), absl::Hours(1));
  EXPECT_EQ(Count(sent)["error"], 180);
  EXPECT_EQ(Count(sent)["heartbeat"], 0);
}

// At the agent's default intervals, with every collector sending (one
// signal a run, three checks), log_shipping and services go out every
// minute: the 1,440 heartbeats a day the agent sent before are not needed
// (docs/design.md, "Fewer records at the source").
TEST(SchedulerTest, AtTheDefaultIntervalsNoHeartbeatIsNeeded) {
  std::vector<ScheduledCollector> c;
  int expected_without_heartbeat = 0;
  for (const auto& [name, every] : DefaultIntervals()) {
    if (name == "heartbeat") {
      c.push_back(Heartbeat(every));
      continue;
    }
    const int n = name == "checks" ? 3 : 1;
    c.push_back(Every(every, name, n));
    expected_without_heartbeat += n * static_cast<int>(absl::Hours(24) / every);
  }
  auto sent = RunFor(std::move(c), absl::Hours(24));
  const auto count = Count(sent);
  // log_shipping goes out every minute: the heartbeat never has to.
  EXPECT_EQ(count.count("heartbeat"), 0u);
  EXPECT_EQ(static_cast<int>(sent.size()), expected_without_heartbeat);
  EXPECT_LE(LongestSilence(sent), absl::Seconds(60));
}

// A trigger that lands after RunDue() has looked (while its collector ran,
// or before Run() waits) is not lost: the wait that follows returns at once
// and the collector runs again, rather than an interval later. With the bug
// this test waits out the hour (and ctest's timeout fails it).
TEST(SchedulerTest, ATriggerBeforeTheWaitIsNotLost) {
  FakeClock clock(absl::FromUnixSeconds(1'780'000'000));
  RootFs root("/nonexistent");
  NoCommands commands;
  int runs = 0;
  std::vector<ScheduledCollector> collectors;
  collectors.push_back(Every(absl::Hours(1), "access"));
  Scheduler scheduler(std::move(collectors), root, commands, clock,
                      [&](std::vector<v1::Signal>) { ++runs; });
  const absl::Time next = scheduler.RunDue();
  ASSERT_EQ(runs, 1);
  ASSERT_EQ(next, clock.Now() + absl::Hours(1));
  scheduler.Trigger("access");  // after RunDue() returned, before the wait
  ASSERT_TRUE(scheduler.Wait(next));
  EXPECT_EQ(scheduler.RunDue(), clock.Now() + absl::Hours(1));
  EXPECT_EQ(runs, 2);
  scheduler.Stop();
  EXPECT_FALSE(scheduler.Wait(next));
}

}  // namespace
}  // namespace attest::agent
