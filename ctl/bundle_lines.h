// The per-line half of verifying records.jsonl: everything about a line
// that does not depend on the lines before it (JSON, required fields, the
// record it holds, its hash over its own content given the prev_hash it
// claims, its canonical form). Lines are independent, so batches are
// checked on every core; the chain links are then checked in order, by the
// caller of CheckRecordLines, which reads records.jsonl (or its zstd
// frames) a batch at a time.
#ifndef ATTEST_CTL_BUNDLE_LINES_H_
#define ATTEST_CTL_BUNDLE_LINES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "attest/v1/evidence.pb.h"
#include "ctl/tar.h"
#include "google/protobuf/arena.h"

namespace attest::ctl {

// A record on an arena (freed with it), or one of its own.
struct RecordDeleter {
  void operator()(v1::EvidenceRecord* r) const {
    if (r->GetArena() == nullptr) delete r;
  }
};
using RecordPtr = std::unique_ptr<v1::EvidenceRecord, RecordDeleter>;

struct CheckedLine {
  // Set when the line cannot even name its record (bad JSON, missing
  // fields): reported as is.
  std::string unnamed_error;
  std::string host;
  uint64_t index = 0;
  std::string claimed_prev;  // decoded prev_hash; empty when it is not hex
  // The first problem with the record itself, reported after the chain
  // checks: its content, its hash, its form.
  std::string error;
  std::string hash;  // the verified hash (when `error` is empty)
  // Content only, without links (when both errors are empty).
  RecordPtr record;
};

// `arena`: where the record is made (it must outlive the CheckedLine), or
// null for one of its own.
CheckedLine CheckLine(std::string_view text, google::protobuf::Arena* arena = nullptr);

// CheckLine of each line into `out` (resized), on up to `threads` threads.
void CheckLines(const std::vector<std::string_view>& lines, unsigned threads,
                std::vector<CheckedLine>* out, google::protobuf::Arena* arena = nullptr);

// What CheckRecordLines read.
struct RecordLinesStats {
  uint64_t frames = 0;         // zstd frames
  uint64_t decoded_bytes = 0;  // their decoded bytes
};

// Takes each checked line, in order; an error stops the reading.
using LinkLine = std::function<absl::Status(CheckedLine&)>;

// Reads records.jsonl (`compressed`: records.jsonl.zst, a zstd frame at a
// time) of `size` bytes from `read`, checks its lines on every core, and
// hands them to `link` in order. Lines are checked a batch at a time and
// linked on this thread while the next batch is being checked, a slice of
// at most `slice_lines` lines at a time. DataLoss for a frame that does not
// decode (named), a plain line longer than kMaxFrameContentBytes (named by
// its byte offset) or a last line cut off.
absl::Status CheckRecordLines(const TarChunkReader& read, uint64_t size, bool compressed,
                              size_t slice_lines, const LinkLine& link, RecordLinesStats* stats);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_LINES_H_
