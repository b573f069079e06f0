#include "daemon/ingest/agent_service.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/strings.h"
#include "common/time_util.h"
#include "common/tsan.h"
#include "daemon/evidence/record_json.h"
#include "daemon/ingest/identity.h"
#include "spdlog/spdlog.h"

namespace attest::ingest {
namespace {

using metrics::IngestMetrics;

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

bool Serialize(const v1::DaemonMessage& msg, grpc::ByteBuffer* out) {
  bool own = false;
  return grpc::SerializationTraits<v1::DaemonMessage>::Serialize(msg, out, &own).ok();
}

}  // namespace

// One agent stream. Lives until OnDone. All state is guarded by mu_ because
// gRPC callbacks and committer callbacks arrive on different threads.
// Finish is deferred until no commit is in flight and no write is pending,
// so a committer callback never outlives the stream.
class AgentStream : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  AgentStream(AgentService& service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {}

  // Called once, right after construction and registration.
  void Begin(std::optional<absl::Status> refusal) {
    std::lock_guard lock(mu_);
    if (refusal) {
      RequestFinishLocked(*refusal);
      return;
    }
    StartReadLocked();
  }

  void OnReadDone(bool ok) override {
    TsanAcquire(this);
    std::lock_guard lock(mu_);
    read_in_flight_ = false;
    if (!ok) {
      // The agent closed its side (or the call died): finish once the
      // in-flight batch, if any, is acked.
      RequestFinishLocked(absl::OkStatus());
      return;
    }
    if (finish_requested_) return;
    v1::AgentMessage message;
    grpc::Status parsed =
        grpc::SerializationTraits<v1::AgentMessage>::Deserialize(&read_buffer_, &message);
    if (!parsed.ok()) {
      RequestFinishLocked(absl::InvalidArgumentError(
          attest::StrCat("malformed AgentMessage: ", parsed.error_message())));
      return;
    }
    switch (message.body_case()) {
      case v1::AgentMessage::kHello:
        OnHelloLocked(std::move(*message.mutable_hello()));
        break;
      case v1::AgentMessage::kBatch:
        OnBatchLocked(std::move(*message.mutable_batch()));
        break;
      case v1::AgentMessage::BODY_NOT_SET:
        RequestFinishLocked(absl::InvalidArgumentError(
            "malformed AgentMessage: carries neither a hello nor a batch"));
        break;
    }
  }

  void OnWriteDone(bool ok) override {
    TsanAcquire(this);
    std::lock_guard lock(mu_);
    write_in_flight_ = false;
    if (!ok) {
      pending_.reset();
      RequestFinishLocked(absl::CancelledError("agent went away"));
      return;
    }
    FlushLocked();
  }

  void OnCancel() override {
    TsanAcquire(this);
    std::lock_guard lock(mu_);
    cancelled_ = true;
    RequestFinishLocked(absl::CancelledError("cancelled"));
  }

  void OnDone() override {
    // The committer's ack thread calls Finish with mu_ held, and gRPC may
    // call OnDone on another thread before that thread has unlocked. Taking
    // mu_ waits for it to let go, so the stream is not deleted under it.
    // (Not held across Forget: the service takes its lock, then ours.)
    TsanAcquire(this);
    { std::lock_guard lock(mu_); }
    service_.Forget(this);
    delete this;
  }

  // Ends the stream with `status` once in-flight work completes. Called by
  // the service (drain, replacement) with the service lock held.
  void Close(absl::Status status) {
    std::lock_guard lock(mu_);
    RequestFinishLocked(std::move(status));
  }

  // Ends the stream with DEADLINE_EXCEEDED if it has sent no hello.
  bool CloseIfNoHello(absl::Duration timeout) {
    std::lock_guard lock(mu_);
    if (hello_received_ || finish_requested_) return false;
    RequestFinishLocked(absl::DeadlineExceededError(attest::StrCat(
        "no hello within ", absl::FormatDuration(timeout), " of opening the stream")));
    return true;
  }

  const std::string& host() const { return host_; }

  // Set by the service before Begin, then read only under the service's
  // lock: the certificate's identity and serial ("" in insecure mode), when
  // the stream opened, and whether it is counted as a connected agent.
  std::string identity;
  std::string serial;
  absl::Time opened_at;
  bool counted = false;

 private:
  void OnHelloLocked(v1::Hello hello) {
    if (hello_received_) {
      RequestFinishLocked(absl::FailedPreconditionError("a second hello on the same stream"));
      return;
    }
    if (absl::Status s = ValidateHello(hello, service_.clock_.Now(), service_.options_.limits);
        !s.ok()) {
      RequestFinishLocked(s);
      return;
    }
    if (service_.options_.insecure) {
      if (hello.host_id().empty()) {
        RequestFinishLocked(absl::InvalidArgumentError(
            "hello.host_id: required in insecure mode (there is no certificate)"));
        return;
      }
      host_ = hello.host_id();
    } else if (!hello.host_id().empty() && hello.host_id() != identity) {
      RequestFinishLocked(absl::PermissionDeniedError(
          attest::StrCat("hello claims host \"", hello.host_id(),
                         "\" but the certificate is for \"", identity, "\"")));
      return;
    } else {
      host_ = identity;
    }
    hello_received_ = true;
    const std::optional<absl::Duration> skew = ClockSkewLocked(hello);
    hello.clear_agent_clock();  // it dates nothing and is not evidence
    hello_ = hello;
    // Lock order is service, then stream (Drain, Claim); never the reverse.
    mu_.unlock();
    service_.Claim(host_, this, skew);
    mu_.lock();
    CommitRequest request;
    request.host = host_;
    request.hello = std::move(hello);
    request.record_hello = true;
    request.clock_skew = skew;
    SubmitLocked(std::move(request), /*is_hello=*/true);
  }

  void OnBatchLocked(v1::SignalBatch batch) {
    batch_received_ = std::chrono::steady_clock::now();
    if (IngestMetrics* m = service_.options_.metrics) {
      std::string_view kind;
      int run = 0;
      for (const v1::Signal& signal : batch.signals()) {
        const std::string_view k = evidence::SignalKind(signal);
        if (k != kind && run > 0) {
          m->Received(kind, run);
          run = 0;
        }
        kind = k;
        ++run;
      }
      if (run > 0) m->Received(kind, run);
    }
    if (!hello_received_) {
      RequestFinishLocked(absl::FailedPreconditionError("a signal batch before the hello"));
      return;
    }
    absl::Status valid = ValidateBatch(batch, service_.clock_.Now(), service_.options_.limits);
    if (!valid.ok()) {
      RequestFinishLocked(valid);
      return;
    }
    if (!service_.rate_limiter_.Admit(host_, batch.signals_size())) {
      RequestFinishLocked(absl::ResourceExhaustedError(attest::StrCat(
          "rate limit: host ", host_, " may send ", service_.options_.rate_per_host,
          " signals/s (burst ", service_.options_.burst_per_host, "); reconnect with backoff")));
      return;
    }
    CommitRequest request;
    request.host = host_;
    request.hello = hello_;
    request.signals.assign(std::make_move_iterator(batch.mutable_signals()->begin()),
                           std::make_move_iterator(batch.mutable_signals()->end()));
    SubmitLocked(std::move(request), /*is_hello=*/false);
  }

  // How far the agent's clock is off attestd's (nullopt: the agent does not
  // say). Beyond the tolerance it is logged, because an ahead clock holds
  // the host's evidence back and a behind one dates it early.
  std::optional<absl::Duration> ClockSkewLocked(const v1::Hello& hello) {
    if (!hello.has_agent_clock()) return std::nullopt;  // an agent older than the field
    const absl::Duration skew = FromProto(hello.agent_clock()) - service_.clock_.Now();
    if (absl::AbsDuration(skew) <= kClockSkewTolerance) return skew;
    const std::string by = FormatClockSkew(skew);
    if (skew > absl::ZeroDuration()) {
      spdlog::warn(
          "host {}'s clock is {} ahead of attestd's: its signals are dated that much late, and "
          "those more than {} ahead wait until attestd's clock catches up; fix its time sync",
          host_, by, absl::FormatDuration(service_.options_.limits.max_future_skew));
    } else {
      spdlog::warn(
          "host {}'s clock is {} behind attestd's: its signals are dated that much early; fix "
          "its time sync",
          host_, by);
    }
    return skew;
  }

  void SubmitLocked(CommitRequest request, bool is_hello) {
    commit_in_flight_ = true;
    request.done = [this, is_hello](const CommitResult& result) { OnCommitted(result, is_hello); };
    // Submit may run the callback inline (after shutdown), and the callback
    // takes mu_: release it around the call.
    mu_.unlock();
    service_.committer_.Submit(std::move(request));
    mu_.lock();
  }

  void OnCommitted(const CommitResult& result, bool is_hello) {
    std::lock_guard lock(mu_);
    commit_in_flight_ = false;
    if (!result.status.ok()) {
      RequestFinishLocked(result.status);
      return;
    }
    v1::DaemonMessage reply;
    if (is_hello) {
      reply.mutable_welcome()->set_host_id(host_);
      reply.mutable_welcome()->set_highest_durable_seq(result.highest_durable_seq);
      reply.mutable_welcome()->set_max_message_bytes(service_.options_.max_message_bytes);
      *reply.mutable_welcome()->mutable_daemon_time() = ToProto(service_.clock_.Now());
    } else {
      reply.mutable_ack()->set_highest_durable_seq(result.highest_durable_seq);
      if (IngestMetrics* m = service_.options_.metrics) {
        m->AckLatency(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_received_)
                .count());
      }
    }
    pending_ = std::move(reply);
    FlushLocked();
    if (!finish_requested_) StartReadLocked();
  }

