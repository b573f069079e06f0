// The fleet and each host now, from the engine's per-host views: which
// hosts report, each control's state on each host, pending security
// updates, active exceptions. `attestctl status`, `attestctl hosts show`
// and the compliance metrics all read these.
#ifndef ATTEST_DAEMON_WINDOWS_NOW_H_
#define ATTEST_DAEMON_WINDOWS_NOW_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/admin.pb.h"
#include "daemon/engine/engine.h"
#include "daemon/store/store.h"

namespace attest::windows {

// A host whose last evidence is older than this counts as stale.
inline constexpr absl::Duration kStaleAfter = absl::Minutes(15);
// How far `DescribeHost` looks back for when a control's state began.
inline constexpr uint32_t kSinceLookbackDays = 30;

// Enrolled (has evidence) and not decommissioned at `now`.
bool InService(const v1::EngineHost& host, int64_t now);
// "reporting", "stale", "never_seen" or "decommissioned".
std::string_view ReportingStatus(const v1::EngineHost& host, int64_t now);
// The interval of `control` covering `now` in the host's view, or null
// (no evidence).
const v1::Interval* IntervalNow(const engine::HostView* view, const std::string& control,
                                int64_t now);
v1::ControlState StateNow(const engine::HostView* view, const std::string& control, int64_t now);

// Every in-service host's state now per control of `policy` (aligned with
// policy.controls).
using StatesNow = std::map<std::string, std::vector<v1::ControlState>>;
StatesNow ComputeStatesNow(const engine::EngineState& state, const engine::Policy& policy,
                           int64_t now);

// The fleet now, without open windows' figures (the caller adds those) or
// the latest checkpoint. Controls are empty when no policy is loaded.
v1::FleetStatus FleetStatusNow(const engine::EngineState& state, absl::Time now,
                               uint32_t max_failing_hosts);

// One host now. Reads the host's day records of the last
// kSinceLookbackDays to say since when each state holds. NotFound: the
// engine has never heard of the host.
absl::StatusOr<v1::HostDetail> DescribeHost(const engine::EngineState& state, store::Store& store,
                                            absl::Time now, const std::string& host);

}  // namespace attest::windows

#endif  // ATTEST_DAEMON_WINDOWS_NOW_H_
