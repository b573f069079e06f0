// records.jsonl.zst's frames (ctl/bundle_frames.h): any bytes are cut into
// frames and decoded, or refused with the frame named; never a crash, never
// more memory than a frame's bounded size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "ctl/bundle_frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t at = 0;
  const attest::ctl::TarChunkReader read = [&](char* buf, size_t cap) {
    const size_t n = std::min(cap, size - at);
    if (n > 0) memcpy(buf, data + at, n);
    at += n;
    return n;
  };
  attest::ctl::FrameSplitter frames(read, size);
  attest::ctl::Frame frame;
  for (;;) {
    auto more = frames.Next(&frame);
    if (!more.ok()) {
      if (more.status().message().find("records.jsonl.zst frame ") != 0) __builtin_trap();
      return 0;
    }
    if (!*more) return 0;
    auto text = attest::ctl::DecodeFrame(frame);
    if (!text.ok()) {
      if (text.status().message().find("records.jsonl.zst frame ") != 0) __builtin_trap();
      return 0;
    }
    if (text->size() != frame.content_bytes || text->back() != '\n') __builtin_trap();
  }
}
