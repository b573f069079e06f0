#include "agents/linux/uplink/uplink.h"

#include <random>

#include "absl/strings/numbers.h"
#include "common/files.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "google/protobuf/io/coded_stream.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeDaemonChannel(const UplinkOptions& o) {
  grpc::ChannelArguments args;
  // Agents ping every 30 s so a dead daemon (or NAT) is noticed; the daemon
  // accepts pings no more often than every 10 s.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC's own reconnect backoff follows ours, so a daemon that is back is
  // reached within --max-backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(o.initial_backoff)));
  // After a failure gRPC re-resolves the name, by default at most every 30 s;
  // a daemon that moved or came back should be found within a second.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 1000);
  // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also uses it as the minimum
  // connect timeout, and a small value aborts slow TLS handshakes.)
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(o.max_backoff)));
  if (o.insecure) {
    if (!IsLoopbackAddress(o.daemon)) {
      return absl::InvalidArgumentError(
          StrCat("--insecure is only allowed toward a loopback daemon, not ", o.daemon));
    }
    return grpc::CreateCustomChannel(o.daemon, grpc::InsecureChannelCredentials(), args);
  }
  auto pem = ReadTlsPem(o.ca, o.tls_cert, o.tls_key);
  if (!pem.ok()) return pem.status();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem->ca;
  ssl.pem_cert_chain = pem->cert;
  ssl.pem_private_key = pem->key;
  if (!o.server_name.empty()) args.SetSslTargetNameOverride(o.server_name);
  return grpc::CreateCustomChannel(o.daemon, grpc::SslCredentials(ssl), args);
}

Uplink::Uplink(UplinkOptions options, std::shared_ptr<grpc::Channel> channel, Spool& spool)
    : options_(std::move(options)), stub_(v1::AgentService::NewStub(channel)), spool_(spool) {}

void Uplink::Run() {
  std::mt19937 rng(std::random_device{}());
  absl::Duration backoff = options_.initial_backoff;
  int failures = 0;  // consecutive; only the first is worth a warning
  while (true) {
    const absl::Time started = absl::Now();
    grpc::Status status = Session();
    const bool was_connected = connected_.exchange(false);
    std::unique_lock lock(mu_);
    if (stopping_) return;
    // A stream that got going was healthy: start backing off afresh.
    if (was_connected || absl::Now() - started > absl::Seconds(30)) {
      backoff = options_.initial_backoff;
      failures = 0;
    }
    // Full jitter: sleep a random time up to the current backoff.
    const absl::Duration sleep =
        absl::Milliseconds(static_cast<int64_t>(rng() % (absl::ToInt64Milliseconds(backoff) + 1)));
    spdlog::log(failures++ == 0 ? spdlog::level::warn : spdlog::level::debug,
                "stream to {} ended ({}: {}); reconnecting in {}", options_.daemon,
                static_cast<int>(status.error_code()), status.error_message(),
                absl::FormatDuration(sleep));
    stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(sleep), [&] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void Uplink::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  if (context_ != nullptr) context_->TryCancel();
  stop_cv_.notify_all();
}

grpc::Status Uplink::Session() {
  grpc::ClientContext context;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    context_ = &context;
  }
  struct Clear {
    Uplink* self;
    ~Clear() {
      std::lock_guard lock(self->mu_);
      self->context_ = nullptr;
    }
  } clear{this};

  auto stream = stub_->Stream(&context);
  const v1::AgentMessage hello = HelloMessage(options_.hello, absl::Now());
  v1::DaemonMessage reply;
  if (!stream->Write(hello) || !stream->Read(&reply) || !reply.has_welcome()) {
    return stream->Finish();
  }
  // The daemon may hold more than this spool knows (a lost tail, a
  // restored copy): Resume moves new observations past it, never reusing a seq.
  auto resumed = spool_.Resume(options_.daemon, reply.welcome().highest_durable_seq());
  if (!resumed.ok()) {
    spdlog::error("spool: {}", resumed.status().ToString());
    context.TryCancel();
    return stream->Finish();
  }
  uint64_t sent = *resumed;
  // Every batch stays within what this daemon accepts in one message; a
  // batch over it would be refused whole, and retried whole, forever.
  const uint64_t max_message =
      reply.welcome().max_message_bytes() > 0 ? reply.welcome().max_message_bytes() : 4 << 20;
  connected_ = true;
  spdlog::info("connected to {} as {}; daemon holds up to seq {}", options_.daemon,
               reply.welcome().host_id(), sent);
  if (reply.welcome().has_daemon_time()) {
    if (auto note =
            ClockSkewNote(absl::Now(), FromProto(reply.welcome().daemon_time()), options_.daemon)) {
      spdlog::error("{}", *note);
    }
  }
  if (absl::Status s = spool_.Ack(options_.daemon, sent); !s.ok()) {
    spdlog::error("spool: {}", s.ToString());
  }
  while (true) {
    auto batch = spool_.Read(sent, options_.max_batch);
    if (!batch.ok()) {
      spdlog::error("spool read: {}", batch.status().ToString());
      context.TryCancel();
      return stream->Finish();
    }
    if (batch->empty()) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
      }
      spool_.WaitForData(sent, absl::Seconds(5));
      continue;
    }
    // Signals this daemon refused for good, or that cannot fit in one of
    // its messages, are left out: it records a gap where they were, and the
    // rest gets through. `through` is the last seq this message accounts
    // for; the signals after it go in the next one.
    constexpr uint64_t kEnvelopeBytes = 16;  // the message and batch envelopes, generously
    v1::AgentMessage message;
    uint64_t through = sent;
    uint64_t bytes = kEnvelopeBytes;
    for (v1::Signal& s : *batch) {
      if (refused_.count(s.seq()) > 0) {
        through = s.seq();
        continue;
      }
      const size_t size = s.ByteSizeLong();
      const uint64_t cost = 1 + google::protobuf::io::CodedOutputStream::VarintSize64(size) + size;
      if (kEnvelopeBytes + cost > max_message) {
        LeaveOut(s.seq(), attest::StrCat("it is ", size, " bytes, more than the ", max_message,
                                         " bytes it accepts in one message"));
        through = s.seq();
        continue;
      }
      if (bytes + cost > max_message) break;
      bytes += cost;
      through = s.seq();
      *message.mutable_batch()->add_signals() = std::move(s);
    }
    if (message.batch().signals_size() == 0) {
      sent = through;
      continue;
    }
    const uint64_t last = message.batch().signals(message.batch().signals_size() - 1).seq();
    if (!stream->Write(message) || !stream->Read(&reply) || !reply.has_ack()) {
      grpc::Status status = stream->Finish();
      NoteRefusal(context, status, sent, last);
      return status;
    }
    sent = through;
    const uint64_t durable = reply.ack().highest_durable_seq();
    refused_.erase(refused_.begin(), refused_.upper_bound(durable));
    if (absl::Status s = spool_.Ack(options_.daemon, durable); !s.ok()) {
      spdlog::error("spool: {}", s.ToString());
    }
  }
  stream->WritesDone();
  while (stream->Read(&reply)) {
  }
  return stream->Finish();
}

