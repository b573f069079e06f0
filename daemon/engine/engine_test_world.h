// The engine as a whole, in-process on the in-memory store (World):
// evidence goes through the real import path and committer, and the figures
// it keeps incrementally (day records, deviations, window aggregates,
// in-memory views) can be compared with what a from-scratch judgement of
// the same evidence gives. Shared by the engine's tests.
#ifndef ATTEST_DAEMON_ENGINE_ENGINE_TEST_WORLD_H_
#define ATTEST_DAEMON_ENGINE_ENGINE_TEST_WORLD_H_

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/simulate.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/interchange.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/store/memory_store.h"
#include "daemon/windows/summary.h"

namespace attest::engine::testing_world {

using Records = google::protobuf::RepeatedPtrField<v1::ImportRecord>;

inline constexpr int64_t kDay = 86400;
inline constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
inline constexpr int kDays = 12;
inline constexpr int64_t kEnd = kStart + kDays * kDay;

inline std::string T(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

inline std::string PolicyText() {
  return "controls:\n"
         "  - {id: patch-sla, tsc: [CC7.1], rule: patch.security_sla,\n"
         "     params: {security_max_age: 2d, reboot_grace: 1d}, freshness: 2h}\n"
         "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
         "     params: {max_gap: 15m}, freshness: 30m}\n"
         "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
         "     params: {approval_window: 24h}}\n"
         "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n"
         "windows:\n"
         "  - {id: all, start: " +
         T(kStart + 6 * 3600) + ", end: " + T(kEnd + kDay) +
         "}\n"
         "  - {id: prod, start: " +
         T(kStart) + ", end: " + T(kEnd + kDay) +
         ", scope: {env: prod}}\n"
         "  - {id: staging, start: " +
         T(kStart) + ", end: " + T(kEnd + kDay) + ", scope: {env: staging}}\n";
}

// The simulated history of 4 hosts, as import records.
inline Records History() {
  Records out;
  uint64_t line = 0;
  ctl::Simulate(
      {.hosts = 4, .days = kDays, .seed = 11, .start = kStart},
      [&](const std::string& text) {
        auto rec = evidence::ParseInterchangeLine(text);
        ASSERT_TRUE(rec.ok()) << rec.status();
        rec->set_line(++line);
        *out.Add() = std::move(*rec);
      },
      [](const std::string&) {});
  return out;
}

inline int64_t TimeOf(const v1::ImportRecord& r) {
  return r.has_signal() ? r.signal().observed_at().seconds() : 0;
}

// Fails every write whose batch touches the day records while armed: a
// crash between indexing new evidence and rejudging it. Can also report
// each read of a host's state.
class FailingStore : public store::MemoryStore {
 public:
  absl::Status Write(const store::WriteBatch& batch, store::WriteOptions options) override {
    for (const auto& op : batch.ops()) {
      if (fail_timeline && op.family == store::Family::kTimeline) {
        return absl::UnavailableError("injected write failure");
      }
    }
    return MemoryStore::Write(batch, options);
  }
  // A batch given up fails the same way (MemoryStore would take it past
  // the check above).
  absl::Status Write(store::WriteBatch&& batch, store::WriteOptions options) override {
    return Write(static_cast<const store::WriteBatch&>(batch), options);
  }
  absl::StatusOr<std::string> Get(store::Family f, std::string_view key) override {
    if (f == store::Family::kHosts && on_host_read) on_host_read(key);
    return MemoryStore::Get(f, key);
  }
  bool fail_timeline = false;
  // Called on each read of a host's state (the engine reads it per rejudge).
  std::function<void(std::string_view host)> on_host_read;
};

class World {
 public:
  // `judge`: the judgement the policy is loaded under (kFirstJudgement: as
  // a store from before judgements were numbered has it), at `now`.
  explicit World(std::string policy = PolicyText(), uint32_t judge = kJudgement,
                 absl::Time now = absl::FromUnixSeconds(kEnd + 3600))
      : clock_(now), policy_(std::move(policy)), judge_(judge) {
    Start();
  }
  ~World() { Stop(); }

  void Start() {
    engine_ =
        std::make_unique<Engine>(store_, clock_, EngineOptions{.judge_delay = absl::Hours(1)});
    ingest::CommitterOptions options;
    options.on_durable = [this](const std::vector<std::string>& hosts) {
      for (const auto& h : hosts) engine_->NotifyEvidence(h);
    };
    committer_ = std::make_unique<ingest::Committer>(store_, clock_, options);
    ASSERT_TRUE(engine_->Start().ok());
    ASSERT_TRUE(committer_->Start().ok());
    if (!loaded_) {
      auto policy = ParsePolicy(policy_, "test.yaml");
      ASSERT_TRUE(policy.ok()) << policy.status();
      ASSERT_TRUE(engine_->LoadPolicy(*policy, "test.yaml", judge_).ok());
      loaded_ = true;
    }
  }
  void Stop() {
    if (committer_) committer_->Stop();
    if (engine_) engine_->Stop();
    committer_.reset();
    engine_.reset();
  }
  void Import(Records records) {
    const absl::Status imported = admin::CommitImport(*committer_, clock_.Now(), &records);
    ASSERT_TRUE(imported.ok()) << imported;
    engine_->Sync();
  }

  v1::WindowSummary Summary(const std::string& window, const std::string& group_by = "") {
    v1::WindowSummary out;
    engine_->Read([&](const EngineState& state) {
      v1::SummarizeRequest req;
      req.set_window(window);
      req.set_group_by(group_by);
      auto s = windows::Summarize(state, store_, clock_.Now(), req);
      EXPECT_TRUE(s.ok()) << s.status();
      if (s.ok()) out = std::move(*s);
    });
    out.clear_computed_at();
    return out;
  }

  // Every key and value of a family for one host's prefix.
  std::map<std::string, std::string> Dump(store::Family f, const std::string& prefix = "") {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(store::ScanPrefix(store_, f, prefix, [&](std::string_view k, std::string_view v) {
                  out.emplace(k, v);
                  return true;
                }).ok());
    return out;
  }

  // The window's seconds per control recomputed from every in-scope host's
  // day records (current labels decide the scope).
  std::map<std::string, v1::StateSeconds> FromDayRecords(const std::string& window) {
    std::map<std::string, v1::StateSeconds> out;
    engine_->Read([&](const EngineState& state) {
      const v1::WindowDef& w = state.windows.at(window);
      const int64_t to = std::min(w.end().seconds(), absl::ToUnixSeconds(clock_.Now()));
      for (const auto& [host, eh] : state.hosts) {
        if (!SelectorMatches(w.scope(), eh.labels())) continue;
        for (const auto& [k, v] : Dump(store::Family::kTimeline, keys::Str(host))) {
          v1::HostDay d;
          ASSERT_TRUE(d.ParseFromString(v));
          AddSeconds(&out[d.control()], Clip(d, w.start().seconds(), to));
        }
      }
    });
    return out;
  }

  // The engine's per-host views, serialized for comparison.
  std::map<std::string, std::string> Views() {
    std::map<std::string, std::string> out;
    engine_->Read([&](const EngineState& state) {
      for (const auto& [host, view] : state.views) {
        std::string& s = out[host];
        // Map fields serialize in no fixed order: sort them.
        const std::map<std::string, int64_t> pending(view.patch.first_seen().begin(),
                                                     view.patch.first_seen().end());
        s = attest::StrCat(view.day, "\n", view.patch.t(), " ", view.patch.reboot_since());
        for (const auto& [pkg, t] : pending) attest::StrAppend(&s, " ", pkg, "@", t);
        for (const v1::HostDay& d : view.day_records) s += "\n" + d.ShortDebugString();
        for (const auto& [control, runs] : view.deviations) {
          for (const DeviationRun& r : runs) {
            attest::StrAppend(&s, "\n", control, ":", r.start, "-", r.end, ":", r.cause);
          }
        }
      }
    });
    return out;
  }

  FailingStore& store() { return store_; }
  FakeClock& clock() { return clock_; }
  Engine& engine() { return *engine_; }

 private:
  FailingStore store_;
  FakeClock clock_;
  const std::string policy_;
  const uint32_t judge_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ingest::Committer> committer_;
  bool loaded_ = false;
};

inline void ExpectSame(const v1::WindowSummary& a, const v1::WindowSummary& b) {
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(a, b)) << report;
}

inline void ExpectMatchesDayRecords(World& w, const std::string& window) {
  auto expected = w.FromDayRecords(window);
  const v1::WindowSummary summary = w.Summary(window);
  for (const v1::ControlSummary& c : summary.controls()) {
    EXPECT_EQ(c.seconds().SerializeAsString(), expected[c.id()].SerializeAsString())
        << window << " " << c.id() << ": " << c.seconds().ShortDebugString() << " vs "
        << expected[c.id()].ShortDebugString();
  }
}

}  // namespace attest::engine::testing_world

#endif  // ATTEST_DAEMON_ENGINE_ENGINE_TEST_WORLD_H_
