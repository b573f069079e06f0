#include "agents/linux/collectors/registry.h"

#include "absl/time/clock.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::agent {

std::vector<v1::Signal> RunCollector(Collector& collector, const CollectContext& context,
                                     CollectorStats& stats) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<v1::Signal>> result = collector.Collect(context);
  stats.last_duration = absl::Now() - start;
  ++stats.runs;
  if (result.ok()) {
    stats.last_error.clear();
    for (auto& s : *result) {
      if (!s.has_observed_at()) *s.mutable_observed_at() = ToProto(context.now);
    }
    return *std::move(result);
  }
  ++stats.failures;
  stats.last_error = result.status().ToString();
  spdlog::warn("collector {} failed: {}", collector.name(), stats.last_error);
  v1::Signal error;
  *error.mutable_observed_at() = ToProto(context.now);
  error.mutable_collector_error()->set_collector(std::string(collector.name()));
  error.mutable_collector_error()->set_error(stats.last_error.substr(0, kMaxReportedErrorBytes));
  return {error};
}

Scheduler::Scheduler(std::vector<ScheduledCollector> collectors, const RootFs& root,
                     const CommandRunner& commands, const Clock& clock, SignalSink sink)
    : root_(root), commands_(commands), clock_(clock), sink_(std::move(sink)) {
  for (auto& c : collectors) entries_.push_back(Entry{std::move(c), absl::InfinitePast(), {}});
}

void Scheduler::Run() {
  while (Wait(RunDue())) {
  }
}

bool Scheduler::Wait(absl::Time next) {
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  const absl::Time now = clock_.Now();
  auto woken = [this] { return stopping_ || triggered_; };
  if (next == absl::InfiniteFuture()) {
    wake_.wait(lock, woken);
  } else if (next > now) {
    wake_.wait_for(lock, absl::ToChronoMilliseconds(next - now), woken);
  }
  return !stopping_;
}

absl::Time Scheduler::RunDue() {
  std::unique_lock lock(mu_);
  triggered_ = false;
  for (;;) {
    if (stopping_) return absl::InfiniteFuture();
    // The earliest; of those due at once, the heartbeat last, so that it
    // sees what the others sent.
    Entry* due = nullptr;
    for (auto& e : entries_) {
      if (due == nullptr || e.next_run < due->next_run ||
          (e.next_run == due->next_run && due->scheduled.collector->only_when_silent() &&
           !e.scheduled.collector->only_when_silent())) {
        due = &e;
      }
    }
    if (due == nullptr) return absl::InfiniteFuture();
    const absl::Time now = clock_.Now();
    if (due->next_run > now) return due->next_run;
    const absl::Duration interval = due->scheduled.interval;
    Collector& collector = *due->scheduled.collector;
    if (collector.only_when_silent() && last_sent_ != absl::InfinitePast() &&
        last_sent_ + interval > now) {
      // Another signal went out within the interval and said as much.
      due->next_run = last_sent_ + interval;
      ++due->stats.skipped;
      continue;
    }
    due->next_run = now + interval;
    CollectorStats stats = due->stats;
    lock.unlock();
    std::vector<v1::Signal> signals =
        RunCollector(collector, CollectContext{root_, commands_, now}, stats);
    const bool sent = !signals.empty();
    if (sent) sink_(std::move(signals));
    lock.lock();
    due->stats = stats;
    if (sent) last_sent_ = std::max(last_sent_, now);
  }
}

void Scheduler::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  wake_.notify_all();
}

void Scheduler::Trigger(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.scheduled.collector->name() == name) e.next_run = absl::InfinitePast();
  }
  triggered_ = true;
  wake_.notify_all();
}

std::map<std::string, CollectorStats> Scheduler::Stats() const {
  std::lock_guard lock(mu_);
  std::map<std::string, CollectorStats> out;
  for (const auto& e : entries_) out[std::string(e.scheduled.collector->name())] = e.stats;
  return out;
}

}  // namespace attest::agent
