// records.jsonl.zst (docs/bundle.md, "records.jsonl.zst"): records.jsonl
// cut at line ends into zstd frames (RFC 8878) that each decode on their
// own, so that verify decodes and checks them on every core. Every frame
// declares its decoded size (at most kMaxFrameContentBytes, so a crafted
// frame cannot make verify allocate what it likes) and carries zstd's
// content checksum, so a damaged frame is named as such before its lines
// are read. The frames one after another are a valid zstd stream:
// `zstd -dc records.jsonl.zst` prints records.jsonl.
#ifndef ATTEST_CTL_BUNDLE_FRAMES_H_
#define ATTEST_CTL_BUNDLE_FRAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ctl/tar.h"

namespace attest::ctl {

inline constexpr char kRecordsEntry[] = "records.jsonl";
inline constexpr char kCompressedRecordsEntry[] = "records.jsonl.zst";

// The exporter ends a frame at the first line end at or after this many
// decoded bytes (a line longer than the rest of the frame goes whole).
inline constexpr size_t kFrameTargetBytes = size_t{4} << 20;
// Verify refuses a frame that declares more than this.
inline constexpr uint64_t kMaxFrameContentBytes = uint64_t{64} << 20;
// zstd level of export: measured on the simulator's fleet, 3 gives 57
// bytes per record against 55 at 12, in a sixth of the time.
inline constexpr int kExportZstdLevel = 3;

// One frame holding `lines` (whole lines), with its size and checksum.
absl::StatusOr<std::string> CompressFrame(std::string_view lines, int level = kExportZstdLevel);

struct Frame {
  uint64_t number = 0;  // from 1
  uint64_t offset = 0;  // of its first byte in the entry
  uint64_t content_bytes = 0;
  std::string bytes;
};

// Names a frame in errors: "records.jsonl.zst frame 3 (at byte 8391234)".
std::string FrameName(uint64_t number, uint64_t offset);

// Cuts the entry read through `read` (`size` bytes) into frames, checking
// each frame's header before reading its body.
class FrameSplitter {
 public:
  FrameSplitter(const TarChunkReader& read, uint64_t size) : read_(read), size_(size) {}
  // The next frame into `out`; false at the entry's end. DataLoss names the
  // frame that is not one attest writes, or the entry's end inside a frame.
  absl::StatusOr<bool> Next(Frame* out);

 private:
  // Reads until `want` bytes are buffered past pos_, or the entry ends.
  void Fill(size_t want);
  const TarChunkReader& read_;
  uint64_t size_ = 0;
  uint64_t consumed_ = 0;  // bytes of the entry read so far
  std::string buf_;
  size_t pos_ = 0;       // start of the next frame in buf_
  uint64_t offset_ = 0;  // of buf_[pos_] in the entry
  uint64_t number_ = 0;
};

// The lines a frame holds. DataLoss names the frame: corrupt, a checksum
// that does not match, a size other than declared, not ending at a line's
// end.
absl::StatusOr<std::string> DecodeFrame(const Frame& frame);

// Every frame of a whole records.jsonl.zst held in memory, decoded and
// joined: records.jsonl.
absl::StatusOr<std::string> DecodeFrames(std::string_view entry);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_FRAMES_H_
