// Recomputing a bundle's window summary offline: the records go into an
// in-memory store exactly as attestd stored them, and attestd's own engine
// judges them under the bundle's policy versions, approvals, exceptions and
// decommissions, at the moment the daemon computed its summary.
#ifndef ATTEST_CTL_BUNDLE_REPLAY_H_
#define ATTEST_CTL_BUNDLE_REPLAY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "common/json.h"
#include "daemon/store/memory_store.h"

namespace attest::ctl {

// An exported record (interchange format with chain fields) as attestd
// stores it; the caller checks that it serializes back to the same bytes.
absl::StatusOr<v1::EvidenceRecord> RecordFromInterchange(const Json& record);

// Loads a bundle's records into a store as attestd keeps them: Add each
// record in chain order, then Finish. Records are serialized as they come,
// so memory holds them once.
class ReplayStore {
 public:
  absl::Status Add(const v1::EvidenceRecord& record);
  absl::Status Finish();
  store::MemoryStore& store() { return store_; }

 private:
  store::MemoryStore store_;
  store::WriteBatch batch_;
  size_t batched_ = 0;
  std::map<std::string, v1::HostState> hosts_;
};

// The window summary attestd's engine computes from `records` (finished)
// under the manifest's policies, approvals, exceptions and decommissions,
// at the moment the manifest's summary was computed.
absl::StatusOr<v1::WindowSummary> ReplaySummary(const v1::BundleManifest& manifest,
                                                ReplayStore& records);

// OK when `got` has the figures of `expected`; DataLoss naming the first
// control and figure that differ otherwise.
absl::Status CompareSummaries(const v1::WindowSummary& expected, const v1::WindowSummary& got);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_REPLAY_H_
