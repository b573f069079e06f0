// The engine's speed targets (issue "Control engine and audit windows"),
// each printed as key=value next to a baseline measured in the same run:
//
//  late_*     re-judging one host after a late 30-day backfill, against
//             judging one host's whole history at once (no incremental
//             engine) - both through the real import path, timed from
//             "durable" to "judged" (indexing included).
//  summary_*  the window summary of `--hosts` hosts x the built-in controls
//             x `--days` days, against the same seconds read from every
//             host's day records (no per-window aggregates). exact=1 when
//             both give identical seconds per control.
//  prom_*     with --prom-out: the timelines of a `--prom-hosts` subset
//             over the last `--prom-days` days as input for
//             bench/prometheus_compare.sh, with attest's time and answer
//             for the same window.
//
// `--templates` hosts are simulated (attestctl simulate's model), imported
// and judged for real; the fleet is then widened to `--hosts` by cloning
// their judged records (bench/engine_world.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/engine_world.h"
#include "bench/report_bench.h"
#include "bench/scrape_bench.h"
#include "common/flags.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/simulate.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/default_policy.h"
#include "daemon/engine/policy.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/interchange.h"
#include "daemon/store/rocksdb_store.h"
#include "daemon/windows/summary.h"

namespace attest::bench {
namespace {

using Records = google::protobuf::RepeatedPtrField<v1::ImportRecord>;
constexpr int64_t kDay = 86400;
constexpr size_t kChunk = 20000;  // records per import call

// The built-in controls: the example policy.

struct Options {
  std::string dir;
  int64_t hosts = 10000;
  int64_t templates = 20;
  int64_t days = 365;
  int64_t backfill_days = 30;
  int64_t samples = 5;  // hosts timed for each of late / whole
  int64_t runs = 7;
  int64_t prom_hosts = 500;
  int64_t prom_days = 90;
  std::string prom_out;
  bool measure_only = false;  // reuse --dir from an earlier run: summaries only
};

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double TimeMs(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return Ms(std::chrono::steady_clock::now() - t0);
}

int Fail(const std::string& what, const absl::Status& s) {
  fprintf(stderr, "attest-engine-bench: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 1;
}

v1::WindowDef Window(const std::string& id, int64_t start, int64_t end,
                     std::map<std::string, std::string> scope) {
  v1::WindowDef w;
  w.set_id(id);
  *w.mutable_start() = ToProto(absl::FromUnixSeconds(start));
  *w.mutable_end() = ToProto(absl::FromUnixSeconds(end));
  for (auto& [k, v] : scope) (*w.mutable_scope())[k] = v;
  w.mutable_thresholds()->set_effectiveness(0.99);
  w.mutable_thresholds()->set_coverage(0.95);
  w.mutable_thresholds()->set_max_deviation_seconds(72 * 3600);
  return w;
}

// Times the summary `runs` times (median) and returns the last one.
double TimeSummary(engine::Engine& engine, store::Store& store, absl::Time now,
                   const std::string& window, int runs, v1::WindowSummary* out,
                   absl::Status* status) {
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    engine.Read([&](const engine::EngineState& state) {
      v1::SummarizeRequest req;
      req.set_window(window);
      absl::StatusOr<v1::WindowSummary> s;
      ms.push_back(TimeMs([&] { s = windows::Summarize(state, store, now, req); }));
      if (s.ok()) {
        *out = std::move(*s);
      } else {
        *status = s.status();
      }
    });
  }
  return Median(ms);
}

absl::Status WriteProm(store::Store& store, engine::Engine& engine, const v1::WindowDef& w,
                       const v1::WindowSummary& summary, double attest_ms,
                       const std::string& path) {
  std::vector<std::string> hosts;
  engine.Read([&](const engine::EngineState& state) {
    for (const auto& [host, eh] : state.hosts) {
      if (engine::SelectorMatches(w.scope(), eh.labels())) hosts.push_back(host);
    }
  });
  std::ofstream out(path);
  out << "{\"start\":" << w.start().seconds() << ",\"end\":" << w.end().seconds()
      << ",\"step_seconds\":900,\"series\":[";
  bool first = true;
  for (const std::string& host : hosts) {
    for (const v1::ControlSummary& c : summary.controls()) {
      v1::TimelineRequest req;
      req.set_host(host);
      req.set_control(c.id());
      *req.mutable_from() = w.start();
      *req.mutable_to() = w.end();
      auto t = windows::Timeline(store, req);
      if (!t.ok()) return t.status();
      out << (first ? "" : ",") << "\n{\"host\":\"" << host << "\",\"control\":\"" << c.id()
          << "\",\"intervals\":[";
      first = false;
      for (int i = 0; i < t->intervals_size(); ++i) {
        const v1::Interval& iv = t->intervals(i);
        std::string state = v1::ControlState_Name(iv.state()).substr(strlen("CONTROL_STATE_"));
        out << (i ? "," : "") << "[" << iv.start() << "," << iv.end() << ",\"" << state << "\"]";
      }
      out << "]}";
    }
  }
  out << "],\n\"attest\":{\"seconds\":" << attest_ms / 1000 << ",\"effectiveness\":{";
  for (int i = 0; i < summary.controls_size(); ++i) {
    const v1::ControlSummary& c = summary.controls(i);
    char v[32];
    snprintf(v, sizeof v, "%.17g", c.has_effectiveness() ? c.effectiveness() : 0.0);
    out << (i ? "," : "") << "\"" << c.id() << "\":" << v;
  }
  out << "}}}\n";
  out.close();
  if (!out) return absl::InternalError(attest::StrCat("writing ", path, " failed"));
  printf("prom_hosts=%zu prom_series=%zu prom_days=%lld prom_out=%s\n", hosts.size(),
         hosts.size() * static_cast<size_t>(summary.controls_size()),
         static_cast<long long>((w.end().seconds() - w.start().seconds()) / kDay), path.c_str());
  return absl::OkStatus();
}

int Measure(const Options& o, store::Store& store, FakeClock& clock, int64_t start, int64_t end,
            bool reuse);

// Imports and judges the templates (timing the late backfills), then
// clones them into the fleet.
int Build(const Options& o, store::Store& store, FakeClock& clock, int64_t start, int64_t end) {
  const absl::Time now = clock.Now();
  // Nothing is judged until asked (Sync), so each judging can be timed.
  auto engine = std::make_unique<engine::Engine>(
      store, clock, engine::EngineOptions{.judge_delay = absl::Hours(24 * 365)});
  ingest::CommitterOptions copts;
  copts.on_durable = [&](const std::vector<std::string>& hosts) {
    for (const auto& h : hosts) engine->NotifyEvidence(h);
  };
  ingest::Committer committer(store, clock, copts);
  if (absl::Status s = engine->Start(); !s.ok()) return Fail("engine", s);
  if (absl::Status s = committer.Start(); !s.ok()) return Fail("committer", s);
  auto policy = engine::ParsePolicy(engine::kDefaultPolicy, engine::kDefaultPolicyName);
  if (!policy.ok()) return Fail("policy", policy.status());
  if (absl::Status s = engine->LoadPolicy(*policy, engine::kDefaultPolicyName); !s.ok())
    return Fail("policy", s);

  // Simulate and import. The first `samples` hosts keep back their last
  // backfill_days; the next `samples` keep back everything.
  std::map<std::string, int> host_index;
  std::map<std::string, Records> held;
  std::vector<std::string> templates;
  std::vector<std::string> approvals;
  Records chunk;
  absl::Status status;
  uint64_t line = 0, imported = 0;
  const int64_t backfill_from = end - o.backfill_days * kDay;
  auto t_import = std::chrono::steady_clock::now();
  ctl::Simulate(
      {.hosts = static_cast<int>(o.templates),
       .days = static_cast<int>(o.days),
       .seed = 7,
       .start = start},
      [&](const std::string& text) {
        if (!status.ok()) return;
        auto rec = evidence::ParseInterchangeLine(text);
        if (!rec.ok()) {
          status = rec.status();
          return;
        }
        rec->set_line(++line);
        auto [it, added] = host_index.emplace(rec->host(), static_cast<int>(host_index.size()));
        if (added) templates.push_back(rec->host());
        const int idx = it->second;
        const bool late = idx < o.samples && rec->has_signal() &&
                          rec->signal().observed_at().seconds() >= backfill_from;
        const bool whole = idx >= o.samples && idx < 2 * o.samples;
        if (late || whole) {
          *held[rec->host()].Add() = std::move(*rec);
          return;
        }
        *chunk.Add() = std::move(*rec);
        ++imported;
        if (chunk.size() >= static_cast<int>(kChunk))
          status = admin::CommitImport(committer, now, &chunk);
      },
      [&](const std::string& a) { approvals.push_back(a); });
  if (status.ok()) status = admin::CommitImport(committer, now, &chunk);
  if (!status.ok()) return Fail("import", status);
  const double import_ms = Ms(std::chrono::steady_clock::now() - t_import);
  const double judge_ms = TimeMs([&] { engine->Sync(); });
  printf("records=%llu import_ms=%.0f initial_judge_ms=%.0f\n",
         static_cast<unsigned long long>(line), import_ms, judge_ms);

  // Late evidence: each held-back part arrives, is made durable, then the
  // engine indexes and judges it.
  std::vector<double> late_ms, whole_ms;
  for (int i = 0; i < 2 * o.samples && i < static_cast<int>(templates.size()); ++i) {
    Records& r = held[templates[static_cast<size_t>(i)]];
    if (absl::Status s = admin::CommitImport(committer, now, &r); !s.ok())
      return Fail("backfill", s);
    (i < o.samples ? late_ms : whole_ms).push_back(TimeMs([&] { engine->Sync(); }));
  }
  printf("late_ms=%.2f late_max_ms=%.2f whole_ms=%.2f backfill_days=%ld history_days=%ld\n",
         Median(late_ms), *std::max_element(late_ms.begin(), late_ms.end()), Median(whole_ms),
         o.backfill_days, o.days);

  for (const std::string& text : approvals) {
    auto j = Json::Parse(text);
    if (!j.ok()) return Fail("approval", j.status());
    v1::Approval a;
    a.set_change_id(j->Find("change_id")->as_string());
    a.set_ticket(j->Find("ticket")->as_string());
    a.set_approver(j->Find("approver")->as_string());
    auto at = ParseRfc3339(j->Find("at")->as_string());
    if (!at.ok()) return Fail("approval", at.status());
    *a.mutable_approved_at() = ToProto(*at);
    if (auto s = engine->Approve(a); !s.ok()) return Fail("approve", s.status());
  }
  engine->Sync();
  committer.Stop();
  engine->Stop();

  // Widen the fleet and let a fresh engine load it.
  const int shards =
      static_cast<int>(std::max<int64_t>(1, o.hosts / std::max<int64_t>(1, o.prom_hosts)));
  const int clones = static_cast<int>(o.hosts) - static_cast<int>(templates.size());
  const double clone_ms =
      TimeMs([&] { status = CloneHosts(store, templates, std::max(0, clones), shards); });
  if (!status.ok()) return Fail("clone", status);
  printf("hosts=%ld clone_ms=%.0f\n", o.hosts, clone_ms);
  return 0;
}

int Measure(const Options& o, store::Store& store, FakeClock& clock, int64_t start, int64_t end,
            bool reuse) {
  const absl::Time now = clock.Now();
  absl::Status status;
  auto engine = std::make_unique<engine::Engine>(store, clock);
  if (absl::Status s = engine->Start(); !s.ok()) return Fail("engine restart", s);
  const v1::WindowDef year = Window("bench-year", start, end + kDay, {});
  const v1::WindowDef prom = Window("bench-prom", end - o.prom_days * kDay, end, {{"shard", "s0"}});
  double rebuild_ms = 0;
  for (const v1::WindowDef& w : {year, prom}) {
    if (reuse) break;
    absl::StatusOr<v1::WindowDef> created;
    rebuild_ms += TimeMs([&] { created = engine->CreateWindow(w); });
    if (!created.ok()) return Fail("window", created.status());
  }
  if (!reuse) printf("window_rebuild_ms=%.0f\n", rebuild_ms);

  v1::WindowSummary summary;
  const double summary_ms = TimeSummary(*engine, store, now, year.id(), o.runs, &summary, &status);
  if (!status.ok()) return Fail("summary", status);
  NaiveFigures naive;
  std::vector<double> naive_ms;
  for (int64_t r = 0; r < std::max<int64_t>(1, o.runs / 3); ++r) {
    engine->Read([&](const engine::EngineState& state) {
      naive_ms.push_back(TimeMs([&] {
        auto n = NaiveSummary(store, state, year, absl::ToUnixSeconds(now));
        if (n.ok()) {
          naive = std::move(*n);
        } else {
          status = n.status();
        }
      }));
    });
  }
  if (!status.ok()) return Fail("naive summary", status);
  bool exact = true;
  size_t deviations = 0, in_scope = 0;
  for (const v1::ControlSummary& c : summary.controls()) {
    exact = exact && c.seconds().SerializeAsString() == naive.seconds[c.id()].SerializeAsString();
    deviations += static_cast<size_t>(c.deviations_size());
    in_scope = std::max<size_t>(in_scope, c.hosts());
  }
  printf(
      "summary_ms=%.2f naive_ms=%.2f exact=%d controls=%d days=%ld summary_hosts=%zu "
      "deviations=%zu naive_deviations=%zu\n",
      summary_ms, Median(naive_ms), exact ? 1 : 0, summary.controls_size(), o.days + 1, in_scope,
      deviations, naive.deviations);

  if (!o.prom_out.empty()) {
    v1::WindowSummary ps;
    const double prom_ms = TimeSummary(*engine, store, now, prom.id(), o.runs, &ps, &status);
    if (!status.ok()) return Fail("prom summary", status);
    printf("prom_summary_ms=%.3f\n", prom_ms);
    if (absl::Status s = WriteProm(store, *engine, prom, ps, prom_ms, o.prom_out); !s.ok()) {
      return Fail("prom input", s);
    }
  }
  if (!MeasureScrape(*engine, store, clock, static_cast<int>(o.runs))) return 1;
  if (!MeasureReport(*engine, store, clock, year.id(), std::filesystem::temp_directory_path(),
                     static_cast<int>(std::max<int64_t>(3, o.runs / 3)))) {
    return 1;
  }
  engine->Stop();
  return exact ? 0 : 1;
}

int Run(const Options& o) {
  // The history ends at a UTC midnight; "now" is an hour into the next day,
  // so the year window has a day in progress (read per host).
  const int64_t end = (absl::ToUnixSeconds(absl::Now()) / kDay - 2) * kDay;
  const int64_t start = end - o.days * kDay;
  FakeClock clock(absl::FromUnixSeconds(end + 3600));
  auto store = store::OpenRocksDbStore(o.dir);
  if (!store.ok()) return Fail("store", store.status());
  if (!o.measure_only) {
    if (int rc = Build(o, **store, clock, start, end); rc != 0) return rc;
  }
  return Measure(o, **store, clock, start, end, o.measure_only);
}

}  // namespace
}  // namespace attest::bench

