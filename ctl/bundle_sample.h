// Sampled bundles (docs/bundle.md, "Sampled bundles"): an auditor's
// recorded sample, proven item by item. For each sampled host-day the
// bundle holds the host's records between two signed heads (the last
// checkpoint made before the day began and the first made after it ended)
// and each head's Merkle audit path into its checkpoint state, so that
// verifying costs the sample's records, not the fleet's.
#ifndef ATTEST_CTL_BUNDLE_SAMPLE_H_
#define ATTEST_CTL_BUNDLE_SAMPLE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/bundle.h"
#include "ctl/bundle_log.h"

namespace attest::ctl {

inline constexpr char kSampleBundleFormat[] = "attest-sample-v1";
// A sampled bundle whose states may be attest-state-v2 (as attest-bundle-v4).
inline constexpr char kSampleBundleFormatV2[] = "attest-sample-v2";

// A sampled bundle whose ledger may name a policy version's judgement (as
// attest-bundle-v6); export writes it whenever the ledger does.
inline constexpr char kSampleBundleFormatV3[] = "attest-sample-v3";

// Whether `format` is a sampled bundle's this attestctl reads.
inline bool SampleFormat(const std::string& format) {
  return format == kSampleBundleFormat || format == kSampleBundleFormatV2 ||
         format == kSampleBundleFormatV3;
}
// Verify reads sample.jsonl and records.jsonl of a sampled bundle whole,
// up to these sizes.
inline constexpr uint64_t kMaxSampleItemsBytes = uint64_t{64} << 20;
inline constexpr uint64_t kMaxSampleRecordsBytes = uint64_t{1} << 30;
// What verify reads of each entry of a sampled bundle, at most, by name:
// an entry over its bound is refused, and export never writes one.
const std::map<std::string, uint64_t>& SampledBundleBounds();

// Writes the sampled bundle of draw `number` (from 1, in the order
// `attestctl samples --window` lists them) of `window` to `out`.
absl::Status ExportSampleBundle(v1::AdminService::Stub& admin, const std::string& window,
                                uint64_t number, const std::string& out,
                                const ExportOptions& options);

// Verifies a sampled bundle (VerifyBundle calls this for its format);
// `sample_lines` of the result say what each item shows.
absl::StatusOr<VerifyResult> VerifySampleBundle(const std::string& path,
                                                const VerifyOptions& options);

// What verify says of an item's completeness: "complete: …" when every
// record received before checkpoint `from` (0: the chain starts in the item)
// precedes the day starting at `day` (with witness keys, by `from`'s
// cosignature time in `log`), and checkpoint `to` was made at least
// options.late_after after the day's end (by attestd's clock); otherwise
// "not proven complete: …", naming the side that falls short.
std::string SampleItemCompleteness(uint64_t from, uint64_t to, absl::Time day,
                                   const std::vector<State>& states, const LogCheck& log,
                                   const VerifyOptions& options);

// Shared by export and verify: the start of day "YYYY-MM-DD" (UTC), and
// the `number`-th sample draw of `window` in the ledger (null: none).
absl::StatusOr<absl::Time> SampleDayStart(const std::string& day);
const v1::LedgerEntry* FindSampleDraw(const std::vector<v1::LedgerEntry>& ledger,
                                      const std::string& window, uint64_t number);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_SAMPLE_H_
