// One host must not hurt the fleet. A client that holds a valid host
// certificate and speaks the real protocol pushes every bound it controls
// against a real attestd over mTLS: each value at its bound, one past it,
// and at an extreme. attestd refuses what is out of range with a specific
// status and stores nothing of it, its memory stays bounded, and a good
// host is served throughout.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/strings.h"
#include "ctl/pki.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/ingest/validate.h"
#include "daemon/store/rocksdb_store.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

namespace attest {
namespace {

namespace ts = testing_signals;
using testing_support::CertFiles;
using testing_support::DaemonHarness;
using testing_support::FixturePki;
using testing_support::TestAgent;

// attestd's resident memory may not pass this while the table runs: the
// table's largest accepted message is 4 MiB, and nothing it sends may make
// attestd keep more than a bounded amount per host.
constexpr int64_t kMaxRssKib = 512 * 1024;

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

constexpr int64_t kYear9999 = 253402300799;  // 9999-12-31T23:59:59Z
constexpr int64_t kYear1 = -62135596800;     // 0001-01-01T00:00:00Z
constexpr int64_t kYear2000 = 946684800;     // 2000-01-01T00:00:00Z

class HostileAgentTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing_support::FreshDir("hostile"));
    pki_ = new FixturePki(*dir_ + "/pki");
    daemon_ =
        new DaemonHarness(*dir_, pki_,
                          {"--max-streams=40", "--max-streams-per-host=4", "--hello-timeout=2s",
                           "--metrics-listen=127.0.0.1:0", "--rate-per-host=0"});
    ASSERT_TRUE(daemon_->Start().ok()) << "see " << daemon_->log_path();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(*daemon_->Stop(), 0);
    delete daemon_;
    delete pki_;
    delete dir_;
  }

  // Records of `host` that hold a signal or a gap (not the hello).
  static size_t SignalRecords(const std::string& host) {
    size_t n = 0;
    for (const auto& r : daemon_->Evidence(host)) n += r.has_signal() || r.has_gap();
    return n;
  }

  // A certificate issued by the fixture CA with exactly `spec`'s names.
  static CertFiles Issue(const std::string& stem, pki::CertSpec spec) {
    spec.client = true;
    spec.not_before = absl::Now() - absl::Hours(1);
    spec.not_after = absl::Now() + absl::Hours(24);
    auto kc = pki::Issue(pki_->ca(), spec);
    EXPECT_TRUE(kc.ok()) << kc.status();
    CertFiles files{*dir_ + "/" + stem + ".crt", *dir_ + "/" + stem + ".key"};
    std::ofstream(files.cert) << kc->cert_pem;
    std::ofstream(files.key) << kc->key_pem;
    return files;
  }

  static double Metric(const std::string& name) {
    auto text = testing_support::HttpGet(daemon_->metrics_address(), "/metrics");
    if (!text.ok()) return -1;
    for (std::string_view line : Split(*text, "\n")) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(std::string(line.substr(name.size())));
    }
    return -1;
  }

  static std::string* dir_;
  static FixturePki* pki_;
  static DaemonHarness* daemon_;
};

std::string* HostileAgentTest::dir_ = nullptr;
FixturePki* HostileAgentTest::pki_ = nullptr;
DaemonHarness* HostileAgentTest::daemon_ = nullptr;

// One row of the table: what a hostile host changes in its hello or in one
// signal, and what attestd must answer.
struct Bound {
  std::string name;
  std::function<void(v1::Hello&)> hello;    // null: a valid hello
  std::function<void(v1::Signal&)> signal;  // null: no batch
  grpc::StatusCode code;                    // OK: accepted and acked
  std::string message;                      // part of the refusal
};

