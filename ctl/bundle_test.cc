// VerifyBundle against bundles that are broken below the record level: the
// file, the tar, the manifest and the host lists, and record lines that are
// not records. Each starts from a real one-host bundle exported by attestd
// (the fuzz seed) and changes one thing.
#include "ctl/bundle.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "common/strings.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"
#include "ctl/bundle_test_support.h"
#include "ctl/tar.h"
#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

const std::string kSeed =
    std::string(ATTEST_SOURCE_DIR) + "/tests/fuzz/seeds/bundle/one-host-day.tar";

using namespace testing_support;  // NOLINT: the bundle tests' shared helpers

std::vector<Entry> ReadSeed() { return ReadEntries(kSeed); }

// The 600th line's observed time moved by a minute (the units digit of its
// minutes): its hash breaks.
void EditLine600(std::string* records) {
  size_t at = 0;
  for (int i = 1; i < 600; ++i) at = records->find('\n', at) + 1;
  const size_t t = records->find("\"observed_at\":\"", at) + 30;
  (*records)[t] = (*records)[t] == '1' ? '2' : '1';
}

std::string& Data(std::vector<Entry>& entries, const std::string& name) {
  for (Entry& e : entries) {
    if (e.name == name) return e.data;
  }
  ADD_FAILURE() << "no " << name;
  static std::string none;
  return none;
}

class BundleBadInputTest : public testing::Test {
 protected:
  void SetUp() override {
    // ctest runs each test as its own process, side by side: a file each.
    path_ = testing::TempDir() + "/bundle_bad_input_" +
            testing::UnitTest::GetInstance()->current_test_info()->name() + ".tar";
    seed_ = ReadSeed();
    ASSERT_EQ(seed_.size(), 3u);
  }
  // The failure message of verifying these entries, "" when they verify.
  std::string Failure(const std::vector<Entry>& entries) {
    auto tar = TarWriter::Create(path_);
    EXPECT_TRUE(tar.ok());
    for (const Entry& e : entries) EXPECT_TRUE(tar->Add(e.name, e.data).ok());
    EXPECT_TRUE(tar->Close().ok());
    return FailureOfFile();
  }
  std::string FailureOfFile() {
    auto r = VerifyBundle(path_, {});
    return r.ok() ? "" : std::string(r.status().message());
  }
  // Replaces the first occurrence of `from` in entry `name`.
  std::vector<Entry> With(const std::string& name, const std::string& from, const std::string& to) {
    std::vector<Entry> entries = seed_;
    std::string& data = Data(entries, name);
    const size_t at = data.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) data.replace(at, from.size(), to);
    return entries;
  }
  std::string path_;
  std::vector<Entry> seed_;
};

TEST_F(BundleBadInputTest, TheSeedVerifiesUnchanged) { EXPECT_EQ(Failure(seed_), ""); }

// A policy version judged under a judgement this attestctl does not know
// is refused, never recomputed under another (the ledger's hashes and
// signatures would hold; only the replay can tell).
TEST(BundleReplayTest, AJudgementNewerThanThisAttestctlIsRefused) {
  v1::BundleManifest m;
  v1::PolicyVersion* v = m.add_policy_versions();
  v->set_version("sha256:0123456789abcdef");
  v->set_file("built-in");
  v->set_source("controls: []\n");
  v->set_judge(engine::kJudgement + 1);
  ReplayStore records;
  ASSERT_TRUE(records.Prepare(0).ok());
  ASSERT_TRUE(records.Finish().ok());
  auto r = ReplaySummary(m, records);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find(StrCat("policy version sha256:0123456789abcdef is judged under judgement ",
                             engine::kJudgement + 1, "; this attestctl knows judgements 1 to ",
                             engine::kJudgement, "; a newer attestctl is needed")),
            std::string::npos)
      << r.status();
}

