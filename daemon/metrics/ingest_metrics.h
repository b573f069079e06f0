// Ingest's metrics (docs/metrics.md). Declared here, in one place, and
// handed to the agent service and the committer; both take a null pointer
// (tests, tools) to mean "not measured".
#ifndef ATTEST_DAEMON_METRICS_INGEST_METRICS_H_
#define ATTEST_DAEMON_METRICS_INGEST_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace attest::metrics {

class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry);

  // Signals received on agent streams, by kind (before validation).
  void Received(std::string_view kind, double n);
  // A stream or batch refused; `status` gives the reason label.
  void Rejected(const absl::Status& status);
  void Committed(double stored, double duplicates, double gaps);
  void AckLatency(double seconds) { ack_latency_.Observe(seconds); }
  void WalSync(double seconds) { wal_sync_.Observe(seconds); }
  prometheus::Gauge& agents_connected() { return agents_connected_; }
  // Connected agents whose clock is ahead of (or behind) attestd's by more
  // than kClockSkewTolerance.
  prometheus::Gauge& agents_clock_skewed(bool ahead) {
    return ahead ? clock_ahead_ : clock_behind_;
  }

 private:
  prometheus::Family<prometheus::Counter>& received_;
  // One counter per signal kind, made up front: Received runs per batch on
  // the ingest path and must not take the family's lock.
  std::map<std::string, prometheus::Counter*, std::less<>> received_by_kind_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Counter& stored_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& gaps_;
  prometheus::Histogram& ack_latency_;
  prometheus::Histogram& wal_sync_;
  prometheus::Gauge& agents_connected_;
  prometheus::Family<prometheus::Gauge>& clock_skewed_;
  prometheus::Gauge& clock_ahead_;
  prometheus::Gauge& clock_behind_;
};

// The low-cardinality reason label for a refusal: the gRPC status name in
// snake case (invalid_argument, resource_exhausted, permission_denied ...).
std::string ReasonLabel(absl::StatusCode code);

}  // namespace attest::metrics

#endif  // ATTEST_DAEMON_METRICS_INGEST_METRICS_H_
