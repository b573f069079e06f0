// How attestctl prints engine answers: the JSON shapes users script
// against (stable field names) and the human tables.
#ifndef ATTEST_CTL_REPORT_FORMAT_H_
#define ATTEST_CTL_REPORT_FORMAT_H_

#include <string>

#include "attest/v1/admin.pb.h"
#include "common/json.h"

namespace attest::ctl {

const char* StateName(v1::ControlState state);  // PASS, FAIL, NO_EVIDENCE, EXCEPTED

// {window, computed_at, evaluated_until, controls: [{id, title, tsc,
// effectiveness (null when undefined), coverage, seconds {pass, fail,
// no_evidence, excepted}, in_scope_seconds, hosts, deviations [{host,
// start, end, cause, seconds}], verdict, findings, policy_versions}],
// group_by, groups: [{value, controls}]}
Json SummaryJson(const v1::WindowSummary& summary);
std::string SummaryTable(const v1::WindowSummary& summary);
// RFC 4180 CSV: one row per control (and per group and control, with
// group_by), and the deviations, one row each.
std::string SummaryCsv(const v1::WindowSummary& summary);
std::string DeviationsCsv(const v1::WindowSummary& summary);

Json WindowJson(const v1::WindowDef& window);
Json ExceptionJson(const v1::Exception& exception);
Json IntervalJson(const v1::Interval& interval);
Json SampleJson(const v1::SampleResponse& sample);
// {window, control, n, seed, population, method, drawn_at, drawn_by,
// items: [{host, day, seconds {pass, fail, no_evidence, excepted},
// evidence_records}]}
Json SampleDrawJson(const v1::SampleDraw& draw);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_REPORT_FORMAT_H_
