#include "daemon/store/rocksdb_store.h"

#include <sys/statvfs.h>

#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "common/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace attest::store {
namespace {

// Converts at the seam: callers only ever see absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = attest::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace() || s.IsIOError()) return absl::UnavailableError(msg);
  if (s.IsTryAgain() || s.IsBusy() || s.IsTimedOut()) return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

class RocksDbStore : public Store {
 public:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
               bool read_only, std::string dir, uint64_t min_free_bytes, bool scratch)
      : read_only_(read_only),
        scratch_(scratch),
        dir_(std::move(dir)),
        min_free_bytes_(min_free_bytes),
        db_(std::move(db)),
        handles_(std::move(handles)) {}

  ~RocksDbStore() override { (void)Close(); }

  absl::StatusOr<std::string> Get(Family f, std::string_view key) override {
    std::shared_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), Handle(f), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return absl::NotFoundError(attest::StrCat(FamilyName(f), ": no such key"));
    if (absl::Status st = FromRocks(s, "get"); !st.ok()) return st;
    return value;
  }

  using Store::Write;  // a batch given up is written as any other
  absl::Status Write(const WriteBatch& batch, WriteOptions options) override {
    std::shared_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    if (min_free_bytes_ > 0) {
      struct statvfs fs {};
      if (statvfs(dir_.c_str(), &fs) == 0) {
        const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
        if (free < min_free_bytes_ + batch.bytes()) {
          return absl::ResourceExhaustedError(attest::StrCat(
              "the disk holding ", dir_, " is nearly full: ", free >> 20, " MiB free, ",
              min_free_bytes_ >> 20, " MiB kept in reserve; writes resume once space is freed"));
        }
      }
    }
    rocksdb::WriteBatch wb(batch.bytes() + 64 * batch.ops().size());
    for (const auto& op : batch.ops()) {
      rocksdb::Slice key(op.key.data(), op.key.size());
      rocksdb::Status s = op.is_delete ? wb.Delete(Handle(op.family), key)
                                       : wb.Put(Handle(op.family), key,
                                                rocksdb::Slice(op.value.data(), op.value.size()));
      if (absl::Status st = FromRocks(s, "write batch"); !st.ok()) return st;
    }
    rocksdb::WriteOptions wo;
    wo.sync = options.sync && !scratch_;
    wo.disableWAL = scratch_;
    rocksdb::Status s = db_->Write(wo, &wb);
    if (!s.ok() && (s.IsNoSpace() || s.IsIOError())) {
      // A failed WAL write puts RocksDB into a read-only error state. Try to
      // resume so that ingest recovers by itself once space returns; the
      // batch itself still failed and the caller must not ack it.
      (void)db_->Resume();
    }
    return FromRocks(s, "write");
  }

  absl::Status Scan(Family f, std::string_view begin, std::string_view end,
                    const ScanVisitor& visit) override {
    std::shared_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(end.data(), end.size());
    if (!end.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(f)));
    for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
      if (!visit(std::string_view(it->key().data(), it->key().size()),
                 std::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return FromRocks(it->status(), "scan");
  }

  absl::StatusOr<std::pair<std::string, std::string>> Last(Family f, std::string_view begin,
                                                           std::string_view end) override {
    std::shared_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    rocksdb::ReadOptions ro;
    rocksdb::Slice lower(begin.data(), begin.size());
    ro.iterate_lower_bound = &lower;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(f)));
    it->SeekForPrev(rocksdb::Slice(end.data(), end.size()));  // the last key <= end
    if (it->Valid() && it->key() == rocksdb::Slice(end.data(), end.size())) it->Prev();
    if (!it->Valid()) {
      if (absl::Status s = FromRocks(it->status(), "seek"); !s.ok()) return s;
      return absl::NotFoundError("no key in the range");
    }
    return std::pair<std::string, std::string>(it->key().ToString(), it->value().ToString());
  }

  absl::StatusOr<StoreStats> Stats() override {
    std::shared_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    StoreStats stats;
    for (size_t i = 0; i < handles_.size(); ++i) {
      rocksdb::ColumnFamilyHandle* h = handles_[i];
      uint64_t v = 0;
      if (db_->GetIntProperty(h, "rocksdb.live-sst-files-size", &v)) {
        stats.live_bytes += v;
        stats.family_file_bytes[std::string(FamilyName(static_cast<Family>(i)))] = v;
      }
      if (db_->GetIntProperty(h, "rocksdb.estimate-pending-compaction-bytes", &v)) {
        stats.pending_compaction_bytes += v;
      }
      if (db_->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &v)) {
        stats.live_bytes += v;
        stats.memtable_bytes[std::string(FamilyName(static_cast<Family>(i)))] = v;
      }
      if (db_->GetIntProperty(h, "rocksdb.estimate-table-readers-mem", &v)) {
        stats.table_reader_bytes += v;
      }
    }
    // One cache serves every family.
    uint64_t cache = 0;
    if (!handles_.empty() &&
        db_->GetIntProperty(handles_[0], "rocksdb.block-cache-usage", &cache)) {
      stats.block_cache_bytes = cache;
    }
    return stats;
  }

  absl::Status Close() override {
    std::unique_lock lock(mu_);
    if (!db_) return absl::FailedPreconditionError("store is closed");
    absl::Status result = absl::OkStatus();
    if (!read_only() && !scratch_) {
      result = FromRocks(db_->FlushWAL(/*sync=*/true), "flush wal");
      // Write buffers go to table files, so that the next start need not
      // replay the log into memory and the files show every family's size.
      // The log already holds everything: a flush that fails (a full
      // disk) loses nothing, and the next start replays the log.
      rocksdb::FlushOptions flush;
      if (rocksdb::Status s = db_->Flush(flush, handles_); !s.ok()) {
        spdlog::warn(
            "store: write buffers not flushed at close ({}); the next start replays "
            "the log",
            s.ToString());
      }
    }
    for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    if (absl::Status s = FromRocks(db_->Close(), "close"); result.ok()) result = s;
    db_.reset();
    return result;
  }

 private:
  bool read_only() const { return read_only_; }
  rocksdb::ColumnFamilyHandle* Handle(Family f) const { return handles_[static_cast<int>(f)]; }

  const bool read_only_;
  const bool scratch_;  // RocksDbOptions::scratch
  const std::string dir_;
  const uint64_t min_free_bytes_;
  // Guards db_ against Close; the engine itself is thread-safe.
  std::shared_mutex mu_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// How each family is written to disk.
