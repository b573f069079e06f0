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

namespace attest::ctl {

// An exported record (interchange format with chain fields) as attestd
// stores it; the caller checks that it serializes back to the same bytes.
absl::StatusOr<v1::EvidenceRecord> RecordFromInterchange(const Json& record);

// `records`: each host's whole chain, in order.
absl::StatusOr<v1::WindowSummary> ReplaySummary(
    const v1::BundleManifest& manifest,
    std::map<std::string, std::vector<v1::EvidenceRecord>> records);

// OK when `got` has the figures of `expected`; DataLoss naming the first
// control and figure that differ otherwise.
absl::Status CompareSummaries(const v1::WindowSummary& expected, const v1::WindowSummary& got);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_REPLAY_H_
