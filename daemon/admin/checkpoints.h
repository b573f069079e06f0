// The daemon's checkpoints (docs/bundle.md, "Checkpoints"): created daily
// and on request, each over every host's chain head as stored and the
// decision ledger's head. Each checkpoint's state is one leaf of an
// append-only log of states, and each checkpoint is a C2SP signed note of
// that log, signed with the key kept beside the store, to which witnesses
// add their cosignatures. Stored synced under its sequence number.
#ifndef ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_
#define ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger.h"
#include "daemon/evidence/note.h"
#include "daemon/store/store.h"

namespace attest::admin {

class Checkpoints {
 public:
  // `store`, `clock` and `ledger` (may be null: no decisions are committed)
  // must outlive this. `origin` names the log (its checkpoints' first line
  // and the key name of attestd's signature); empty: "attestd/<key id>".
  Checkpoints(store::Store& store, const Clock& clock, std::unique_ptr<evidence::SigningKey> key,
              evidence::Ledger* ledger = nullptr, std::string origin = "");

  // Reads the log of states, adding the state leaves of checkpoints made
  // before format 2. Called once before anything else.
  [[nodiscard]] absl::Status Open();

  // A new checkpoint of the heads stored now.
  absl::StatusOr<v1::Checkpoint> Create();
  // Checkpoints from..to (1-based, inclusive; 0: from the first / to the
  // latest), at most `limit` of them (0: no limit).
  absl::StatusOr<std::vector<v1::Checkpoint>> List(uint64_t from = 0, uint64_t to = 0,
                                                   size_t limit = 0);
  // The newest checkpoint, if any.
  absl::StatusOr<std::optional<v1::Checkpoint>> Latest();
  absl::StatusOr<v1::Checkpoint> Get(uint64_t sequence);
  // Creates one unless the latest is from today (UTC); the daily job.
  absl::Status CreateDaily();

  // RFC 6962 consistency proof between the log at sizes m and n.
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t m, uint64_t n);
  // Appends cosignature lines (already verified by the caller) to the note
  // of checkpoint `sequence`, skipping any it holds; synced.
  absl::Status AddCosignatures(uint64_t sequence,
                               const std::vector<evidence::note::Signature>& lines);

  // Called (outside any lock) after each new checkpoint is stored. Set
  // before the first Create.
  void OnCreated(std::function<void()> f) { on_created_ = std::move(f); }

  const evidence::SigningKey& key() const { return *key_; }
  const std::string& origin() const { return origin_; }
  // attestd's verifier key: "<origin>+<key id>+<base64(0x01 || key)>".
  std::string VerifierKey() const;

 private:
  absl::StatusOr<v1::Checkpoint> CreateLocked();

  store::Store& store_;
  const Clock& clock_;
  const std::unique_ptr<evidence::SigningKey> key_;
  evidence::Ledger* const ledger_;
  const std::string origin_;
  std::mutex mu_;                    // one Create at a time: sequence numbers stay dense
  std::vector<std::string> leaves_;  // leaf hash of state i+1
  std::function<void()> on_created_;
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_CHECKPOINTS_H_
