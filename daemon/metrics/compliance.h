// The compliance figures attestd exports (docs/metrics.md): fleet
// reporting, hosts in each state per control now, and per window and
// control the effectiveness, coverage, deviations and seconds per state.
//
// A scrape never waits for the engine: Refresh (attestd's metrics thread,
// every --metrics-refresh) computes the figures on the engine thread and
// keeps them; Collect returns the last ones, plus the store's size, read
// at scrape time.
#ifndef ATTEST_DAEMON_METRICS_COMPLIANCE_H_
#define ATTEST_DAEMON_METRICS_COMPLIANCE_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "daemon/engine/engine.h"
#include "daemon/store/store.h"

namespace attest::metrics {

class ComplianceCollector : public prometheus::Collectable {
 public:
  // All must outlive the collector.
  ComplianceCollector(engine::Engine& engine, store::Store& store, const Clock& clock,
                      std::string version);

  // Recomputes the figures. Runs a read on the engine thread.
  void Refresh();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  engine::Engine& engine_;
  store::Store& store_;
  const Clock& clock_;
  const std::string version_;
  mutable std::mutex mu_;
  std::vector<prometheus::MetricFamily> families_;  // the last Refresh
};

}  // namespace attest::metrics

#endif  // ATTEST_DAEMON_METRICS_COMPLIANCE_H_
