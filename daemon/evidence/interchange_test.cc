#include "daemon/evidence/interchange.h"

#include <string>
#include <vector>

#include "common/json.h"
#include "common/json_view.h"
#include "daemon/evidence/record_json.h"
#include "daemon/evidence/test_records.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace attest::evidence {
namespace {

using google::protobuf::util::MessageDifferencer;

TEST(InterchangeTest, EveryExportedKindReadsBackToTheSameSignal) {
  for (v1::EvidenceRecord r : testing::EveryKind()) {
    // Enums must name a value to be read back (ingest refuses UNSPECIFIED).
    if (r.has_signal() && r.signal().has_log_shipping() &&
        r.signal().log_shipping().probe() == v1::SHIPPER_PROBE_UNSPECIFIED) {
      r.mutable_signal()->mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_MARKER_FILE);
    }
    const std::string line = CanonicalRecord(r, /*with_links=*/true);
    auto parsed = ParseInterchangeLine(line);
    if (r.has_gap()) {
      ASSERT_FALSE(parsed.ok());
      EXPECT_NE(parsed.status().message().find("made by attestd"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << line << "\n" << parsed.status();
    EXPECT_EQ(parsed->host(), r.host());
    EXPECT_EQ(parsed->instance_id(), r.instance_id());
    if (r.has_hello()) {
      v1::Hello want = r.hello();
      *want.mutable_sent_at() = r.observed_at();
      EXPECT_TRUE(MessageDifferencer::Equals(parsed->hello(), want)) << line;
    } else {
      v1::Signal want = r.signal();
      want.set_seq(r.seq());
      *want.mutable_observed_at() = r.observed_at();
      EXPECT_TRUE(MessageDifferencer::Equals(parsed->signal(), want))
          << line << "\n"
          << parsed->signal().DebugString() << "\nwant\n"
          << want.DebugString();
    }
  }
}

TEST(InterchangeTest, AShippersErrorReadsBackAndIsWrittenOnlyWhenSet) {
  v1::EvidenceRecord r = testing::EveryKind()[3];
  ASSERT_TRUE(r.signal().has_log_shipping());
  r.mutable_signal()->mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_JOURNAL_UPLOAD);
  // Records from before the field existed hash as they did: no key.
  EXPECT_EQ(CanonicalRecord(r, false).find("\"error\""), std::string::npos);
  r.mutable_signal()->mutable_log_shipping()->set_error("DATA_LOSS: /state: t=zz is not hex");
  const std::string line = CanonicalRecord(r, /*with_links=*/false);
  EXPECT_NE(line.find(R"("error":"DATA_LOSS: /state: t=zz is not hex")"), std::string::npos);
  auto parsed = ParseInterchangeLine(line);
  ASSERT_TRUE(parsed.ok()) << line << "\n" << parsed.status();
  EXPECT_EQ(parsed->signal().log_shipping().error(), "DATA_LOSS: /state: t=zz is not hex");
}

TEST(InterchangeTest, TheIssuesMinimalFieldsAreEnough) {
  auto r = ParseInterchangeLine(
      R"({"host":"web-1","seq":7,"observed_at":"2026-03-01T10:00:00Z","kind":"check",)"
      R"("check":{"name":"ntp","status":"critical","detail":"offset 3s"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->signal().seq(), 7u);
  EXPECT_EQ(r->signal().check().status(), v1::CHECK_STATUS_CRITICAL);
  EXPECT_EQ(r->signal().observed_at().seconds(), 1772359200);
}

struct Malformed {
  const char* line;
  const char* reason;
};
const Malformed kMalformed[] = {
    {"{not json", "not JSON"},
    {R"([1])", "record: must be a JSON object"},
    {R"({"seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat","heartbeat":{}})",
     "record.host: required"},
    {R"({"host":"h","seq":1,"kind":"heartbeat","heartbeat":{}})", "observed_at: required"},
    {R"({"host":"h","seq":1,"observed_at":"yesterday","kind":"heartbeat","heartbeat":{}})",
     "record.observed_at"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat"})",
     "an object named after the kind"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"telepathy","telepathy":{}})",
     "unknown kind \"telepathy\""},
    {R"({"host":"h","seq":-1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat","heartbeat":{}})",
     "record.seq: must be a non-negative integer"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"check","check":{"name":"x","status":"meh"}})",
     "check.status: unknown value \"meh\""},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"patch","patch":{"package_manager":"dpkg","pending":[{"package":1}]}})",
     "patch.pending.package: must be a string"},
    // A key nobody reads is a typo that would drop what it carries.
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"patch","patch":{"package_manager":"dpkg","pending_updates":[{"package":"openssl"}]}})",
     "patch.pending_updates: unknown field"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"patch","patch":{"package_manager":"dpkg","pending":[{"package":"openssl","securty":true}]}})",
     "patch.pending.securty: unknown field"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat","heartbeat":{},"labels":{"env":"prod"}})",
     "record.labels: unknown field"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat","heartbeat":{"at":1}})",
     "heartbeat.at: unknown field"},
    {R"({"host":"h","observed_at":"2026-01-01T00:00:00Z","kind":"hello","hello":{"instance_id":"i","label":{"env":"prod"}}})",
     "hello.label: unknown field"},
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"access_snapshot","access_snapshot":{"users":[{"name":"root","uid":0,"groups":["wheel"]}]}})",
     "access_snapshot.users.groups: unknown field"},
    // The other kind's object next to this one's is not silently dropped.
    {R"({"host":"h","seq":1,"observed_at":"2026-01-01T00:00:00Z","kind":"heartbeat","heartbeat":{},"check":{"name":"x","status":"ok"}})",
     "record.check: unknown field"},
};

