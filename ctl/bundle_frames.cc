#include "ctl/bundle_frames.h"

// ZSTD_getFrameHeader, to refuse a frame by its header before reading it.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "common/strings.h"

namespace attest::ctl {
namespace {

struct FreeCCtx {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct FreeDCtx {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

absl::Status Bad(uint64_t number, uint64_t offset, std::string_view what) {
  return absl::DataLossError(StrCat(FrameName(number, offset), ": ", what));
}

}  // namespace

std::string FrameName(uint64_t number, uint64_t offset) {
  return StrCat(kCompressedRecordsEntry, " frame ", number, " (at byte ", offset, ")");
}

absl::StatusOr<std::string> CompressFrame(std::string_view lines, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, FreeCCtx> cctx(ZSTD_createCCtx());
  if (!cctx) return absl::ResourceExhaustedError("zstd: cannot allocate a compression context");
  ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
  for (auto [param, value] :
       {std::pair{ZSTD_c_compressionLevel, level}, std::pair{ZSTD_c_checksumFlag, 1},
        std::pair{ZSTD_c_contentSizeFlag, 1}}) {
    if (size_t r = ZSTD_CCtx_setParameter(cctx.get(), param, value); ZSTD_isError(r)) {
      return absl::InternalError(StrCat("zstd: ", ZSTD_getErrorName(r)));
    }
  }
  std::string out(ZSTD_compressBound(lines.size()), '\0');
  const size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), lines.data(), lines.size());
  if (ZSTD_isError(n)) return absl::InternalError(StrCat("zstd: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

void FrameSplitter::Fill(size_t want) {
  while (buf_.size() - pos_ < want && consumed_ < size_) {
    if (pos_ >= (size_t{8} << 20)) {  // drop what earlier frames took
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    const size_t need = want - (buf_.size() - pos_);
    const size_t chunk = static_cast<size_t>(
        std::min<uint64_t>(std::max<size_t>(need, size_t{1} << 20), size_ - consumed_));
    const size_t had = buf_.size();
    buf_.resize(had + chunk);
    const size_t got = read_(buf_.data() + had, chunk);
    buf_.resize(had + got);
    consumed_ += got;
    if (got == 0) break;  // a truncated archive: ReadTar says so
  }
}

absl::StatusOr<bool> FrameSplitter::Next(Frame* out) {
  Fill(ZSTD_FRAMEHEADERSIZE_MAX);
  size_t avail = buf_.size() - pos_;
  if (avail == 0) return false;
  const uint64_t number = ++number_;
  const uint64_t offset = offset_;
  const char* at = buf_.data() + pos_;
  ZSTD_frameHeader h;
  const size_t r = ZSTD_getFrameHeader(&h, at, avail);
  if (ZSTD_isError(r)) {
    return Bad(number, offset, StrCat("not a zstd frame (", ZSTD_getErrorName(r), ")"));
  }
  if (r > 0) return Bad(number, offset, "the entry ends inside its header");
  if (h.frameType == ZSTD_skippableFrame) {
    return Bad(number, offset, "a skippable frame; a bundle holds none");
  }
  if (h.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Bad(number, offset, "its header does not declare its decoded size");
  }
  if (h.frameContentSize == 0) return Bad(number, offset, "it is empty");
  if (h.frameContentSize > kMaxFrameContentBytes) {
    return Bad(number, offset,
               StrCat("it declares ", h.frameContentSize, " decoded bytes; at most ",
                      kMaxFrameContentBytes));
  }
  if (!h.checksumFlag) return Bad(number, offset, "it carries no content checksum");
  // No honest frame of that decoded size is longer than this.
  const size_t max_bytes = ZSTD_compressBound(h.frameContentSize) + ZSTD_FRAMEHEADERSIZE_MAX + 4;
  size_t want = std::min<size_t>(max_bytes, size_t{64} << 10);
  for (;;) {
    Fill(want);
    avail = buf_.size() - pos_;
    at = buf_.data() + pos_;
    const size_t n = ZSTD_findFrameCompressedSize(at, avail);
    if (!ZSTD_isError(n)) {
      if (n > max_bytes) {
        return Bad(number, offset,
                   StrCat("it is longer than a frame of ", h.frameContentSize, " bytes can be"));
      }
      out->number = number;
      out->offset = offset;
      out->content_bytes = h.frameContentSize;
      out->bytes.assign(at, n);
      pos_ += n;
      offset_ += n;
      return true;
    }
    if (ZSTD_getErrorCode(n) != ZSTD_error_srcSize_wrong) {
      return Bad(number, offset, ZSTD_getErrorName(n));
    }
    if (avail >= max_bytes) {
      return Bad(number, offset,
                 StrCat("it is longer than a frame of ", h.frameContentSize, " bytes can be"));
    }
    if (avail < want) return Bad(number, offset, "the entry ends inside it");
    want = std::min(max_bytes, want * 2);
  }
}

absl::StatusOr<std::string> DecodeFrame(const Frame& frame) {
  // Contexts are reused across threads: verify decodes each frame on a
  // thread of its own, and making a context per frame cost 1% of its CPU.
  static std::mutex pool_mu;
  static std::vector<std::unique_ptr<ZSTD_DCtx, FreeDCtx>> pool;
  std::unique_ptr<ZSTD_DCtx, FreeDCtx> dctx;
  {
    std::lock_guard lock(pool_mu);
    if (!pool.empty()) {
      dctx = std::move(pool.back());
      pool.pop_back();
    }
  }
  if (!dctx) dctx.reset(ZSTD_createDCtx());
  if (!dctx) return absl::ResourceExhaustedError("zstd: cannot allocate a decompression context");
  struct Return {
    std::unique_ptr<ZSTD_DCtx, FreeDCtx>& dctx;
    ~Return() {
      std::lock_guard lock(pool_mu);
      pool.push_back(std::move(dctx));
    }
  } give_back{dctx};
  std::string text(frame.content_bytes, '\0');
  const size_t n = ZSTD_decompressDCtx(dctx.get(), text.data(), text.size(), frame.bytes.data(),
                                       frame.bytes.size());
  if (ZSTD_isError(n)) {
    switch (ZSTD_getErrorCode(n)) {
      case ZSTD_error_checksum_wrong:
        return Bad(frame.number, frame.offset,
                   "what it decodes to does not match its checksum (the frame is damaged)");
      case ZSTD_error_dstSize_tooSmall:
        return Bad(frame.number, frame.offset,
                   StrCat("it decodes to more than the ", frame.content_bytes,
                          " bytes its header declares"));
      default:
        return Bad(frame.number, frame.offset, StrCat("corrupt: ", ZSTD_getErrorName(n)));
    }
  }
  if (n != frame.content_bytes) {
    return Bad(frame.number, frame.offset,
               StrCat("it decodes to ", n, " bytes, not the ", frame.content_bytes,
                      " its header declares"));
  }
  if (text.back() != '\n') {
    return Bad(frame.number, frame.offset,
               "it does not end at the end of a line (a frame holds whole lines)");
  }
  return text;
}

absl::StatusOr<std::string> DecodeFrames(std::string_view entry) {
  size_t at = 0;
  const TarChunkReader read = [&](char* buf, size_t cap) {
    const size_t n = std::min(cap, entry.size() - at);
    std::copy_n(entry.data() + at, n, buf);
    at += n;
    return n;
  };
  FrameSplitter frames(read, entry.size());
  std::string out;
  Frame frame;
  for (;;) {
    absl::StatusOr<bool> more = frames.Next(&frame);
    if (!more.ok()) return more.status();
    if (!*more) return out;
    auto text = DecodeFrame(frame);
    if (!text.ok()) return text.status();
    out += *text;
  }
}

}  // namespace attest::ctl
