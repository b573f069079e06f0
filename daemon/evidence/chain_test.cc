#include "daemon/evidence/chain.h"

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/record_json.h"
#include "gtest/gtest.h"

namespace attest::evidence {
namespace {

std::vector<v1::EvidenceRecord> MakeChain(int n) {
  std::vector<v1::EvidenceRecord> records;
  std::string prev = GenesisHash();
  for (int i = 1; i <= n; ++i) {
    v1::EvidenceRecord r;
    r.set_host("web-1");
    r.set_index(i);
    r.set_instance_id("i1");
    r.set_seq(i);
    *r.mutable_observed_at() = ToProto(absl::FromUnixSeconds(1767225600 + i));
    *r.mutable_received_at() = ToProto(absl::FromUnixSeconds(1767225601 + i));
    r.set_origin(v1::ORIGIN_LIVE);
    r.mutable_signal()->set_seq(i);
    r.mutable_signal()->mutable_heartbeat();
    LinkRecord(prev, &r);
    prev = r.hash();
    records.push_back(r);
  }
  return records;
}

TEST(ChainTest, CanonicalJsonIsTheDocumentedShape) {
  auto records = MakeChain(1);
  EXPECT_EQ(CanonicalRecord(records[0], false),
            R"({"heartbeat":{},"host":"web-1","index":1,"instance_id":"i1","kind":"heartbeat",)"
            R"("observed_at":"2026-01-01T00:00:01Z","origin":"live",)"
            R"("received_at":"2026-01-01T00:00:02Z","seq":1})");
  // The hash is SHA-256 over 32 zero bytes followed by those canonical bytes.
  EXPECT_EQ(records[0].hash(), Sha256(GenesisHash() + CanonicalRecord(records[0], false)));
}

TEST(ChainTest, IntactChainVerifies) { EXPECT_TRUE(VerifyChain(MakeChain(5)).ok()); }

TEST(ChainTest, AnyEditNamesTheFirstBadRecord) {
  auto edited = MakeChain(5);
  edited[2].mutable_observed_at()->set_seconds(1);
  absl::Status s = VerifyChain(edited);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("record 3"), std::string::npos) << s;

  auto deleted = MakeChain(5);
  deleted.erase(deleted.begin() + 1);
  EXPECT_NE(VerifyChain(deleted).message().find("record 3"), std::string::npos);

  auto swapped = MakeChain(5);
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(VerifyChain(swapped).message().find("record 5"), std::string::npos);
}

TEST(ChainTest, HexEncode) {
  EXPECT_EQ(attest::HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
}

}  // namespace
}  // namespace attest::evidence
