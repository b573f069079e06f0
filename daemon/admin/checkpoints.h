// The daemon's checkpoints (daemon/evidence/checkpoint.h): created daily and
// on request, each over every host's chain head as stored, signed with the
// key kept beside the store, and stored synced under its sequence number.
#ifndef ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_
#define ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/store/store.h"

namespace attest::admin {

class Checkpoints {
 public:
  // `store` and `clock` must outlive this.
  Checkpoints(store::Store& store, const Clock& clock, std::unique_ptr<evidence::SigningKey> key);

  // A new checkpoint of the heads stored now.
  absl::StatusOr<v1::Checkpoint> Create();
  absl::StatusOr<std::vector<v1::Checkpoint>> List();
  // The newest checkpoint, if any.
  absl::StatusOr<std::optional<v1::Checkpoint>> Latest();
  // Creates one unless the latest is from today (UTC); the daily job.
  absl::Status CreateDaily();

  const evidence::SigningKey& key() const { return *key_; }

 private:
  store::Store& store_;
  const Clock& clock_;
  const std::unique_ptr<evidence::SigningKey> key_;
  std::mutex mu_;  // one Create at a time: sequence numbers stay dense
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_
