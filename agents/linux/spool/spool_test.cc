#include "agents/linux/spool/spool.h"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/linux/spool/record_codec.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;

v1::Signal Beat() {
  v1::Signal s;
  s.mutable_observed_at()->set_seconds(1767225600);
  s.mutable_heartbeat();
  return s;
}

std::vector<v1::Signal> Beats(int n) { return std::vector<v1::Signal>(n, Beat()); }

class SpoolTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/spool_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<Spool> Open(uint64_t max_bytes = 1 << 20, uint64_t segment_bytes = 1024,
                              std::vector<std::string> consumers = {"a"}) {
    auto spool = Spool::Open({.dir = dir_,
                              .max_bytes = max_bytes,
                              .segment_bytes = segment_bytes,
                              .consumers = std::move(consumers)});
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? std::move(*spool) : nullptr;
  }
  std::vector<uint64_t> Seqs(Spool& spool, uint64_t after) {
    std::vector<uint64_t> seqs;
    auto signals = spool.Read(after, 100000);
    EXPECT_TRUE(signals.ok()) << signals.status();
    if (signals.ok()) {
      for (const auto& s : *signals) seqs.push_back(s.seq());
    }
    return seqs;
  }
  std::string dir_;
};

TEST_F(SpoolTest, AppendsInOrderAndSurvivesReopenWithTheSameInstance) {
  std::string instance;
  {
    auto spool = Open();
    instance = spool->instance_id();
    EXPECT_EQ(*spool->Append(Beats(3)), 3u);
    EXPECT_EQ(*spool->Append(Beats(2)), 5u);
    EXPECT_EQ(Seqs(*spool, 0), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(Seqs(*spool, 3), (std::vector<uint64_t>{4, 5}));
    EXPECT_EQ(spool->Read(0, 2)->size(), 2u);
  }
  auto reopened = Open();
  EXPECT_EQ(reopened->instance_id(), instance);
  EXPECT_EQ(Seqs(*reopened, 0).size(), 5u);
  EXPECT_EQ(*reopened->Append(Beats(1)), 6u);  // seqs never restart
}

TEST_F(SpoolTest, SignalsTheDiskRefusesWaitInMemoryAndGoFirstOnceItTakesWritesAgain) {
  auto spool = Open(1 << 20, 1 << 20);
  ASSERT_EQ(*spool->Append(Beats(5)), 5u);
  // The kernel refuses to grow the segment from now on (EFBIG, as ENOSPC
  // would on a full disk), until the limit is lifted again.
  signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  uint64_t used = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.is_regular_file()) used = std::max<uint64_t>(used, fs::file_size(e.path()));
  }
  rlimit tight = saved;
  tight.rlim_cur = used;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tight), 0);
  auto observed = [](int64_t t) {
    v1::Signal s = Beat();
    s.mutable_observed_at()->set_seconds(t);
    return std::vector<v1::Signal>{s};
  };
  EXPECT_FALSE(spool->Append(observed(100)).ok());
  EXPECT_FALSE(spool->Append(observed(101)).ok());
  EXPECT_EQ(spool->Stats().pending_signals, 2u);
  EXPECT_EQ(Seqs(*spool, 0).size(), 5u) << "nothing half-written is readable";
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_EQ(*spool->Append(observed(102)), 8u);
  EXPECT_EQ(spool->Stats().pending_signals, 0u);
  auto all = spool->Read(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 8u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*all)[5 + i].seq(), 6u + i);
    EXPECT_EQ((*all)[5 + i].observed_at().seconds(), 100 + i) << "observation order holds";
  }
  EXPECT_EQ(spool->Stats().dropped_signals, 0u);
}

