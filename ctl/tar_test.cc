#include "ctl/tar.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

std::string Dir() {
  const std::string d = testing::TempDir() + "/tar_test";
  std::filesystem::create_directories(d);
  return d;
}

std::map<std::string, std::string> ReadAllEntries(const std::string& path, absl::Status* status) {
  std::map<std::string, std::string> out;
  *status = ReadTar(path, [&](const std::string& name, uint64_t size, const TarChunkReader& read) {
    std::string data(size, '\0');
    if (read(data.data(), data.size()) != size) return absl::DataLossError("short");
    out[name] = data;
    return absl::OkStatus();
  });
  return out;
}

TEST(TarTest, EntriesRoundTripAndGnuTarReadsThem) {
  const std::string path = Dir() + "/small.tar";
  auto tar = TarWriter::Create(path);
  ASSERT_TRUE(tar.ok());
  ASSERT_TRUE(tar->Add("a.txt", "hello\n").ok());
  ASSERT_TRUE(tar->Begin("streamed.jsonl").ok());
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(tar->Append("{\"n\":" + std::to_string(i) + "}\n").ok());
  ASSERT_TRUE(tar->End().ok());
  ASSERT_TRUE(tar->Add("b.txt", std::string(513, 'b')).ok());
  ASSERT_TRUE(tar->Close().ok());
  absl::Status s;
  auto entries = ReadAllEntries(path, &s);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(entries["a.txt"], "hello\n");
  EXPECT_EQ(entries["b.txt"], std::string(513, 'b'));
  EXPECT_EQ(entries["streamed.jsonl"].substr(0, 8), "{\"n\":0}\n");
  // GNU tar agrees, streamed entry included.
  EXPECT_EQ(system(("tar -xOf " + path + " streamed.jsonl | wc -l | grep -qx 1000").c_str()), 0);
}

// An archive is written beside its path and renamed there by Close: a
// writer given up half way (an export that failed) leaves the path as it
// was and no partial file, and an old archive at the path stays whole
// until the new one is.
TEST(TarTest, OnlyAClosedArchiveTakesItsPath) {
  const std::string path = Dir() + "/renamed.tar";
  std::filesystem::remove(path);
  {
    auto tar = TarWriter::Create(path);
    ASSERT_TRUE(tar.ok());
    ASSERT_TRUE(tar->Add("a.txt", "first\n").ok());
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(path + ".partial"));
    ASSERT_TRUE(tar->Close().ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  {
    auto tar = TarWriter::Create(path);
    ASSERT_TRUE(tar.ok());
    ASSERT_TRUE(tar->Begin("records.jsonl").ok());
    ASSERT_TRUE(tar->Append("half").ok());
    // Given up here, without End or Close.
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  absl::Status s;
  auto entries = ReadAllEntries(path, &s);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(entries, (std::map<std::string, std::string>{{"a.txt", "first\n"}}));
  // Renaming over a link or a device would replace it: refused.
  const std::string link = Dir() + "/link.tar";
  std::filesystem::remove(link);
  std::filesystem::create_symlink(path, link);
  auto refused = TarWriter::Create(link);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is not a regular file"), std::string::npos)
      << refused.status();
  EXPECT_FALSE(TarWriter::Create("/dev/null").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
}

// An entry over its bound is refused before it is written, whether added
// whole or streamed, naming it; the archive is then never made.
TEST(TarTest, AnEntryOverItsBoundIsRefusedAndTheArchiveIsNotMade) {
  const std::string path = Dir() + "/bounded.tar";
  std::filesystem::remove(path);
  for (bool streamed : {false, true}) {
    {
      auto tar = TarWriter::Create(path);
      ASSERT_TRUE(tar.ok());
      tar->SetBounds({{"ledger.jsonl", 10}});
      ASSERT_TRUE(tar->Add("other.jsonl", std::string(100, 'o')).ok());  // no bound of its own
      // What an exporter asks before it streams the records: the same answer.
      EXPECT_TRUE(tar->Fits("ledger.jsonl", 10).ok());
      EXPECT_TRUE(tar->Fits("other.jsonl", 1000).ok());
      EXPECT_EQ(tar->Fits("ledger.jsonl", 11).message(),
                "ledger.jsonl would be larger than 10 bytes, the most verify reads of it; " + path +
                    " was not written");
      absl::Status s;
      if (streamed) {
        ASSERT_TRUE(tar->Begin("ledger.jsonl").ok());
        ASSERT_TRUE(tar->Append(std::string(6, 'l')).ok());
        ASSERT_TRUE(tar->Append(std::string(4, 'l')).ok());  // 10: at the bound
        s = tar->Append("l");
      } else {
        ASSERT_TRUE(tar->Add("ledger.jsonl", std::string(10, 'l')).ok());
        s = tar->Add("ledger.jsonl", std::string(11, 'l'));
      }
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      EXPECT_EQ(s.message(),
                "ledger.jsonl would be larger than 10 bytes, the most verify reads "
                "of it; " +
                    path + " was not written");
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << streamed;
    EXPECT_FALSE(std::filesystem::exists(path + ".partial")) << streamed;
  }
}

TEST(TarTest, EntriesOfEightGibAndMoreUseTheBase256SizeThatGnuTarReads) {
  // A header claiming 9 GiB, followed by a sparse file of that many zero
  // bytes and the end-of-archive blocks: no disk space used.
  const uint64_t size = uint64_t{9} << 30;
  const std::string path = Dir() + "/big.tar";
  {
    std::ofstream out(path, std::ios::binary);
    out << TarHeader("big.jsonl", size);
  }
  std::filesystem::resize_file(path, 512 + size + 1024);
  std::string listing;
  FILE* p = popen(("tar -tvf " + path + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) listing += buf;
  EXPECT_EQ(pclose(p), 0) << listing;
  EXPECT_NE(listing.find(std::to_string(size) + " "), std::string::npos) << listing;
  EXPECT_NE(listing.find("big.jsonl"), std::string::npos) << listing;
  absl::Status s = ReadTar(path, [&](const std::string& name, uint64_t n, const TarChunkReader&) {
    EXPECT_EQ(name, "big.jsonl");
    EXPECT_EQ(n, size);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  // Cut short: named as truncated, not read past the end.
  std::filesystem::resize_file(path, 512 + size / 2);
  s = ReadTar(path,
              [](const std::string&, uint64_t, const TarChunkReader&) { return absl::OkStatus(); });
  EXPECT_FALSE(s.ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace attest::ctl
