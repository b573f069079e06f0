// records.jsonl.zst's frames: what export writes decodes back, frame by
// frame, and every frame attest does not write is refused by name.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_contentSizeFlag off, for a frame without a size
#include "ctl/bundle_frames.h"

#include <zstd.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

// Every frame of `entry`, decoded one by one; the first error's message in
// `error`.
std::vector<std::string> Decode(const std::string& entry, std::string* error) {
  size_t at = 0;
  const TarChunkReader read = [&](char* buf, size_t cap) {
    const size_t n = std::min(cap, entry.size() - at);
    memcpy(buf, entry.data() + at, n);
    at += n;
    return n;
  };
  FrameSplitter frames(read, entry.size());
  std::vector<std::string> out;
  Frame f;
  for (;;) {
    auto more = frames.Next(&f);
    if (!more.ok()) {
      *error = std::string(more.status().message());
      return out;
    }
    if (!*more) return out;
    auto text = DecodeFrame(f);
    if (!text.ok()) {
      *error = std::string(text.status().message());
      return out;
    }
    out.push_back(*text);
  }
}

std::string Compressed(const std::string& lines) {
  auto f = CompressFrame(lines);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : "";
}

// A frame compressed with one parameter changed from export's.
std::string FrameWith(const std::string& lines, ZSTD_cParameter param, int value) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(c, param, value);
  std::string out(ZSTD_compressBound(lines.size()), '\0');
  out.resize(ZSTD_compress2(c, out.data(), out.size(), lines.data(), lines.size()));
  ZSTD_freeCCtx(c);
  return out;
}

const std::string kOne = "{\"host\":\"a\",\"index\":1}\n{\"host\":\"a\",\"index\":2}\n";
const std::string kTwo = "{\"host\":\"b\",\"index\":1}\n";

std::string ErrorOf(const std::string& entry) {
  std::string error;
  Decode(entry, &error);
  return error;
}

TEST(BundleFramesTest, FramesDecodeOneByOneAndAsOneZstdStream) {
  std::string error;
  const std::string entry = Compressed(kOne) + Compressed(kTwo);
  EXPECT_EQ(Decode(entry, &error), (std::vector<std::string>{kOne, kTwo}));
  EXPECT_EQ(error, "");
  // What `zstd -dc` does: the frames one after another are one stream.
  std::string all(kOne.size() + kTwo.size(), '\0');
  EXPECT_EQ(ZSTD_decompress(all.data(), all.size(), entry.data(), entry.size()), all.size());
  EXPECT_EQ(all, kOne + kTwo);
  EXPECT_EQ(*DecodeFrames(entry), kOne + kTwo);
  EXPECT_EQ(Decode("", &error).size(), 0u);
}

TEST(BundleFramesTest, EachBrokenFrameIsNamedByNumberAndOffset) {
  const std::string first = Compressed(kOne);
  const std::string second = Compressed(kTwo);
  const std::string where =
      "records.jsonl.zst frame 2 (at byte " + std::to_string(first.size()) + ")";
  auto expect = [&](const std::string& broken_second, const std::string& what) {
    const std::string e = ErrorOf(first + broken_second);
    EXPECT_NE(e.find(where), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  };
  std::string flipped = second;
  flipped[flipped.size() - 6] ^= 0x20;  // in the body
  const std::string e = ErrorOf(first + flipped);
  EXPECT_NE(e.find(where), std::string::npos) << e;

  std::string checksum = second;
  checksum.back() ^= 0x01;
  expect(checksum, "does not match its checksum");
  expect(second.substr(0, second.size() - 3), "the entry ends inside it");
  expect(second.substr(0, 3), "the entry ends inside its header");
  expect("garbage!" + second, "not a zstd frame");
  expect(FrameWith(kTwo, ZSTD_c_contentSizeFlag, 0), "does not declare its decoded size");
  expect(FrameWith(kTwo, ZSTD_c_checksumFlag, 0), "no content checksum");
  expect(Compressed("no newline at the end"), "does not end at the end of a line");
  expect(Compressed(""), "it is empty");
  // A skippable frame: magic 0x184D2A50, a 4-byte size, that many bytes.
  expect(std::string("\x50\x2a\x4d\x18\x02\x00\x00\x00hi", 10), "skippable");
  // Larger than verify decodes: refused by its header, before its body.
  const std::string big(kMaxFrameContentBytes + 1, '\n');
  expect(Compressed(big).substr(0, 32), "at most");
}

}  // namespace
}  // namespace attest::ctl
