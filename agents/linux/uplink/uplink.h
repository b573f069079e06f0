// One agent -> daemon stream. Sends a Hello, resumes after the daemon's
// highest durable seq (its Welcome), then streams spooled signals in batches
// and records each Ack in the spool, whose segments go once every daemon
// has acked them. On any failure it reconnects with exponential backoff and
// jitter. Two daemons (an HA pair) are two Uplinks with independent cursors.
#ifndef ATTEST_AGENTS_LINUX_UPLINK_UPLINK_H_
#define ATTEST_AGENTS_LINUX_UPLINK_UPLINK_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/linux/spool/spool.h"
#include "attest/v1/agent.grpc.pb.h"
#include "common/clock.h"

namespace attest::agent {

struct UplinkOptions {
  std::string daemon;     // host:port; also the spool cursor's name
  bool insecure = false;  // only toward loopback daemons
  std::string tls_cert, tls_key, ca, server_name;
  v1::Hello hello;  // host_id is only honoured in insecure mode
  size_t max_batch = 500;
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(60);
};

// A channel to a daemon; InvalidArgument when insecure toward a non-loopback
// address or TLS files are unreadable.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeDaemonChannel(const UplinkOptions& options);

// The seq of the signal attestd refused for good on the stream of
// `context` (after Finish), from its trailer "attest-refused-seq".
std::optional<uint64_t> RefusedSeq(const grpc::ClientContext& context);

// What to log when this host's clock, read at `agent_now`, is more than
// `tolerance` off the daemon's `daemon_time` (nullopt: close enough). Ahead
// is an error: the daemon refuses signals from its future, so they wait.
std::optional<std::string> ClockSkewNote(absl::Time agent_now, absl::Time daemon_time,
                                         const std::string& daemon,
                                         absl::Duration tolerance = kClockSkewTolerance);

// The first message of a stream: `hello`, with this host's clock read at
// `agent_now`, so that attestd can name a host whose clock is off.
v1::AgentMessage HelloMessage(const v1::Hello& hello, absl::Time agent_now);

class Uplink {
 public:
  // `spool` must outlive the uplink.
  Uplink(UplinkOptions options, std::shared_ptr<grpc::Channel> channel, Spool& spool);

  // Streams until Stop().
  void Run();
  // Ends the current stream and Run(); safe from any thread.
  void Stop();

  bool connected() const { return connected_; }
  // Signals left out for this daemon: refused for good, or too large for
  // one of its messages.
  uint64_t refused() const { return refused_total_; }
  const std::string& daemon() const { return options_.daemon; }

 private:
  // One stream's lifetime; returns why it ended.
  grpc::Status Session();
  // After a batch (seqs after `sent`, up to `last`) ended the stream: when
  // the daemon refused one of its signals for good, that signal is left out
  // from now on (the daemon stores a gap instead). Any other failure is
  // retried, however often it happens.
  void NoteRefusal(const grpc::ClientContext& context, const grpc::Status& status, uint64_t sent,
                   uint64_t last);
  // Leaves signal `seq` out for this daemon from now on, saying why.
  void LeaveOut(uint64_t seq, const std::string& why);

  const UplinkOptions options_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  Spool& spool_;
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  grpc::ClientContext* context_ = nullptr;  // the live stream's, under mu_
  std::set<uint64_t> refused_;              // on Run's thread only
  std::atomic<uint64_t> refused_total_{0};
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_UPLINK_UPLINK_H_
