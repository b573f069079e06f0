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

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
  // Streams one host certificate may hold at once; a newer one closes the
  // oldest, so one identity can neither fill max_streams nor lock itself out.
  // (Insecure mode knows no identity before the hello and does not count.)
  size_t max_streams_per_host = 4;
  // A stream that has not sent its hello this long after it opened is closed
  // with DEADLINE_EXCEEDED.
  absl::Duration hello_timeout = absl::Seconds(30);
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
  // Ends, with UNAUTHENTICATED naming the serial, every stream whose
  // certificate the revocation list now names. Called after a CRL reload.
  // Returns how many it ended.
  size_t CloseRevoked();
  // Ends, with DEADLINE_EXCEEDED, every stream that opened hello_timeout or
  // longer ago (by the injected clock) and has sent no hello. A thread of the
  // service calls it every second; tests call it after moving a fake clock.
  size_t CloseLateHellos();

 private:
  friend class AgentStream;
  // Registers `stream` as the one stream of `host`, replacing (and aborting)
  // an older one. `clock_skew`: how far the agent's clock is off attestd's,
  // counted when beyond kClockSkewTolerance.
  void Claim(const std::string& host, AgentStream* stream,
             std::optional<absl::Duration> clock_skew);
  void Forget(AgentStream* stream);
  // Who the peer of `context` is, and whether it may stream: sets the
  // stream's identity and certificate serial, or returns the refusal.
  std::optional<absl::Status> Admit(grpc::CallbackServerContext* context, AgentStream* stream);
  void RunReaper();

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
  // Every admitted stream of each certificate identity, oldest first.
  std::unordered_map<std::string, std::deque<AgentStream*>> by_identity_;

  std::condition_variable reaper_wake_;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_AGENT_SERVICE_H_
