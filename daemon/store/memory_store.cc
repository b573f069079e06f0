#include "daemon/store/memory_store.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace attest::store {

absl::StatusOr<std::string> MemoryStore::Get(Family f, std::string_view key) {
  std::lock_guard lock(mu_);
  if (closed_) return absl::FailedPreconditionError("store is closed");
  const auto& m = data_[static_cast<int>(f)];
  auto it = m.find(key);
  if (it == m.end()) return absl::NotFoundError("no such key");
  return it->second;
}

absl::Status MemoryStore::Write(const WriteBatch& batch, WriteOptions options) {
  // The store keeps copies of the strings either way. (Qualified: a
  // subclass's Write of a batch given up may call this one.)
  WriteBatch copy = batch;
  return MemoryStore::Write(std::move(copy), options);
}

absl::Status MemoryStore::Write(WriteBatch&& batch, WriteOptions options) {
  std::lock_guard lock(mu_);
  if (closed_) return absl::FailedPreconditionError("store is closed");
  if (!write_failure_.ok()) return write_failure_;
  for (auto& op : batch.mutable_ops()) {
    auto& m = data_[static_cast<int>(op.family)];
    if (op.is_delete) {
      m.erase(op.key);
    } else {
      m.insert_or_assign(std::move(op.key), std::move(op.value));
    }
  }
  batch.Clear();
  if (options.sync) ++synced_writes_;
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, std::string>> MemoryStore::Last(Family f,
                                                                      std::string_view begin,
                                                                      std::string_view end) {
  std::lock_guard lock(mu_);
  if (closed_) return absl::FailedPreconditionError("store is closed");
  const auto& m = data_[static_cast<int>(f)];
  auto it = m.lower_bound(end);
  if (it == m.begin()) return absl::NotFoundError("no key in the range");
  --it;
  if (std::string_view(it->first) < begin) return absl::NotFoundError("no key in the range");
  return *it;
}

absl::Status MemoryStore::Scan(Family f, std::string_view begin, std::string_view end,
                               const ScanVisitor& visit) {
  // Copies a chunk at a time, so that the visitor may call back into the
  // store and a scan that stops early does not copy the rest.
  // The chunk's strings are reused (assign keeps their capacity) from
  // chunk to chunk and from scan to scan, one chunk per depth of scans in
  // scans on this thread: a scan is a copy, not an allocation, per entry.
  // (A chunk per scan, grown again each time, was 3% of verify's CPU in
  // malloc, records larger than 1 KiB making glibc consolidate its free
  // lists.) Strings that grew past 64 KiB are given back after the scan.
  constexpr size_t kChunk = 256;
  using Chunk = std::vector<std::pair<std::string, std::string>>;
  thread_local std::vector<std::unique_ptr<Chunk>> chunks;
  thread_local size_t depth = 0;
  if (depth == chunks.size()) chunks.push_back(std::make_unique<Chunk>());
  struct Release {
    Chunk& chunk;
    size_t used = 0;  // the most entries a round of this scan filled
    ~Release() {
      --depth;
      for (size_t i = 0; i < used; ++i) {
        auto& [key, value] = chunk[i];
        if (value.capacity() > (64 << 10)) std::string().swap(value);
        if (key.capacity() > (64 << 10)) std::string().swap(key);
      }
    }
  } release{*chunks[depth++]};
  Chunk& chunk = release.chunk;
  std::string after;  // the last key visited
  for (bool first = true;; first = false) {
    size_t n = 0;
    {
      std::lock_guard lock(mu_);
      if (closed_) return absl::FailedPreconditionError("store is closed");
      const auto& m = data_[static_cast<int>(f)];
      auto it = first ? m.lower_bound(begin) : m.upper_bound(after);
      for (; it != m.end() && n < kChunk; ++it, ++n) {
        if (!end.empty() && std::string_view(it->first) >= end) break;
        if (n == chunk.size()) chunk.emplace_back();
        chunk[n].first.assign(it->first);
        chunk[n].second.assign(it->second);
      }
    }
    release.used = std::max(release.used, n);
    for (size_t i = 0; i < n; ++i) {
      if (!visit(chunk[i].first, chunk[i].second)) return absl::OkStatus();
    }
    if (n < kChunk) return absl::OkStatus();
    after = chunk[n - 1].first;
  }
}

absl::StatusOr<StoreStats> MemoryStore::Stats() {
  std::lock_guard lock(mu_);
  StoreStats stats;
  for (const auto& m : data_) {
    for (const auto& [k, v] : m) stats.live_bytes += k.size() + v.size();
  }
  return stats;
}

absl::Status MemoryStore::Close() {
  std::lock_guard lock(mu_);
  if (closed_) return absl::FailedPreconditionError("store is closed");
  closed_ = true;
  return absl::OkStatus();
}

void MemoryStore::FailWrites(absl::Status status) {
  std::lock_guard lock(mu_);
  write_failure_ = std::move(status);
}

int MemoryStore::synced_writes() const {
  std::lock_guard lock(mu_);
  return synced_writes_;
}

}  // namespace attest::store