int main(int argc, char** argv) {
  attest::bench::Options o;
  attest::FlagSet flags("attest-engine-bench", "[flags]\n\nThe control engine's speed targets.");
  flags.String("dir", &o.dir, "store directory (created; must not hold another store)");
  flags.Int("hosts", &o.hosts, "fleet size for the window summary");
  flags.Int("templates", &o.templates, "hosts simulated, imported and judged for real");
  flags.Int("days", &o.days, "days of history");
  flags.Int("backfill-days", &o.backfill_days, "days of late evidence per late host");
  flags.Int("samples", &o.samples, "hosts timed for late backfill, and for whole history");
  flags.Int("runs", &o.runs, "summary timings (median)");
  flags.Int("prom-hosts", &o.prom_hosts, "hosts in the Prometheus comparison window");
  flags.Int("prom-days", &o.prom_days, "days in the Prometheus comparison window");
  flags.String("prom-out", &o.prom_out, "write bench/prometheus_compare.sh input here");
  flags.Bool("measure-only", &o.measure_only, "reuse --dir from an earlier run (same day)");
  if (absl::Status s = flags.Parse(argc, argv); !s.ok()) {
    fprintf(stderr, "attest-engine-bench: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (o.dir.empty() || o.templates < 2 * o.samples || o.days <= o.backfill_days ||
      o.days < o.prom_days || o.hosts < o.templates) {
    fprintf(stderr,
            "attest-engine-bench: need --dir, templates >= 2 x samples, days > backfill-days, "
            "days >= prom-days, hosts >= templates\n");
    return 2;
  }
  return attest::bench::Run(o);
}