// The kernel refuses to grow the spool's active (newest) segment past its
// size now (EFBIG, as ENOSPC would on a full disk) while this lives.
class DiskRefusesWrites {
 public:
  explicit DiskRefusesWrites(const std::string& dir) {
    signal(SIGXFSZ, SIG_IGN);
    ok_ = getrlimit(RLIMIT_FSIZE, &saved_) == 0;
    std::string newest;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("segment-", 0) == 0 && name > newest) newest = name;
    }
    rlimit tight = saved_;
    tight.rlim_cur = newest.empty() ? 0 : fs::file_size(dir + "/" + newest);
    ok_ = ok_ && setrlimit(RLIMIT_FSIZE, &tight) == 0;
  }
  ~DiskRefusesWrites() { Lift(); }
  void Lift() {
    if (ok_) setrlimit(RLIMIT_FSIZE, &saved_);
    ok_ = false;
  }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// Fixed: signals dropped from memory used no seqs, so no daemon could see
// that anything was lost.
TEST_F(SpoolTest, SignalsLostWhileTheDiskRefusedWritesLeaveAGapInTheSeqs) {
  auto spool = Spool::Open({.dir = dir_, .consumers = {"a"}, .max_pending_signals = 3});
  ASSERT_TRUE(spool.ok()) << spool.status();
  ASSERT_EQ(*(*spool)->Append(Beats(3)), 3u);
  DiskRefusesWrites full(dir_);
  ASSERT_TRUE(full.ok());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE((*spool)->Append(Beats(1)).ok());
  EXPECT_EQ((*spool)->Stats().pending_signals, 3u);
  EXPECT_EQ((*spool)->Stats().dropped_signals, 2u);
  full.Lift();
  EXPECT_EQ(*(*spool)->Append({}), 8u);  // the three kept, after the two lost
  EXPECT_EQ(Seqs(**spool, 0), (std::vector<uint64_t>{1, 2, 3, 6, 7, 8}));
}

// Fixed: signals waiting for the disk when the agent stopped were lost
// without a trace; closing the spool writes them if it can.
TEST_F(SpoolTest, SignalsStillWaitingForTheDiskAreWrittenWhenTheSpoolCloses) {
  {
    auto spool = Open();
    ASSERT_EQ(*spool->Append(Beats(5)), 5u);
    DiskRefusesWrites full(dir_);
    ASSERT_TRUE(full.ok());
    EXPECT_FALSE(spool->Append(Beats(2)).ok());
    full.Lift();
  }  // closed with two signals pending and a disk that takes them again
  auto reopened = Open();
  EXPECT_EQ(Seqs(*reopened, 0), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  // Still full when it closes: the loss is logged.
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "captured", std::make_shared<spdlog::sinks::ostream_sink_st>(logs)));
  {
    DiskRefusesWrites full(dir_);
    ASSERT_TRUE(full.ok());
    EXPECT_FALSE(reopened->Append(Beats(1)).ok());
    reopened.reset();
  }
  spdlog::set_default_logger(previous);
  EXPECT_NE(logs.str().find("spool: 1 signals waiting for the disk are lost at exit"),
            std::string::npos)
      << logs.str();
}

TEST_F(SpoolTest, StringsThatAreNotUtf8AreRepairedSoTheRecordReadsBack) {
  // A user whose GECOS field is Latin-1 ("Jos\xe9"), as useradd on a host
  // with a Latin-1 locale writes it.
  v1::Signal change = Beat();
  change.mutable_access_change()->set_id("c1");
  change.mutable_access_change()->set_subject("jos\xe9");
  change.mutable_access_change()->set_diff(
      "+ user jos\xe9 (Jos\xe9 Mar\xe9"
      "a)\n");
  auto spool = Open();
  ASSERT_TRUE(spool->Append({change}).ok());
  auto read = spool->Read(0, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].access_change().subject(), "jos\xEF\xBF\xBD");
  EXPECT_EQ((*read)[0].access_change().diff(),
            "+ user jos\xEF\xBF\xBD (Jos\xEF\xBF\xBD Mar\xEF\xBF\xBD"
            "a)\n");
  // And again after a restart, from the segment on disk.
  spool.reset();
  EXPECT_EQ(Open()->Read(0, 10)->at(0).access_change().subject(), "jos\xEF\xBF\xBD");
}