TEST_F(BundleBadInputTest, RecordLinesThatAreNotRecordsAreNamedByLine) {
  const std::string& records = Data(seed_, "records.jsonl");
  const std::string first = records.substr(0, records.find('\n'));
  auto line_one = [&](const std::string& replacement) {
    return With("records.jsonl", first, replacement);
  };
  EXPECT_NE(Failure(line_one("not json at all")).find("records.jsonl line 1"), std::string::npos);
  EXPECT_NE(Failure(line_one("not json at all")).find("not a JSON record"), std::string::npos);
  EXPECT_NE(Failure(line_one(R"({"host":"h0001","index":1})"))
                .find("host, index, prev_hash and hash are required"),
            std::string::npos);
  // A hash that is not hex, and the same record re-serialised with a space.
  const size_t hash_at = first.find("\"hash\":\"") + 8;
  std::string not_hex = first;
  not_hex.replace(hash_at, 2, "zz");
  EXPECT_NE(Failure(line_one(not_hex)).find("hash is not hex"), std::string::npos)
      << Failure(line_one(not_hex));
  std::string spaced = first;
  spaced.replace(spaced.find("\",\"hello\""), 9, "\", \"hello\"");
  EXPECT_NE(Failure(line_one(spaced)).find("not in canonical form"), std::string::npos)
      << Failure(line_one(spaced));
  // The last line without its newline.
  std::vector<Entry> cut = seed_;
  Data(cut, "records.jsonl").pop_back();
  EXPECT_NE(Failure(cut).find("records.jsonl: the last line is cut off"), std::string::npos);
}

TEST_F(BundleBadInputTest, ABrokenFileOrTarIsNamed) {
  std::remove(path_.c_str());
  EXPECT_NE(FailureOfFile().find("cannot read " + path_), std::string::npos) << FailureOfFile();

  std::ofstream(path_, std::ios::trunc) << "this is not a tar file";
  EXPECT_FALSE(FailureOfFile().empty());

  ASSERT_EQ(Failure(seed_), "");
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  auto write = [&](const std::string& b) {
    std::ofstream(path_, std::ios::trunc | std::ios::binary) << b;
  };
  write(bytes.substr(0, bytes.size() / 2));  // cut inside an entry
  EXPECT_NE(FailureOfFile().find("truncated"), std::string::npos) << FailureOfFile();
  // The end-of-archive blocks (and the zero padding after them) gone.
  const size_t last = bytes.find_last_not_of('\0');
  write(bytes.substr(0, (last / 512 + 1) * 512));
  EXPECT_NE(FailureOfFile().find("truncated"), std::string::npos) << FailureOfFile();
  std::string bad_sum = bytes;
  bad_sum[0] ^= 0x01;  // the first header's name
  write(bad_sum);
  EXPECT_NE(FailureOfFile().find("checksum is wrong"), std::string::npos) << FailureOfFile();
  std::string bad_size = bytes;
  bad_size[124] = 'x';  // the first header's size field, checksum recomputed
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(bad_size[i]);
  char field[8];
  snprintf(field, sizeof(field), "%06o", sum);
  bad_size.replace(148, 6, field, 6);
  write(bad_size);
  EXPECT_NE(FailureOfFile().find("bad tar size"), std::string::npos) << FailureOfFile();
}

TEST_F(BundleBadInputTest, AMissingOrWrongManifestIsNamed) {
  std::vector<Entry> no_manifest;
  for (const Entry& e : seed_) {
    if (e.name != "manifest.json") no_manifest.push_back(e);
  }
  EXPECT_NE(Failure(no_manifest).find("no manifest.json"), std::string::npos);
  EXPECT_NE(Failure(With("manifest.json", "{", "[")).find("manifest.json: "), std::string::npos);
  EXPECT_NE(Failure(With("manifest.json", "attest-bundle-v1", "attest-bundle-v9"))
                .find("unknown bundle format attest-bundle-v9"),
            std::string::npos);
}

