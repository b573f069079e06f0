// Stateless validation of what agents send. Everything here is a pure
// function of the message (and the daemon's clock reading), so it can be
// tested with hand-built messages and fuzzed. Sequencing (duplicates, gaps)
// is the committer's job, not this file's.
#ifndef ATTEST_DAEMON_INGEST_VALIDATE_H_
#define ATTEST_DAEMON_INGEST_VALIDATE_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attest/v1/agent.pb.h"

namespace attest::ingest {

struct Limits {
  size_t max_signals_per_batch = 1000;
  size_t max_string_bytes = 4096;
  size_t max_diff_bytes = 64 * 1024;
  size_t max_pending_updates = 20000;
  size_t max_snapshot_entries = 100000;
  size_t max_labels = 64;
  // How far any time an agent sends may be ahead of the daemon's clock
  // (agent skew).
  absl::Duration max_future_skew = absl::Minutes(5);
  // How far observed_at (and a hello's sent_at) may be behind the daemon's
  // clock (attestd --max-evidence-age). Zero: no limit but 2000-01-01,
  // which every time must be after anyway.
  absl::Duration max_evidence_age = absl::ZeroDuration();
};

// The highest seq accepted: 2^53 - 1, so that every seq is exact in any
// JSON reader of the interchange format and bundles.
inline constexpr uint64_t kMaxSeq = (uint64_t{1} << 53) - 1;

// Host ids: 1-253 characters of [A-Za-z0-9._-]. They are store keys and
// appear in certificates, so nothing else is allowed.
bool IsValidHostId(std::string_view id);

// InvalidArgument naming the field, or OK. `now` bounds sent_at as it
// bounds a signal's observed_at: the hello record is dated by it.
[[nodiscard]] absl::Status ValidateHello(const v1::Hello& hello, absl::Time now,
                                         const Limits& limits);

// Checks every signal of a batch: required fields, known enum values
// (UNSPECIFIED is rejected), sizes and counts, 1 <= seq <= kMaxSeq and
// strictly increasing, and every timestamp in [now - max_evidence_age,
// now + max_future_skew] (log_shipping.last_delivery: after 2000-01-01). InvalidArgument
// names the signal by position and seq.
[[nodiscard]] absl::Status ValidateBatch(const v1::SignalBatch& batch, absl::Time now,
                                         const Limits& limits);

// When ValidateBatch refused a batch because of one signal that will never
// be accepted, that signal's seq. Not for a time ahead of `now` (the
// agent's clock is fast: the signal becomes acceptable as time passes), nor
// for seqs out of order (a fault of the batch, not of the signal). The
// agent stream sends it to the agent as the trailer kRefusedSeqTrailer, so
// the agent can leave the signal out and let a gap record its place.
std::optional<uint64_t> RefusedSeq(const absl::Status& status);
inline constexpr char kRefusedSeqTrailer[] = "attest-refused-seq";

// The same checks for one signal (used by batch validation and by import).
[[nodiscard]] absl::Status ValidateSignal(const v1::Signal& signal, absl::Time now,
                                          const Limits& limits);

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_VALIDATE_H_
