// The period-coverage report with a large fleet (issue 6): attestctl's own
// report code against attestd's AdminService over loopback gRPC, as
// `attestctl report --window W --format html|json` runs it.
#ifndef ATTEST_BENCH_REPORT_BENCH_H_
#define ATTEST_BENCH_REPORT_BENCH_H_

#include <string>

#include "common/clock.h"
#include "daemon/engine/engine.h"
#include "daemon/store/store.h"

namespace attest::bench {

// Prints report_html_ms (median over `runs`: summary with daily figures,
// exceptions, approvals, samples, checkpoints, the page written to a file
// under `dir`), report_html_bytes, and report_json_ms (the plain JSON
// report of the same window through the same path: the baseline). Returns
// false on a failure (printed).
bool MeasureReport(engine::Engine& engine, store::Store& store, const Clock& clock,
                   const std::string& window, const std::string& dir, int runs);

}  // namespace attest::bench

#endif  // ATTEST_BENCH_REPORT_BENCH_H_
