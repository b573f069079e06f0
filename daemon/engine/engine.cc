#include "daemon/engine/engine.h"

#include <future>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/records.h"
#include "spdlog/spdlog.h"

namespace attest::engine {

std::vector<PolicySegment> EngineState::Segments(const std::string& control_id) const {
  std::vector<PolicySegment> out;
  for (size_t i = 0; i < policies.size(); ++i) {
    PolicySegment s;
    // The first version also judges everything before it was loaded
    // (imported history); each later one from its load on.
    s.start = i == 0 ? 0 : policies[i].record.loaded_at().seconds();
    s.end = i + 1 < policies.size() ? policies[i + 1].record.loaded_at().seconds() : kForever;
    s.version = policies[i].record.version();
    s.judgement = JudgementOf(policies[i].record.judge());
    for (const Control& c : policies[i].policy.controls) {
      if (c.id == control_id) s.control = &c;
    }
    if (s.start < s.end) out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> EngineState::ControlIds() const {
  std::vector<std::string> ids;
  for (const LoadedPolicy& p : policies) {
    for (const Control& c : p.policy.controls) {
      if (std::find(ids.begin(), ids.end(), c.id) == ids.end()) ids.push_back(c.id);
    }
  }
  return ids;
}

Engine::Engine(store::Store& store, const Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(options) {}

Engine::~Engine() { Stop(); }

absl::Status Engine::Start() {
  if (absl::Status s = LoadState(); !s.ok()) return s;
  if (absl::Status s = QuarantineUnjudgeable(); !s.ok()) return s;
  if (absl::Status s = BackfillLedger(); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    started_ = true;
    // Hosts whose evidence is ahead of their judgement: a crash between a
    // commit and its rejudge, or an engine added to an existing store.
    for (const auto& [host, eh] : state_.hosts) dirty_[host] = Dirty{kForever, clock_.Now()};
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Engine::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Engine::NotifyEvidence(const std::string& host) {
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] =
        dirty_.try_emplace(host, Dirty{kForever, clock_.Now() + options_.judge_delay});
    if (!inserted) return;  // already due, at its first notification's time
  }
  wake_.notify_one();
}

void Engine::Mark(const std::string& host, int64_t from) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = dirty_.try_emplace(host, Dirty{from, clock_.Now()});
  if (!inserted) {
    it->second.from = std::min(it->second.from, from);
    it->second.due = std::min(it->second.due, clock_.Now());
  }
}

void Engine::MarkAll(int64_t from) {
  for (const auto& [host, eh] : state_.hosts) Mark(host, from);
}

void Engine::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(fn));
  }
  wake_.notify_one();
}