  void StartReadLocked() {
    read_in_flight_ = true;
    StartRead(&read_buffer_);
  }

  // Writes the pending reply if the writer is free, else finishes if asked.
  void FlushLocked() {
    if (!write_in_flight_ && pending_ && !cancelled_) {
      if (!Serialize(*pending_, &write_buffer_)) {
        spdlog::critical("cannot serialize a DaemonMessage");
        abort();
      }
      pending_.reset();
      write_in_flight_ = true;
      StartWrite(&write_buffer_);
      return;
    }
    MaybeFinishLocked();
  }

  void RequestFinishLocked(absl::Status status) {
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ = std::move(status);
      if (!finish_status_.ok() && finish_status_.code() != absl::StatusCode::kCancelled) {
        if (IngestMetrics* m = service_.options_.metrics) m->Rejected(finish_status_);
        spdlog::info("stream from {} ends: {}", host_.empty() ? context_->peer() : host_,
                     finish_status_.ToString());
      }
    }
    MaybeFinishLocked();
  }

  void MaybeFinishLocked() {
    if (!finish_requested_ || finished_ || commit_in_flight_ || write_in_flight_) return;
    if (pending_ && !cancelled_) return;  // the last ack goes out first
    finished_ = true;
    if (const std::optional<uint64_t> seq = RefusedSeq(finish_status_)) {
      context_->AddTrailingMetadata(kRefusedSeqTrailer, std::to_string(*seq));
    }
    Finish(ToGrpc(finish_status_));
  }

  AgentService& service_;
  grpc::CallbackServerContext* const context_;
  std::mutex mu_;
  std::string host_;
  v1::Hello hello_;
  bool hello_received_ = false;
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool commit_in_flight_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  absl::Status finish_status_;
  std::chrono::steady_clock::time_point batch_received_;  // for ack latency
  std::optional<v1::DaemonMessage> pending_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;
};

