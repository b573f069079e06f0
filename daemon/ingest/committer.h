// The committer turns validated agent messages into evidence records and
// makes them durable. It owns all per-host sequencing state (highest seq per
// agent instance, chain head), so dedup, gap detection and chaining happen
// on one thread in submission order, without locks.
//
// Group commit: requests from all streams queue here; the committer thread
// takes everything queued, writes it as one store batch with one WAL sync,
// and only then hands the group to the acker thread, which runs each
// request's callback (gRPC writes) while the next group is being prepared.
// A callback that reports OK is the durable-ack promise: everything it
// counts survives a crash.
#ifndef ATTEST_DAEMON_INGEST_COMMITTER_H_
#define ATTEST_DAEMON_INGEST_COMMITTER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attest/v1/agent.pb.h"
#include "attest/v1/evidence.pb.h"
#include "common/clock.h"
#include "daemon/metrics/ingest_metrics.h"
#include "daemon/store/store.h"

namespace attest::ingest {

// The agent instances one host may start over its life (a new spool
// directory is a new instance). A request for another new one is refused.
inline constexpr size_t kMaxInstancesPerHost = 1024;

struct CommitResult {
  absl::Status status;               // OK: durable. Otherwise nothing was stored.
  uint64_t highest_durable_seq = 0;  // for the request's (host, instance)
  uint32_t stored = 0;               // signal records written
  uint32_t duplicates = 0;           // signals already held, acked but not stored again
  uint32_t gaps = 0;                 // gap records written
  uint64_t missing_signals = 0;      // seqs covered by those gaps
};

struct CommitRequest {
  std::string host;
  // The instance's hello. With record_hello set, a hello record is stored
  // when it differs from what the host last said (version, boot, labels).
  v1::Hello hello;
  bool record_hello = false;
  // With record_hello: the agent's clock minus attestd's, measured when the
  // hello arrived, kept in the host's state (nullopt: the agent does not say).
  std::optional<absl::Duration> clock_skew;
  // With record_hello, from an imported hello line: the seq the hello took
  // in the agent's numbering (0: none). It counts as received, so the next
  // signal after it is no gap.
  uint64_t hello_seq = 0;
  std::vector<v1::Signal> signals;  // validated, increasing seq
  v1::Origin origin = v1::ORIGIN_LIVE;
  // Runs on the acker thread once the outcome is known, in submission order.
  std::function<void(const CommitResult&)> done;
};

struct CommitterOptions {
  // Upper bound on one group's payload, to bound ack latency under load.
  size_t max_group_bytes = 32 << 20;
  // Called on the committer thread after each durable group with the hosts
  // it touched (the engine's "judge these" signal). Must not block.
  std::function<void(const std::vector<std::string>& hosts)> on_durable;
  metrics::IngestMetrics* metrics = nullptr;  // not owned; null: not measured
};

// Thread-safe: Submit may be called from any thread.
class Committer {
 public:
  // `store` and `clock` must outlive the committer.
  Committer(store::Store& store, const Clock& clock, CommitterOptions options = {});
  ~Committer();

  // Loads host state from the store and starts the committer thread.
  [[nodiscard]] absl::Status Start();
  // Queues a request. After Stop, the callback runs at once with Unavailable.
  void Submit(CommitRequest request);
  // Waits until nothing is queued or being committed, up to `timeout`.
  // False on timeout.
  bool WaitIdle(absl::Duration timeout);
  // Commits everything already queued, then stops the thread.
  void Stop();

  // Runs `fn` while no group is being committed and none may start: every
  // group committed before is durable and has been passed to on_durable.
  // Requests queue meanwhile and their acks wait. For a cut that must agree
  // with the store, such as an export's checkpoint and summary. Not from
  // the committer's own threads.
  void WhilePaused(const std::function<void()>& fn);

  // Highest durable seq for (host, instance); 0 when unknown.
  uint64_t HighestDurableSeq(const std::string& host, const std::string& instance) const;

 private:
  void Run();
  void RunAcker();
  void CommitGroup(std::vector<CommitRequest>& group);

  struct Outcome {
    std::vector<CommitRequest> group;
    std::vector<CommitResult> results;
  };

  store::Store& store_;
  const Clock& clock_;
  const CommitterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool committing_ = false;
  int pauses_ = 0;  // WhilePaused calls in progress: no group starts
  std::condition_variable between_groups_;
  std::deque<Outcome> acks_;  // committed groups whose callbacks are pending
  bool acking_ = false;
  bool acker_stopping_ = false;
  std::condition_variable ack_wake_;
  std::thread acker_;
  std::deque<CommitRequest> queue_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;

  // Durable per-host state; written only by the committer thread, under mu_
  // so that HighestDurableSeq may read it.
  std::unordered_map<std::string, v1::HostState> hosts_;
};

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_COMMITTER_H_
