// The decision ledger (docs/evidence-format.md, "The decision ledger"):
// every policy version, window, approval, exception, revocation,
// decommission and sample draw, numbered from 1 and hash-chained like a
// host's evidence:
//   hash(n) = SHA-256(hash(n-1) || canonical JSON of entry n)
// with hash(0) = 32 zero bytes. Each entry is written in the same synced
// batch as the decision it records, so the ledger holds exactly the
// decisions stored. Its head is committed in every checkpoint.
#ifndef ATTEST_DAEMON_EVIDENCE_LEDGER_H_
#define ATTEST_DAEMON_EVIDENCE_LEDGER_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "daemon/store/store.h"

namespace attest::evidence {

struct LedgerHead {
  uint64_t length = 0;  // index of the last entry (0: empty)
  std::string hash;     // its hash; 32 zero bytes when empty
};

class Ledger {
 public:
  // `store` must outlive the ledger.
  explicit Ledger(store::Store& store);

  // Reads the head from the store, checking the last entry's link.
  [[nodiscard]] absl::Status Open();

  // Numbers `entry` (its decision and recorded_at set), links it to the
  // head and writes it together with `batch`, synced: the decision and its
  // entry are stored together or not at all. Thread-safe; appends are
  // serialized.
  absl::Status Commit(v1::LedgerEntry entry, store::WriteBatch batch);
  // The same for several entries, in order, in one write.
  absl::Status CommitAll(std::vector<v1::LedgerEntry> entries, store::WriteBatch batch);

  LedgerHead Head() const;

  // Entries from..to (1-based, inclusive; to 0: the head), in order.
  absl::Status Scan(uint64_t from, uint64_t to,
                    const std::function<absl::Status(v1::LedgerEntry&&)>& visit) const;

 private:
  store::Store& store_;
  mutable std::mutex mu_;
  LedgerHead head_;
};

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_LEDGER_H_