AgentService::AgentService(Committer& committer, const Clock& clock, AgentServiceOptions options)
    : committer_(committer),
      clock_(clock),
      options_(std::move(options)),
      rate_limiter_(clock, options_.rate_per_host, options_.burst_per_host) {
  reaper_ = std::thread([this] { RunReaper(); });
}

AgentService::~AgentService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    reaper_wake_.notify_all();
  }
  reaper_.join();
}

std::optional<absl::Status> AgentService::Admit(grpc::CallbackServerContext* context,
                                                AgentStream* stream) {
  if (options_.insecure) return std::nullopt;  // the host comes with the hello
  absl::StatusOr<PeerIdentity> peer = IdentityFromAuthContext(
      context->auth_context().get(), options_.trust_domain, options_.revocations);
  if (!peer.ok()) return peer.status();
  if (peer->role != Role::kHost) {
    return absl::PermissionDeniedError(attest::StrCat(
        "a certificate of role ", RoleName(peer->role), " cannot stream agent signals"));
  }
  stream->serial = peer->serial;
  stream->identity = peer->name;
  return std::nullopt;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* AgentService::Stream(
    grpc::CallbackServerContext* context) {
  auto* stream = new AgentStream(*this, context);
  stream->opened_at = clock_.Now();
  std::optional<absl::Status> refusal = Admit(context, stream);
  {
    std::lock_guard lock(mu_);
    if (refusal) {
      stream->identity.clear();  // refused: not one of its identity's streams
    } else if (draining_) {
      refusal = absl::UnavailableError("attestd is shutting down");
    } else if (streams_.size() >= options_.max_streams) {
      refusal = absl::ResourceExhaustedError(
          attest::StrCat("too many agent streams (limit ", options_.max_streams, ")"));
    } else if (!stream->identity.empty()) {
      // The newest stream of a host always gets in: an agent that
      // reconnects is not locked out by its own half-dead streams, and
      // a certificate holder cannot hold more than its share.
      std::deque<AgentStream*>& mine = by_identity_[stream->identity];
      while (mine.size() >= options_.max_streams_per_host) {
        mine.front()->Close(absl::ResourceExhaustedError(attest::StrCat(
            "host ", stream->identity, " opened more than ", options_.max_streams_per_host,
            " streams; a newer one replaced this one")));
        mine.pop_front();
      }
      mine.push_back(stream);
    }
    streams_.insert(stream);
  }
  // gRPC runs no reaction of the stream before this (common/tsan.h).
  TsanRelease(stream);
  stream->Begin(refusal);
  return stream;
}

void AgentService::Claim(const std::string& host, AgentStream* stream,
                         std::optional<absl::Duration> clock_skew) {
  std::lock_guard lock(mu_);
  // The clock-skew gauges count registered streams, so they move here and
  // in Forget, under mu_.
  auto skewed = [this](std::optional<bool> ahead, double by) {
    if (ahead && options_.metrics != nullptr) {
      options_.metrics->agents_clock_skewed(*ahead).Increment(by);
    }
  };
  std::optional<bool> ahead;
  if (clock_skew && absl::AbsDuration(*clock_skew) > kClockSkewTolerance) {
    ahead = *clock_skew > absl::ZeroDuration();
  }
  if (!stream->counted && options_.metrics != nullptr) {
    options_.metrics->agents_connected().Increment();  // agents that said hello
  }
  stream->counted = true;
  auto [it, inserted] = by_host_.try_emplace(host, Registered{stream, ahead});
  if (!inserted) {
    if (it->second.stream == stream) return;  // never: a stream has one hello
    it->second.stream->Close(
        absl::AbortedError(attest::StrCat("replaced by a newer stream for host ", host)));
    skewed(it->second.clock_ahead, -1);
    it->second = Registered{stream, ahead};
  }
  skewed(ahead, 1);
}

void AgentService::Forget(AgentStream* stream) {
  std::lock_guard lock(mu_);
  streams_.erase(stream);
  if (stream->counted && options_.metrics != nullptr) {
    options_.metrics->agents_connected().Decrement();
  }
  if (auto mine = by_identity_.find(stream->identity); mine != by_identity_.end()) {
    std::erase(mine->second, stream);
    if (mine->second.empty()) by_identity_.erase(mine);
  }
  auto it = by_host_.find(stream->host());
  if (it != by_host_.end() && it->second.stream == stream) {
    if (it->second.clock_ahead && options_.metrics != nullptr) {
      options_.metrics->agents_clock_skewed(*it->second.clock_ahead).Decrement();
    }
    by_host_.erase(it);
  }
}

size_t AgentService::CloseRevoked() {
  if (options_.revocations == nullptr) return 0;
  std::lock_guard lock(mu_);
  size_t closed = 0;
  for (AgentStream* s : streams_) {
    if (s->serial.empty()) continue;
    if (absl::Status revoked = options_.revocations->CheckSerial(s->serial); !revoked.ok()) {
      s->Close(revoked);
      ++closed;
    }
  }
  return closed;
}

size_t AgentService::CloseLateHellos() {
  const absl::Time deadline = clock_.Now() - options_.hello_timeout;
  std::lock_guard lock(mu_);
  size_t closed = 0;
  for (AgentStream* s : streams_) {
    // `counted`: it said hello (Claim). Only the others need their lock.
    if (!s->counted && s->opened_at <= deadline && s->CloseIfNoHello(options_.hello_timeout)) {
      ++closed;
    }
  }
  return closed;
}

void AgentService::RunReaper() {
  pthread_setname_np(pthread_self(), "attest-hellos");
  const absl::Duration every = std::min(absl::Seconds(1), options_.hello_timeout / 2);
  while (true) {
    {
      std::unique_lock lock(mu_);
      reaper_wake_.wait_for(lock, absl::ToChronoMilliseconds(every), [&] { return stopping_; });
      if (stopping_) return;
    }
    CloseLateHellos();
  }
}

void AgentService::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
  for (AgentStream* s : streams_) s->Close(absl::UnavailableError("attestd is shutting down"));
}

size_t AgentService::StreamCount() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

}  // namespace attest::ingest
