// The figures and verdict of a control summary from its seconds and
// deviations, and the merge of shard summaries (attestctl report --daemon A
// --daemon B). Proto-only, so attestctl uses the very code attestd uses.
#ifndef ATTEST_DAEMON_WINDOWS_VERDICT_H_
#define ATTEST_DAEMON_WINDOWS_VERDICT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"

namespace attest::windows {

inline constexpr char kOperatedEffectively[] = "operated effectively";
inline constexpr char kExceptionsNoted[] = "exceptions noted";

// Sets in-scope seconds, effectiveness, coverage, findings and the verdict
// of `cs` from its seconds and deviations (in (start, host) order) under
// the window's thresholds. Findings already there are replaced.
void FinishControl(v1::ControlSummary* cs, const v1::WindowThresholds& thresholds);

// One summary of a window from summaries of disjoint shards of the fleet
// (each host on exactly one daemon): seconds, hosts, daily figures and
// deviations add up,
// and the figures and verdict are recomputed, so the result equals what one
// daemon holding every host would say. InvalidArgument when the shards
// disagree on the window (id, bounds, scope, thresholds) or the grouping.
// An HA pair holds the same hosts twice: ask one of its daemons instead.
absl::StatusOr<v1::WindowSummary> MergeShardSummaries(const std::vector<v1::WindowSummary>& shards);

}  // namespace attest::windows

#endif  // ATTEST_DAEMON_WINDOWS_VERDICT_H_
