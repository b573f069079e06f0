// The store the engine benchmark measures: a simulated fleet history
// imported through the real import path (validation, dedup, hash chain,
// group commit) into RocksDB and judged by the real engine, then widened to
// a large fleet by cloning the judged hosts.
#ifndef ATTEST_BENCH_ENGINE_WORLD_H_
#define ATTEST_BENCH_ENGINE_WORLD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attest/v1/admin.pb.h"
#include "daemon/engine/engine.h"
#include "daemon/ingest/committer.h"
#include "daemon/store/store.h"

namespace attest::bench {

// Copies what the window summary reads of each judged host `template`
// (its ingest host state, engine record, day records and deviations; not
// its evidence records, facts or observations) to new hosts, so that
// the engine's own window rebuild and summary code then see `count` more
// hosts with real judged histories. Clone k of the fleet is named
// "c<k>-<template>" and gets the label shard=s<(k / templates) % shards>.
absl::Status CloneHosts(store::Store& store, const std::vector<std::string>& templates, int count,
                        int shards);

// The sum over in-scope hosts of each control's seconds in [from, to),
// read from every host's day records: what a summary costs without the
// per-window daily aggregates (the benchmark's baseline), plus the
// deviation count the same way the summary finds them.
struct NaiveFigures {
  std::map<std::string, v1::StateSeconds> seconds;  // control -> seconds
  size_t deviations = 0;
};
absl::StatusOr<NaiveFigures> NaiveSummary(store::Store& store, const engine::EngineState& state,
                                          const v1::WindowDef& window, int64_t to);

}  // namespace attest::bench

#endif  // ATTEST_BENCH_ENGINE_WORLD_H_
