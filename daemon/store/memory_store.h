// An in-memory Store for tests and for verify's replay of a bundle (up to
// --memory-mib): same contract as RocksDB, no disk. It can be told to fail
// writes, to stand in for a full disk. Each family is a B-tree: a bundle's
// millions of entries, inserted and walked in key order, are several to a
// node rather than one allocation each.
#ifndef ATTEST_DAEMON_STORE_MEMORY_STORE_H_
#define ATTEST_DAEMON_STORE_MEMORY_STORE_H_

#include <array>
#include <mutex>
#include <string>

#include "absl/container/btree_map.h"
#include "daemon/store/store.h"

namespace attest::store {

class MemoryStore : public Store {
 public:
  absl::StatusOr<std::string> Get(Family f, std::string_view key) override;
  absl::Status Write(const WriteBatch& batch, WriteOptions options) override;
  // Takes the batch's strings. A subclass that changes what Write does
  // must override both.
  absl::Status Write(WriteBatch&& batch, WriteOptions options) override;
  absl::StatusOr<std::pair<std::string, std::string>> Last(Family f, std::string_view begin,
                                                           std::string_view end) override;
  absl::Status Scan(Family f, std::string_view begin, std::string_view end,
                    const ScanVisitor& visit) override;
  absl::StatusOr<StoreStats> Stats() override;
  absl::Status Close() override;

  // While set, every Write fails with this status and changes nothing.
  void FailWrites(absl::Status status);
  // Number of successful Write calls with sync=true.
  int synced_writes() const;

 private:
  mutable std::mutex mu_;
  bool closed_ = false;
  absl::Status write_failure_ = absl::OkStatus();
  int synced_writes_ = 0;
  std::array<absl::btree_map<std::string, std::string, std::less<>>,
             static_cast<int>(Family::kCount)>
      data_;
};

}  // namespace attest::store

#endif  // ATTEST_DAEMON_STORE_MEMORY_STORE_H_