TEST_F(SpoolTest, ANewSpoolIsANewInstance) {
  std::string first = Open()->instance_id();
  fs::remove_all(dir_);
  EXPECT_NE(Open()->instance_id(), first);
}

TEST_F(SpoolTest, ATornTailIsCutOffAndNothingBeforeItIsLost) {
  std::string segment;
  {
    auto spool = Open();
    ASSERT_TRUE(spool->Append(Beats(4)).ok());
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("segment-", 0) == 0 && fs::file_size(e.path()) > 0) {
      segment = e.path();
    }
  }
  ASSERT_FALSE(segment.empty());
  const auto good_size = fs::file_size(segment);
  std::ofstream(segment, std::ios::app | std::ios::binary)
      << std::string("\x20\x00\x00\x00garb", 8);
  auto spool = Open();
  EXPECT_EQ(fs::file_size(segment), good_size);
  EXPECT_EQ(Seqs(*spool, 0), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(*spool->Append(Beats(1)), 5u);
}

TEST_F(SpoolTest, CorruptionInAnOlderSegmentCutsOnlyThatSegment) {
  std::vector<fs::path> segments;
  {
    auto spool = Open(1 << 20, /*segment_bytes=*/64);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(spool->Append(Beats(2)).ok());
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("segment-", 0) == 0 && fs::file_size(e.path()) > 0) {
      segments.push_back(e.path());
    }
  }
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 3u);
  const std::vector<uint64_t> before = [&] {
    auto spool = Open(1 << 20, 64);
    return Seqs(*spool, 0);
  }();
  ASSERT_EQ(before.size(), 12u);
  // Flip the last byte of the first segment: its last record no longer
  // checks, so that record goes; every later segment is read as it was.
  {
    std::fstream f(segments.front(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    const char last = static_cast<char>(f.get());
    f.seekp(-1, std::ios::end);
    f.put(static_cast<char>(last ^ 0x5a));
  }
  auto spool = Open(1 << 20, 64);
  const std::vector<uint64_t> after = Seqs(*spool, 0);
  ASSERT_FALSE(after.empty());
  EXPECT_LT(after.size(), before.size());
  EXPECT_EQ(after.back(), 12u);
  EXPECT_TRUE(std::is_sorted(after.begin(), after.end()));
  EXPECT_EQ(*spool->Append(Beats(1)), 13u);  // seqs never go back
}

TEST_F(SpoolTest, StrayFilesAndAnUnreadableCursorDoNotStopTheAgent) {
  {
    auto spool = Open();
    ASSERT_TRUE(spool->Append(Beats(3)).ok());
    ASSERT_TRUE(spool->Ack("a", 2).ok());
  }
  // An editor's backup, a name with no number, and a cursor that is not a
  // number: the first two are ignored, the cursor reads as "nothing acked"
  // (a resend the daemon drops as duplicates), and nothing held is lost.
  std::ofstream(dir_ + "/segment-00000000000000000001~") << "junk";
  std::ofstream(dir_ + "/segment-") << "junk";
  std::ofstream(dir_ + "/segment-abc") << "junk";
  std::ofstream(dir_ + "/cursor-a", std::ios::trunc) << "not a number";
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Acked("a"), 0u);
  EXPECT_EQ(Seqs(*spool, 0), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(*spool->Append(Beats(1)), 4u);
  // An empty cursor file is also "nothing acked".
  spool.reset();
  std::ofstream(dir_ + "/cursor-a", std::ios::trunc);
  EXPECT_EQ(Open()->Acked("a"), 0u);
}

TEST_F(SpoolTest, SegmentsGoOnlyWhenEveryDaemonHasAcked) {
  auto spool = Open(1 << 20, /*segment_bytes=*/64, {"a", "b"});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(spool->Append(Beats(2)).ok());
  const uint64_t segments = spool->Stats().segments;
  ASSERT_GT(segments, 3u);
  ASSERT_TRUE(spool->Ack("a", 20).ok());
  EXPECT_EQ(spool->Stats().segments, segments);  // b has acked nothing
  EXPECT_EQ(Seqs(*spool, spool->Acked("b")).size(), 20u);
  ASSERT_TRUE(spool->Ack("b", 10).ok());
  EXPECT_LT(spool->Stats().segments, segments);
  EXPECT_EQ(Seqs(*spool, 10).front(), 11u);  // b resumes at 11, nothing lost
  // Cursors persist.
  spool.reset();
  auto reopened = Open(1 << 20, 64, {"a", "b"});
  EXPECT_EQ(reopened->Acked("a"), 20u);
  EXPECT_EQ(reopened->Acked("b"), 10u);
}

TEST_F(SpoolTest, WhenFullTheOldestAreDroppedAndTheGapIsVisible) {
  auto spool = Open(/*max_bytes=*/300, /*segment_bytes=*/100);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(spool->Append(Beats(1)).ok());
  SpoolStats stats = spool->Stats();
  EXPECT_LE(stats.bytes, 300u);
  EXPECT_GT(stats.dropped_signals, 0u);
  EXPECT_EQ(stats.first_seq, stats.dropped_signals + 1);
  auto held = Seqs(*spool, 0);
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(held.front(), stats.first_seq);  // a daemon sees seqs jump: a gap
  EXPECT_EQ(held.back(), 20u);
}

TEST_F(SpoolTest, WaitForDataWakesOnAppendAndOnShutdown) {
  auto spool = Open();
  EXPECT_FALSE(spool->WaitForData(0, absl::ZeroDuration()));
  ASSERT_TRUE(spool->Append(Beats(1)).ok());
  EXPECT_TRUE(spool->WaitForData(0, absl::ZeroDuration()));
  spool->Shutdown();
  EXPECT_FALSE(spool->WaitForData(1, absl::Hours(1)));  // returns at once
}

TEST_F(SpoolTest, ASecondProcessOnTheSameDirIsRefusedWhileTheFirstHoldsIt) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  // flock(2) locks belong to the open file, so a second Open in this process
  // stands for a second agent.
  auto second = Spool::Open({.dir = dir_, .consumers = {"a"}});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another attest-agent (pid "),
            std::string::npos)
      << second.status();
  first.reset();
  EXPECT_TRUE(Spool::Open({.dir = dir_, .consumers = {"a"}}).ok());
}

