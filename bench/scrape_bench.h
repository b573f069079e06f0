// The /metrics scrape with a large fleet (issue 5): attestd's own
// collectors behind a real prometheus-cpp Exposer, scraped over HTTP.
#ifndef ATTEST_BENCH_SCRAPE_BENCH_H_
#define ATTEST_BENCH_SCRAPE_BENCH_H_

#include "common/clock.h"
#include "daemon/engine/engine.h"
#include "daemon/store/store.h"

namespace attest::bench {

// Prints scrape_ms (median), scrape_max_ms, scrape_busy_ms (slowest scrape
// while the compliance figures are being recomputed), refresh_ms (the
// recomputation itself: what a scrape would cost if it computed at scrape
// time) and scrape_bytes. Returns false on a failure (printed).
bool MeasureScrape(engine::Engine& engine, store::Store& store, const Clock& clock, int runs);

}  // namespace attest::bench

#endif  // ATTEST_BENCH_SCRAPE_BENCH_H_