std::vector<Bound> Table() {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto sent_at = [](int64_t s, int32_t n = 0) {
    return [s, n](v1::Hello& h) { *h.mutable_sent_at() = At(s, n); };
  };
  auto observed = [](int64_t s, int32_t n = 0) {
    return [s, n](v1::Signal& x) { *x.mutable_observed_at() = At(s, n); };
  };
  auto delivered = [](int64_t s) {
    return [s](v1::Signal& x) {
      auto* l = x.mutable_log_shipping();
      l->set_shipper("rsyslog");
      l->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
      *l->mutable_last_delivery() = At(s);
    };
  };
  auto seq = [](uint64_t n) { return [n](v1::Signal& x) { x.set_seq(n); }; };
  auto check = [](size_t name_bytes, size_t detail_bytes) {
    return [=](v1::Signal& x) {
      x.mutable_check()->set_name(std::string(name_bytes, 'c'));
      x.mutable_check()->set_detail(std::string(detail_bytes, 'd'));
      x.mutable_check()->set_status(v1::CHECK_STATUS_OK);
    };
  };
  auto members = [](int n) {
    return [n](v1::Signal& x) {
      auto* g = x.mutable_access_snapshot()->add_groups();
      g->set_name("sudo");
      for (int i = 0; i < n; ++i) g->add_members("u");
    };
  };
  auto labels = [](int n) {
    return [n](v1::Hello& h) {
      h.clear_labels();
      for (int i = 0; i < n; ++i) (*h.mutable_labels())[StrCat("k", i)] = "v";
    };
  };
  using C = grpc::StatusCode;
  const uint64_t max_seq = ingest::kMaxSeq;
  return {
      // hello.sent_at dates the hello record: the 9999 hello took attestd down.
      {"sent_at_now", sent_at(now), nullptr, C::OK, ""},
      {"sent_at_2000", sent_at(kYear2000), nullptr, C::OK, ""},
      {"sent_at_before_2000", sent_at(kYear2000 - 1), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: before 2000-01-01"},
      {"sent_at_at_skew", sent_at(now + 240), nullptr, C::OK, ""},
      {"sent_at_past_skew", sent_at(now + 400), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: in the future"},
      {"sent_at_30_days", sent_at(now + 30 * 86400), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: in the future"},
      {"sent_at_9999", sent_at(kYear9999), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: in the future"},
      {"sent_at_year_1", sent_at(kYear1), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: before 2000-01-01"},
      {"sent_at_past_9999", sent_at(int64_t{1} << 62), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: not a timestamp"},
      {"sent_at_bad_nanos", sent_at(now, -1), nullptr, C::INVALID_ARGUMENT,
       "hello.sent_at: nanos out of range"},
      {"labels_64", labels(64), nullptr, C::OK, ""},
      {"labels_65", labels(65), nullptr, C::INVALID_ARGUMENT, "hello.labels: more than 64"},
      // observed_at dates every signal.
      {"observed_2000", nullptr, observed(kYear2000), C::OK, ""},
      {"observed_before_2000", nullptr, observed(kYear2000 - 1), C::INVALID_ARGUMENT,
       "observed_at: before 2000-01-01"},
      {"observed_9999", nullptr, observed(kYear9999), C::INVALID_ARGUMENT,
       "observed_at: in the future"},
      {"observed_year_1", nullptr, observed(kYear1), C::INVALID_ARGUMENT,
       "observed_at: before 2000-01-01"},
      {"observed_int64_min", nullptr, observed(INT64_MIN), C::INVALID_ARGUMENT,
       "observed_at: not a timestamp"},
      {"observed_nanos_1e9", nullptr, observed(now, 1000000000), C::INVALID_ARGUMENT,
       "observed_at: nanos out of range"},
      {"last_delivery_2000", nullptr, delivered(kYear2000), C::OK, ""},
      {"last_delivery_9999", nullptr, delivered(kYear9999), C::INVALID_ARGUMENT,
       "log_shipping.last_delivery: in the future"},
      {"last_delivery_year_1", nullptr, delivered(kYear1), C::INVALID_ARGUMENT,
       "log_shipping.last_delivery: before 2000-01-01"},
      // seq: exact in every JSON reader, and the missing total cannot wrap.
      {"seq_max", nullptr, seq(max_seq), C::OK, ""},
      {"seq_max_plus_1", nullptr, seq(max_seq + 1), C::INVALID_ARGUMENT,
       "seq: must be at most 2^53 - 1"},
      {"seq_2_63", nullptr, seq(uint64_t{1} << 63), C::INVALID_ARGUMENT, "seq: must be at most"},
      {"seq_2_64_minus_1", nullptr, seq(UINT64_MAX), C::INVALID_ARGUMENT, "seq: must be at most"},
      {"seq_0", nullptr, seq(0), C::INVALID_ARGUMENT, "seq: must be at least 1"},
      // Strings and repeated fields.
      {"check_name_256", nullptr, check(256, 0), C::OK, ""},
      {"check_name_257", nullptr, check(257, 0), C::INVALID_ARGUMENT,
       "check.name: longer than 256 bytes"},
      {"check_name_empty", nullptr, check(0, 0), C::INVALID_ARGUMENT, "check.name: required"},
      {"check_detail_4096", nullptr, check(1, 4096), C::OK, ""},
      {"check_detail_4097", nullptr, check(1, 4097), C::INVALID_ARGUMENT,
       "check.detail: longer than 4096 bytes"},
      {"check_detail_10mb", nullptr, check(1, 10 << 20), C::RESOURCE_EXHAUSTED, ""},
      {"members_at_limit", nullptr, members(99999), C::OK, ""},
      {"members_past_limit", nullptr, members(100000), C::INVALID_ARGUMENT,
       "access_snapshot: more than 100000 entries"},
  };
}

TEST_F(HostileAgentTest, EveryBoundHoldsMemoryStaysBoundedAndAGoodHostIsServedThroughout) {
  // A good host streams the whole time, each batch acked.
  std::atomic<bool> done{false};
  std::atomic<int> good_acks{0};
  std::atomic<int> good_failures{0};
  std::atomic<int64_t> max_rss{0};
  std::thread good([&] {
    TestAgent agent(daemon_->ChannelAs("host", "good-1"), absl::Minutes(5));
    if (!agent.Hello(ts::Hello("", "inst-good"))) {
      ++good_failures;
      return;
    }
    for (uint64_t seq = 1; !done; ++seq) {
      uint64_t acked = 0;
      if (!agent.Send({ts::Heartbeat(seq, absl::Now())}, &acked) || acked != seq) {
        ++good_failures;
        return;
      }
      ++good_acks;
      max_rss = std::max<int64_t>(max_rss, testing_support::ResidentKib(daemon_->pid()));
    }
    EXPECT_TRUE(agent.Finish().ok());
  });

  int row = 0;
  for (const Bound& b : Table()) {
    SCOPED_TRACE(b.name);
    const std::string host = StrCat("bound-", ++row);
    v1::Hello hello = ts::Hello("", "inst-1");
    if (b.hello) b.hello(hello);
    TestAgent agent(daemon_->ChannelAs("host", host));
    const bool welcomed = agent.Hello(hello);
    grpc::Status status;
    if (welcomed && b.signal) {
      v1::Signal signal = ts::Heartbeat(1, absl::Now());
      signal.clear_heartbeat();
      signal.mutable_heartbeat();
      b.signal(signal);
      uint64_t acked = 0;
      const bool sent = agent.Send({signal}, &acked);
      EXPECT_EQ(sent, b.code == grpc::StatusCode::OK);
      if (sent) {
        EXPECT_EQ(acked, signal.seq());
      }
    } else {
      EXPECT_EQ(welcomed, b.code == grpc::StatusCode::OK);
    }
    status = agent.Finish();
    EXPECT_EQ(status.error_code(), b.code) << status.error_message();
    EXPECT_NE(status.error_message().find(b.message), std::string::npos) << status.error_message();
    if (b.code != grpc::StatusCode::OK) {
      // Nothing of a refused message is stored: no signal, and a refused
      // hello leaves no record at all.
      EXPECT_EQ(SignalRecords(host), 0u);
      if (b.hello) {
        EXPECT_TRUE(daemon_->Evidence(host).empty());
      }
    }
  }
  done = true;
  good.join();
  EXPECT_EQ(good_failures, 0);
  EXPECT_GT(good_acks, 0);
  EXPECT_GT(max_rss, 0);
  EXPECT_LE(max_rss, kMaxRssKib) << "attestd's RSS peaked at " << max_rss << " KiB";
  printf("attestd's RSS peaked at %lld KiB over %d good acks\n",
         static_cast<long long>(max_rss.load()), good_acks.load());

  // The accepted extremes left the hosts judgeable: a host whose hello was
  // dated 2000 and one with the largest seq both have state, and the second
  // counts 2^53 - 2 missing signals, not a wrapped number.
  auto admin = daemon_->Admin();
  grpc::ClientContext ctx;
  v1::GetHostRequest req;
  int seq_max_row = 0;
  for (const Bound& b : Table()) {
    ++seq_max_row;
    if (b.name == "seq_max") break;
  }
  req.set_host(StrCat("bound-", seq_max_row));
  v1::HostState state;
  ASSERT_TRUE(admin->GetHost(&ctx, req, &state).ok());
  EXPECT_EQ(state.gap_signals(), ingest::kMaxSeq - 1);
}

TEST_F(HostileAgentTest, AStreamWithoutAHelloIsClosedAtTheDeadlineAndIsNoConnectedAgent) {
  // Streams of earlier tests are gone.
  ASSERT_TRUE(testing_support::Eventually(
      [&] { return Metric("attest_ingest_agents_connected") == 0; }, absl::Seconds(30)));
  std::vector<std::unique_ptr<TestAgent>> silent;
  for (int i = 0; i < 5; ++i) {
    silent.push_back(std::make_unique<TestAgent>(daemon_->ChannelAs("host", StrCat("silent-", i)),
                                                 absl::Seconds(60)));
  }
  // A stream that says hello after them counts; they do not.
  TestAgent talker(daemon_->ChannelAs("host", "talker"), absl::Seconds(60));
  ASSERT_TRUE(talker.Hello(ts::Hello("", "inst-1")));
  ASSERT_TRUE(talker.Send({ts::Heartbeat(1, absl::Now())}));
  EXPECT_EQ(Metric("attest_ingest_agents_connected"), 1);
  for (auto& agent : silent) {
    const grpc::Status end = agent->AwaitEnd();
    EXPECT_EQ(end.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << end.error_message();
    EXPECT_NE(end.error_message().find("no hello within 2s"), std::string::npos)
        << end.error_message();
  }
  // The one that spoke stays as long as it likes.
  EXPECT_TRUE(talker.Send({ts::Heartbeat(2, absl::Now())}));
  EXPECT_TRUE(talker.Finish().ok());
}

TEST_F(HostileAgentTest, OneCertificateCannotTakeTheStreamsOfTheFleet) {
  // --max-streams=40 and --max-streams-per-host=4: one identity opens 30.
  std::vector<std::unique_ptr<TestAgent>> greedy;
  for (int i = 0; i < 30; ++i) {
    greedy.push_back(
        std::make_unique<TestAgent>(daemon_->ChannelAs("host", "greedy"), absl::Seconds(60)));
  }
  // A newer one still gets in: an agent that reconnects is never locked out
  // by its own half-dead streams...
  TestAgent newest(daemon_->ChannelAs("host", "greedy"), absl::Seconds(60));
  ASSERT_TRUE(newest.Hello(ts::Hello("", "inst-1")));
  ASSERT_TRUE(newest.Send({ts::Heartbeat(1, absl::Now())}));
  // ...and so does every other host.
  for (int i = 0; i < 10; ++i) {
    TestAgent other(daemon_->ChannelAs("host", StrCat("fleet-", i)));
    ASSERT_TRUE(other.Hello(ts::Hello("", "inst-1"))) << i;
    uint64_t acked = 0;
    EXPECT_TRUE(other.Send({ts::Heartbeat(1, absl::Now())}, &acked));
    EXPECT_EQ(acked, 1u);
    EXPECT_TRUE(other.Finish().ok());
  }
  // Of the 31, four stayed: 27 were closed as they were replaced, naming
  // why, and the three silent survivors at the hello deadline.
  int replaced = 0, late = 0;
  for (auto& agent : greedy) {
    const grpc::Status end = agent->AwaitEnd();
    if (end.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++replaced;
      EXPECT_NE(end.error_message().find("host greedy opened more than 4 streams"),
                std::string::npos)
          << end.error_message();
    } else {
      EXPECT_EQ(end.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << end.error_message();
      ++late;
    }
  }
  EXPECT_EQ(replaced, 27);
  EXPECT_EQ(late, 3);
  EXPECT_TRUE(newest.Finish().ok());
}

TEST_F(HostileAgentTest, ACertificateWithTwoIdentitiesOrANameThatIsAPathIsRefused) {
  struct Case {
    std::string stem;
    pki::CertSpec spec;
    std::string message;
  };
  std::vector<Case> cases = {
      {"two-uris",
       {.uri_sans = {"spiffe://attest/host/a", "spiffe://attest/host/b"}},
       "certificate carries 2 URI SANs; a SPIFFE certificate has exactly one"},
      {"uri-and-web",
       {.uri_sans = {"spiffe://attest/host/a", "https://example.com/"}},
       "certificate carries 2 URI SANs"},
      {"spiffe-dash", {.uri_sans = {"spiffe://attest/host/-dash"}}, "no SPIFFE id of the form"},
      {"spiffe-dotdot", {.uri_sans = {"spiffe://attest/host/.."}}, "no SPIFFE id of the form"},
      {"cn-dot", {.common_name = "."}, "no usable common name"},
      {"cn-dotdot", {.common_name = ".."}, "no usable common name"},
      {"cn-dash", {.common_name = "-dash"}, "no usable common name"},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.stem);
    TestAgent agent(daemon_->ChannelWith(Issue(c.stem, c.spec)));
    EXPECT_FALSE(agent.Hello(ts::Hello("", "inst-1")));
    const grpc::Status end = agent.Finish();
    EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAUTHENTICATED) << end.error_message();
    EXPECT_NE(end.error_message().find(c.message), std::string::npos) << end.error_message();
  }
  // A single SPIFFE id, or a plain CN name, still works.
  TestAgent single(
      daemon_->ChannelWith(Issue("one-uri", {.uri_sans = {"spiffe://attest/host/a"}})));
  EXPECT_TRUE(single.Hello(ts::Hello("", "inst-1")));
  EXPECT_TRUE(single.Finish().ok());
  TestAgent cn(daemon_->ChannelWith(Issue("cn-ok", {.common_name = "db-7.example"})));
  EXPECT_TRUE(cn.Hello(ts::Hello("", "inst-1")));
  EXPECT_TRUE(cn.Finish().ok());
}

TEST_F(HostileAgentTest, FieldsAttestdDoesNotKnowAreNotStoredBesideTheHashedRecord) {
  TestAgent agent(daemon_->ChannelAs("host", "unknown-fields"));
  v1::Hello hello = ts::Hello("", "inst-1");
  hello.GetReflection()->MutableUnknownFields(&hello)->AddLengthDelimited(999, "hello-extra");
  ASSERT_TRUE(agent.Hello(hello));
  v1::Signal signal = ts::Heartbeat(1, absl::Now());
  signal.GetReflection()->MutableUnknownFields(&signal)->AddLengthDelimited(
      999, std::string(1 << 20, 'x'));  // a 1 MiB field from the future, or an attacker
  uint64_t acked = 0;
  ASSERT_TRUE(agent.Send({signal}, &acked));
  EXPECT_EQ(acked, 1u);
  EXPECT_TRUE(agent.Finish().ok());
  const auto records = daemon_->Evidence("unknown-fields");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    EXPECT_EQ(r.GetReflection()->GetUnknownFields(r).field_count(), 0);
    EXPECT_EQ(r.hello().GetReflection()->GetUnknownFields(r.hello()).field_count(), 0);
    EXPECT_EQ(r.signal().GetReflection()->GetUnknownFields(r.signal()).field_count(), 0);
    EXPECT_LT(r.ByteSizeLong(), 4096u);
  }
}

}  // namespace
}  // namespace attest