void Engine::RunOnThread(const std::function<void()>& fn) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    fn();
    return;
  }
  std::promise<void> done;
  Post([&] {
    // The days that passed since the loop last looked, first: a read right
    // after midnight (or a replay's clock moved on) sees them judged.
    AdvanceDays();
    JudgePending(/*all=*/true);
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void Engine::Read(const std::function<void(const EngineState&)>& read) {
  RunOnThread([&] { read(state_); });
}

void Engine::Sync() {
  RunOnThread([] {});
}

void Engine::Batch(const std::function<void()>& fn) {
  // Nested RunOnThread calls run `fn`'s records directly, so nothing is
  // judged between them; the loop judges what they marked right after.
  RunOnThread(fn);
}

void Engine::JudgePending(bool all) {
  // The hosts pending (or due) now, and no more: a host notified again while
  // this runs waits for the next round. Chasing every new notification never
  // ended under steady ingest, and a read, queued behind it, never returned.
  std::vector<std::string> hosts;
  {
    std::lock_guard lock(mu_);
    const absl::Time now = clock_.Now();
    for (const auto& [host, dirty] : dirty_) {
      if (all || dirty.due <= now) hosts.push_back(host);
    }
  }
  for (const std::string& host : hosts) {
    int64_t from = kForever;
    {
      std::lock_guard lock(mu_);
      auto it = dirty_.find(host);
      if (it == dirty_.end()) continue;
      from = it->second.from;
      dirty_.erase(it);
    }
    if (absl::Status s = ProcessHost(host, from); !s.ok()) {
      // Judged data is derived: the evidence is safe, and the host is
      // retried at the next notification or restart.
      spdlog::error("judging host {}: {}", host, s.ToString());
    }
  }
}

void Engine::Loop() {
  for (;;) {
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock lock(mu_);
      // Until the first pending host is due, at most 1 s: the wall-time wait
      // only bounds how late a due host or a new day is noticed. A host
      // notified meanwhile is due no sooner than those already waiting
      // (each is due judge_delay after its notification), unless the delay
      // is zero; so the due times are read once per round, not per wake.
      absl::Duration wait = absl::Seconds(1);
      const absl::Time now = clock_.Now();
      for (const auto& [host, dirty] : dirty_) wait = std::min(wait, dirty.due - now);
      if (wait > absl::ZeroDuration()) {
        const bool no_delay = options_.judge_delay <= absl::ZeroDuration();
        wake_.wait_for(lock, absl::ToChronoMilliseconds(wait), [&] {
          return stopping_ || !tasks_.empty() || (no_delay && !dirty_.empty());
        });
      }
      tasks.swap(tasks_);
      if (stopping_ && tasks.empty()) return;
    }
    for (auto& task : tasks) task();
    AdvanceDays();
    JudgePending(/*all=*/false);
  }
}

void Engine::AdvanceDays() {
  const uint32_t today = DayOf(absl::ToUnixSeconds(clock_.Now()));
  for (const auto& [host, eh] : state_.hosts) {
    if (eh.enrolled() > 0 && eh.judged_through_day() < today) {
      Mark(host, static_cast<int64_t>(eh.judged_through_day()) * kDaySeconds);
    }
  }
}

absl::Status Engine::AdoptNewestJudgement() {
  Policy current;
  std::string file;
  bool older = false;
  RunOnThread([&] {
    if (state_.policies.empty()) return;
    const LoadedPolicy& last = state_.policies.back();
    older = JudgementOf(last.record.judge()) < kJudgement;
    current = last.policy;
    file = last.record.file();
  });
  if (!older) return absl::OkStatus();
  spdlog::info("policy {}: judged under judgement {} from now on (docs/design.md, \"Judgements\")",
               current.version, kJudgement);
  return LoadPolicy(current, file, kJudgement);
}

absl::Status Engine::LoadPolicy(const Policy& policy, const std::string& file, uint32_t judge) {
  absl::Status result;
  RunOnThread([&] {
    if (!state_.policies.empty() && state_.policies.back().policy.version == policy.version &&
        JudgementOf(state_.policies.back().record.judge()) == JudgementOf(judge)) {
      result = absl::OkStatus();
      return;
    }
    // A window someone made with the admin API is theirs: a policy window
    // of the same id would silently replace its dates, scope and
    // thresholds. Refused before anything is stored.
    for (const Window& w : policy.windows) {
      auto it = state_.windows.find(w.id);
      if (it != state_.windows.end() && it->second.origin() == "api") {
        result = absl::InvalidArgumentError(attest::StrCat(
            "policy refused: ", file, ": window \"", w.id,
            "\" would replace the window of that id made with attestctl windows create at ",
            FormatRfc3339(FromProto(it->second.created_at())),
            "; give the policy window another id"));
        return;
      }
    }
    const absl::Time now = clock_.Now();
    LoadedPolicy loaded{{}, policy};
    loaded.record.set_version(policy.version);
    *loaded.record.mutable_loaded_at() = ToProto(now);
    loaded.record.set_file(file);
    loaded.record.set_source(policy.source);
    // Judgement 1 stays absent, as in every version recorded before
    // judgements were numbered (its ledger entry hashes as theirs did).
    loaded.record.set_judge(JudgementOf(judge) == kFirstJudgement ? 0 : judge);
    store::WriteBatch batch;
    batch.Put(store::Family::kPolicyVersions, keys::PolicyVersion(absl::ToUnixNanos(now)),
              loaded.record.SerializeAsString());
    v1::LedgerEntry entry;
    *entry.mutable_policy_version() = loaded.record;
    if (result = Record(now, std::move(entry), std::move(batch)); !result.ok()) return;
    state_.policies.push_back(std::move(loaded));
    for (const Window& w : policy.windows) {
      v1::WindowDef def = WindowFromPolicy(w, now);
      auto it = state_.windows.find(w.id);
      if (it != state_.windows.end() && SameWindow(it->second, def)) continue;
      if (absl::Status s = PutWindow(def); !s.ok()) {
        result = s;
        return;
      }
    }
    // The first version judges all history; a later one from now on.
    MarkAll(state_.policies.size() == 1 ? 0 : absl::ToUnixSeconds(now));
    spdlog::info("policy {} loaded from {} under judgement {}: {} controls, {} windows",
                 policy.version, file, JudgementOf(judge), policy.controls.size(),
                 policy.windows.size());
  });
  return result;
}

}  // namespace attest::engine
