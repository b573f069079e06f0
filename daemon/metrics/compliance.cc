#include "daemon/metrics/compliance.h"

#include <map>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/records.h"
#include "daemon/windows/summary.h"
#include "spdlog/spdlog.h"

namespace attest::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type = MetricType::Gauge) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void Add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

std::string_view StateLabel(v1::ControlState s) {
  switch (s) {
    case v1::CONTROL_STATE_PASS:
      return "pass";
    case v1::CONTROL_STATE_FAIL:
      return "fail";
    case v1::CONTROL_STATE_EXCEPTED:
      return "excepted";
    default:
      return "no_evidence";
  }
}

// The state of `control` at `now` from the host's view (no record covering
// now: no evidence).
v1::ControlState StateNow(const engine::HostView* view, const std::string& control, int64_t now) {
  if (view == nullptr) return v1::CONTROL_STATE_NO_EVIDENCE;
  for (const v1::HostDay& d : view->day_records) {
    if (d.control() != control) continue;
    for (const v1::Interval& iv : d.intervals()) {
      if (iv.start() <= now && now < iv.end()) return iv.state();
    }
  }
  return v1::CONTROL_STATE_NO_EVIDENCE;
}

}  // namespace

ComplianceCollector::ComplianceCollector(engine::Engine& engine, store::Store& store,
                                         const Clock& clock, std::string version)
    : engine_(engine), store_(store), clock_(clock), version_(std::move(version)) {}

void ComplianceCollector::Refresh() {
  const absl::Time now = clock_.Now();
  const int64_t now_s = absl::ToUnixSeconds(now);
  std::vector<MetricFamily> out;

  MetricFamily fleet = Family("attest_fleet_hosts",
                              "In-service hosts by reporting status: reporting (evidence observed "
                              "in the last 15 minutes), stale (older), never_seen (no evidence).");
  MetricFamily info =
      Family("attest_control_info", "1 per control of the current policy, with its title and TSC.");
  MetricFamily state_now =
      Family("attest_control_hosts", "In-service hosts per control by their state now.");
  MetricFamily eff = Family("attest_window_effectiveness",
                            "PASS / (PASS + FAIL) over the window so far, per control.");
  MetricFamily cov = Family("attest_window_coverage",
                            "(PASS + FAIL + EXCEPTED) / in-scope time over the window so far.");
  MetricFamily devs = Family("attest_window_deviations",
                             "Deviations (FAIL runs beyond the control's grace) in the window.");
  MetricFamily secs = Family("attest_window_state_seconds",
                             "In-scope host-seconds in each state over the window so far.");
  MetricFamily left_s =
      Family("attest_window_remaining_seconds", "Time until the window ends (0 once it has).");
  MetricFamily threshold =
      Family("attest_window_threshold", "The window's thresholds: effectiveness and coverage.");
  engine_.Read([&](const engine::EngineState& state) {
    std::map<std::string, double> fleet_count{{"reporting", 0}, {"stale", 0}, {"never_seen", 0}};
    for (const auto& [host, eh] : state.hosts) {
      if (eh.decommissioned() > 0 && eh.decommissioned() <= now_s) continue;
      if (eh.enrolled() == 0) {
        ++fleet_count["never_seen"];
      } else if (now_s - eh.last_record_t() > absl::ToInt64Seconds(kStaleAfter)) {
        ++fleet_count["stale"];
      } else {
        ++fleet_count["reporting"];
      }
    }
    for (const auto& [status, n] : fleet_count) Add(fleet, {{"status", status}}, n);
    const engine::Policy* policy = state.current_policy();
    if (policy == nullptr) return;
    for (const engine::Control& c : policy->controls) {
      std::string tsc;
      for (const std::string& t : c.tsc) tsc += (tsc.empty() ? "" : ",") + t;
      Add(info, {{"control", c.id}, {"title", c.title}, {"tsc", tsc}}, 1);
      std::map<std::string_view, double> counts{
          {"pass", 0}, {"fail", 0}, {"no_evidence", 0}, {"excepted", 0}};
      for (const auto& [host, eh] : state.hosts) {
        if (eh.enrolled() == 0 || eh.enrolled() > now_s) continue;
        if (eh.decommissioned() > 0 && eh.decommissioned() <= now_s) continue;
        auto view = state.views.find(host);
        ++counts[StateLabel(
            StateNow(view == state.views.end() ? nullptr : &view->second, c.id, now_s))];
      }
      for (const auto& [st, n] : counts) {
        Add(state_now, {{"control", c.id}, {"state", std::string(st)}}, n);
      }
    }
    for (const auto& [id, w] : state.windows) {
      v1::SummarizeRequest req;
      req.set_window(id);
      auto summary = windows::Summarize(state, store_, now, req);
      if (!summary.ok()) {
        spdlog::warn("metrics: window {}: {}", id, summary.status().ToString());
        continue;
      }
      Add(left_s, {{"window", id}},
          std::max<double>(0, static_cast<double>(w.end().seconds() - now_s)));
      Add(threshold, {{"window", id}, {"threshold", "effectiveness"}},
          w.thresholds().effectiveness());
      Add(threshold, {{"window", id}, {"threshold", "coverage"}}, w.thresholds().coverage());
      for (const v1::ControlSummary& cs : summary->controls()) {
        std::vector<ClientMetric::Label> labels = {{"window", id}, {"control", cs.id()}};
        if (cs.has_effectiveness()) Add(eff, labels, cs.effectiveness());
        Add(cov, labels, cs.coverage());
        Add(devs, labels, cs.deviations_size());
        const v1::StateSeconds& ss = cs.seconds();
        for (auto [st, v] : {std::pair{"pass", ss.pass()},
                             {"fail", ss.fail()},
                             {"no_evidence", ss.no_evidence()},
                             {"excepted", ss.excepted()}}) {
          auto l = labels;
          l.push_back({"state", st});
          Add(secs, std::move(l), static_cast<double>(v));
        }
      }
    }
  });
  for (MetricFamily* f :
       {&fleet, &info, &state_now, &eff, &cov, &devs, &secs, &left_s, &threshold}) {
    out.push_back(std::move(*f));
  }
  MetricFamily refreshed = Family("attest_metrics_refreshed_timestamp_seconds",
                                  "When the compliance figures were last computed.");
  Add(refreshed, {}, static_cast<double>(absl::ToUnixMillis(now)) / 1000);
  out.push_back(std::move(refreshed));
  std::lock_guard lock(mu_);
  families_ = std::move(out);
}

std::vector<MetricFamily> ComplianceCollector::Collect() const {
  std::vector<MetricFamily> out;
  {
    std::lock_guard lock(mu_);
    out = families_;
  }
  MetricFamily build = Family("attest_build_info", "1, labelled with attestd's version.");
  Add(build, {{"version", version_}}, 1);
  out.push_back(std::move(build));
  if (auto stats = store_.Stats(); stats.ok()) {
    MetricFamily live = Family("attest_store_live_bytes", "On-disk size of the store's live data.");
    Add(live, {}, static_cast<double>(stats->live_bytes));
    MetricFamily pending = Family("attest_store_pending_compaction_bytes",
                                  "Bytes the store estimates compaction still has to rewrite.");
    Add(pending, {}, static_cast<double>(stats->pending_compaction_bytes));
    out.push_back(std::move(live));
    out.push_back(std::move(pending));
  }
  return out;
}

}  // namespace attest::metrics
