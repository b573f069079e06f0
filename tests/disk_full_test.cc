// A full disk under attestd: ingest stops acking and says UNAVAILABLE or
// RESOURCE_EXHAUSTED, nothing acked is lost, and once space returns it
// recovers by itself, with every signal stored exactly once. (attestd keeps
// --min-free-disk-mib in reserve and refuses writes below it, so RocksDB
// itself never meets the full disk.)
//
// The data dir lives on a 64 MiB tmpfs that the test mounts (root, as the
// tests run in CI) and fills with a file it can delete again.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "absl/time/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

namespace ts = testing_signals;

// A tmpfs of `mib` MiB at `path`, unmounted when this goes.
class SmallDisk {
 public:
  SmallDisk(std::string path, int mib) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, StrCat("size=", mib, "m").c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  uint64_t free_bytes() const {
    struct statvfs s {};
    statvfs(path_.c_str(), &s);
    return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  }
  // Fills the disk but for `leave` bytes with FILLER.
  bool Fill(uint64_t leave) {
    const uint64_t free = free_bytes();
    if (free <= leave) return true;
    const int fd = open((path_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) return false;
    const int rc = posix_fallocate(fd, 0, static_cast<off_t>(free - leave));
    close(fd);
    return rc == 0;
  }
  void Free() { std::filesystem::remove(path_ + "/filler"); }

 private:
  std::string path_;
  bool mounted_ = false;
};

v1::Signal SignalFor(uint64_t seq, absl::Time base) {
  // 4 KB that do not compress, so that RocksDB's preallocated WAL and its
  // flushes run out of room soon.
  v1::Signal s = ts::Patch(seq, base + absl::Milliseconds(100 * static_cast<int64_t>(seq)));
  std::mt19937_64 rng(seq);
  std::string noise(4000, ' ');
  for (char& c : noise) c = static_cast<char>('a' + rng() % 26);
  s.mutable_patch()->set_os(noise);
  return s;
}

TEST(DiskFullTest, IngestStopsAckingWhenFullAndRecoversWhenSpaceReturns) {
  const std::string dir = FreshDir("disk_full");
  // The harness keeps its data in DIR/data: that is the small disk; the log
  // stays outside it.
  SmallDisk disk(dir + "/data", 64);
  ASSERT_TRUE(disk.mounted()) << "mounting a tmpfs needs root";
  DaemonHarness daemon(dir, nullptr, {"--rate-per-host", "0", "--min-free-disk-mib", "8"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const absl::Time base = absl::Now() - absl::Hours(2);

  uint64_t acked = 0, next = 1;
  auto send_until_refused = [&](int max_batches, grpc::Status* refusal) {
    TestAgent agent(daemon.ChannelWith(std::nullopt));
    v1::Welcome welcome;
    if (!agent.Hello(ts::Hello("full-1", "full-1-i1"), &welcome)) {
      *refusal = agent.Finish();
      return;
    }
    EXPECT_GE(welcome.highest_durable_seq(), acked) << "an acked signal was forgotten";
    next = welcome.highest_durable_seq() + 1;
    for (int b = 0; b < max_batches; ++b) {
      std::vector<v1::Signal> batch;
      for (int i = 0; i < 20; ++i) batch.push_back(SignalFor(next + i, base));
      uint64_t a = 0;
      if (!agent.Send(batch, &a)) break;
      acked = std::max(acked, a);
      next = a + 1;
    }
    *refusal = agent.Finish();
  };

  // Room for a while, then none.
  grpc::Status status;
  send_until_refused(5, &status);
  ASSERT_GT(acked, 0u);
  ASSERT_TRUE(disk.Fill(256 << 10));
  const uint64_t acked_before_full = acked;
  send_until_refused(3000, &status);  // up to 60,000 signals, 240 MB
  ASSERT_FALSE(status.ok()) << "attestd kept acking on a full disk";
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_code() << ": " << status.error_message();
  // While full: still refused, and nothing acked is lost.
  const uint64_t acked_when_full = acked;
  send_until_refused(50, &status);
  EXPECT_FALSE(status.ok());
  EXPECT_LE(acked - acked_when_full, 20u) << "acks went on while the disk stayed full";
  {
    // An import meets the same refusal: every line of the batch is named
    // as not stored, and the exit code is 1.
    const std::string file = dir + "/import.jsonl";
    std::ofstream(file) << R"({"heartbeat":{},"host":"imported-1","instance_id":"i1",)"
                        << R"("kind":"heartbeat","observed_at":")" << FormatRfc3339(base)
                        << R"(","seq":1})"
                        << "\n";
    std::string out, err;
    EXPECT_EQ(Attestctl(daemon.address(), dir, {"import", file}, &out, &err), 1) << out << err;
    EXPECT_NE(err.find(file + ":1: not stored: "), std::string::npos) << err;
  }

  // Space returns: ingest resumes by itself, without a restart.
  disk.Free();
  const uint64_t acked_at_free = acked;
  for (int attempt = 0; attempt < 5 && acked < acked_at_free + 200; ++attempt) {
    send_until_refused(20, &status);
  }
  EXPECT_GE(acked, acked_at_free + 200)
      << "no recovery after space returned: " << status.error_message() << "\n"
      << ReadAll(daemon.log_path());
  EXPECT_GT(acked_before_full, 0u);

  // Every acked signal once, in a chain that verifies, also after a restart.
  for (int life = 0; life < 2; ++life) {
    const std::vector<v1::EvidenceRecord> records = daemon.Evidence("full-1");
    std::map<uint64_t, int> seen;
    for (const auto& r : records) {
      if (r.has_signal()) ++seen[r.seq()];
    }
    for (uint64_t s = 1; s <= acked; ++s) ASSERT_EQ(seen[s], 1) << "seq " << s << ", life " << life;
    EXPECT_TRUE(evidence::VerifyChain(records).ok());
    if (life == 0) {
      ASSERT_TRUE(daemon.Stop().ok());
      ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
    }
  }
  EXPECT_TRUE(daemon.Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
