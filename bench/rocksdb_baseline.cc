// Baseline (a) for the ingest benchmark: raw RocksDB WriteBatches of 100
// records the size of attestd's stored evidence records, one WAL sync per
// batch, one writer. Prints key=value results.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/flags.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

int main(int argc, char** argv) {
  std::string dir = "/tmp/attest-bench-baseline";
  int64_t seconds = 10;
  int64_t record_bytes = 400;
  int64_t batch = 100;
  attest::FlagSet flags("attest-bench-baseline", "[flags]");
  flags.String("dir", &dir, "scratch directory (wiped)");
  flags.Int("seconds", &seconds, "how long to write");
  flags.Int("record-bytes", &record_bytes, "bytes per record (match attestd's stored records)");
  flags.Int("batch", &batch, "records per WriteBatch");
  if (!flags.Parse(argc, argv).ok() || flags.help_requested()) {
    fputs(flags.Usage().c_str(), stderr);
    return 2;
  }
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kZSTD;
  options.write_buffer_size = 32 << 20;
  // The same write-back settings as attestd's store (daemon/store/rocksdb_store.cc).
  options.bytes_per_sync = 1 << 20;
  options.wal_bytes_per_sync = 512 << 10;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::string value(static_cast<size_t>(record_bytes), 'v');
  uint64_t records = 0;
  std::vector<int64_t> latencies_us;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  while (absl::Now() < end) {
    rocksdb::WriteBatch wb;
    for (int i = 0; i < batch; ++i) {
      char key[32];
      snprintf(key, sizeof(key), "host-%05llu%016llu",
               static_cast<unsigned long long>(records % 1000),
               static_cast<unsigned long long>(records));
      value[0] = static_cast<char>(records);
      wb.Put(key, value);
      ++records;
    }
    const absl::Time before = absl::Now();
    s = db->Write(wo, &wb);
    latencies_us.push_back(absl::ToInt64Microseconds(absl::Now() - before));
    if (!s.ok()) {
      fprintf(stderr, "write: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty()
               ? 0.0
               : static_cast<double>(latencies_us[std::min(
                     latencies_us.size() - 1, static_cast<size_t>(p * latencies_us.size()))]) /
                     1000.0;
  };
  printf(
      "records=%llu seconds=%.2f records_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
      "max_ms=%.3f\n",
      static_cast<unsigned long long>(records), elapsed, static_cast<double>(records) / elapsed,
      pct(0.50), pct(0.99), pct(0.999), pct(1.0));
  db.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
