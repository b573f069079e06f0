// What format 2 of a bundle adds to its records (docs/bundle.md): the
// decision ledger (ledger.jsonl) and the log of checkpoint states
// (states.jsonl) with the signed notes of the checkpoints, so that every
// part of the verdict follows from attestd's signed log and, with witness
// keys, from checkpoints that parties outside the operator cosigned.
#ifndef ATTEST_CTL_BUNDLE_LOG_H_
#define ATTEST_CTL_BUNDLE_LOG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/admin.pb.h"
#include "daemon/evidence/note.h"

namespace attest::ctl {

// Bounds on what verify reads of these files (docs/bad-input.md).
inline constexpr uint64_t kMaxLedgerBytes = uint64_t{1} << 30;
// reviews.jsonl: access review populations (at most this, read whole).
inline constexpr uint64_t kMaxReviewsBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxStatesBytes = uint64_t{4} << 30;
// access-changes.jsonl (format 5): the earlier access changes of the hosts
// a window-sized bundle starts after record 1.
inline constexpr char kCarriedEntry[] = "access-changes.jsonl";
inline constexpr uint64_t kMaxCarriedBytes = uint64_t{1} << 30;
// manifest.json, read whole: a manifest is far smaller.
inline constexpr uint64_t kMaxManifestBytes = uint64_t{256} << 20;
// The bounds above by entry name, for a whole bundle (records.jsonl is read
// a line at a time; its bound is per line). Verify refuses an entry over
// its bound at once, and export never writes one (TarWriter::SetBounds).
const std::map<std::string, uint64_t>& WholeBundleBounds();

// One line of states.jsonl, as exported: the state leaf of checkpoint
// `c`, and, when `full`, its heads and its signed note.
std::string StatesLine(const v1::Checkpoint& c, bool full);

// A head of a checkpoint state, as the bundle's states carry it.
struct StateHead {
  uint64_t length = 0;
  std::string hash;  // 32 bytes
  std::map<std::string, std::string> labels;
  // attest-state-v2: the access-change commitment at the head.
  bool has_access = false;
  uint64_t access_changes = 0;
  std::string access_changes_hash;  // 32 bytes
};

struct State {
  uint64_t sequence = 0;
  absl::Time created_at;
  std::string format;      // attest-state-v0, -v1 or -v2
  std::string leaf_hash;   // merkle leaf hash of the state's canonical JSON
  std::string heads_root;  // 32 bytes
  uint64_t hosts = 0;
  uint64_t ledger_length = 0;
  std::string ledger_head;
  bool full = false;  // heads and note present (note may be alone: ParseStates)
  std::map<std::string, StateHead> heads;
  std::string note;
};

// Parses states.jsonl: one state per line, sequences 1..N in order, each
// full state's heads matching its heads root and its note's text naming
// that sequence as the tree size. With `note_without_heads` (a sampled
// bundle) a state may carry its note alone. DataLoss names the line.
absl::StatusOr<std::vector<State>> ParseStates(std::string_view text,
                                               bool note_without_heads = false);

// Parses ledger.jsonl and checks its chain from genesis (canonical lines,
// consecutive indexes, links, hashes). DataLoss names the line.
absl::StatusOr<std::vector<v1::LedgerEntry>> ParseLedger(std::string_view text);

// Whether a policy version in `ledger` names its judgement
// (PolicyVersion.judge): such a ledger goes only into attest-bundle-v6 and
// attest-sample-v3, which every older reader refuses by their format.
bool LedgerNamesJudgement(const std::vector<v1::LedgerEntry>& ledger);

// Refuses a ledger that names a judgement in a bundle of a format from
// before judgements were numbered: such a bundle was relabelled, or made
// by a broken exporter. `named`: whether `format` may name one. Otherwise
// returns the judgements the ledger's policy versions are judged under,
// for people: "1 until 2026-01-05T12:00:00Z, then 2" ("" when none names
// one).
absl::StatusOr<std::string> CheckJudgements(const std::vector<v1::LedgerEntry>& ledger,
                                            std::string_view format, bool named);

// The ledger must be exactly the one `state` commits to (its length and
// its last hash). DataLoss says what differs.
absl::Status CheckLedgerCommitted(const std::vector<v1::LedgerEntry>& ledger, const State& state);

// What the bundle's log proves, checked against the keys the auditor
// trusts.
struct LogCheck {
  std::string origin;
  uint64_t size = 0;
  // Per witness key name: the time of its cosignature on the final
  // checkpoint.
  std::map<std::string, uint64_t> cosigned_at;
  // When each state was committed, as far as the trusted keys prove it:
  // with witness keys, the latest of their cosignature times on that
  // state's note (InfiniteFuture when one of them did not cosign it);
  // without, the state's own created_at (attestd's word).
  std::vector<absl::Time> committed_at;
};

// Checks the note of the last state (the bundle's checkpoint) against the
// log key (from the PEM and the note's origin) and every witness key; the
// tree of `states` against the note's root; and each known checkpoint
// (signed by the same log key) against the states' tree at its size.
absl::StatusOr<LogCheck> CheckLog(const std::vector<State>& states,
                                  const std::string& log_pubkey_pem,
                                  const std::vector<evidence::note::VerifierKey>& witnesses,
                                  const std::vector<std::string>& known_checkpoints);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_LOG_H_
