#include "daemon/admin/import_batches.h"

#include "absl/time/clock.h"
#include "common/time_util.h"
#include "gtest/gtest.h"

namespace attest::admin {
namespace {

v1::ImportRecord Beat(const std::string& host, uint64_t seq, uint64_t line) {
  v1::ImportRecord r;
  r.set_host(host);
  r.set_line(line);
  r.mutable_signal()->set_seq(seq);
  *r.mutable_signal()->mutable_observed_at() = ToProto(absl::Now() - absl::Hours(1));
  r.mutable_signal()->mutable_heartbeat();
  return r;
}

TEST(ImportBatchesTest, ASeqBelowAnEarlierOneOfTheSameHostIsRejectedNotDroppedSilently) {
  google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
  *records.Add() = Beat("a", 5, 1);
  *records.Add() = Beat("b", 1, 2);
  *records.Add() = Beat("a", 3, 3);  // out of order: would be a "duplicate"
  *records.Add() = Beat("a", 5, 4);  // a true duplicate: the committer counts it
  *records.Add() = Beat("a", 6, 5);
  std::vector<std::pair<uint64_t, std::string>> rejected;
  auto batches = BuildImportBatches(
      records, ingest::Limits{}, absl::Now(),
      [&](uint64_t line, std::string why) { rejected.emplace_back(line, std::move(why)); });
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].first, 3u);
  EXPECT_EQ(rejected[0].second,
            "seq 3 comes after seq 5 of the same host and instance (line 1); lines must be in "
            "seq order per host and instance");
  std::vector<uint64_t> lines;
  for (const ImportBatch& b : batches) lines.insert(lines.end(), b.lines.begin(), b.lines.end());
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 4, 5}));
}

TEST(ImportBatchesTest, AnInstanceIdAHelloCouldNotCarryIsRejected) {
  google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
  *records.Add() = Beat("a", 1, 1);
  records.Add()->CopyFrom(Beat("a", 2, 2));
  records.Mutable(1)->set_instance_id("bad instance/1");
  records.Add()->CopyFrom(Beat("a", 3, 3));
  records.Mutable(2)->set_instance_id(std::string(129, 'i'));
  std::vector<std::pair<uint64_t, std::string>> rejected;
  BuildImportBatches(records, ingest::Limits{}, absl::Now(), [&](uint64_t line, std::string why) {
    rejected.emplace_back(line, std::move(why));
  });
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].first, 2u);
  EXPECT_EQ(rejected[0].second,
            "instance_id: \"bad instance/1\" must be 1-128 characters of [A-Za-z0-9._-]");
  EXPECT_EQ(rejected[1].first, 3u);
}

TEST(ImportBatchesTest, EachInstanceHasItsOwnOrder) {
  google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
  *records.Add() = Beat("a", 5, 1);
  v1::ImportRecord other = Beat("a", 1, 2);
  other.set_instance_id("second-spool");
  *records.Add() = other;
  int rejected = 0;
  auto batches = BuildImportBatches(records, ingest::Limits{}, absl::Now(),
                                    [&](uint64_t, std::string) { ++rejected; });
  EXPECT_EQ(rejected, 0);
  EXPECT_EQ(batches.size(), 2u);
}

}  // namespace
}  // namespace attest::admin
