#include "common/json.h"

#include "gtest/gtest.h"

namespace attest {
namespace {

TEST(JsonTest, CanonicalSortsKeysAndHasNoWhitespace) {
  Json o = Json::MakeObject();
  o["zeta"] = 1;
  o["alpha"] = "x\"y\n";
  o["mid"] = Json::Array{true, nullptr, uint64_t{18446744073709551615u}, int64_t{-3}};
  EXPECT_EQ(o.Canonical(),
            R"({"alpha":"x\"y\n","mid":[true,null,18446744073709551615,-3],"zeta":1})");
}

TEST(JsonTest, ParseThenCanonicalIsStable) {
  auto v = Json::Parse(R"( { "b" : [1, -2, "\u00e9\ud83d\ude00"], "a": {"y":false,"x":null} } )");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Canonical(),
            "{\"a\":{\"x\":null,\"y\":false},\"b\":[1,-2,\"\xc3\xa9\xf0\x9f\x98\x80\"]}");
  EXPECT_EQ(*Json::Parse(v->Canonical()), *v);
}

TEST(JsonTest, RejectsWhatWouldMakeBytesAmbiguous) {
  for (const char* bad :
       {"1.5", "1e3", R"({"a":1,"a":2})", "[1,]", "{", "\"\\ud800\"", "tru", "[1] 2", "\"a\tb\""}) {
    EXPECT_FALSE(Json::Parse(bad).ok()) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(Json::Parse(deep).ok());
}

}  // namespace
}  // namespace attest
