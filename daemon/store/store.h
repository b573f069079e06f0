// The store: an ordered key-value space split into column families. This is
// the only storage seam in attestd. RocksDB (rocksdb_store.h) is the real
// implementation and MemoryStore (memory_store.h) the fake; both pass
// store_contract_test.cc. Keys sort bytewise, so big-endian encodings
// (keys.h) make prefix scans come back in order.
#ifndef ATTEST_DAEMON_STORE_STORE_H_
#define ATTEST_DAEMON_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attest::store {

// Column families. Values are serialized protobuf messages unless noted.
enum class Family : int {
  kEvidence = 0,    // host \0 index(be64) -> EvidenceRecord
  kHosts,           // host -> HostState
  kTimeline,        // host \0 day(be32) control -> HostDay (intervals + seconds)
  kRollup,          // window \0 control \0 day(be32) -> WindowDay
  kApprovals,       // change id \0 recorded(be64) -> Approval
  kExceptions,      // id -> Exception
  kWindows,         // id -> WindowDef
  kPolicyVersions,  // loaded_at(be64) -> PolicyVersion
  kCheckpoints,
  kMeta,           // daemon-wide settings (schema version, keys)
  kObservations,   // host \0 t(be64) index(be64) -> Observation
  kFacts,          // host \0 day(be32) -> JudgeFacts at the day's start
  kDeviations,     // control \0 host \0 start(be64) -> DeviationRecord
  kEngineHosts,    // host -> EngineHost
  kDecommissions,  // host \0 recorded(be64) -> Decommission
  kSamples,        // window \0 drawn_at(be64 micros) control -> SampleDraw
  kLedger,         // index(be64) -> LedgerEntry (every decision, hash-chained)
  kStates,         // sequence(be64) -> CheckpointState (what each checkpoint commits to)
  kReviews,        // access reviews: campaigns, populations, decisions, confirmations
                   // (engine_keys.h, "kReviews")
  kCount,          // not a family: the number of them
};

// The on-disk name of a family.
std::string_view FamilyName(Family f);

// A set of writes applied atomically: all or none.
class WriteBatch {
 public:
  struct Op {
    Family family;
    std::string key;
    std::string value;
    bool is_delete;
  };
  void Put(Family f, std::string key, std::string value) {
    bytes_ += key.size() + value.size();
    ops_.push_back(Op{f, std::move(key), std::move(value), false});
  }
  void Delete(Family f, std::string key) {
    bytes_ += key.size();
    ops_.push_back(Op{f, std::move(key), {}, true});
  }
  const std::vector<Op>& ops() const { return ops_; }
  // The ops themselves, for a store that keeps their strings.
  std::vector<Op>& mutable_ops() { return ops_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return ops_.empty(); }
  void Clear() {
    ops_.clear();
    bytes_ = 0;
  }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

struct WriteOptions {
  // When true, Write returns only after the batch is in the write-ahead log
  // on disk (fsync). Every write that precedes an ack must set it.
  bool sync = true;
};

// Size figures for metrics and operators.
struct StoreStats {
  uint64_t live_bytes = 0;  // on-disk size of live data
  uint64_t pending_compaction_bytes = 0;
  // Memory the store holds, which is most of attestd's growth under load:
  // write buffers not yet flushed, by family name, the index and filter
  // blocks of open table files, and the block cache (RocksDB; 0 elsewhere).
  std::map<std::string, uint64_t> memtable_bytes;
  // Compressed table files on disk, by family name: what each kind of data
  // costs at rest (memtables not yet flushed are not counted).
  std::map<std::string, uint64_t> family_file_bytes;
  uint64_t table_reader_bytes = 0;
  uint64_t block_cache_bytes = 0;
};

// Called for each entry of a scan, in key order. Return false to stop.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

// Thread-safe: all methods may be called concurrently. Errors:
//   NotFound       Get on a missing key
//   Unavailable    the device refused the write (e.g. disk full); retryable
//   DataLoss       corruption detected
//   Internal       anything else the engine reports
class Store {
 public:
  virtual ~Store() = default;

  [[nodiscard]] virtual absl::StatusOr<std::string> Get(Family f, std::string_view key) = 0;
  // Applies `batch` atomically.
  [[nodiscard]] virtual absl::Status Write(const WriteBatch& batch, WriteOptions options) = 0;
  // The same for a batch the caller is done with: a store in memory keeps
  // its strings instead of copying them.
  [[nodiscard]] virtual absl::Status Write(WriteBatch&& batch, WriteOptions options) {
    return Write(static_cast<const WriteBatch&>(batch), options);
  }
  // Visits keys in [begin, end) in order; an empty `end` means "to the end".
  [[nodiscard]] virtual absl::Status Scan(Family f, std::string_view begin, std::string_view end,
                                          const ScanVisitor& visit) = 0;
  // The last key in [begin, end) (`end` not empty) and its value; NotFound
  // when there is none. One seek, whatever the range holds.
  [[nodiscard]] virtual absl::StatusOr<std::pair<std::string, std::string>> Last(
      Family f, std::string_view begin, std::string_view end) = 0;
  [[nodiscard]] virtual absl::StatusOr<StoreStats> Stats() = 0;
  // Makes everything written so far durable and releases the database.
  // Further calls fail with FailedPrecondition.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

// Visits every key that starts with `prefix`, in order.
[[nodiscard]] absl::Status ScanPrefix(Store& store, Family f, std::string_view prefix,
                                      const ScanVisitor& visit);

}  // namespace attest::store

#endif  // ATTEST_DAEMON_STORE_STORE_H_