struct FamilyLayout {
  // How much a family buffers in memory before it is flushed to a table
  // file. Evidence and observations only grow: every byte is kept, so a
  // large buffer makes fewer, larger files. Every other family that is
  // written under load rewrites the same keys (a host's state, its judged
  // day, a window's day): 30 MiB of buffered versions flush to a file of
  // about 150 KiB, so buffering them longer only holds memory. A small
  // buffer bounds that memory and is reached within seconds under load, so
  // attestd's RSS settles at once instead of creeping up for as long as the
  // rarest family takes to fill (the soak in bench/soak.sh measures this).
  size_t write_buffer_bytes;
  // Evidence and observations are also read in scans, a host's keys side
  // by side: records of one host a minute apart, each repeating most of the
  // one before (and its hash as the next one's link). zstd finds those
  // repeats only within a block, so they use 32 KiB blocks instead of
  // RocksDB's 4 KiB. Measured with sst_dump's recompress on a simulated
  // fleet's store: the evidence family's tables at 0.66 of their size with
  // 4 KiB blocks (0.70 at 16 KiB, 0.63 at 64 KiB), the observations' at
  // 0.52. zstd level 9 gained 0-3% more at up to twice the CPU, level 19
  // about 10% at 10 to 25 times: the default level stays. A point read (the
  // engine reads a few records by index) decodes one block. Tables written
  // before keep their block size until compaction rewrites them.
  size_t block_bytes;
  // A zstd dictionary per table file, of samples of its own blocks (0:
  // none). The evidence family holds the same large states again and
  // again, an hour or more apart: attest-agent's hourly patch state is
  // about 22 KB, and 98% of them equal the one before. 32 KiB blocks cannot
  // see a repeat that far back; a dictionary can. Measured with sst_dump's
  // recompress on the evidence tables of 20 hosts x 2 days of the agent's
  // own collectors (bench/agent_rate.sh's fleet), against 32 KiB blocks
  // alone: 0.73 of their size with a 64 KiB dictionary of raw samples, at
  // 1.4x the compression CPU; 0.81 with 32 KiB; 0.71 with a dictionary
  // zstd trains, at 3.3x the CPU, which doubled the p99 ack latency of 1,000
  // streams at 20,000 signals/s on 2 cores; 0.74 with 256 KiB blocks
  // instead, which every point read would decode whole. A simulated fleet's
  // tables, whose states are smaller, gain less (0.94).
  uint32_t dict_bytes = 0;
};

