// Delivery of attestd's checkpoints to its witnesses (docs/witness.md):
// C2SP tlog-witness add-checkpoint requests with a consistency proof from
// the size each witness last cosigned. Each new checkpoint is sent as soon
// as it exists; a witness that cannot be reached or refuses is retried
// with backoff, and its cosignature is stored into the checkpoint's note
// when it comes. Ingest never waits for a witness.
#ifndef ATTEST_DAEMON_ADMIN_WITNESSING_H_
#define ATTEST_DAEMON_ADMIN_WITNESSING_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "attest/v1/admin.pb.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "daemon/admin/checkpoints.h"

namespace attest::admin {

struct WitnessTarget {
  std::string url;  // http[s]://HOST[:PORT][/PREFIX]; add-checkpoint is posted under it
  evidence::note::VerifierKey key;  // type 0x04
};

// "URL,VKEY" (the --witness flag). InvalidArgument says what is wrong.
absl::StatusOr<WitnessTarget> ParseWitnessTarget(std::string_view text);

struct WitnessingOptions {
  HttpTls tls;  // CA for https witnesses ("" = the system's trust store)
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration min_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  prometheus::Registry* registry = nullptr;  // null: no metrics
};

class Witnessing {
 public:
  // `checkpoints` and `clock` must outlive this.
  Witnessing(Checkpoints& checkpoints, std::vector<WitnessTarget> witnesses, const Clock& clock,
             WitnessingOptions options);
  ~Witnessing();

  void Start();
  void Stop();
  // A new checkpoint exists: deliver it now.
  void Notify();
  // Each witness as of now (attestctl status).
  std::vector<v1::WitnessStatus> Status() const;

 private:
  struct Target;
  void Loop();
  // One attempt for one witness; true when it has cosigned the latest.
  bool Deliver(Target& t);

  Checkpoints& checkpoints_;
  const Clock& clock_;
  const WitnessingOptions options_;
  std::vector<std::unique_ptr<Target>> targets_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::thread thread_;
  prometheus::Gauge* latest_ = nullptr;
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_WITNESSING_H_
