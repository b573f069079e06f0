#include "common/strings.h"

#include <gtest/gtest.h>

namespace attest {
namespace {

// Lowercase hex only, as every hash in the evidence formats is written;
// anything else is refused, whichever digit of which byte it is in.
TEST(StringsTest, HexDecodeTakesLowercaseHexOnly) {
  std::string out;
  ASSERT_TRUE(HexDecode("00ff7f80a5", &out));
  EXPECT_EQ(out, std::string("\x00\xff\x7f\x80\xa5", 5));
  ASSERT_TRUE(HexDecode("", &out));
  EXPECT_EQ(out, "");
  std::string all;
  for (int b = 0; b < 256; ++b)
    all += StrCat(std::string(1, "0123456789abcdef"[b >> 4]),
                  std::string(1, "0123456789abcdef"[b & 15]));
  ASSERT_TRUE(HexDecode(all, &out));
  ASSERT_EQ(out.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(static_cast<unsigned char>(out[b]), b);
  EXPECT_FALSE(HexDecode("abc", &out));  // odd length
  for (int c = 0; c < 256; ++c) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    for (int at = 0; at < 4; ++at) {
      std::string text = "a0b1";
      text[at] = static_cast<char>(c);
      EXPECT_EQ(HexDecode(text, &out), hex) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace attest
