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
       {"1.5", "1e3", R"({"a":1,"a":2})", R"({"a":1,"b":2,"a":3})", R"({"b":1,"a":2,"b":3})",
        R"({"b":1,"a":2,"a":3})", "[1,]", "{", "\"\\ud800\"", "tru", "[1] 2", "\"a\tb\""}) {
    EXPECT_FALSE(Json::Parse(bad).ok()) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(Json::Parse(deep).ok());
}

// Members are kept in bytewise key order whatever order they arrive in,
// and a repeated key is refused wherever it falls.
TEST(JsonTest, ObjectMembersStaySortedInAnyOrder) {
  auto v = Json::Parse(R"({"m":1,"z":2,"a":3,"q":{"k":4,"b":5},"c":6})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Canonical(), R"({"a":3,"c":6,"m":1,"q":{"b":5,"k":4},"z":2})");
  for (const char* key : {"a", "c", "m", "q", "z"}) EXPECT_NE(v->Find(key), nullptr) << key;
  for (const char* key : {"", "b", "n", "zz", "k"}) EXPECT_EQ(v->Find(key), nullptr) << key;
  EXPECT_EQ(*v->Find("q")->Find("b")->as_uint(), 5u);
  for (const char* dup : {R"({"m":1,"z":2,"m":3})", R"({"b":1,"a":2,"b":3})",
                          R"({"a":1,"b":2,"a":3})", R"({"b":1,"b":2})"}) {
    EXPECT_FALSE(Json::Parse(dup).ok()) << dup;
  }
  Json o = *v;
  EXPECT_EQ(o.as_object().erase("m"), 1u);
  EXPECT_EQ(o.as_object().erase("m"), 0u);
  o["b"] = "new";
  EXPECT_EQ(o.Canonical(), R"({"a":3,"b":"new","c":6,"q":{"b":5,"k":4},"z":2})");
  EXPECT_EQ(o.as_object().size(), 5u);
  EXPECT_FALSE(o == *v);
  EXPECT_EQ(*Json::Parse(o.Canonical()), o);
}

}  // namespace
}  // namespace attest