v1::Signal Numbered(int n) {
  v1::Signal s = Beat();
  s.mutable_check()->set_name("n");
  s.mutable_check()->set_detail(std::to_string(n));
  s.mutable_check()->set_status(v1::CHECK_STATUS_OK);
  return s;
}

TEST_F(SpoolTest, ASpoolRestoredFromAnOlderCopyNeverReusesASeqTheDaemonHolds) {
  const std::string copy = dir_ + "-copy";
  fs::remove_all(copy);
  {
    auto spool = Open();
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(spool->Append({Numbered(i)}).ok());
  }
  fs::copy(dir_, copy, fs::copy_options::recursive);
  {
    auto spool = Open();
    for (int i = 11; i <= 20; ++i) ASSERT_TRUE(spool->Append({Numbered(i)}).ok());
    ASSERT_TRUE(spool->Ack("a", 20).ok());  // the daemon holds 1..20
  }
  fs::remove_all(dir_);
  fs::rename(copy, dir_);  // the VM snapshot comes back: the spool knows 1..10
  auto spool = Open();
  // Observations made before the daemon answers get seqs 11.. for now.
  for (int i = 101; i <= 103; ++i) ASSERT_EQ(*spool->Append({Numbered(i)}), 10u + i - 100);
  auto resume = spool->Resume("a", 20);
  ASSERT_TRUE(resume.ok()) << resume.status();
  EXPECT_EQ(*resume, 20u);
  // They move past 20, leaving 21 as the gap the daemon records.
  auto moved = spool->Read(20, 100);
  ASSERT_TRUE(moved.ok());
  ASSERT_EQ(moved->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*moved)[i].seq(), 22u + i);
    EXPECT_EQ((*moved)[i].check().detail(), std::to_string(101 + i));
  }
  EXPECT_EQ(*spool->Append({Numbered(104)}), 25u);
  EXPECT_EQ(spool->Stats().renumbered, 1u);
  // Durable: a restart goes on from there, and the old numbers are gone.
  spool.reset();
  spool = Open();
  EXPECT_EQ(Seqs(*spool, 10), (std::vector<uint64_t>{22, 23, 24, 25}));
  EXPECT_EQ(*spool->Append({Numbered(105)}), 26u);
  EXPECT_EQ(*spool->Resume("a", 25), 25u);  // nothing moves for a daemon behind us
  EXPECT_EQ(spool->Stats().renumbered, 0u);
}

