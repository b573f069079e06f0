// Audit windows: the window summary an auditor reads, the auditor's sample
// of host-days, and a host's timeline. All read the engine's rollups and
// day records; none reads raw signals except the sample's evidence.
#ifndef ATTEST_DAEMON_WINDOWS_SUMMARY_H_
#define ATTEST_DAEMON_WINDOWS_SUMMARY_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/admin.pb.h"
#include "daemon/engine/engine.h"
#include "daemon/store/store.h"
#include "daemon/windows/verdict.h"

namespace attest::windows {

// The window's figures per control of the current policy, over the time
// each host was in scope, up to min(window end, now). Full days come from
// the per-window daily aggregates (O(days x controls) reads); only a day
// still in progress reads per-host records. With group_by, the same per
// value of that label (this part reads per-host records).
// NotFound: no such window. FailedPrecondition: no policy loaded.
absl::StatusOr<v1::WindowSummary> Summarize(const engine::EngineState& state, store::Store& store,
                                            absl::Time now, const v1::SummarizeRequest& request);

// The sample size audit guidance gives for a population of host-days:
// all of them up to 5, 5 up to 50, 10% (rounded up) up to 250, and 25
// above. A SampleRequest with n = 0 draws this many.
uint32_t GuidanceSampleSize(uint64_t population);

// A reproducible random sample of n in-scope host-days of one control,
// each with the day's intervals and the evidence records behind them. The
// same (window, control, n, seed) and evidence always give the same items.
absl::StatusOr<v1::SampleResponse> DrawSample(const engine::EngineState& state, store::Store& store,
                                              absl::Time now, const v1::SampleRequest& request);

// The record of a draw: the sample's items without their evidence, with
// who drew it and when.
v1::SampleDraw RecordOfDraw(const v1::SampleResponse& sample, const v1::SampleRequest& request,
                            absl::Time drawn_at, const std::string& drawn_by);

// One host's intervals for one control within [from, to), merged across
// days.
absl::StatusOr<v1::TimelineResponse> Timeline(store::Store& store,
                                              const v1::TimelineRequest& request);

}  // namespace attest::windows

#endif  // ATTEST_DAEMON_WINDOWS_SUMMARY_H_
