// Every bundle format a released attestctl wrote keeps verifying: the
// committed fixtures (tests/fixtures/bundle-*, each from a real attestd),
// unchanged and relabelled as the formats older builds wrote them under,
// and what each format may and may not hold.
#include <google/protobuf/util/json_util.h>

#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "ctl/bundle.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"
#include "ctl/bundle_test_support.h"
#include "ctl/bundle_v2.h"
#include "daemon/evidence/note.h"
#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

using namespace testing_support;  // NOLINT: the bundle tests' shared helpers

// Fixture `path` under the format `to` (its manifest's `from` replaced; with
// `plain`, its records decoded into records.jsonl), written to a temporary
// tar whose path is returned.
std::string Relabelled(const std::string& path, const std::string& from, const std::string& to,
                       bool plain = false) {
  std::vector<Entry> entries = ReadEntries(FixturePath(path));
  for (Entry& e : entries) {
    if (e.name == "manifest.json") e.data.replace(e.data.find(from), from.size(), to);
    if (e.name == "records.jsonl.zst" && plain) {
      auto lines = DecodeFrames(e.data);
      EXPECT_TRUE(lines.ok()) << lines.status();
      e = {"records.jsonl", lines.ok() ? *lines : ""};
    }
  }
  const std::string out = testing::TempDir() + "/relabelled.tar";
  WriteEntries(entries, out);
  return out;
}

// A format 2 bundle written by attestctl export (tests/fixtures/bundle-v2)
// keeps verifying with the key of the attestd that made it, and not
// against witnesses it never had.
TEST(BundleFormatTest, AFormat2BundleFromTheFixtureVerifies) {
  VerifyOptions options = FixtureKey("bundle-v2");
  auto r = VerifyBundle(FixturePath("bundle-v2/two-hosts-v2.tar"), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, "attest-bundle-v2");
  EXPECT_EQ(r->hosts, 2u);
  EXPECT_EQ(r->records, 988u);
  EXPECT_EQ(r->origin, "attest.example/seed");
  EXPECT_EQ(r->late_imported, r->late);
  auto w = evidence::note::ParseVerifierKey(
      "witness.test/w1+a33ac8bf+BDC/ysXSgGD6he3165jTMmsvg+caDaPtWTD+eZ0hAcLd");
  ASSERT_TRUE(w.ok());
  options.witnesses.push_back(*w);
  r = VerifyBundle(FixturePath("bundle-v2/two-hosts-v2.tar"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("no valid cosignature by witness"),
            std::string::npos)
      << r.status();
}

// Compressed bundles written by attestctl export keep verifying: format 3
// (tests/fixtures/bundle-v3) and format 4, whose states commit to access
// changes (tests/fixtures/bundle-v4).
struct WholeFixture {
  const char* path;
  const char* format;
  uint64_t compressed_bytes;
};

class WholeFixtureTest : public ::testing::TestWithParam<WholeFixture> {};

TEST_P(WholeFixtureTest, Verifies) {
  const WholeFixture& f = GetParam();
  const std::string path = f.path;
  auto r = VerifyBundle(FixturePath(path), FixtureKey(path.substr(0, path.find('/'))));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, f.format);
  EXPECT_EQ(r->hosts, 2u);
  EXPECT_EQ(r->records, 1450u);
  EXPECT_EQ(r->frames, 1u);
  EXPECT_EQ(r->compressed_bytes, f.compressed_bytes);
}

INSTANTIATE_TEST_SUITE_P(
    BundleFormatTest, WholeFixtureTest,
    ::testing::Values(WholeFixture{"bundle-v3/two-hosts-v3.tar", "attest-bundle-v3", 80787},
                      WholeFixture{"bundle-v4/two-hosts-v4.tar", "attest-bundle-v4", 81046}));

