// One contract suite, run against every Store implementation.
#include <filesystem>
#include <random>
#include <thread>

#include "common/strings.h"
#include "daemon/store/keys.h"
#include "daemon/store/memory_store.h"
#include "daemon/store/rocksdb_store.h"
#include "gtest/gtest.h"

namespace attest::store {
namespace {

using Factory = std::function<std::unique_ptr<Store>(const std::string& dir)>;

class StoreContractTest : public testing::TestWithParam<std::pair<std::string, Factory>> {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/store_contract_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    store_ = GetParam().second(dir_);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::string> Keys(Family f, std::string_view prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(ScanPrefix(*store_, f, prefix, [&](std::string_view k, std::string_view) {
                  keys.emplace_back(k);
                  return true;
                }).ok());
    return keys;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, GetReturnsWhatWasWrittenAndNotFoundOtherwise) {
  WriteBatch b;
  b.Put(Family::kHosts, "web-1", "state-1");
  ASSERT_TRUE(store_->Write(b, {}).ok());
  EXPECT_EQ(*store_->Get(Family::kHosts, "web-1"), "state-1");
  EXPECT_EQ(store_->Get(Family::kHosts, "web-2").status().code(), absl::StatusCode::kNotFound);
  // Families are separate key spaces.
  EXPECT_EQ(store_->Get(Family::kEvidence, "web-1").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, BatchIsAppliedWhole) {
  WriteBatch b;
  b.Put(Family::kHosts, "a", "1");
  b.Put(Family::kEvidence, EvidenceKey("a", 1), "r1");
  b.Put(Family::kHosts, "a", "2");  // later op in the same batch wins
  b.Delete(Family::kHosts, "missing");
  ASSERT_TRUE(store_->Write(b, {}).ok());
  EXPECT_EQ(*store_->Get(Family::kHosts, "a"), "2");
  EXPECT_EQ(*store_->Get(Family::kEvidence, EvidenceKey("a", 1)), "r1");
  WriteBatch d;
  d.Delete(Family::kHosts, "a");
  ASSERT_TRUE(store_->Write(d, {}).ok());
  EXPECT_FALSE(store_->Get(Family::kHosts, "a").ok());
}

TEST_P(StoreContractTest, ABatchGivenUpIsAppliedAsACopiedOne) {
  WriteBatch b;
  b.Put(Family::kHosts, "a", "1");
  b.Put(Family::kHosts, "b", std::string(5000, 'x'));
  b.Put(Family::kHosts, "a", "2");  // later op in the same batch wins
  b.Delete(Family::kHosts, "b");
  b.Put(Family::kHosts, "c", "3");
  ASSERT_TRUE(store_->Write(std::move(b), {}).ok());
  EXPECT_EQ(*store_->Get(Family::kHosts, "a"), "2");
  EXPECT_FALSE(store_->Get(Family::kHosts, "b").ok());
  EXPECT_EQ(*store_->Get(Family::kHosts, "c"), "3");
}

TEST_P(StoreContractTest, PrefixScanIsOrderedByBigEndianIndexAndStaysInsideTheHost) {
  WriteBatch b;
  // Written out of order, with indexes whose little-endian bytes would sort wrong.
  for (uint64_t i : {256u, 1u, 65536u, 2u, 255u}) {
    b.Put(Family::kEvidence, EvidenceKey("host-a", i), std::to_string(i));
  }
  b.Put(Family::kEvidence, EvidenceKey("host-a2", 1), "other host, same prefix text");
  b.Put(Family::kEvidence, EvidenceKey("host", 7), "shorter host");
  ASSERT_TRUE(store_->Write(b, {}).ok());

  std::vector<uint64_t> order;
  ASSERT_TRUE(ScanPrefix(*store_, Family::kEvidence, EvidencePrefix("host-a"),
                         [&](std::string_view k, std::string_view v) {
                           order.push_back(*EvidenceKeyIndex(k));
                           EXPECT_EQ(std::to_string(order.back()), v);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 255, 256, 65536}));
}

TEST_P(StoreContractTest, ScanStopsWhenVisitorSaysSoAndHonoursEnd) {
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Put(Family::kMeta, std::string(1, static_cast<char>('a' + i)), "");
  ASSERT_TRUE(store_->Write(b, {}).ok());
  int seen = 0;
  ASSERT_TRUE(store_
                  ->Scan(Family::kMeta, "", "",
                         [&](std::string_view, std::string_view) { return ++seen < 3; })
                  .ok());
  EXPECT_EQ(seen, 3);
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->Scan(Family::kMeta, "c", "f",
                         [&](std::string_view k, std::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"c", "d", "e"}));
}

TEST_P(StoreContractTest, ALongScanSeesEveryEntryWhileItsVisitorWrites) {
  // More entries than a scan copies at a time, values long and short in
  // turn (a reused buffer must not keep a longer value's tail), and a
  // visitor that writes into the store as it goes.
  constexpr int kEntries = 1000;
  WriteBatch b;
  auto key = [](int i) { return attest::StrCat("k", 10000 + i); };
  auto value = [](int i) {
    return std::string(i % 3 == 0 ? 300 : i % 7, static_cast<char>('a' + i % 26));
  };
  for (int i = 0; i < kEntries; ++i) b.Put(Family::kMeta, key(i), value(i));
  ASSERT_TRUE(store_->Write(b, {}).ok());
  int seen = 0;
  ASSERT_TRUE(store_
                  ->Scan(Family::kMeta, "k", "l",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(k, key(seen));
                           EXPECT_EQ(v, value(seen));
                           WriteBatch w;
                           w.Put(Family::kFacts, std::string(k), std::string(v));
                           EXPECT_TRUE(store_->Write(w, {}).ok());
                           return ++seen > 0;
                         })
                  .ok());
  EXPECT_EQ(seen, kEntries);
  EXPECT_EQ(*store_->Get(Family::kFacts, key(kEntries - 1)), value(kEntries - 1));
}

TEST_P(StoreContractTest, AScanInsideAScanLeavesTheOuterOneWhole) {
  // The engine scans inside scans. The outer scan's entry must stay what
  // it was while an inner one (itself longer than a chunk) runs, and a
  // scan after both must see everything again.
  constexpr int kEntries = 600;
  WriteBatch b;
  auto key = [](int i) { return attest::StrCat("k", 10000 + i); };
  auto value = [](int i) {
    return std::string(i % 5 == 0 ? 2000 : 10, static_cast<char>('a' + i % 26));
  };
  for (int i = 0; i < kEntries; ++i) b.Put(Family::kMeta, key(i), value(i));
  ASSERT_TRUE(store_->Write(b, {}).ok());
  int outer = 0;
  ASSERT_TRUE(store_
                  ->Scan(Family::kMeta, "k", "l",
                         [&](std::string_view k, std::string_view v) {
                           if (outer % 250 == 0) {
                             int inner = 0;
                             EXPECT_TRUE(store_
                                             ->Scan(Family::kMeta, "k", "l",
                                                    [&](std::string_view ik, std::string_view iv) {
                                                      EXPECT_EQ(ik, key(inner));
                                                      EXPECT_EQ(iv, value(inner));
                                                      return ++inner > 0;
                                                    })
                                             .ok());
                             EXPECT_EQ(inner, kEntries);
                           }
                           EXPECT_EQ(k, key(outer));
                           EXPECT_EQ(v, value(outer));
                           return ++outer > 0;
                         })
                  .ok());
  EXPECT_EQ(outer, kEntries);
  EXPECT_EQ(Keys(Family::kMeta, "k").size(), static_cast<size_t>(kEntries));
}

TEST_P(StoreContractTest, LastFindsTheLastKeyBeforeTheEndAndNotBeforeTheBegin) {
  WriteBatch b;
  for (const char* k : {"a", "c", "e", "g"}) b.Put(Family::kMeta, k, std::string("v") + k);
  b.Put(Family::kFacts, "d", "other family");
  ASSERT_TRUE(store_->Write(b, {}).ok());
  auto last = store_->Last(Family::kMeta, "b", "f");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->first, "e");
  EXPECT_EQ(last->second, "ve");
  EXPECT_EQ(store_->Last(Family::kMeta, "b", "e")->first, "c");  // end excluded
  EXPECT_EQ(store_->Last(Family::kMeta, "a", "b")->first, "a");  // begin included
  EXPECT_EQ(store_->Last(Family::kMeta, "a", "z")->first, "g");
  EXPECT_TRUE(absl::IsNotFound(store_->Last(Family::kMeta, "h", "z").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Last(Family::kMeta, "d", "e").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Last(Family::kMeta, "", "a").status()));
}

TEST_P(StoreContractTest, BinaryKeysAndValuesSurvive) {
  std::string key("\x00\xff\x01", 3);
  std::string value("\x00\x00zero\xff", 7);
  WriteBatch b;
  b.Put(Family::kCheckpoints, key, value);
  ASSERT_TRUE(store_->Write(b, {}).ok());
  EXPECT_EQ(*store_->Get(Family::kCheckpoints, key), value);
}

TEST_P(StoreContractTest, ConcurrentWritersAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        WriteBatch b;
        b.Put(Family::kEvidence, EvidenceKey("h" + std::to_string(t), i + 1), "x");
        ASSERT_TRUE(store_->Write(b, {.sync = (i % 10 == 0)}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(Keys(Family::kEvidence, EvidencePrefix("h" + std::to_string(t))).size(), 100u);
  }
}

TEST_P(StoreContractTest, ClosedStoreRefusesEverything) {
  ASSERT_TRUE(store_->Close().ok());
  WriteBatch b;
  b.Put(Family::kMeta, "k", "v");
  EXPECT_EQ(store_->Write(b, {}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Get(Family::kMeta, "k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Close().code(), absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, StoreContractTest,
    testing::Values(std::make_pair(std::string("memory"),
                                   Factory([](const std::string&) -> std::unique_ptr<Store> {
                                     return std::make_unique<MemoryStore>();
                                   })),
                    std::make_pair(std::string("rocksdb"),
                                   Factory([](const std::string& dir) -> std::unique_ptr<Store> {
                                     auto s = OpenRocksDbStore(dir);
                                     return s.ok() ? std::move(*s) : nullptr;
                                   }))),
    [](const auto& param_info) { return param_info.param.first; });

// RocksDB-only: what was synced survives reopening, and a second opener is
// refused while the first holds the database.
TEST(RocksDbStoreTest, DataSurvivesReopenAndLockIsExclusive) {
  const std::string dir = testing::TempDir() + "/rocks_reopen";
  std::filesystem::remove_all(dir);
  {
    auto store = OpenRocksDbStore(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch b;
    b.Put(Family::kHosts, "h", "v");
    ASSERT_TRUE((*store)->Write(b, {.sync = true}).ok());
    auto second = OpenRocksDbStore(dir);
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  }
  auto store = OpenRocksDbStore(dir);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->Get(Family::kHosts, "h"), "v");
  std::filesystem::remove_all(dir);
}

// RocksDB-only: the bulk families use larger blocks, so that zstd finds
// what one host's records a minute apart repeat of each other (a record's
// hash is the next one's link, and most fields stay the same). The same
// records take fewer bytes in `evidence` than in a family with RocksDB's
// default 4 KiB blocks: 0.82 of them here, where each record's own random
// hash, which nothing compresses, is a sixth of it (0.999 with equal blocks).
// Both sizes of block share one cache, of a stated size.
TEST(RocksDbStoreTest, TheEvidenceFamilyStoresLikeRecordsInFewerBytes) {
  const std::string dir = testing::TempDir() + "/rocks_blocks";
  std::filesystem::remove_all(dir);
  std::mt19937_64 random(7);
  auto hash = [&] {
    std::string h;
    for (int i = 0; i < 4; ++i) {
      const uint64_t v = random();
      h.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return h;
  };
  {
    auto store = OpenRocksDbStore(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    std::string prev = hash();
    for (int batch = 0; batch < 20; ++batch) {
      WriteBatch b;
      for (int i = 0; i < 1000; ++i) {
        const int64_t t = 1'780'000'000 + 60 * (batch * 1000 + i);
        const std::string next = hash();
        const std::string value = attest::StrCat(
            prev, next, "{\"log_shipping\":{\"active\":true,\"backlog\":", random() % 50,
            ",\"last_delivery\":", t - 20, ",\"shipper\":\"rsyslog-central\"},\"observed_at\":", t,
            ",\"received_at\":", t + 1, "}");
        const std::string key = EvidenceKey("h0001", static_cast<uint64_t>(batch * 1000 + i + 1));
        b.Put(Family::kEvidence, key, value);
        b.Put(Family::kHosts, key, value);
        prev = next;
      }
      ASSERT_TRUE((*store)->Write(b, {.sync = false}).ok());
    }
    ASSERT_TRUE((*store)->Close().ok());  // flushes every family into table files
  }
  auto store = OpenRocksDbStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  const double evidence = static_cast<double>(stats->family_file_bytes.at("evidence"));
  const double small_blocks = static_cast<double>(stats->family_file_bytes.at("hosts"));
  ASSERT_GT(small_blocks, 0);
  EXPECT_LT(evidence / small_blocks, 0.9) << evidence << " bytes against " << small_blocks;
  // Both block sizes share one block cache, which is the one Stats reports.
  const uint64_t cached = stats->block_cache_bytes;
  int read = 0;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kHosts, "", "\xff",
                         [&](std::string_view, std::string_view) { return ++read > 0; })
                  .ok());
  EXPECT_EQ(read, 20000);
  stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->block_cache_bytes, cached + (1u << 20));  // the hosts family's blocks
  std::filesystem::remove_all(dir);
}

TEST(RocksDbStoreTest, UnwritableDirectoryIsAClearError) {
  auto store = OpenRocksDbStore("/proc/attest-cannot-be-here");
  EXPECT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/proc/attest-cannot-be-here"), std::string::npos);
}

}  // namespace
}  // namespace attest::store