TEST(InterchangeTest, MalformedLinesNameWhatIsWrong) {
  for (const Malformed& c : kMalformed) {
    auto r = ParseInterchangeLine(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos)
        << c.line << " -> " << r.status().message();
  }
}

// Verify reads most lines as JsonView (common/json_view.h): for every line
// that it reads, the record or the error must be the one the Json reader
// gives. The malformed lines are put in canonical order so that it reads
// them too.
TEST(InterchangeTest, TheViewReaderGivesWhatTheJsonReaderGives) {
  std::vector<std::string> lines;
  for (const v1::EvidenceRecord& r : testing::EveryKind()) {
    lines.push_back(CanonicalRecord(r, /*with_links=*/true));
  }
  for (const Malformed& c : kMalformed) {
    if (auto j = Json::Parse(c.line); j.ok()) lines.push_back(j->Canonical());
  }
  JsonDoc doc;
  int read = 0, refused = 0;
  for (const std::string& line : lines) {
    if (!doc.Parse(line)) continue;  // escapes: the Json reader's alone
    ++read;
    auto by_json = ParseInterchangeJson(*Json::Parse(line));
    // Into a record on an arena, as verify reads its lines, and into one
    // of its own.
    google::protobuf::Arena arena;
    auto* on_arena = google::protobuf::Arena::CreateMessage<v1::ImportRecord>(&arena);
    const absl::Status into_arena = ParseInterchangeJson(doc.root(), on_arena);
    v1::ImportRecord own;
    const absl::Status into_own = ParseInterchangeJson(doc.root(), &own);
    ASSERT_EQ(into_arena.ok(), by_json.ok()) << line;
    ASSERT_EQ(into_own.ok(), by_json.ok()) << line;
    if (!by_json.ok()) {
      ++refused;
      EXPECT_EQ(into_arena, by_json.status()) << line;
      EXPECT_EQ(into_own, by_json.status()) << line;
    } else {
      EXPECT_TRUE(MessageDifferencer::Equals(*on_arena, *by_json)) << line;
      EXPECT_TRUE(MessageDifferencer::Equals(own, *by_json)) << line;
    }
  }
  EXPECT_GT(read, 20);
  EXPECT_GT(refused, 10);
}

}  // namespace
}  // namespace attest::evidence
