// Evidence bundles (docs/bundle.md): `attestctl export` writes a tar of
// manifest.json (BundleManifest as proto JSON), records.jsonl (every
// in-scope host's whole chain up to a signed checkpoint, in the evidence
// interchange format with links) and public-key.pem; `attestctl verify`
// checks one offline: chains, checkpoint root and signature, and the
// window summary recomputed from the records by attestd's own engine.
#ifndef ATTEST_CTL_BUNDLE_H_
#define ATTEST_CTL_BUNDLE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/admin.grpc.pb.h"
#include "daemon/evidence/note.h"

namespace attest::ctl {

// manifest.json's format: what export writes, and the older one verify
// still reads (docs/bundle.md, "Versions").
// Format 3 is format 2 whose records may be zstd frames
// (records.jsonl.zst); export writes format 2 when asked for plain records,
// so that every verifier of format 2 reads them. Format 4 is format 3 whose
// states may be attest-state-v2 (heads that commit to access changes):
// export writes it whenever one is. Every older reader refuses it, never
// reads it wrongly: a build made between attest-state-v2 and format 4 by
// its format, an older one at manifest.json (docs/bundle.md, "Which
// attestctl reads these states").
// Format 5 is format 4 whose hosts may start after record 1 (a
// window-sized bundle: docs/bundle.md); export writes it with
// --window-sized only.
// Format 6 is format 5 whose ledger may name a policy version's judgement
// (docs/design.md, "Judgements"): export writes it whenever the ledger
// does, whole or window-sized, compressed or not. Every older reader
// refuses it by its format, never recomputing it under the wrong judgement.
inline constexpr char kBundleFormatV6[] = "attest-bundle-v6";
inline constexpr char kBundleFormatV5[] = "attest-bundle-v5";
inline constexpr char kBundleFormatV4[] = "attest-bundle-v4";
inline constexpr char kBundleFormatV3[] = "attest-bundle-v3";
inline constexpr char kBundleFormat[] = "attest-bundle-v2";
inline constexpr char kBundleFormatV1[] = "attest-bundle-v1";

// What verify says of a manifest format it does not read (it never guesses).
absl::Status UnknownBundleFormat(std::string_view format);

struct ExportOptions {
  // How long to wait for attestd's witnesses to cosign the checkpoint.
  absl::Duration witness_wait = absl::Seconds(60);
  // records.jsonl.zst (format 3); false: records.jsonl (format 2).
  bool compress = true;
  // Format 5: each host's records from the latest signed state before the
  // window from which the records judge the window as the whole chain does
  // (docs/bundle.md, "Window-sized bundles").
  bool window_sized = false;
  // A sampled bundle's `to` head: the first checkpoint made this long past
  // the sampled day's end (verify's --late-after, whose default it is).
  absl::Duration late_after = absl::Hours(26);
};

// Export's reads of attestd's log, shared by whole and sampled bundles:
// checkpoints [from, to] (in pages of `limit`; `leaves_only`: without
// heads), and checkpoint `sequence` with its note after waiting up to
// `wait` for every witness attestd has to cosign it (stderr says which
// did not).
absl::Status ListCheckpointRange(v1::AdminService::Stub& admin, uint64_t from, uint64_t to,
                                 bool leaves_only, uint32_t limit,
                                 std::vector<v1::Checkpoint>* into);
absl::StatusOr<v1::Checkpoint> CosignedCheckpoint(v1::AdminService::Stub& admin, uint64_t sequence,
                                                  absl::Duration wait);

// Writes the bundle of `window` to `out`. Progress goes to stderr.
absl::Status ExportBundle(v1::AdminService::Stub& admin, const std::string& window,
                          const std::string& out, const ExportOptions& options = {});

struct VerifyResult {
  std::string format;  // attest-bundle-v1 to -v6, attest-sample-v1 to -v3
  size_t hosts = 0;
  size_t records = 0;
  std::string key_id;
  std::string summary;            // a line per control: id, verdict
  uint64_t record_bytes = 0;      // the size of records.jsonl (decoded)
  uint64_t compressed_bytes = 0;  // the size of records.jsonl.zst; 0: plain
  uint64_t frames = 0;            // zstd frames in records.jsonl.zst
  double check_seconds = 0;       // reading and checking the records and chains
  // Recomputing the summary with the engine after the checks: the hosts
  // it could not judge while the records streamed, then what people did.
  double replay_seconds = 0;
  bool replayed_from_disk = false;  // through a scratch RocksDB (VerifyOptions)
  // Format 2.
  std::string origin;                     // the log's name
  uint64_t checkpoint = 0;                // the bundle's checkpoint (the log's size)
  std::vector<std::string> witnessed_by;  // witness names whose cosignatures verified
  uint64_t in_window = 0;                 // records observed within the window
  uint64_t late = 0;           // of those, committed later than VerifyOptions::late_after
  uint64_t late_imported = 0;  // of the late ones, loaded with attestctl import
  absl::Duration max_late;     // the latest commitment after observation
  std::string max_late_host;
  uint64_t max_late_index = 0;
  uint64_t access_changes = 0;  // access-change records in the chains
  // Format 6 and attest-sample-v3: the judgements of the ledger's policy
  // versions, for people (CheckJudgements).
  std::string judgements;
  // Signed attest-state-v2 heads whose access-change commitment was
  // checked against the chain.
  uint64_t access_heads = 0;
  // Format 5: hosts whose records start at a signed state before the
  // window, and the earlier access-change records carried for them.
  uint64_t suffix_hosts = 0;
  uint64_t carried_records = 0;
  std::vector<std::string> warnings;  // what the checks could not establish
  // A sampled bundle (attest-sample-v1 or -v2): the window, the draw, and a line
  // per item saying what it shows.
  std::string sample_window;
  uint64_t sample_number = 0;
  uint64_t sample_draws = 0;  // the window's draws in the bundle's ledger
  std::vector<std::string> sample_lines;
};

struct VerifyOptions {
  std::string pubkey_pem;  // empty: trust the key in the bundle (and say so)
  // Format 2: witnesses whose cosignatures the bundle's checkpoint must
  // carry, and checkpoints the auditor kept (signed notes) that the
  // bundle's history must extend.
  std::vector<evidence::note::VerifierKey> witnesses;
  std::vector<std::string> known_checkpoints;
  // A record observed within the window and committed (cosigned, with
  // witness keys) more than late_after after it was observed is reported
  // as late. A live record first committed more than max_lateness after
  // the window's end fails: the window's evidence must have been committed
  // (and cosigned) during the window, give or take an agent's outage at
  // its end. Imported records are reported, never failed: they say so.
  absl::Duration late_after = absl::Hours(26);
  absl::Duration max_lateness = absl::Hours(7 * 24);
  // Records larger than this are replayed from a scratch RocksDB under
  // scratch_dir ($TMPDIR or /tmp when empty) instead of memory.
  uint64_t memory_limit = uint64_t{2} << 30;
  std::string scratch_dir;
  // Records are checked and linked a slice of at most this many lines (and
  // 8 MiB) at a time, whatever a frame's size; tests lower it.
  size_t slice_lines = 65536;
  // Non-zero: the bundle must be a sampled bundle of this draw (from 1) of
  // its window, as the auditor's own list of draws numbers them.
  uint64_t sample = 0;
};

// DataLoss naming the first bad record or part when the bundle does not
// verify; InvalidArgument when it cannot be read at all.
absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const VerifyOptions& options);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_H_
