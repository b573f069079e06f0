// Recomputing a bundle's window summary offline: the records go into an
// in-memory store exactly as attestd stored them, and attestd's own engine
// judges them under the bundle's policy versions, approvals, exceptions and
// decommissions, at the moment the daemon computed its summary.
#ifndef ATTEST_CTL_BUNDLE_REPLAY_H_
#define ATTEST_CTL_BUNDLE_REPLAY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "common/json.h"
#include "common/json_view.h"
#include "daemon/engine/judge.h"
#include "daemon/store/memory_store.h"

namespace attest::ctl {

// An exported record (interchange format with chain fields) as attestd
// stores it; the caller checks that it serializes back to the same bytes.
absl::StatusOr<v1::EvidenceRecord> RecordFromInterchange(const Json& record);
// The same into `out`, which may live on an arena (verify's checked lines
// do), from a line read by either reader (JsonDoc: verify's fast path); on
// an error, `out` holds part of the record and is to be dropped.
absl::Status RecordFromInterchange(const Json& record, v1::EvidenceRecord* out);
absl::Status RecordFromInterchange(const JsonView& record, v1::EvidenceRecord* out);

// Loads a bundle's records into a store as attestd keeps them: Prepare,
// Add each record in chain order, then Finish. Records are serialized as
// they come, so memory holds them once; a bundle whose records exceed
// `memory_limit` bytes goes to a scratch RocksDB under `scratch_dir`
// (default $TMPDIR or /tmp) instead, removed again when this is destroyed.
class ReplayStore {
 public:
  static constexpr uint64_t kDefaultMemoryLimit = uint64_t{2} << 30;
  explicit ReplayStore(std::string scratch_dir = "", uint64_t memory_limit = kDefaultMemoryLimit);
  ~ReplayStore();
  ReplayStore(const ReplayStore&) = delete;
  ReplayStore& operator=(const ReplayStore&) = delete;

  // Before the first Add: the size of the records, to choose the store.
  absl::Status Prepare(uint64_t record_bytes);
  absl::Status Add(const v1::EvidenceRecord& record);
  // A host whose records here start after its hello (a window-sized
  // bundle's suffix): the labels it had there, from its signed head. A
  // hello among its records replaces them, as in attestd.
  void SetLabels(const std::string& host, const std::map<std::string, std::string>& labels);
  // `host`'s records so far are stored and visible to readers (the
  // engine may judge them while later hosts are still being added).
  absl::Status EndHost(const std::string& host);
  // Every host's records are stored and visible.
  absl::Status Finish();
  // The hosts added so far.
  std::vector<std::string> Hosts() const;
  store::Store& store() { return *store_; }
  // Where the scratch store is ("" when in memory).
  const std::string& scratch() const { return scratch_; }

 private:
  absl::Status Flush();

  const std::string scratch_dir_;
  const uint64_t memory_limit_;
  std::string scratch_;
  std::unique_ptr<store::Store> store_;
  store::WriteBatch batch_;
  size_t batched_ = 0;
  std::map<std::string, v1::HostState> hosts_;
};

// The populations of a bundle's access review campaigns (reviews.jsonl),
// by campaign id, as attestd stored them.
struct ReviewPopulation {
  std::vector<v1::ReviewHost> hosts;
  std::vector<v1::ReviewEntry> entries;
};
using ReviewPopulations = std::map<std::string, ReviewPopulation>;

// Recomputes the window summary attestd's engine computes from the records
// under the manifest's policies, approvals, exceptions and decommissions,
// at the moment the manifest's summary was computed.
//
// Begin starts the engine on `records` with the policy versions and the
// window. Hosts whose records are stored (EndHost) can then be judged on
// the engine's thread while later records are still being checked, so the
// replay overlaps the per-line checks. Finish applies what people did
// (approvals, exceptions, decommissions) in the order it was recorded and
// summarizes. `manifest` and `records` must outlive this.
class SummaryReplay {
 public:
  // `reviews` (may be null: none) holds the population of every campaign in
  // the manifest's review_campaigns, and must outlive this.
  SummaryReplay(const v1::BundleManifest& manifest, ReplayStore& records,
                const ReviewPopulations* reviews = nullptr);
  ~SummaryReplay();
  SummaryReplay(const SummaryReplay&) = delete;
  SummaryReplay& operator=(const SummaryReplay&) = delete;

  [[nodiscard]] absl::Status Begin();
  // `host`'s records are in the store (ReplayStore::EndHost): judge them.
  void HostReady(const std::string& host);
  // After ReplayStore::Finish.
  absl::StatusOr<v1::WindowSummary> Finish();
  // After Finish: the FAIL runs in progress at the window's start (begun
  // at or before it and not over), as host -> control -> when the run
  // began. A deviation keeps the cause its run began with, so a
  // window-sized bundle's suffix must fix each from the second before it
  // began (SuffixStartAt in ctl/bundle_suffix.h). A run the suffix begins
  // exactly at the window's start may have begun earlier in the whole
  // chain, so those are in too.
  using Runs = std::map<std::string, std::map<std::string, int64_t>>;
  const Runs& RunsAtWindowStart() const { return runs_at_start_; }
  // After Finish: the access review campaigns that held `host`, as the
  // engine judged them (with each revocation's confirmation).
  std::vector<engine::ReviewSpan> ReviewSpansOf(const std::string& host) const;

 private:
  struct Engine;
  // The ledger's policy versions, the window, then what people did, each
  // at the moment it was recorded, on the engine's thread, each part
  // judged once after its last step (Engine::Batch). Begin applies the
  // policies, the window, the approvals, the exceptions and the review
  // campaigns with their decisions, before any record; Finish the
  // decommissions (which name hosts the engine must hold).
  absl::Status ApplyBeforeRecords();
  absl::Status ApplyDecommissions();
  // After every record is indexed: DataLoss for an approval whose host did
  // not report its change first.
  absl::Status CheckApprovalHosts();
  const v1::BundleManifest& manifest_;
  ReplayStore& records_;
  const ReviewPopulations* reviews_;
  Runs runs_at_start_;
  std::map<std::string, std::vector<engine::ReviewSpan>> review_spans_;
  std::unique_ptr<Engine> engine_;
};

// Begin, then Finish: the whole replay once every record is stored.
absl::StatusOr<v1::WindowSummary> ReplaySummary(const v1::BundleManifest& manifest,
                                                ReplayStore& records,
                                                const ReviewPopulations* reviews = nullptr);

// OK when `got` has the figures of `expected`; DataLoss naming the first
// control and figure that differ otherwise.
absl::Status CompareSummaries(const v1::WindowSummary& expected, const v1::WindowSummary& got);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_REPLAY_H_
