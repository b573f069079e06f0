#include "ctl/listing.h"

#include <gtest/gtest.h>

namespace attest::ctl {
namespace {

Listing Sample() {
  Listing l({"host", "records", "labels", "note"});
  Json labels = Json::MakeObject();
  labels["env"] = "prod";
  labels["team"] = "db";
  l.Add({"web-1", uint64_t{12}, labels, "has, a comma"});
  l.Add({"a-much-longer-host", uint64_t{3}, Json::MakeObject(), nullptr});
  return l;
}

TEST(ListingTest, TableAlignsColumnsUnderUpperCaseHeads) {
  EXPECT_EQ(Sample().Render("table"),
            "HOST                RECORDS  LABELS            NOTE\n"
            "web-1               12       env=prod,team=db  has, a comma\n"
            "a-much-longer-host  3        -                 -\n");
}

TEST(ListingTest, CsvQuotesFieldsThatNeedIt) {
  EXPECT_EQ(Sample().Render("csv"),
            "host,records,labels,note\r\n"
            "web-1,12,\"env=prod,team=db\",\"has, a comma\"\r\n"
            "a-much-longer-host,3,,\r\n");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
}

TEST(ListingTest, JsonKeepsTypesAndNesting) {
  auto parsed = Json::Parse(Sample().Render("json"));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->as_array().size(), 2u);
  const Json& first = parsed->as_array()[0];
  EXPECT_EQ(first.Find("records")->as_uint(), 12u);
  EXPECT_EQ(first.Find("labels")->Find("team")->as_string(), "db");
  EXPECT_TRUE(parsed->as_array()[1].Find("note")->is_null());
}

}  // namespace
}  // namespace attest::ctl
