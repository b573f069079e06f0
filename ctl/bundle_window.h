// The exporter's half of a window-sized bundle (format 5; docs/bundle.md,
// "Window-sized bundles"): which signed state each in-scope host's records
// start at. The verifier's half is in ctl/bundle.cc (CheckSuffixes); both
// call SuffixStartAt (ctl/bundle_suffix.h) with the same inputs, made from
// the same records and the same ledger.
#ifndef ATTEST_CTL_BUNDLE_WINDOW_H_
#define ATTEST_CTL_BUNDLE_WINDOW_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.grpc.pb.h"
#include "ctl/bundle_replay.h"

namespace attest::ctl {

// When each state of the log existed at the latest, from its note's
// cosignatures (every witness's, keys unchecked): the earliest of the
// latest cosignature times of it and of every later state (a later state's
// tree holds it), and never before its own created_at. A state no later
// state's note is cosigned on has its created_at. `leaves` are the log's
// states 1..N in order, each with its note. The verifier computes the same
// from the cosignatures of the witnesses it trusts, which are no later.
std::vector<int64_t> ExistedBy(const std::vector<v1::Checkpoint>& leaves);

struct WindowStarts {
  // Per in-scope host: its first record in the bundle (1: the whole chain).
  std::map<std::string, uint64_t> first_index;
  // The earliest state whose heads the bundle must carry (S of a host that
  // starts after record 1); 0: none does.
  uint64_t first_state = 0;
};

// Picks each host's start. `whole` holds every in-scope host's whole chain
// up to the export's checkpoint; `decisions` is the manifest with its
// decision lists filled from the ledger (DecisionsFromLedger) and attestd's
// summary, which the replay of `whole` must reproduce. `leaves` are every
// state of the log (ListCheckpoints with leaves_only); the heads of the
// states made early enough are fetched from `admin`.
absl::StatusOr<WindowStarts> PickWindowStarts(v1::AdminService::Stub& admin,
                                              const v1::BundleManifest& decisions,
                                              ReplayStore& whole,
                                              const ReviewPopulations& populations,
                                              const std::vector<v1::Checkpoint>& leaves);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_WINDOW_H_