FamilyLayout LayoutOf(Family family, bool scratch) {
  // A scratch store is written once, read once, then deleted, and not
  // compressed: larger blocks would gain nothing.
  if (scratch) return {.write_buffer_bytes = 64 << 20, .block_bytes = 4 << 10};
  switch (family) {
    case Family::kEvidence:
      return {.write_buffer_bytes = 16 << 20, .block_bytes = 32 << 10, .dict_bytes = 64 << 10};
    case Family::kObservations:
      return {.write_buffer_bytes = 16 << 20, .block_bytes = 32 << 10};
    default:
      return {.write_buffer_bytes = 4 << 20, .block_bytes = 4 << 10};
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir,
                                                        RocksDbOptions options) {
  std::error_code ec;
  if (options.create_if_missing && !options.read_only) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          attest::StrCat("cannot create data dir ", dir, ": ", ec.message()));
    }
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = 256 << 20;
  // Batches from many streams are written as one group by attest's own
  // committer; RocksDB only needs to keep its WAL honest.
  db_options.manual_wal_flush = false;
  // Write flushed/compacted data back to disk in 1 MiB steps instead of in
  // one burst at the end, so a WAL fsync (on which acks wait) never queues
  // behind tens of MiB of dirty pages.
  db_options.bytes_per_sync = 1 << 20;
  db_options.wal_bytes_per_sync = 512 << 10;

  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // One cache for every family, of RocksDB's default size: without it each
  // table factory (one per block size) would make its own.
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = options.scratch ? rocksdb::kNoCompression : rocksdb::kZSTD;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < static_cast<int>(Family::kCount); ++i) {
    const auto family = static_cast<Family>(i);
    rocksdb::ColumnFamilyOptions family_options = cf_options;
    const FamilyLayout layout = LayoutOf(family, options.scratch);
    family_options.write_buffer_size = layout.write_buffer_bytes;
    if (layout.dict_bytes > 0 && family_options.compression == rocksdb::kZSTD) {
      rocksdb::CompressionOptions& dict = family_options.bottommost_compression_opts;
      dict = family_options.compression_opts;
      dict.enabled = true;
      dict.max_dict_bytes = layout.dict_bytes;
      dict.zstd_max_train_bytes = 0;  // raw samples: see dict_bytes
      // The samples come from the first 8 MiB of a table's blocks, so that
      // building a table buffers at most that much uncompressed.
      dict.max_dict_buffer_bytes = 8 << 20;
      family_options.bottommost_compression = rocksdb::kZSTD;
    }
    if (layout.block_bytes != table.block_size) {
      rocksdb::BlockBasedTableOptions larger = table;
      larger.block_size = layout.block_bytes;
      family_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(larger));
    }
    descriptors.emplace_back(std::string(FamilyName(family)), family_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &handles, &raw)
                        : rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    std::string msg = attest::StrCat("cannot open store in ", dir, ": ", s.ToString());
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(
          attest::StrCat(msg, " (is another attestd using this data dir?)"));
    }
    if (s.IsIOError()) return absl::PermissionDeniedError(msg);
    return FromRocks(s, msg);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  // handles[0] is the default family, which attest does not use.
  (void)db->DestroyColumnFamilyHandle(handles[0]);
  handles.erase(handles.begin());
  return std::unique_ptr<Store>(new RocksDbStore(std::move(db), std::move(handles),
                                                 options.read_only, dir, options.min_free_bytes,
                                                 options.scratch));
}

}  // namespace attest::store