// An entry over its bound is refused at once, by name, without reading it
// and before the records: a sparse ledger.jsonl of 1 GiB + 1 byte ahead of
// the seed's entries (which verify without it).
TEST_F(BundleBadInputTest, AnEntryOverItsBoundIsRefusedAtOnce) {
  const uint64_t size = kMaxLedgerBytes + 1;
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << TarHeader("ledger.jsonl", size);
    out.seekp(static_cast<std::streamoff>(512 + (size + 511) / 512 * 512));
    for (const Entry& e : seed_) {
      out << TarHeader(e.name, e.data.size()) << e.data
          << std::string((512 - e.data.size() % 512) % 512, '\0');
    }
    out << std::string(1024, '\0');
    ASSERT_TRUE(out.good());
  }
  EXPECT_EQ(FailureOfFile(), "ledger.jsonl claims 1073741825 bytes; at most 1073741824");
}

TEST_F(BundleBadInputTest, HostListsThatDisagreeAreNamed) {
  // Listed in the manifest but not in the checkpoint.
  const std::string listed = R"("host": "h0001",
   "first_index")";
  std::string f = Failure(With("manifest.json", listed, R"("host": "h0002",
   "first_index")"));
  EXPECT_NE(f.find("h0002"), std::string::npos) << f;
  EXPECT_TRUE(f.find("is not in the checkpoint") != std::string::npos ||
              f.find("which the manifest does not list") != std::string::npos)
      << f;
  // Listed, but with no records.
  std::vector<Entry> no_records = seed_;
  Data(no_records, "records.jsonl").clear();
  f = Failure(no_records);
  EXPECT_NE(f.find("host h0001: its records are missing"), std::string::npos) << f;
}

// Format 3: the fixture's format 2 bundle with its records in zstd frames.
class CompressedBundleTest : public testing::Test {
 protected:
  void SetUp() override {
    options_ = FixtureKey("bundle-v2");
    plain_ = ReadEntries(FixturePath("bundle-v2/two-hosts-v2.tar"));
    path_ = testing::TempDir() + "/compressed_" +
            testing::UnitTest::GetInstance()->current_test_info()->name() + ".tar";
  }
  // `records` cut into `frames` frames at line ends, then each frame's
  // bytes passed through `edit` (by frame number, from 1).
  std::vector<Entry> Compressed(
      const std::string& records, int frames,
      const std::function<void(int, std::string*)>& edit = [](int, std::string*) {}) {
    std::vector<Entry> out;
    for (const Entry& e : plain_) {
      if (e.name == "records.jsonl") {
        std::string zst;
        size_t at = 0;
        for (int i = 1; i <= frames; ++i) {
          size_t end =
              i == frames ? records.size() : records.find('\n', records.size() * i / frames) + 1;
          auto f = CompressFrame(std::string_view(records).substr(at, end - at));
          EXPECT_TRUE(f.ok());
          edit(i, &*f);
          zst += *f;
          at = end;
        }
        out.push_back({"records.jsonl.zst", zst});
      } else if (e.name == "manifest.json") {
        std::string m = e.data;
        m.replace(m.find("attest-bundle-v2"), 16, "attest-bundle-v3");
        out.push_back({e.name, m});
      } else {
        out.push_back(e);
      }
    }
    return out;
  }
  absl::StatusOr<VerifyResult> Verify(const std::vector<Entry>& entries) {
    WriteEntries(entries, path_);
    return VerifyBundle(path_, options_);
  }
  std::string Failure(const std::vector<Entry>& entries) {
    auto r = Verify(entries);
    return r.ok() ? "" : std::string(r.status().message());
  }
  VerifyOptions options_;
  std::vector<Entry> plain_;
  std::string path_;
};

TEST_F(CompressedBundleTest, VerifiesTheSameAsThePlainForm) {
  auto plain = Verify(plain_);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const std::string& records = Data(plain_, "records.jsonl");
  for (int frames : {1, 3, 40}) {
    auto zst = Verify(Compressed(records, frames));
    ASSERT_TRUE(zst.ok()) << zst.status();
    EXPECT_EQ(zst->format, "attest-bundle-v3");
    EXPECT_EQ(zst->frames, static_cast<uint64_t>(frames));
    EXPECT_EQ(zst->records, plain->records);
    EXPECT_EQ(zst->hosts, plain->hosts);
    EXPECT_EQ(zst->summary, plain->summary);
    EXPECT_EQ(zst->in_window, plain->in_window);
    EXPECT_EQ(zst->late, plain->late);
    EXPECT_EQ(zst->record_bytes, plain->record_bytes);
    EXPECT_LT(zst->compressed_bytes * 4, plain->record_bytes);
  }
}

