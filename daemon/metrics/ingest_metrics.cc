#include "daemon/metrics/ingest_metrics.h"

#include <cctype>
#include <string>

namespace attest::metrics {
namespace {

// Seconds; ack latency spans a WAL sync (ms) up to queueing under load.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

}  // namespace

std::string ReasonLabel(absl::StatusCode code) {
  std::string out;
  for (char c : absl::StatusCodeToString(code)) {
    out.push_back(c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : received_(prometheus::BuildCounter()
                    .Name("attest_ingest_signals_received_total")
                    .Help("Signals received on agent streams, by kind, before validation.")
                    .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("attest_ingest_rejected_total")
                    .Help("Agent streams ended with an error, by reason (gRPC status).")
                    .Register(registry)),
      stored_(prometheus::BuildCounter()
                  .Name("attest_ingest_signals_stored_total")
                  .Help("Signals made durable (live and imported).")
                  .Register(registry)
                  .Add({})),
      duplicates_(prometheus::BuildCounter()
                      .Name("attest_ingest_duplicates_total")
                      .Help("Signals already held: acknowledged again, not stored again.")
                      .Register(registry)
                      .Add({})),
      gaps_(prometheus::BuildCounter()
                .Name("attest_ingest_gaps_total")
                .Help("Gap records written for sequence numbers that never arrived.")
                .Register(registry)
                .Add({})),
      ack_latency_(prometheus::BuildHistogram()
                       .Name("attest_ingest_ack_latency_seconds")
                       .Help("From receiving a batch to acknowledging it as durable.")
                       .Register(registry)
                       .Add({}, kLatencyBuckets)),
      wal_sync_(prometheus::BuildHistogram()
                    .Name("attest_store_wal_sync_seconds")
                    .Help("One group commit's synced write (WAL fsync included).")
                    .Register(registry)
                    .Add({}, kLatencyBuckets)),
      agents_connected_(prometheus::BuildGauge()
                            .Name("attest_ingest_agents_connected")
                            .Help("Agent streams open now that have said hello.")
                            .Register(registry)
                            .Add({})),
      clock_skewed_(prometheus::BuildGauge()
                        .Name("attest_ingest_agents_clock_skewed")
                        .Help("Connected agents whose clock was more than 1 minute ahead of or "
                              "behind attestd's at their hello.")
                        .Register(registry)),
      clock_ahead_(clock_skewed_.Add({{"direction", "ahead"}})),
      clock_behind_(clock_skewed_.Add({{"direction", "behind"}})) {
  for (const char* kind : {"patch", "log_shipping", "access_change", "access_snapshot", "check",
                           "heartbeat", "collector_error", "time_sync", "firewall", "services",
                           "sshd", "backup", "disk_encryption", "mac", "unknown"}) {
    received_by_kind_[kind] = &received_.Add({{"kind", kind}});
  }
  // The reasons a stream is ended with, present from the start so that
  // rates and alerts see 0 rather than nothing.
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kResourceExhausted,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kFailedPrecondition,
        absl::StatusCode::kUnauthenticated, absl::StatusCode::kUnavailable,
        absl::StatusCode::kAborted, absl::StatusCode::kInternal}) {
    rejected_.Add({{"reason", ReasonLabel(code)}});
  }
}

void IngestMetrics::Received(std::string_view kind, double n) {
  auto it = received_by_kind_.find(kind);
  if (it == received_by_kind_.end()) it = received_by_kind_.find("unknown");
  it->second->Increment(n);
}

void IngestMetrics::Rejected(const absl::Status& status) {
  rejected_.Add({{"reason", ReasonLabel(status.code())}}).Increment();
}

void IngestMetrics::Committed(double stored, double duplicates, double gaps) {
  if (stored > 0) stored_.Increment(stored);
  if (duplicates > 0) duplicates_.Increment(duplicates);
  if (gaps > 0) gaps_.Increment(gaps);
}

}  // namespace attest::metrics
