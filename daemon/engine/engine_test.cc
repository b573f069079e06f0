// The engine as a whole, in-process on the in-memory store: evidence goes
// through the real import path and committer, and the figures it keeps
// incrementally (day records, deviations, window aggregates, in-memory
// views) must equal what a from-scratch judgement of the same evidence
// gives, whatever order the evidence arrived in and however the engine was
// stopped in between.
#include "daemon/engine/engine.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/simulate.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/interchange.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/store/memory_store.h"
#include "daemon/windows/summary.h"

namespace attest::engine {
namespace {

using Records = google::protobuf::RepeatedPtrField<v1::ImportRecord>;

constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int kDays = 12;
constexpr int64_t kEnd = kStart + kDays * kDay;

std::string T(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

std::string PolicyText() {
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
Records History() {
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

int64_t TimeOf(const v1::ImportRecord& r) {
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
  explicit World(std::string policy = PolicyText())
      : clock_(absl::FromUnixSeconds(kEnd + 3600)), policy_(std::move(policy)) {
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
      ASSERT_TRUE(engine_->LoadPolicy(*policy, "test.yaml").ok());
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
  Engine& engine() { return *engine_; }

 private:
  FailingStore store_;
  FakeClock clock_;
  const std::string policy_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ingest::Committer> committer_;
  bool loaded_ = false;
};

void ExpectSame(const v1::WindowSummary& a, const v1::WindowSummary& b) {
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(a, b)) << report;
}

void ExpectMatchesDayRecords(World& w, const std::string& window) {
  auto expected = w.FromDayRecords(window);
  const v1::WindowSummary summary = w.Summary(window);
  for (const v1::ControlSummary& c : summary.controls()) {
    EXPECT_EQ(c.seconds().SerializeAsString(), expected[c.id()].SerializeAsString())
        << window << " " << c.id() << ": " << c.seconds().ShortDebugString() << " vs "
        << expected[c.id()].ShortDebugString();
  }
}

// Under steady ingest a host gets new evidence while the engine judges it.
// A read must judge what was pending when it came and return; it once
// chased every new notification, so under steady ingest every report,
// status and export hung. The store here notifies the host again each time
// the engine reads its state: the race, made certain.
TEST(EngineTest, AReadReturnsWhileItsHostsGetNewEvidence) {
  World w;
  w.Import(History());
  std::atomic<bool> renotify{true};
  w.store().on_host_read = [&](std::string_view host) {
    if (renotify) w.engine().NotifyEvidence(std::string(host));
  };
  w.engine().Read([&](const EngineState& state) {
    for (const auto& entry : state.hosts) w.engine().NotifyEvidence(entry.first);
  });
  auto read = std::async(std::launch::async, [&] { return w.Summary("all"); });
  // A bound, not a wait for time to pass: the read returns at once when
  // correct, and never when not.
  const bool returned = read.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  renotify = false;
  EXPECT_TRUE(returned) << "a read never returned while its hosts kept getting evidence";
  EXPECT_GT(read.get().controls_size(), 0);
  w.store().on_host_read = nullptr;
}

TEST(EngineTest, LateBackfillGivesWhatInOrderEvidenceGives) {
  const Records history = History();
  World in_order;
  in_order.Import(history);

  // h0002's last 5 days arrive late, after everything else was judged.
  World late;
  Records first, backfill;
  for (const v1::ImportRecord& r : history) {
    *(r.host() == "h0002" && TimeOf(r) >= kEnd - 5 * kDay ? backfill : first).Add() = r;
  }
  ASSERT_GT(backfill.size(), 1000);
  late.Import(first);
  const v1::WindowSummary before = late.Summary("all");
  late.Import(backfill);

  ExpectSame(late.Summary("all"), in_order.Summary("all"));
  ExpectSame(late.Summary("all", "env"), in_order.Summary("all", "env"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(late.Dump(f), in_order.Dump(f)) << store::FamilyName(f);
  }
  // The backfill changed the figures (the test would catch a no-op).
  EXPECT_NE(before.controls(1).seconds().SerializeAsString(),
            late.Summary("all").controls(1).seconds().SerializeAsString());
  ExpectMatchesDayRecords(late, "all");
}

// The judge looks ahead: a shipper's next observation says whether it
// delivered since the one before. Evidence that arrives a day at a time
// must give what it gives all at once when that next observation is in a
// later day's evidence: an outage that turns to FAIL minutes before
// midnight, found only from the first state after it; a shipper silent for
// two days whose next state says it delivered nothing since.
TEST(EngineTest, EvidenceADayAtATimeGivesWhatItGivesAllAtOnce) {
  Records history = History();
  auto log_times = [&](const std::string& host) {
    std::vector<int64_t> out;
    for (const v1::ImportRecord& r : history) {
      if (r.host() == host && r.has_signal() && r.signal().has_log_shipping()) {
        out.push_back(TimeOf(r));
      }
    }
    return out;
  };
  auto set_last_delivery = [&](const std::string& host, int64_t from, int64_t to, int64_t at) {
    for (v1::ImportRecord& r : history) {
      if (r.host() != host || !r.has_signal() || !r.signal().has_log_shipping()) continue;
      if (TimeOf(r) < from || TimeOf(r) >= to) continue;
      r.mutable_signal()->mutable_log_shipping()->mutable_last_delivery()->set_seconds(at);
    }
  };
  // h0002 delivers last 14 minutes before its last state of day 4: that
  // state still passes (max gap 15m), and the FAIL begins a minute later.
  const int64_t midnight = kStart + 5 * kDay;
  const std::vector<int64_t> h2 = log_times("h0002");
  const int64_t before = *std::prev(std::lower_bound(h2.begin(), h2.end(), midnight));
  ASSERT_LT(before + 60, midnight);
  const int64_t delivered = before - 14 * 60;
  set_last_delivery("h0002", delivered, midnight + 3 * 3600, delivered);
  // h0003's shipper is renamed for two days (silent as itself), and then
  // says it delivered nothing since a minute before its last state.
  const int64_t silent = kStart + 7 * kDay;
  const std::vector<int64_t> h3 = log_times("h0003");
  const int64_t last_heard = *std::prev(std::lower_bound(h3.begin(), h3.end(), silent));
  for (v1::ImportRecord& r : history) {
    if (r.host() == "h0003" && r.has_signal() && r.signal().has_log_shipping() &&
        TimeOf(r) >= silent && TimeOf(r) < silent + 2 * kDay) {
      r.mutable_signal()->mutable_log_shipping()->set_shipper("renamed");
    }
  }
  set_last_delivery("h0003", silent + 2 * kDay, silent + 2 * kDay + 3600, last_heard - 60);
  World at_once;
  at_once.Import(history);
  std::map<int64_t, Records> by_day;
  for (const v1::ImportRecord& r : history) *by_day[TimeOf(r) / kDay].Add() = r;
  World daily;
  for (auto& [day, records] : by_day) {
    daily.Import(records);
    daily.Views();  // judged before the next day arrives
  }

  // The outage's FAIL begins before midnight, and the silent shipper's
  // within its last state's freshness (the cases bite).
  auto begins = [&](const std::string& host, v1::ControlState state, int64_t t) {
    bool found = false;
    for (const auto& [k, v] : at_once.Dump(store::Family::kTimeline, keys::Str(host))) {
      v1::HostDay d;
      EXPECT_TRUE(d.ParseFromString(v));
      for (const v1::Interval& iv : d.intervals()) {
        found |= d.control() == "log-shipping" && iv.state() == state && iv.start() == t;
      }
    }
    return found;
  };
  EXPECT_TRUE(begins("h0002", v1::CONTROL_STATE_FAIL, delivered + 15 * 60));
  EXPECT_TRUE(begins("h0003", v1::CONTROL_STATE_FAIL, last_heard - 60 + 15 * 60));
  ExpectSame(daily.Summary("all"), at_once.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(daily.Dump(f), at_once.Dump(f)) << store::FamilyName(f);
  }
  EXPECT_EQ(daily.Views(), at_once.Views());
}

// The same for a backup: a success taken ten minutes before midnight,
// which only a state after midnight reports, ends the FAIL at the success.
TEST(EngineTest, ABackupSuccessReportedAfterMidnightEndsTheFailBeforeIt) {
  const std::string policy =
      "controls:\n"
      "  - {id: backup, tsc: [A1.2], rule: host.backup_fresh, params: {max_age: 3h},\n"
      "     freshness: 1h}\n"
      "windows:\n"
      "  - {id: all, start: " +
      T(kStart) + ", end: " + T(kEnd) + "}\n";
  const int64_t midnight = kStart + kDay;
  const std::vector<int64_t> taken = {midnight - 5 * 3600, midnight - 600, midnight + 3 * 3600};
  Records records;
  uint64_t seq = 0;
  for (int64_t t = midnight - 6 * 3600; t < midnight + 4 * 3600; t += 1200) {
    v1::ImportRecord* r = records.Add();
    r->set_host("b1");
    r->set_line(++seq);
    v1::Signal& s = *r->mutable_signal();
    s.set_seq(seq);
    *s.mutable_observed_at() = ToProto(absl::FromUnixSeconds(t));
    v1::BackupState* b = s.mutable_backup();
    b->set_name("nightly");
    b->set_probe(v1::BACKUP_PROBE_MARKER_FILE);
    for (int64_t x : taken) {
      if (x <= t - 1200) b->mutable_last_success()->set_seconds(x);  // seen 20 min after
    }
  }
  World at_once(policy);
  at_once.Import(records);
  World daily(policy);
  std::map<int64_t, Records> by_day;
  for (const v1::ImportRecord& r : records) *by_day[TimeOf(r) / kDay].Add() = r;
  for (auto& [day, part] : by_day) {
    daily.Import(part);
    daily.Views();
  }
  bool passes_from_success = false;
  for (const auto& [k, v] : at_once.Dump(store::Family::kTimeline, keys::Str("b1"))) {
    v1::HostDay d;
    ASSERT_TRUE(d.ParseFromString(v));
    for (const v1::Interval& iv : d.intervals()) {
      passes_from_success |= iv.state() == v1::CONTROL_STATE_PASS && iv.start() == midnight - 600;
    }
  }
  EXPECT_TRUE(passes_from_success);
  ExpectSame(daily.Summary("all"), at_once.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(daily.Dump(f), at_once.Dump(f)) << store::FamilyName(f);
  }
}

TEST(EngineTest, RestartLoadsWhatItKeptIncrementally) {
  World w;
  Records history = History();
  Records first, rest;
  for (const v1::ImportRecord& r : history) *(TimeOf(r) < kEnd - 4 * kDay ? first : rest).Add() = r;
  w.Import(first);
  w.Import(rest);
  const v1::WindowSummary all = w.Summary("all");
  const v1::WindowSummary grouped = w.Summary("all", "team");
  int deviations = 0;
  for (const auto& c : all.controls()) deviations += c.deviations_size();
  ASSERT_GT(deviations, 0);
  const auto views = w.Views();
  bool pending = false;
  w.engine().Read([&](const EngineState& state) {
    for (const auto& [host, view] : state.views) pending |= view.patch.first_seen_size() > 0;
  });
  EXPECT_TRUE(pending) << "the history should leave security updates pending";

  w.Stop();
  w.Start();
  EXPECT_EQ(w.Views(), views);
  ExpectSame(w.Summary("all"), all);
  ExpectSame(w.Summary("all", "team"), grouped);
}

TEST(EngineTest, AnInterruptedRejudgeIsFinishedAtTheNextStart) {
  const Records history = History();
  World reference;
  reference.Import(history);

  World w;
  Records first, late;
  for (const v1::ImportRecord& r : history) {
    *(r.host() == "h0003" && TimeOf(r) >= kEnd - 3 * kDay ? late : first).Add() = r;
  }
  w.Import(first);
  // The late evidence is indexed, but the rejudge's batch never lands.
  w.store().fail_timeline = true;
  w.Import(late);
  EXPECT_NE(w.Dump(store::Family::kTimeline), reference.Dump(store::Family::kTimeline));
  w.Stop();
  w.store().fail_timeline = false;
  w.Start();
  w.engine().Sync();
  ExpectSame(w.Summary("all"), reference.Summary("all"));
  for (auto f : {store::Family::kTimeline, store::Family::kDeviations, store::Family::kRollup}) {
    EXPECT_EQ(w.Dump(f), reference.Dump(f)) << store::FamilyName(f);
  }
}

TEST(EngineTest, ALabelChangeMovesTheHostBetweenWindows) {
  World w;
  Records history = History();
  w.Import(history);
  std::string env;
  w.engine().Read([&](const EngineState& s) { env = s.hosts.at("h0001").labels().at("env"); });
  const std::string other = env == "prod" ? "staging" : "prod";
  const uint32_t before_env = w.Summary(env).controls(0).hosts();
  const uint32_t before_other = w.Summary(other).controls(0).hosts();

  // The agent restarts with the other label.
  Records hello;
  v1::ImportRecord* r = hello.Add();
  r->set_line(1);
  r->set_host("h0001");
  r->mutable_hello()->set_agent_version("1.0.0");
  (*r->mutable_hello()->mutable_labels())["env"] = other;
  w.Import(hello);

  EXPECT_EQ(w.Summary(env).controls(0).hosts(), before_env - 1);
  EXPECT_EQ(w.Summary(other).controls(0).hosts(), before_other + 1);
  for (const std::string window : {"all", "prod", "staging"}) ExpectMatchesDayRecords(w, window);
}

// Change ids name one host's change: a host that reports an id another
// host reported first must not take that change's approvals.
TEST(EngineTest, AnAccessChangeIdAnotherHostReportedFirstStaysWithThatHost) {
  World w;
  auto change = [](const std::string& host) {
    Records records;
    v1::ImportRecord* r = records.Add();
    r->set_host(host);
    r->set_line(1);
    *r->mutable_signal() =
        testing_signals::AccessChange(1, absl::FromUnixSeconds(kEnd), "chg-shared");
    return records;
  };
  w.Import(change("victim"));
  w.Import(change("thief"));
  auto owner = w.store().Get(store::Family::kApprovals, keys::ChangeHost("chg-shared"));
  ASSERT_TRUE(owner.ok()) << owner.status();
  EXPECT_EQ(*owner, "victim");
}

// A store in which an older attestd indexed an observation dated next
// month (an unbounded hello.sent_at): at start the engine takes it out of
// judging, counts it, and judges the host again without it.
TEST(EngineTest, AnIndexedObservationFromTheFutureIsQuarantinedAtStart) {
  World w;
  Records records;
  for (int i = 1; i <= 3; ++i) {
    v1::ImportRecord* r = records.Add();
    r->set_host("h1");
    r->set_line(i);
    *r->mutable_signal() = testing_signals::Heartbeat(i, absl::FromUnixSeconds(kEnd - 3600 * i));
  }
  w.Import(records);
  const std::string views_before = w.Views()["h1"];
  w.Stop();
  const int64_t future = kEnd + 30 * kDay;
  v1::Observation bad;
  bad.set_index(2);  // the record of heartbeat 1, received at the world's clock
  bad.set_t(future);
  bad.set_any(true);
  store::WriteBatch batch;
  batch.Put(store::Family::kObservations, keys::Observation("h1", future, 2),
            bad.SerializeAsString());
  v1::Observation year1 = bad;
  year1.set_t(-62135596800);
  batch.Put(store::Family::kObservations, keys::Observation("h1", year1.t(), 3),
            year1.SerializeAsString());
  ASSERT_TRUE(w.store().Write(batch, {}).ok());
  w.Start();
  w.engine().Sync();
  EXPECT_FALSE(
      w.store().Get(store::Family::kObservations, keys::Observation("h1", future, 2)).ok());
  auto eh = w.store().Get(store::Family::kEngineHosts, "h1");
  ASSERT_TRUE(eh.ok());
  v1::EngineHost host;
  ASSERT_TRUE(host.ParseFromString(*eh));
  EXPECT_EQ(host.quarantined(), 2u);
  EXPECT_EQ(host.enrolled(), kEnd - 3 * 3600);
  // Judged as if the bad observations had never been indexed.
  EXPECT_EQ(w.Views()["h1"], views_before);
  // And nothing happens to it at the next start.
  w.Stop();
  w.Start();
  w.engine().Sync();
  ASSERT_TRUE(host.ParseFromString(*w.store().Get(store::Family::kEngineHosts, "h1")));
  EXPECT_EQ(host.quarantined(), 2u);
}

// A host that backdates one large patch state to 2000 makes the engine
// judge ~9,800 days. The judge facts (the pending list included) are kept
// only for days where they changed, so that costs one copy, not one per day:
// a 20,000-package list stored daily was ~40 GB in one write batch.
TEST(EngineTest, ABackdatedObservationCostsFactsPerDayWithEvidenceNotPerDayOfTheSpan) {
  World w;
  Records records;
  v1::ImportRecord* patch = records.Add();
  patch->set_host("h1");
  patch->set_line(1);
  *patch->mutable_signal() = testing_signals::Patch(1, absl::FromUnixSeconds(946771200));
  for (int i = 0; i < 2000; ++i) {
    auto* u = patch->mutable_signal()->mutable_patch()->add_pending();
    u->set_package(StrCat("pkg-", i));
    u->set_candidate_version("2");
    u->set_security(true);
  }
  v1::ImportRecord* beat = records.Add();
  beat->set_host("h1");
  beat->set_line(2);
  *beat->mutable_signal() = testing_signals::Heartbeat(2, absl::FromUnixSeconds(kEnd));
  w.Import(records);
  const auto views = w.Views();  // judges everything
  ASSERT_EQ(views.count("h1"), 1u);
  const auto facts = w.Dump(store::Family::kFacts, keys::Str("h1"));
  EXPECT_LE(facts.size(), 2u);  // the day after the patch, the day after the heartbeat
  EXPECT_GE(w.Dump(store::Family::kTimeline, keys::Str("h1")).size(), 9000u);  // judged, all of it
}

}  // namespace
}  // namespace attest::engine
