// attestd started on a store that an older attestd wrote with a hello from a
// hostile host (hello.sent_at was unbounded): it must start, leave out of
// judging what it cannot judge, say so, and serve the fleet.
#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/strings.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/store/rocksdb_store.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/process.h"

namespace attest {
namespace {

namespace ts = testing_signals;
using testing_support::DaemonHarness;
using testing_support::FixturePki;
using testing_support::TestAgent;

constexpr int64_t kYear9999 = 253402300799;  // 9999-12-31T23:59:59Z
constexpr int64_t kYear1 = -62135596800;     // 0001-01-01T00:00:00Z
constexpr int64_t kYear2000 = 946684800;     // 2000-01-01T00:00:00Z
// As in hostile_agent_test: a bound far above attestd's real footprint
// (tens of MiB), far below what the unbounded store made it take.
constexpr int64_t kMaxRssKib = 512 * 1024;

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

// What an attestd before the sent_at bound stored from a hostile hello: the
// record itself, written through the committer (which never validated).
void WritePoisonedStore(const std::string& data_dir, int64_t now) {
  auto store = store::OpenRocksDbStore(data_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  {
    ingest::Committer committer(**store, SystemClock());
    ASSERT_TRUE(committer.Start().ok());
    auto submit = [&](const std::string& host, int64_t sent_at, std::vector<v1::Signal> signals) {
      ingest::CommitRequest r;
      r.host = host;
      r.hello = ts::Hello("", "inst-1");
      *r.hello.mutable_sent_at() = At(sent_at);
      r.record_hello = true;
      r.signals = std::move(signals);
      r.done = [](const ingest::CommitResult& result) { EXPECT_TRUE(result.status.ok()); };
      committer.Submit(std::move(r));
    };
    submit("poison-9999", kYear9999, {});
    submit("poison-year-1", kYear1, {ts::Heartbeat(1, absl::FromUnixSeconds(now - 3600))});
    submit("poison-30d", now + 30 * 86400,
           {ts::Heartbeat(1, absl::FromUnixSeconds(now - 7200)),
            ts::Patch(2, absl::FromUnixSeconds(now - 3600))});
    ASSERT_TRUE(committer.WaitIdle(absl::Seconds(30)));
    committer.Stop();
  }
  ASSERT_TRUE((*store)->Close().ok());
}

TEST(PoisonedStoreTest, AttestdStartsQuarantinesWhatItCannotJudgeAndSaysSo) {
  const std::string dir = testing_support::FreshDir("poisoned");
  FixturePki pki(dir + "/pki");
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  WritePoisonedStore(dir + "/data", now);
  DaemonHarness daemon(dir, &pki);
  ASSERT_TRUE(daemon.Start().ok()) << testing_support::ReadAll(daemon.log_path());
  // Judging every host, the poisoned ones included, ends: a read returns.
  auto admin = daemon.Admin();
  for (const std::string host : {"poison-9999", "poison-year-1", "poison-30d"}) {
    SCOPED_TRACE(host);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::GetHostRequest req;
    req.set_host(host);
    v1::HostDetail detail;
    const grpc::Status s = admin->DescribeHost(&ctx, req, &detail);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // Nothing is dated after now: no "since" in the future, no evidence
    // from next month.
    for (const auto& c : detail.controls()) {
      if (c.has_since()) {
        EXPECT_LE(c.since().seconds(), now + 600) << c.control();
      }
    }
    if (detail.has_last_evidence()) {
      EXPECT_LE(detail.last_evidence().seconds(), now + 600);
    }
    if (detail.has_enrolled()) {
      EXPECT_GE(detail.enrolled().seconds(), kYear2000);
    }
  }
  // The host with real evidence besides the bad hello is judged from it.
  {
    grpc::ClientContext ctx;
    v1::GetHostRequest req;
    req.set_host("poison-30d");
    v1::HostDetail detail;
    ASSERT_TRUE(admin->DescribeHost(&ctx, req, &detail).ok());
    EXPECT_EQ(detail.enrolled().seconds(), now - 7200);
    EXPECT_EQ(detail.last_evidence().seconds(), now - 3600);
  }
  const std::string log = testing_support::ReadAll(daemon.log_path());
  for (const char* host : {"poison-9999", "poison-year-1", "poison-30d"}) {
    EXPECT_NE(log.find(StrCat("host ", host, ": ")), std::string::npos) << host;
  }
  EXPECT_NE(log.find("quarantined"), std::string::npos) << log;
  EXPECT_LE(testing_support::ResidentKib(daemon.pid()), kMaxRssKib);
  // A good host is served, and a restart on the same store is clean.
  {
    TestAgent agent(daemon.ChannelAs("host", "good"));
    ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-1")));
    EXPECT_TRUE(agent.Send({ts::Heartbeat(1, absl::Now())}));
    EXPECT_TRUE(agent.Finish().ok());
  }
  ASSERT_EQ(*daemon.Stop(), 0);
  ASSERT_TRUE(daemon.Start().ok()) << testing_support::ReadAll(daemon.log_path());
  ASSERT_EQ(*daemon.Stop(), 0);
}

}  // namespace
}  // namespace attest
