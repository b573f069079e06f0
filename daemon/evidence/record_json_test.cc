#include "daemon/evidence/record_json.h"

#include "common/json.h"
#include "common/time_util.h"
#include "daemon/evidence/test_records.h"
#include "gtest/gtest.h"

namespace attest::evidence {
namespace {

using testing::EveryKind;

TEST(RecordJsonTest, EveryKindIsCanonicalWithAndWithoutLinks) {
  for (const auto& r : EveryKind()) {
    for (bool links : {false, true}) {
      const std::string text = CanonicalRecord(r, links);
      auto parsed = Json::Parse(text);
      ASSERT_TRUE(parsed.ok()) << text;
      // Re-serializing sorts keys and strips nothing: equal means the writer
      // already produced the canonical form.
      EXPECT_EQ(parsed->Canonical(), text);
      const std::string kind(RecordKind(r));
      ASSERT_NE(parsed->Find(kind), nullptr) << text;
      EXPECT_EQ(parsed->Find("kind")->as_string(), kind);
      EXPECT_EQ(parsed->Find("hash") != nullptr, links);
      EXPECT_EQ(parsed->Find("origin")->as_string(), "imported");
    }
  }
}

// Cutting the link spans out of the form with links leaves exactly the
// form without them, whether "hash" is the object's first member (kinds
// that sort after it) or not (access_change, check, gap, ...).
TEST(RecordJsonTest, LinkSpansCutOutLeaveTheRecordWithoutLinks) {
  for (auto r : EveryKind()) {
    r.set_hash(std::string(32, '\x11'));
    r.set_prev_hash(std::string(32, '\x22'));
    std::string with = "prefix";  // spans are offsets into the whole string
    LinkSpans spans;
    AppendCanonicalRecordWithLinks(&with, r, &spans);
    EXPECT_EQ(with.substr(6), CanonicalRecord(r, true));
    ASSERT_LT(spans.hash_end, spans.prev_begin);
    const std::string cut = with.substr(6, spans.hash_begin - 6) +
                            with.substr(spans.hash_end, spans.prev_begin - spans.hash_end) +
                            with.substr(spans.prev_end);
    EXPECT_EQ(cut, CanonicalRecord(r, false)) << with;
  }
}

TEST(RecordJsonTest, FieldValuesAreWhereTheFormatSaysTheyAre) {
  auto records = EveryKind();
  auto patch = *Json::Parse(CanonicalRecord(records[1], true));
  EXPECT_EQ(patch.Find("patch")->Find("package_manager")->as_string(), "rpm");
  EXPECT_EQ(patch.Find("patch")->Find("pending")->as_array().size(), 2u);
  EXPECT_TRUE(patch.Find("patch")->Find("pending")->as_array()[0].Find("security")->as_bool());
  EXPECT_EQ(patch.Find("hash")->as_string().substr(0, 4), "abab");
  EXPECT_EQ(patch.Find("observed_at")->as_string(), "2026-01-01T00:00:00.005Z");
  auto never = *Json::Parse(CanonicalRecord(records[3], false));
  EXPECT_TRUE(never.Find("log_shipping")->Find("last_delivery")->is_null());
  auto hello = *Json::Parse(CanonicalRecord(records[0], false));
  EXPECT_EQ(hello.Find("hello")->Find("labels")->Find("env")->as_string(), "prod");
  auto gap = *Json::Parse(CanonicalRecord(records[9], false));
  EXPECT_EQ(*gap.Find("gap")->Find("last_seq")->as_uint(), 9u);
}

}  // namespace
}  // namespace attest::evidence
