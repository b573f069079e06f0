#include "common/utf8.h"

#include <random>

#include "attest/v1/signal.pb.h"
#include "gtest/gtest.h"

namespace attest {
namespace {

TEST(Utf8Test, WellFormedTextIsValidAndUnchanged) {
  for (std::string_view s : {"", "plain ascii", "Jos\xC3\xA9", "\xE2\x82\xAC 20",
                             "\xF0\x9F\x94\x92 locked", "\xEF\xBB\xBF", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(RepairUtf8(s), s);
  }
}

TEST(Utf8Test, EachBadByteBecomesOneReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{{"Jos\xE9", "Jos" + r},       // Latin-1
                                         {"\xC0\xAF", r + r},          // overlong '/'
                                         {"\xE0\x80\xAF", r + r + r},  // overlong, three bytes
                                         {"\xED\xA0\x80", r + r + r},  // a UTF-16 surrogate
                                         {"\xF4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
                                         {"\xE2\x82", r + r},         // cut short at the end
                                         {"\xE2\x82x", r + r + "x"},  // cut short in the middle
                                         {"a\x80z", "a" + r + "z"},   // a lone continuation byte
                                         {"\xFF\xFE", r + r}}) {
    EXPECT_FALSE(IsValidUtf8(c.in));
    EXPECT_EQ(RepairUtf8(c.in), c.out);
    EXPECT_TRUE(IsValidUtf8(RepairUtf8(c.in)));
  }
}

TEST(Utf8Test, RepairedTextIsAlwaysValid) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 16, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::string repaired = RepairUtf8(s);
    EXPECT_TRUE(IsValidUtf8(repaired));
    if (IsValidUtf8(s)) {
      EXPECT_EQ(repaired, s);
    }
  }
}

TEST(Utf8Test, MessageFieldsAreRepairedAndTheMessageParsesAgain) {
  v1::Signal snapshot;
  auto* user = snapshot.mutable_access_snapshot()->add_users();
  user->set_name("jos\xE9");
  user->set_shell("/bin/bash");
  snapshot.mutable_access_snapshot()->add_users()->set_name("ok");
  v1::Signal check;
  check.mutable_check()->set_detail("caf\xE9 \xFF");
  EXPECT_EQ(RepairUtf8Fields(&check), 1);
  EXPECT_EQ(check.check().detail(), "caf\xEF\xBF\xBD \xEF\xBF\xBD");
  EXPECT_EQ(RepairUtf8Fields(&snapshot), 1);
  EXPECT_EQ(snapshot.access_snapshot().users(0).name(), "jos\xEF\xBF\xBD");
  EXPECT_EQ(snapshot.access_snapshot().users(1).name(), "ok");
  v1::Signal parsed;
  EXPECT_TRUE(parsed.ParseFromString(snapshot.SerializeAsString()));
  EXPECT_EQ(RepairUtf8Fields(&parsed), 0);
}

}  // namespace
}  // namespace attest
