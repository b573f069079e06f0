// Window-sized bundles (format 5; docs/bundle.md, "Window-sized bundles"):
// which signed state each in-scope host's records start at (the exporter),
// and the check of those starts (the verifier, and the exporter on its own
// pick before it writes). Both check with CheckStarts, on the records a
// bundle carries, loaded and replayed the way verify loads and replays
// them, so an export the exporter accepts is one verify accepts.
#ifndef ATTEST_CTL_BUNDLE_WINDOW_H_
#define ATTEST_CTL_BUNDLE_WINDOW_H_

#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/admin.grpc.pb.h"
#include "ctl/bundle_replay.h"

namespace attest::ctl {

// When each state of the log existed at the latest, by the cosignatures of
// `witnesses` (names): a state counts as cosigned when every one of them
// cosigned its note (at the latest of their times), and it existed by the
// earliest such time over it and every later state (a later state's tree
// holds it), never before its own created_at; with no witnesses, by its
// created_at (attestd's word); with none cosigned by all of them from it
// on, INT64_MAX (it cannot start a host). `leaves` are the log's states
// 1..N in order, each with its note; signatures are not verified here.
// verify computes the same from the witness keys it is given: an auditor
// who names some of attestd's witnesses gets a time no later than this, and
// judges the rule with the exporter's time (BundleHost.start_existed).
std::vector<int64_t> ExistedBy(const std::vector<v1::Checkpoint>& leaves,
                               const std::vector<std::string>& witnesses);

// How far before the window the exporter looks for a host's start state
// (the cost of the pick grows with it).
inline constexpr absl::Duration kMaxLookBack = absl::Hours(24 * 92);

// Where a host's records start in a window-sized bundle.
struct HostStart {
  uint64_t first_index = 1;                   // 1: the whole chain
  int64_t signed_by = 0;                      // when S existed at the latest (ExistedBy)
  uint64_t sequence = 0;                      // S
  std::map<std::string, std::string> labels;  // S's head labels
};

// The rule for each host starting after record 1 (docs/bundle.md, "The
// rule"): `records` hold the bundle's records as verify loads them (each
// such host's carried access changes, then its records from first_index),
// and `replay` has finished over them (its runs at the window's start and
// review campaigns are the rule's inputs). `decisions` is the manifest with
// its decision lists from the ledger. Per host, OK or DataLoss naming why.
std::map<std::string, absl::Status> CheckStarts(const v1::BundleManifest& decisions,
                                                ReplayStore& records, const SummaryReplay& replay,
                                                const std::map<std::string, HostStart>& starts);

// A review campaign's population of a host, as the bundle's ledger and
// reviews.jsonl give it.
struct CampaignSnapshot {
  std::string campaign;
  uint64_t ledger_index = 0;    // the campaign's ledger entry
  uint64_t snapshot_index = 0;  // the record its entries came from (0: none)
};

// A host starting at record `first_index` of state S, whose ledger ends at
// `ledger_length`: a campaign recorded after S that took its population
// from a record before first_index could leave out an entry unchecked, so
// such a start is refused (FailedPrecondition). A campaign recorded by S
// is checked against its snapshot by every bundle of a window that starts
// before S, as S's access-change commitment is.
absl::Status SnapshotsCovered(uint64_t first_index, uint64_t ledger_length,
                              const std::vector<CampaignSnapshot>& campaigns);

// How far before the window the exporter's pick first replays each host
// from (PickWindowStarts): a week and a day, then kMaxLookBack, then the
// whole chain.
inline constexpr absl::Duration kPickReplayBack[] = {absl::Hours(24 * 8), kMaxLookBack};

// How the pick's hosts were replayed: from_state[i] hosts from a state
// within replay_back[i] of the window, whole_chains from record 1.
struct PickTally {
  std::vector<size_t> from_state;
  size_t whole_chains = 0;
};

// The exporter's pick of every in-scope host's start. `whole` holds every
// in-scope host's whole chain up to the export's checkpoint; `decisions` is
// the manifest with its decision lists from the ledger and attestd's
// summary; `leaves` every state of the log (ListCheckpoints with
// leaves_only); `witnesses` the names of attestd's witnesses; `snapshots`
// per host its campaigns' populations. The heads of the states made early
// enough are fetched from `admin`. The rule's inputs (the runs in progress
// at the window's start, the review campaigns) come from replaying each
// host from a usable state `replay_back[0]` before the window, and, for a
// host the rule refuses there, from the next, and last from its whole
// chain (an empty `replay_back`: every host from its whole chain); `tally`
// (may be null) gets how many took each. The pick is then checked as
// verify checks it, on the suffixes replayed alone: a host that check
// refuses is carried whole, and when the suffixes do not reproduce
// attestd's summary every host is (DataLoss when the whole chains do not
// either).
absl::StatusOr<std::map<std::string, HostStart>> PickWindowStarts(
    v1::AdminService::Stub& admin, const v1::BundleManifest& decisions, ReplayStore& whole,
    const ReviewPopulations& populations, const std::vector<v1::Checkpoint>& leaves,
    const std::vector<std::string>& witnesses,
    const std::map<std::string, std::vector<CampaignSnapshot>>& snapshots,
    std::span<const absl::Duration> replay_back, PickTally* tally);

// Loads `host`'s part of a window-sized bundle into `into` as verify does:
// its labels at S and its access changes before `first_index`, then its
// records from there, read from `whole` (every record of the host).
absl::Status LoadSuffix(ReplayStore& whole, const std::string& host, const HostStart& start,
                        ReplayStore& into);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_WINDOW_H_
