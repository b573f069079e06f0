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

TEST(ListingTest, CsvParsesWhatSpreadsheetsWrite) {
  // What Render writes reads back, with quotes, commas and line breaks.
  auto back = ParseCsv(Sample().Render("csv"));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].fields,
            (std::vector<std::string>{"web-1", "12", "env=prod,team=db", "has, a comma"}));
  EXPECT_EQ((*back)[2].fields, (std::vector<std::string>{"a-much-longer-host", "3", "", ""}));
  // A byte order mark, LF endings, blank lines left out, a quoted line
  // break: each record knows the line it starts on.
  auto rows = ParseCsv(
      "\xEF\xBB\xBF"
      "a,b\n\n\"x\ny\",\"say \"\"hi\"\"\"\nlast,\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*rows)[1].line, 3u);
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"x\ny", "say \"hi\""}));
  EXPECT_EQ((*rows)[2].line, 5u);
  EXPECT_EQ((*rows)[2].fields, (std::vector<std::string>{"last", ""}));
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"a,b\n\"open,c\n", "line 2: a quoted field never closes"},
           {"a,\"b\"c\n", "line 1: text after the closing quote of a field"},
           {"a,b\nc,d\"e\n", "line 2: a quote inside an unquoted field"},
       }) {
    auto bad = ParseCsv(text);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(std::string(bad.status().message()), why);
  }
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