v1::AgentMessage HelloMessage(const v1::Hello& hello, absl::Time agent_now) {
  v1::AgentMessage message;
  *message.mutable_hello() = hello;
  *message.mutable_hello()->mutable_agent_clock() = ToProto(agent_now);
  return message;
}

std::optional<std::string> ClockSkewNote(absl::Time agent_now, absl::Time daemon_time,
                                         const std::string& daemon, absl::Duration tolerance) {
  const absl::Duration skew = agent_now - daemon_time;
  if (absl::AbsDuration(skew) <= tolerance) return std::nullopt;
  const std::string by = FormatClockSkew(skew);
  if (skew > absl::ZeroDuration()) {
    return attest::StrCat("this host's clock is ", by, " ahead of ", daemon,
                          "'s: it refuses signals observed more than 5m in its future, so they "
                          "wait until its clock catches up; fix this host's time sync");
  }
  return attest::StrCat("this host's clock is ", by, " behind ", daemon,
                        "'s: evidence is timed by this clock; fix this host's time sync");
}

std::optional<uint64_t> RefusedSeq(const grpc::ClientContext& context) {
  // attestd names a signal it will never accept in this trailer
  // (daemon/ingest/validate.h: RefusedSeq); other refusals are retried.
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("attest-refused-seq");
  uint64_t seq = 0;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &seq)) {
    return std::nullopt;
  }
  return seq;
}

void Uplink::NoteRefusal(const grpc::ClientContext& context, const grpc::Status& status,
                         uint64_t sent, uint64_t last) {
  const std::optional<uint64_t> seq = RefusedSeq(context);
  if (!seq || *seq <= sent || *seq > last) return;
  LeaveOut(*seq, attest::StrCat("it refused it for good: ", status.error_message()));
}

void Uplink::LeaveOut(uint64_t seq, const std::string& why) {
  refused_.insert(seq);
  ++refused_total_;
  spdlog::error("signal seq {} is left out for {} ({}); {} records a gap in its place", seq,
                options_.daemon, why, options_.daemon);
}

}  // namespace attest::agent