// A frame is checked and linked a slice of lines at a time: with slices of
// 7 lines (not dividing any frame), every split verifies the same, and an
// edited record deep in a frame is still named by its line.
TEST_F(CompressedBundleTest, FramesCheckedInSlicesVerifyTheSame) {
  auto plain = Verify(plain_);
  ASSERT_TRUE(plain.ok()) << plain.status();
  options_.slice_lines = 7;
  std::string records = Data(plain_, "records.jsonl");
  for (int frames : {1, 3}) {
    auto zst = Verify(Compressed(records, frames));
    ASSERT_TRUE(zst.ok()) << zst.status();
    EXPECT_EQ(zst->records, plain->records);
    EXPECT_EQ(zst->summary, plain->summary);
  }
  EditLine600(&records);
  const std::string f = Failure(Compressed(records, 1));
  EXPECT_NE(f.find("records.jsonl line 600"), std::string::npos) << f;
}

// A tiny frame that decodes to 64 MiB of empty lines (64M lines) is refused
// at its first line, checked a slice at a time, not all 64M at once.
TEST_F(CompressedBundleTest, AFrameOfEmptyLinesIsRefusedAtItsFirstLine) {
  const std::string empty_lines(kMaxFrameContentBytes, '\n');
  auto frame = CompressFrame(empty_lines);
  ASSERT_TRUE(frame.ok());
  EXPECT_LT(frame->size(), size_t{1} << 20);
  std::vector<Entry> entries = Compressed(Data(plain_, "records.jsonl"), 1);
  Data(entries, "records.jsonl.zst") = *frame;
  const std::string f = Failure(entries);
  EXPECT_NE(f.find("records.jsonl line 1"), std::string::npos) << f;
}

TEST_F(CompressedBundleTest, ACorruptFrameIsNamed) {
  const std::string& records = Data(plain_, "records.jsonl");
  const std::string f = Failure(Compressed(records, 3, [](int i, std::string* b) {
    if (i == 2) (*b)[b->size() / 2] ^= 0x55;
  }));
  EXPECT_NE(f.find("records.jsonl.zst frame 2 (at byte "), std::string::npos) << f;
  // Cut inside frame 3: the entry ends inside it.
  const std::string cut = Failure(Compressed(records, 3, [](int i, std::string* b) {
    if (i == 3) b->resize(b->size() - 10);
  }));
  EXPECT_NE(cut.find("records.jsonl.zst frame 3"), std::string::npos) << cut;
  EXPECT_NE(cut.find("the entry ends inside it"), std::string::npos) << cut;
}

TEST_F(CompressedBundleTest, AnEditedRecordInsideAFrameIsNamedByItsLine) {
  std::string records = Data(plain_, "records.jsonl");
  EditLine600(&records);
  const std::string f = Failure(Compressed(records, 3));
  EXPECT_NE(f.find("records.jsonl line 600"), std::string::npos) << f;
}

TEST_F(CompressedBundleTest, OneRecordsEntryOfTheRightFormat) {
  const std::string& records = Data(plain_, "records.jsonl");
  std::vector<Entry> both = Compressed(records, 2);
  both.insert(both.begin(), {"records.jsonl", records});
  EXPECT_NE(Failure(both).find("a second records entry"), std::string::npos) << Failure(both);
  std::vector<Entry> v2 = Compressed(records, 2);
  std::string& m = Data(v2, "manifest.json");
  m.replace(m.find("attest-bundle-v3"), 16, "attest-bundle-v2");
  EXPECT_NE(Failure(v2).find("compressed records are format attest-bundle-v3"), std::string::npos)
      << Failure(v2);
}

}  // namespace
}  // namespace attest::ctl
