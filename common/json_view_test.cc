#include "common/json_view.h"

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/json.h"
#include "gtest/gtest.h"

namespace attest {
namespace {

// The view as a Json, to compare with what Json::Parse reads.
Json ToJson(const JsonView& v) {
  if (v.is_bool()) return Json(v.as_bool());
  if (v.is_int()) {
    if (auto u = v.as_uint()) return Json(*u);
    return Json(*v.as_int());
  }
  if (v.is_string()) return Json(v.as_string());
  if (v.is_array()) {
    Json out = Json::MakeArray();
    for (const JsonView& e : v.as_array()) out.push_back(ToJson(e));
    return out;
  }
  if (v.is_object()) {
    Json out = Json::MakeObject();
    for (const auto& [key, value] : v.as_object()) out[key] = ToJson(value);
    return out;
  }
  return Json();
}

// What must hold of every text JsonDoc reads: Json::Parse reads the same
// value, and the text is that value's canonical form.
void ExpectReadsAsJsonDoes(const JsonDoc& doc, std::string_view text) {
  auto json = Json::Parse(text);
  ASSERT_TRUE(json.ok()) << text;
  EXPECT_EQ(ToJson(doc.root()), *json) << text;
  EXPECT_EQ(json->Canonical(), text);
}

TEST(JsonViewTest, ReadsCanonicalJsonAsJsonDoes) {
  JsonDoc doc;
  for (const std::string& text : std::vector<std::string>{
           R"({})",
           R"([])",
           R"("")",
           R"(0)",
           R"(-1)",
           R"(18446744073709551615)",
           R"(-9223372036854775808)",
           R"(true)",
           R"(null)",
           "{\"a\":1,\"b\":[true,false,null,\"x\",[],{}],\"c\":{\"d\":-5,\"e\":\"caf\xc3\xa9\x7f\"}"
           "}",
           R"({"":0,"A":1,"a":2,"aa":3,"b":4})",
           // As deep as Json::Parse goes.
           std::string(65, '[') + std::string(65, ']'),
       }) {
    ASSERT_TRUE(doc.Parse(text)) << text;
    ExpectReadsAsJsonDoes(doc, text);
  }
  ASSERT_TRUE(doc.Parse(R"({"host":"h1","index":7,"list":[{"k":"v"},{"k":"w"}]})"));
  const JsonView& root = doc.root();
  EXPECT_EQ(root.Find("host")->as_string(), "h1");
  EXPECT_EQ(root.Find("index")->as_uint(), 7u);
  EXPECT_EQ(root.Find("missing"), nullptr);
  EXPECT_EQ(root.Find("list")->as_array()[1].Find("k")->as_string(), "w");
  EXPECT_EQ(root.Find("host")->Find("x"), nullptr);  // not an object
  ASSERT_TRUE(doc.Parse("-5"));
  EXPECT_EQ(doc.root().as_uint(), std::nullopt);
  EXPECT_EQ(doc.root().as_int(), -5);
  ASSERT_TRUE(doc.Parse("9223372036854775808"));
  EXPECT_EQ(doc.root().as_int(), std::nullopt);
}

TEST(JsonViewTest, LeavesAnythingElseToJsonParse) {
  JsonDoc doc;
  for (const std::string& text : std::vector<std::string>{
           R"()",
           R"( {})",
           R"({} )",
           R"({"a": 1})",
           R"({"b":1,"a":2})",  // out of order
           R"({"a":1,"a":2})",  // twice
           R"(01)",
           R"(-0)",
           R"(-)",
           R"(1.5)",
           R"(1e3)",
           R"(18446744073709551616)",
           R"(-9223372036854775809)",
           R"("a\nb")",  // escapes: Json::Parse reads them
           R"("a\/b")",
           "\"a\x01\"",
           R"({"a":1}x)",
           R"(tru)",
           R"([1,])",
           R"([1 ])",
           R"({"a"})",
           R"({"a":})",
           R"({a:1})",
           R"("open)",
           std::string(66, '[') + std::string(66, ']'),
       }) {
    EXPECT_FALSE(doc.Parse(text)) << text;
  }
}

// Random values in canonical form, and those texts with one byte changed:
// whatever JsonDoc reads, Json::Parse reads the same, and it is canonical.
TEST(JsonViewTest, WhatItReadsJsonParseReadsTheSame) {
  std::mt19937_64 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const std::string alphabet = "ab\"\\\n\x01\xc3\xa9 {}[],:0-";
  std::function<Json(int)> value = [&](int depth) -> Json {
    switch (depth > 3 ? pick(4) : pick(6)) {
      case 0:
        return Json(static_cast<int64_t>(rng()));
      case 1:
        return Json(static_cast<uint64_t>(rng() >> pick(64)));
      case 2: {
        std::string s;
        for (int i = pick(6); i > 0; --i)
          s.push_back(alphabet[pick(static_cast<int>(alphabet.size()))]);
        return Json(s);
      }
      case 3:
        return pick(3) == 0 ? Json() : Json(pick(2) == 0);
      case 4: {
        Json a = Json::MakeArray();
        for (int i = pick(4); i > 0; --i) a.push_back(value(depth + 1));
        return a;
      }
      default: {
        Json o = Json::MakeObject();
        for (int i = pick(5); i > 0; --i) o[std::string(1, "abcAB"[pick(5)])] = value(depth + 1);
        return o;
      }
    }
  };
  JsonDoc doc;
  int read = 0, mutated_read = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = value(0).Canonical();
    // Canonical text is read unless a string needed an escape.
    const bool escaped = text.find('\\') != std::string::npos;
    ASSERT_EQ(doc.Parse(text), !escaped) << text;
    if (!escaped) {
      ++read;
      ExpectReadsAsJsonDoes(doc, text);
    }
    std::string mutated = text;
    const size_t at = static_cast<size_t>(pick(static_cast<int>(mutated.size())));
    switch (pick(3)) {
      case 0:
        mutated[at] = alphabet[pick(static_cast<int>(alphabet.size()))];
        break;
      case 1:
        mutated.insert(at, 1, alphabet[pick(static_cast<int>(alphabet.size()))]);
        break;
      default:
        mutated.erase(at, 1);
    }
    if (doc.Parse(mutated)) {
      ++mutated_read;
      ExpectReadsAsJsonDoes(doc, mutated);
    }
  }
  // The property was tested on both kinds of input, not vacuously.
  EXPECT_GT(read, 1000);
  EXPECT_GT(mutated_read, 100);
}

}  // namespace
}  // namespace attest