// Builds of December 2026 before format 4 wrote bundles whose states are
// attest-state-v2 as format 2 (plain records) and 3: they verify as format
// 4 does, with the same figures.
TEST(BundleFormatTest, Format4StatesUnderFormat2Or3VerifyTheSame) {
  const std::string fixture = "bundle-v4/two-hosts-v4.tar";
  auto v4 = VerifyBundle(FixturePath(fixture), FixtureKey("bundle-v4"));
  ASSERT_TRUE(v4.ok()) << v4.status();
  for (const std::string older : {"attest-bundle-v2", "attest-bundle-v3"}) {
    const std::string path =
        Relabelled(fixture, "attest-bundle-v4", older, older == "attest-bundle-v2");
    auto r = VerifyBundle(path, FixtureKey("bundle-v4"));
    ASSERT_TRUE(r.ok()) << older << ": " << r.status();
    EXPECT_EQ(r->format, older);
    EXPECT_EQ(r->summary, v4->summary);
    EXPECT_EQ(r->records, v4->records);
  }
  // Likewise attest-sample-v1 over such states.
  const std::string sample = "bundle-sample-v2/two-items-v2.tar";
  auto v2 = VerifyBundle(FixturePath(sample), FixtureKey("bundle-sample-v2"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  auto v1 = VerifyBundle(Relabelled(sample, "attest-sample-v2", "attest-sample-v1"),
                         FixtureKey("bundle-sample-v2"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->format, "attest-sample-v1");
  EXPECT_EQ(v1->sample_lines, v2->sample_lines);
}

// A format 6 bundle from a store an attestd from before judgements started
// and this build's attestd took over (tests/fixtures/bundle-v6): judgement
// 1 until the takeover, 2 after, each with a log-shipping outage ending
// under it; and a sampled bundle of the same store (attest-sample-v3).
TEST(BundleFormatTest, AnUpgradedStoresBundlesKeepVerifying) {
  auto r = VerifyBundle(FixturePath("bundle-v6/two-hosts-v6.tar"), FixtureKey("bundle-v6"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, "attest-bundle-v6");
  EXPECT_EQ(r->hosts, 2u);
  EXPECT_EQ(r->records, 8482u);
  EXPECT_EQ(r->judgements, "1 until 2026-01-05T12:00:00Z, then 2");
  EXPECT_EQ(r->suffix_hosts, 0u);
  auto s =
      VerifyBundle(FixturePath("bundle-sample-v3/one-item-v3.tar"), FixtureKey("bundle-sample-v3"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->format, "attest-sample-v3");
  EXPECT_EQ(s->sample_window, "w");
  EXPECT_EQ(s->sample_number, 1u);
  EXPECT_EQ(s->records, 1596u);
  ASSERT_EQ(s->sample_lines.size(), 1u);
  // The day of the takeover, with the outage that ends under judgement 2.
  EXPECT_EQ(s->sample_lines[0].rfind("item 1: h0002 2026-01-05: pass 22.52h, fail 1.48h", 0), 0u)
      << s->sample_lines[0];
}

// The v6 fixture's manifest with its decisions from the ledger, and its
// records' lines.
struct Fixture6 {
  v1::BundleManifest decisions;
  std::string lines;
};

Fixture6 LoadFixture6() {
  Fixture6 out;
  const std::string path = FixturePath("bundle-v6/two-hosts-v6.tar");
  std::string manifest, ledger_text, records;
  for (const Entry& e : ReadEntries(path)) {
    if (e.name == "manifest.json") manifest = e.data;
    if (e.name == "ledger.jsonl") ledger_text = e.data;
    if (e.name == "records.jsonl.zst") records = e.data;
  }
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(manifest, &out.decisions).ok());
  auto ledger = ParseLedger(ledger_text);
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  std::set<std::string> scope;
  for (const v1::BundleHost& h : out.decisions.hosts()) scope.insert(h.host());
  if (ledger.ok()) {
    EXPECT_TRUE(DecisionsFromLedger(*ledger, scope, &out.decisions).ok());
  }
  auto lines = DecodeFrames(records);
  EXPECT_TRUE(lines.ok()) << lines.status();
  if (lines.ok()) out.lines = std::move(*lines);
  return out;
}

// The summary replayed from `lines` under `decisions`, compared with
// `expected`.
absl::Status ReplayLines(const v1::BundleManifest& decisions, const std::string& lines,
                         const v1::WindowSummary& expected) {
  ReplayStore store;
  if (absl::Status s = store.Prepare(lines.size()); !s.ok()) return s;
  for (std::string_view line : Split(lines, "\n")) {
    if (line.empty()) continue;
    auto j = Json::Parse(line);
    if (!j.ok()) return j.status();
    auto record = RecordFromInterchange(*j);
    if (!record.ok()) return record.status();
    if (absl::Status s = store.Add(*record); !s.ok()) return s;
  }
  if (absl::Status s = store.Finish(); !s.ok()) return s;
  auto summary = ReplaySummary(decisions, store);
  if (!summary.ok()) return summary.status();
  return CompareSummaries(expected, *summary);
}

// The upgraded store's figures depend on its judgements: its records,
// replayed under the ledger's policy versions as they are, give the
// manifest's summary, and replayed under judgement 1 throughout do not (an
// outage in it ends under judgement 2). So a verifier that ignored `judge`
// would fail on it, and this fixture would catch one.
TEST(BundleFormatTest, TheUpgradedStoresFiguresNeedItsJudgements) {
  const Fixture6 f = LoadFixture6();
  const absl::Status as_recorded = ReplayLines(f.decisions, f.lines, f.decisions.summary());
  EXPECT_TRUE(as_recorded.ok()) << as_recorded;
  v1::BundleManifest one = f.decisions;
  for (v1::PolicyVersion& v : *one.mutable_policy_versions()) v.clear_judge();
  const absl::Status under_one = ReplayLines(one, f.lines, f.decisions.summary());
  EXPECT_FALSE(under_one.ok());
  EXPECT_NE(under_one.message().find("log-shipping"), std::string_view::npos) << under_one;
}

// The replay records each approval for the host the ledger names, before
// any record, so that each host is judged once with its approvals. That
// host must be the one that reported the change first, as attestd's
// Approve finds it: an approval moved to another host, or of a change no
// record reports, is refused by name.
TEST(BundleFormatTest, AnApprovalMustNameTheHostThatReportedItsChange) {
  const Fixture6 f = LoadFixture6();
  ASSERT_EQ(f.decisions.approvals_size(), 2);
  ASSERT_EQ(f.decisions.approvals(0).change_id(), "h0001-c1");
  v1::BundleManifest moved = f.decisions;
  moved.mutable_approvals(0)->set_host("h0002");
  const absl::Status s = ReplayLines(moved, f.lines, f.decisions.summary());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(s.message(),
            "the approval of access change \"h0001-c1\" names host h0002, but host h0001 "
            "reported that change first");
  v1::BundleManifest unknown = f.decisions;
  unknown.mutable_approvals(1)->set_change_id("h0002-c9");
  const absl::Status u = ReplayLines(unknown, f.lines, f.decisions.summary());
  EXPECT_EQ(u.code(), absl::StatusCode::kDataLoss) << u;
  EXPECT_EQ(u.message(),
            "the approval of access change \"h0002-c9\" names host h0002, but no record of the "
            "bundle reports that change");
}

// Only formats 5 and 6 start a host's records after record 1: the
// window-sized fixture relabelled as format 4 is refused.
TEST(BundleFormatTest, OnlyFormats5And6StartAHostAfterRecord1) {
  auto r = VerifyBundle(
      Relabelled("bundle-v5/window-sized-v5.tar", "attest-bundle-v5", "attest-bundle-v4"),
      FixtureKey("bundle-v5"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("only attest-bundle-v5 and attest-bundle-v6 start a host's records after "
                      "record 1"),
            std::string::npos)
      << r.status();
}

// A window-sized bundle (format 5) written by attestctl export
// --window-sized keeps verifying: both hosts start at a signed state before
// the window, one access change carried (tests/fixtures/bundle-v5).
TEST(BundleFormatTest, AWindowSizedBundleKeepsVerifying) {
  auto r = VerifyBundle(FixturePath("bundle-v5/window-sized-v5.tar"), FixtureKey("bundle-v5"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, "attest-bundle-v5");
  EXPECT_EQ(r->hosts, 2u);
  EXPECT_EQ(r->records, 3194u);
  EXPECT_EQ(r->suffix_hosts, 2u);
  EXPECT_EQ(r->carried_records, 1u);
  EXPECT_EQ(r->access_changes, 1u);
}

// Sampled bundles written by attestctl export --sample keep verifying, item
// by item: attest-sample-v1 (tests/fixtures/bundle-sample) and
// attest-sample-v2 (tests/fixtures/bundle-sample-v2), the same draw of the
// same simulated fleet.
class SampledFixtureTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(SampledFixtureTest, VerifiesItemByItem) {
  const std::string path = GetParam().first;
  auto r = VerifyBundle(FixturePath(path), FixtureKey(path.substr(0, path.find('/'))));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, GetParam().second);
  EXPECT_EQ(r->sample_window, "w");
  EXPECT_EQ(r->sample_number, 2u);
  EXPECT_EQ(r->records, 1066u);
  ASSERT_EQ(r->sample_lines.size(), 2u);
  EXPECT_EQ(r->sample_lines[0].rfind("item 1: h0003 2026-01-01: pass ", 0), 0u)
      << r->sample_lines[0];
  EXPECT_EQ(r->sample_lines[1].rfind("item 2: h0001 2026-01-05: pass ", 0), 0u)
      << r->sample_lines[1];
}

INSTANTIATE_TEST_SUITE_P(
    BundleFormatTest, SampledFixtureTest,
    ::testing::Values(std::pair{"bundle-sample/two-items.tar", "attest-sample-v1"},
                      std::pair{"bundle-sample-v2/two-items-v2.tar", "attest-sample-v2"}));

}  // namespace
}  // namespace attest::ctl
