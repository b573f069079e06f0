// The agent stream endpoint (AgentService.Stream), on gRPC's callback API so
// that tens of thousands of mostly idle streams cost no threads.
//
// Per stream: authenticate from the certificate, read a Hello, answer with
// a Welcome once the hello is durable, then for each SignalBatch: validate,
// rate-limit, hand to the Committer, and ack after the group commit. One
// batch per stream is in flight at a time, which bounds memory per stream;
// many streams fill each group commit.
#ifndef ATTEST_DAEMON_INGEST_AGENT_SERVICE_H_
#define ATTEST_DAEMON_INGEST_AGENT_SERVICE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "attest/v1/agent.grpc.pb.h"
#include "common/clock.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/rate_limiter.h"
#include "daemon/ingest/revocation.h"
#include "daemon/ingest/validate.h"
#include "daemon/metrics/ingest_metrics.h"

namespace attest::ingest {

class AgentStream;

struct AgentServiceOptions {
  // Insecure (loopback development) mode: there is no certificate, and the
  // host id is taken from the Hello.
  bool insecure = false;
  std::string trust_domain = "attest";
  const Revocations* revocations = nullptr;  // not owned; null: none revoked
  size_t max_streams = 20000;
  size_t max_message_bytes = 4 << 20;  // told to agents in the Welcome
  double rate_per_host = 2000;         // signals per second, sustained
  double burst_per_host = 20000;       // signals, burst
  Limits limits;
  metrics::IngestMetrics* metrics = nullptr;  // not owned; null: not measured
};

class AgentService final
    : public v1::AgentService::WithRawCallbackMethod_Stream<v1::AgentService::Service> {
 public:
  // `committer` and `clock` must outlive the service.
  AgentService(Committer& committer, const Clock& clock, AgentServiceOptions options);
  ~AgentService() override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Stream(
      grpc::CallbackServerContext* context) override;

  // Stops reading from every stream; each finishes with UNAVAILABLE once its
  // in-flight batch is committed and acked. New streams are refused.
  void Drain();
  // Number of open streams.
  size_t StreamCount() const;

 private:
  friend class AgentStream;
  // Registers `stream` as the one stream of `host`, replacing (and aborting)
  // an older one. `clock_skew`: how far the agent's clock is off attestd's,
  // counted when beyond kClockSkewTolerance.
  void Claim(const std::string& host, AgentStream* stream,
             std::optional<absl::Duration> clock_skew);
  void Forget(AgentStream* stream);

  Committer& committer_;
  const Clock& clock_;
  const AgentServiceOptions options_;
  RateLimiter rate_limiter_;

  mutable std::mutex mu_;
  bool draining_ = false;
  std::unordered_set<AgentStream*> streams_;
  struct Registered {
    AgentStream* stream;
    // Its agent's clock is off attestd's beyond kClockSkewTolerance: ahead
    // (true) or behind (false).
    std::optional<bool> clock_ahead;
  };
  std::unordered_map<std::string, Registered> by_host_;
};

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_AGENT_SERVICE_H_
