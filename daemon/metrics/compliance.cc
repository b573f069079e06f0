#include "daemon/metrics/compliance.h"

#include <map>
#include <optional>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/records.h"
#include "daemon/windows/now.h"
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

bool Covered(v1::ControlState s) { return s != v1::CONTROL_STATE_NO_EVIDENCE; }

// Coverage at the window's end if the hosts in scope now keep their
// current coverage for the rest of it: (covered so far + covered now x
// remaining) / (in scope so far + in scope now x remaining).
std::optional<double> ProjectedCoverage(const v1::StateSeconds& so_far, int64_t hosts_now,
                                        int64_t covered_now, int64_t remaining) {
  const double covered = static_cast<double>(so_far.pass() + so_far.fail() + so_far.excepted()) +
                         static_cast<double>(covered_now) * static_cast<double>(remaining);
  const double total = static_cast<double>(engine::Total(so_far)) +
                       static_cast<double>(hosts_now) * static_cast<double>(remaining);
  if (total <= 0) return std::nullopt;
  return covered / total;
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
  MetricFamily info = Family("attest_control_info",
                             "1 per control of the current policy, with its title, TSC and rule.");
  MetricFamily state_now =
      Family("attest_control_hosts", "In-service hosts per control by their state now.");
  MetricFamily eff = Family("attest_window_effectiveness",
                            "PASS / (PASS + FAIL) over the window so far, per control.");
  MetricFamily cov = Family("attest_window_coverage",
                            "(PASS + FAIL + EXCEPTED) / in-scope time over the window so far.");
  MetricFamily projected =
      Family("attest_window_coverage_projected",
             "Coverage at the window's end if the hosts in scope now keep their current coverage.");
  MetricFamily devs = Family("attest_window_deviations",
                             "Deviations (FAIL runs beyond the control's grace) in the window.");
  MetricFamily secs = Family("attest_window_state_seconds",
                             "In-scope host-seconds in each state over the window so far.");
  MetricFamily left_s =
      Family("attest_window_remaining_seconds", "Time until the window ends (0 once it has).");
  MetricFamily threshold =
      Family("attest_window_threshold", "The window's thresholds: effectiveness and coverage.");
  MetricFamily oldest =
      Family("attest_security_update_oldest_pending_seconds",
             "Age of the oldest security update pending on any in-service host (0: none).");
  MetricFamily pending_hosts =
      Family("attest_hosts_security_updates_pending",
             "In-service hosts with at least one security update pending.");
  MetricFamily next_expiry =
      Family("attest_exception_next_expiry_seconds",
             "Seconds until the control's earliest-ending active exception expires.");
  MetricFamily active_x = Family("attest_exceptions_active", "Active exceptions per control.");
  MetricFamily review_entries =
      Family("attest_review_entries", "Access review entries per campaign: decided or open.");
  MetricFamily review_overdue =
      Family("attest_review_overdue", "1 while a campaign is past its due date with entries open.");
  MetricFamily review_due =
      Family("attest_review_due_timestamp_seconds", "When each campaign's decisions are due.");
  MetricFamily review_revocations =
      Family("attest_review_revocations",
             "Revoked (entry, host) pairs per campaign: confirmed (removed by the deadline), "
             "confirmed_late, pending (before the deadline) or overdue (past it, still there).");
  engine_.Read([&](const engine::EngineState& state) {
    for (const auto& [id, review] : state.reviews) {
      const v1::ReviewStatus st = engine::ReviewStatusOf(review, state.current_policy(), now);
      const std::string& window = review.campaign.window();
      Add(review_entries, {{"campaign", id}, {"window", window}, {"state", "decided"}},
          static_cast<double>(st.decided()));
      Add(review_entries, {{"campaign", id}, {"window", window}, {"state", "open"}},
          static_cast<double>(st.open()));
      Add(review_overdue, {{"campaign", id}, {"window", window}}, st.overdue() ? 1 : 0);
      Add(review_due, {{"campaign", id}, {"window", window}},
          static_cast<double>(review.campaign.due().seconds()));
      const uint64_t late_confirmed = st.revocations_late() - st.revocations_overdue();
      for (auto [name, n] :
           {std::pair{"confirmed", st.revocations_confirmed() - late_confirmed},
            {"confirmed_late", late_confirmed},
            {"pending", st.revocations() - st.revocations_confirmed() - st.revocations_overdue()},
            {"overdue", st.revocations_overdue()}}) {
        Add(review_revocations, {{"campaign", id}, {"window", window}, {"state", name}},
            static_cast<double>(n));
      }
    }
    const v1::FleetStatus fs = windows::FleetStatusNow(state, now, /*max_failing_hosts=*/1);
    Add(fleet, {{"status", "never_seen"}}, fs.never_seen());
    Add(fleet, {{"status", "reporting"}}, fs.reporting());
    Add(fleet, {{"status", "stale"}}, fs.stale());
    Add(oldest, {},
        fs.has_oldest_pending_security_update()
            ? std::max<double>(0, now_s - fs.oldest_pending_security_update().seconds())
            : 0);
    Add(pending_hosts, {}, fs.hosts_security_updates_pending());
    const engine::Policy* policy = state.current_policy();
    if (policy == nullptr) return;
    const windows::StatesNow states = windows::ComputeStatesNow(state, *policy, now_s);
    for (const v1::ControlNow& c : fs.controls()) {
      std::string tsc;
      for (const std::string& t : c.tsc()) tsc += (tsc.empty() ? "" : ",") + t;
      Add(info, {{"control", c.control()}, {"title", c.title()}, {"tsc", tsc}, {"rule", c.rule()}},
          1);
      for (auto [st, n] : {std::pair{"excepted", c.excepted()},
                           {"fail", c.fail()},
                           {"no_evidence", c.no_evidence()},
                           {"pass", c.pass()}}) {
        Add(state_now, {{"control", c.control()}, {"state", st}}, n);
      }
      Add(active_x, {{"control", c.control()}}, c.active_exceptions());
      if (c.has_next_exception_expiry()) {
        Add(next_expiry, {{"control", c.control()}},
            static_cast<double>(c.next_exception_expiry().seconds() - now_s));
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
      const int64_t remaining = std::max<int64_t>(0, w.end().seconds() - now_s);
      Add(left_s, {{"window", id}}, static_cast<double>(remaining));
      Add(threshold, {{"window", id}, {"threshold", "effectiveness"}},
          w.thresholds().effectiveness());
      Add(threshold, {{"window", id}, {"threshold", "coverage"}}, w.thresholds().coverage());
      // Hosts in the window's scope now, and how many of them are covered.
      std::vector<int64_t> covered_now(policy->controls.size(), 0);
      int64_t hosts_now = 0;
      for (const auto& [host, s] : states) {
        if (!engine::SelectorMatches(w.scope(), state.hosts.at(host).labels())) continue;
        ++hosts_now;
        for (size_t i = 0; i < s.size(); ++i) covered_now[i] += Covered(s[i]) ? 1 : 0;
      }
      for (const v1::ControlSummary& cs : summary->controls()) {
        std::vector<ClientMetric::Label> labels = {{"window", id}, {"control", cs.id()}};
        if (cs.has_effectiveness()) Add(eff, labels, cs.effectiveness());
        Add(cov, labels, cs.coverage());
        for (size_t i = 0; i < policy->controls.size(); ++i) {
          if (policy->controls[i].id != cs.id()) continue;
          if (auto p = ProjectedCoverage(cs.seconds(), hosts_now, covered_now[i], remaining)) {
            Add(projected, labels, *p);
          }
        }
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
  for (MetricFamily* f : {&fleet, &info, &state_now, &eff, &cov, &projected, &devs, &secs, &left_s,
                          &threshold, &oldest, &pending_hosts, &next_expiry, &active_x,
                          &review_entries, &review_overdue, &review_due, &review_revocations}) {
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
    if (!stats->family_file_bytes.empty()) {
      MetricFamily files = Family("attest_store_file_bytes",
                                  "On-disk size of the store's compressed table files, by family.");
      for (const auto& [family, bytes] : stats->family_file_bytes) {
        Add(files, {{"family", family}}, static_cast<double>(bytes));
      }
      out.push_back(std::move(files));
    }
    if (!stats->memtable_bytes.empty()) {
      MetricFamily memtables =
          Family("attest_store_memtable_bytes",
                 "Memory held by the store's write buffers not yet flushed to disk, by family.");
      for (const auto& [family, bytes] : stats->memtable_bytes) {
        Add(memtables, {{"family", family}}, static_cast<double>(bytes));
      }
      MetricFamily readers = Family("attest_store_table_reader_bytes",
                                    "Memory held by the index and filter blocks of open store "
                                    "files.");
      Add(readers, {}, static_cast<double>(stats->table_reader_bytes));
      MetricFamily cache =
          Family("attest_store_block_cache_bytes", "Memory held by the store's block cache.");
      Add(cache, {}, static_cast<double>(stats->block_cache_bytes));
      out.push_back(std::move(memtables));
      out.push_back(std::move(readers));
      out.push_back(std::move(cache));
    }
  }
  return out;
}

}  // namespace attest::metrics
