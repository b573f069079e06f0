// ReadMessages parses each message on an arena it empties after each: it
// visits what ScanMessages visits, in key order, messages larger than the
// arena's first block included, and stops at a value that does not parse.
#include "daemon/engine/scan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attest/v1/evidence.pb.h"
#include "daemon/store/memory_store.h"

namespace attest::engine {
namespace {

v1::EvidenceRecord Record(uint64_t index, size_t note_bytes) {
  v1::EvidenceRecord r;
  r.set_host("h1");
  r.set_index(index);
  r.mutable_signal()->mutable_check()->set_name("c");
  r.mutable_signal()->mutable_check()->set_detail(std::string(note_bytes, 'x'));
  return r;
}

TEST(ScanTest, ReadMessagesVisitsWhatScanMessagesVisits) {
  store::MemoryStore store;
  store::WriteBatch batch;
  for (uint64_t i = 1; i <= 300; ++i) {
    // Every 50th larger than the arena's first block of 64 KiB.
    const size_t bytes = i % 50 == 0 ? 200 << 10 : i * 7;
    batch.Put(store::Family::kEvidence, store::EvidenceKey("h1", i),
              Record(i, bytes).SerializeAsString());
  }
  ASSERT_TRUE(store.Write(batch, {}).ok());
  const std::string begin = store::EvidenceKey("h1", 2);
  const std::string end = store::PrefixEnd(store::EvidencePrefix("h1"));
  std::vector<std::string> scanned, read;
  ASSERT_TRUE(ScanMessages<v1::EvidenceRecord>(
                  store, store::Family::kEvidence, begin, end,
                  [&](v1::EvidenceRecord&& r) { scanned.push_back(r.SerializeAsString()); })
                  .ok());
  ASSERT_TRUE(ReadMessages<v1::EvidenceRecord>(
                  store, store::Family::kEvidence, begin, end,
                  [&](const v1::EvidenceRecord& r) { read.push_back(r.SerializeAsString()); })
                  .ok());
  ASSERT_EQ(read.size(), 299u);
  EXPECT_EQ(read, scanned);
}

// A visitor that reads again, on the same thread, leaves the outer read's
// message whole.
TEST(ScanTest, AReadInsideAReadLeavesTheOuterMessageWhole) {
  store::MemoryStore store;
  store::WriteBatch batch;
  for (uint64_t i = 1; i <= 3; ++i) {
    batch.Put(store::Family::kEvidence, store::EvidenceKey("h1", i),
              Record(i, 1000 * i).SerializeAsString());
  }
  ASSERT_TRUE(store.Write(batch, {}).ok());
  const std::string begin = store::EvidencePrefix("h1");
  const std::string end = store::PrefixEnd(begin);
  int inner = 0;
  ASSERT_TRUE(ReadMessages<v1::EvidenceRecord>(
                  store, store::Family::kEvidence, begin, end,
                  [&](const v1::EvidenceRecord& outer) {
                    const std::string before = outer.SerializeAsString();
                    ASSERT_TRUE(ReadMessages<v1::EvidenceRecord>(
                                    store, store::Family::kEvidence, begin, end,
                                    [&](const v1::EvidenceRecord&) { ++inner; })
                                    .ok());
                    EXPECT_EQ(outer.SerializeAsString(), before);
                    EXPECT_EQ(outer.signal().check().detail().size(), 1000 * outer.index());
                  })
                  .ok());
  EXPECT_EQ(inner, 9);
}

TEST(ScanTest, ReadMessagesStopsAtAValueThatDoesNotParse) {
  store::MemoryStore store;
  store::WriteBatch batch;
  for (uint64_t i = 1; i <= 5; ++i) {
    batch.Put(store::Family::kEvidence, store::EvidenceKey("h1", i),
              i == 4 ? std::string("\xff\xff\xff", 3) : Record(i, 10).SerializeAsString());
  }
  ASSERT_TRUE(store.Write(batch, {}).ok());
  std::vector<uint64_t> visited;
  const absl::Status s = ReadMessages<v1::EvidenceRecord>(
      store, store::Family::kEvidence, store::EvidencePrefix("h1"),
      store::PrefixEnd(store::EvidencePrefix("h1")),
      [&](const v1::EvidenceRecord& r) { visited.push_back(r.index()); });
  EXPECT_EQ(s, absl::DataLossError("evidence: corrupt record"));
  EXPECT_EQ(visited, (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace attest::engine