TEST_F(SpoolTest, ACutTailBehindTheCursorDoesNotReuseWhatTheDaemonAcked) {
  {
    auto spool = Open();
    for (int i = 1; i <= 8; ++i) ASSERT_TRUE(spool->Append({Numbered(i)}).ok());
    ASSERT_TRUE(spool->Ack("a", 8).ok());
  }
  // The power loss took the last records but not the cursor.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind("segment-", 0) == 0 && fs::file_size(entry) > 0) {
      fs::resize_file(entry.path(), fs::file_size(entry) / 2);
    }
  }
  auto spool = Open();
  EXPECT_EQ(*spool->Append({Numbered(9)}), 9u);
  EXPECT_EQ(*spool->Resume("a", 8), 8u);
  EXPECT_EQ(spool->Stats().renumbered, 0u);
}

TEST_F(SpoolTest, EachDaemonOfAnHaPairMovesTheSeqsPastWhatItHolds) {
  {
    auto spool = Open(1 << 20, 1024, {"a", "b"});
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(spool->Append({Numbered(i)}).ok());
  }
  auto spool = Open(1 << 20, 1024, {"a", "b"});
  ASSERT_EQ(*spool->Append({Numbered(6)}), 6u);
  // a holds up to 9 and b up to 12, both from a life the spool forgot.
  ASSERT_EQ(*spool->Resume("a", 9), 9u);
  EXPECT_EQ(Seqs(*spool, 9), (std::vector<uint64_t>{11}));
  ASSERT_EQ(*spool->Resume("b", 12), 12u);
  EXPECT_EQ(Seqs(*spool, 12), (std::vector<uint64_t>{14}));
  // a's next read skips nothing it lacks: it gets the observation again
  // under its new seq (a duplicate observation, never a lost one).
  EXPECT_EQ(Seqs(*spool, 11), (std::vector<uint64_t>{14}));
  // Later Welcomes of either daemon within what this process sent move nothing.
  EXPECT_EQ(*spool->Resume("a", 11), 11u);
  EXPECT_EQ(*spool->Resume("b", 14), 14u);
  EXPECT_EQ(spool->Stats().renumbered, 2u);
  // A daemon that holds more than this process ever handed out moves it again.
  EXPECT_EQ(*spool->Resume("a", 30), 30u);
  EXPECT_EQ(*spool->Append({Numbered(7)}), 33u);
}

TEST(RecordCodecTest, RoundTripAndEveryCorruptionIsCaught) {
  std::string data;
  v1::Signal s = Beat();
  s.set_seq(7);
  EncodeRecord(s, &data);
  EncodeRecord(s, &data);
  DecodeResult ok = DecodeRecords(data);
  EXPECT_FALSE(ok.corrupt);
  EXPECT_EQ(ok.signals.size(), 2u);
  EXPECT_EQ(ok.valid_bytes, data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    std::string flipped = data;
    flipped[i] ^= 0x40;
    DecodeResult r = DecodeRecords(flipped);
    EXPECT_TRUE(r.corrupt || r.signals.size() < 2) << "flip at byte " << i;
  }
  for (size_t cut = 0; cut < data.size(); ++cut) {
    DecodeResult r = DecodeRecords(std::string_view(data).substr(0, cut));
    EXPECT_LE(r.valid_bytes, cut);
  }
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the standard check value
}

}  // namespace
}  // namespace attest::agent
