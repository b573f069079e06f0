// The RocksDB implementation of Store. No rocksdb:: type leaves this folder.
#ifndef ATTEST_DAEMON_STORE_ROCKSDB_STORE_H_
#define ATTEST_DAEMON_STORE_ROCKSDB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/store/store.h"

namespace attest::store {

struct RocksDbOptions {
  // Creates the directory and the database when missing.
  bool create_if_missing = true;
  // Opens without taking the lock and without writing (for offline tools and
  // tests that inspect a stopped daemon's store).
  bool read_only = false;
  // Writes are refused with RESOURCE_EXHAUSTED while the filesystem holding
  // the store has less free space than this, so RocksDB itself never meets
  // a full disk (its WAL cannot recover from a failed write in Debian's
  // 7.8: the next write aborts the process). 0: no guard.
  uint64_t min_free_bytes = 0;
  // A throwaway store (verify's replay of a bundle too big for memory):
  // no write-ahead log, no syncs, no compression. A crash loses it, which
  // is fine, because its owner deletes it anyway.
  bool scratch = false;
};

// Opens (or creates) the database in `dir` with one column family per
// Family. Errors: FailedPrecondition when another process holds the
// database, PermissionDenied/Unavailable when the directory is unusable.
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir,
                                                        RocksDbOptions options = {});

}  // namespace attest::store

#endif  // ATTEST_DAEMON_STORE_ROCKSDB_STORE_H_
