// The collector framework: which collectors run, how often, and what
// happens around each run. The framework (not the collector) times every
// run, counts failures, and turns a failure into a CollectorError signal.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_REGISTRY_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_REGISTRY_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agents/linux/collectors/collector.h"
#include "common/clock.h"

namespace attest::agent {

struct CollectorStats {
  uint64_t runs = 0;
  uint64_t skipped = 0;  // only_when_silent(): due, but other signals went out
  uint64_t failures = 0;
  absl::Duration last_duration;
  std::string last_error;
};

// Runs `collector` once: the signals it returns, or one CollectorError
// signal when it fails. Updates `stats`.
std::vector<v1::Signal> RunCollector(Collector& collector, const CollectContext& context,
                                     CollectorStats& stats);

struct ScheduledCollector {
  std::unique_ptr<Collector> collector;
  absl::Duration interval;
};

// Where collected signals go (the spool, in the agent).
using SignalSink = std::function<void(std::vector<v1::Signal>)>;

// Runs each collector at start and then every `interval`; a collector that
// runs only_when_silent() runs when no signal went out for its interval
// (so the agent is never silent longer than that). Trigger() runs one
// early (e.g. when inotify saw /etc/passwd change). Thread-safe.
class Scheduler {
 public:
  // `root`, `commands`, `clock` must outlive the scheduler.
  Scheduler(std::vector<ScheduledCollector> collectors, const RootFs& root,
            const CommandRunner& commands, const Clock& clock, SignalSink sink);

  // Blocks running collectors until Stop().
  void Run();
  // Runs every collector due at the clock's time, one after another, and
  // returns when the next is due (InfiniteFuture: none, or stopping). Run()
  // is this in a loop; tests call it with a FakeClock.
  absl::Time RunDue();
  // Waits until `next` (what RunDue() returned), a Trigger() made since
  // that RunDue() began, or Stop(); false when stopping. Run() is
  // RunDue() and Wait() in turn.
  bool Wait(absl::Time next);
  void Stop();
  // Asks for `name` to run as soon as possible.
  void Trigger(const std::string& name);
  std::map<std::string, CollectorStats> Stats() const;

 private:
  struct Entry {
    ScheduledCollector scheduled;
    absl::Time next_run;
    CollectorStats stats;
  };
  const RootFs& root_;
  const CommandRunner& commands_;
  const Clock& clock_;
  SignalSink sink_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  // Set by Trigger(), cleared when RunDue() starts: a trigger that lands
  // after RunDue() has looked (while a collector runs, or between RunDue()
  // returning and Run() waiting) must not wait out the next interval.
  bool triggered_ = false;
  std::vector<Entry> entries_;
  absl::Time last_sent_ = absl::InfinitePast();  // when any signal last went out
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_REGISTRY_H_
