// Every kind of bad input on the agent stream gets a specific gRPC status
// and stores nothing. Runs a real attestd over mTLS on a free loopback port.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/client_callback.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include <fstream>

#include "absl/time/clock.h"
#include "ctl/pki.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

namespace ts = testing_signals;
using testing_support::DaemonHarness;
using testing_support::FixturePki;
using testing_support::TestAgent;

class IngestBadInputTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing_support::FreshDir("bad-input"));
    pki_ = new FixturePki(*dir_ + "/pki");
    daemon_ = new DaemonHarness(
        *dir_, pki_, {"--max-message-bytes=65536", "--rate-per-host=1", "--burst-per-host=100"});
    ASSERT_TRUE(daemon_->Start().ok()) << "see " << daemon_->log_path();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(*daemon_->Stop(), 0);
    delete daemon_;
    delete pki_;
    delete dir_;
  }

  // An agent stream authenticated as `host`, hello already accepted.
  std::unique_ptr<TestAgent> Connected(const std::string& host) {
    auto agent = std::make_unique<TestAgent>(daemon_->ChannelAs("host", host));
    EXPECT_TRUE(agent->Hello(ts::Hello("", "inst-" + host)));
    return agent;
  }
  static size_t SignalRecords(const std::string& host) {
    size_t n = 0;
    for (const auto& r : daemon_->Evidence(host)) n += r.has_signal() || r.has_gap();
    return n;
  }
  static absl::Time Now() { return absl::Now(); }

  static std::string* dir_;
  static FixturePki* pki_;
  static DaemonHarness* daemon_;
};

std::string* IngestBadInputTest::dir_ = nullptr;
FixturePki* IngestBadInputTest::pki_ = nullptr;
DaemonHarness* IngestBadInputTest::daemon_ = nullptr;

TEST_F(IngestBadInputTest, GoodStreamIsWelcomedAckedAndChained) {
  TestAgent agent(daemon_->ChannelAs("host", "good-1"));
  v1::Welcome welcome;
  const absl::Time before = absl::Now();
  ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-good"), &welcome));
  const absl::Time after = absl::Now();
  EXPECT_EQ(welcome.host_id(), "good-1");  // from the certificate
  EXPECT_EQ(welcome.highest_durable_seq(), 0u);
  // attestd's clock, for the agent to compare its own with (same machine).
  ASSERT_TRUE(welcome.has_daemon_time());
  EXPECT_GE(FromProto(welcome.daemon_time()), absl::FromUnixSeconds(absl::ToUnixSeconds(before)));
  EXPECT_LE(FromProto(welcome.daemon_time()), after);
  uint64_t acked = 0;
  ASSERT_TRUE(agent.Send({ts::Heartbeat(1, Now()), ts::Patch(2, Now())}, &acked));
  EXPECT_EQ(acked, 2u);
  EXPECT_TRUE(agent.Finish().ok());
  auto records = daemon_->Evidence("good-1");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].hello().labels().at("env"), "prod");
  EXPECT_EQ(records[2].signal().patch().pending(0).package(), "openssl");
}

TEST_F(IngestBadInputTest, GarbageBytesAreInvalidArgument) {
  auto channel = daemon_->ChannelAs("host", "garbage-1");
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(),
          grpc::internal::RpcMethod("/attest.v1.AgentService/Stream",
                                    grpc::internal::RpcMethod::BIDI_STREAMING),
          &ctx));
  const char garbage[] = "\x0f\xff\xfe not a protobuf";
  grpc::Slice slice(garbage, sizeof(garbage) - 1);
  grpc::ByteBuffer buffer(&slice, 1);
  stream->Write(buffer);
  stream->WritesDone();
  grpc::ByteBuffer reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("malformed AgentMessage"), std::string::npos);
  EXPECT_TRUE(daemon_->Evidence("garbage-1").empty());
}

TEST_F(IngestBadInputTest, EmptyMessageIsInvalidArgument) {
  TestAgent agent(daemon_->ChannelAs("host", "empty-1"));
  agent.Write(v1::AgentMessage());
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("neither a hello nor a batch"), std::string::npos);
}

TEST_F(IngestBadInputTest, TooLargeMessageIsResourceExhausted) {
  TestAgent agent(daemon_->ChannelAs("host", "large-1"));
  v1::AgentMessage m;
  *m.mutable_hello() = ts::Hello("", "inst-large");
  (*m.mutable_hello()->mutable_labels())["padding"] = std::string(100 * 1024, 'x');
  agent.Write(m);
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(daemon_->Evidence("large-1").empty());
}

TEST_F(IngestBadInputTest, SignalBeforeHelloIsFailedPrecondition) {
  TestAgent agent(daemon_->ChannelAs("host", "early-1"));
  EXPECT_FALSE(agent.Send({ts::Heartbeat(1, Now())}));
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("before the hello"), std::string::npos);
  EXPECT_TRUE(daemon_->Evidence("early-1").empty());
}

TEST_F(IngestBadInputTest, SecondHelloIsFailedPrecondition) {
  auto agent = Connected("twice-1");
  v1::AgentMessage m;
  *m.mutable_hello() = ts::Hello("", "inst-twice-1");
  agent->Write(m);
  EXPECT_EQ(agent->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(IngestBadInputTest, UnspecifiedEnumIsInvalidArgumentAndNothingOfTheBatchIsStored) {
  auto agent = Connected("enum-1");
  v1::Signal bad = ts::Patch(2, Now());
  bad.mutable_patch()->set_package_manager(v1::PACKAGE_MANAGER_UNSPECIFIED);
  EXPECT_FALSE(agent->Send({ts::Heartbeat(1, Now()), bad}));
  grpc::Status s = agent->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("patch.package_manager"), std::string::npos);
  EXPECT_EQ(SignalRecords("enum-1"), 0u);  // not even the valid heartbeat
}

TEST_F(IngestBadInputTest, MissingRequiredFieldIsInvalidArgument) {
  auto agent = Connected("missing-1");
  v1::Signal bad = ts::AccessChange(1, Now(), "");
  EXPECT_FALSE(agent->Send({bad}));
  grpc::Status s = agent->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("access_change.id: required"), std::string::npos);
  EXPECT_EQ(SignalRecords("missing-1"), 0u);
}

TEST_F(IngestBadInputTest, FutureObservedAtIsInvalidArgument) {
  auto agent = Connected("future-1");
  EXPECT_FALSE(agent->Send({ts::Heartbeat(1, Now() + absl::Minutes(10))}));
  grpc::Status s = agent->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("in the future"), std::string::npos);
  EXPECT_EQ(SignalRecords("future-1"), 0u);
}

TEST_F(IngestBadInputTest, HelloClaimingAnotherHostIsPermissionDenied) {
  TestAgent agent(daemon_->ChannelAs("host", "honest-1"));
  EXPECT_FALSE(agent.Hello(ts::Hello("victim-1", "inst-x")));
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("victim-1"), std::string::npos);
  EXPECT_TRUE(daemon_->Evidence("victim-1").empty());
  EXPECT_TRUE(daemon_->Evidence("honest-1").empty());
}

TEST_F(IngestBadInputTest, NoClientCertificateCannotConnect) {
  TestAgent agent(daemon_->ChannelWith(std::nullopt), absl::Seconds(10));
  EXPECT_FALSE(agent.Hello(ts::Hello("anon-1", "inst")));
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(daemon_->Evidence("anon-1").empty());
}

TEST_F(IngestBadInputTest, ForeignCaCertificateCannotConnect) {
  TestAgent agent(daemon_->ChannelWith(pki_->Foreign("intruder-1")), absl::Seconds(10));
  EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
  EXPECT_EQ(agent.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(daemon_->Evidence("intruder-1").empty());
}

TEST_F(IngestBadInputTest, ExpiredCertificateCannotConnect) {
  const absl::Time now = absl::Now();
  TestAgent agent(daemon_->ChannelWith(pki_->ClientWithValidity(
                      "host", "expired-1", now - absl::Hours(48), now - absl::Hours(1))),
                  absl::Seconds(10));
  EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
  EXPECT_EQ(agent.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(daemon_->Evidence("expired-1").empty());
}

TEST_F(IngestBadInputTest, NotYetValidCertificateCannotConnect) {
  const absl::Time now = absl::Now();
  TestAgent agent(daemon_->ChannelWith(pki_->ClientWithValidity(
                      "host", "early-1", now + absl::Hours(1), now + absl::Hours(48))),
                  absl::Seconds(10));
  EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
  EXPECT_EQ(agent.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(daemon_->Evidence("early-1").empty());
}

// Fixed: gRPC reports a refused TLS connection as UNAVAILABLE, like a
// daemon that is down, and attestctl exited 3 ("unreachable") for both.
// It now shakes hands itself to tell them apart: a refusal either way is
// exit 1 with OpenSSL's reason, and only a daemon that is down is 3.
TEST_F(IngestBadInputTest, AttestctlTellsATlsRefusalFromADaemonThatIsDown) {
  const testing_support::CertFiles admin = pki_->Client("admin", "ops");
  const testing_support::CertFiles foreign = pki_->Foreign("admin-elsewhere");
  const auto run = [&](const std::string& daemon, const testing_support::CertFiles& cert,
                       const std::string& ca, std::vector<std::string> extra, std::string* err) {
    std::vector<std::string> argv = {testing_support::BinaryPath("attestctl"),
                                     "--daemon",
                                     daemon,
                                     "--tls-cert",
                                     cert.cert,
                                     "--tls-key",
                                     cert.key,
                                     "--ca",
                                     ca};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("hosts");
    std::string out;
    return testing_support::RunTool(argv, *dir_, &out, err);
  };
  const std::string refused = "attestctl: attestd refused the TLS connection: ";
  std::string err;
  // attestd refuses our certificate (another CA): it hangs up at once.
  EXPECT_EQ(run(daemon_->address(), foreign, pki_->ca_file(), {}, &err), 1) << err;
  EXPECT_NE(err.find("attestctl: hosts:"), std::string::npos) << err;
  EXPECT_NE(err.find(refused), std::string::npos) << err;
  EXPECT_NE(err.find("refused our certificate"), std::string::npos) << err;
  // We refuse attestd's certificate: not signed by --ca, or not for the name.
  EXPECT_EQ(run(daemon_->address(), admin, foreign.cert, {}, &err), 1) << err;
  EXPECT_NE(err.find(refused + daemon_->address() + ": TLS handshake: certificate verify failed ("),
            std::string::npos)
      << err;
  EXPECT_EQ(
      run(daemon_->address(), admin, pki_->ca_file(), {"--server-name", "attestd.other"}, &err), 1)
      << err;
  EXPECT_NE(err.find("certificate verify failed (hostname mismatch)"), std::string::npos) << err;
  // The same certificate and CA work (the check above is not the cause).
  EXPECT_EQ(run(daemon_->address(), admin, pki_->ca_file(), {}, &err), 0) << err;
  // Nothing listens: unreachable, exit 3, and no TLS blamed.
  const std::string nobody = "127.0.0.1:" + std::to_string(testing_support::FreeLoopbackPort());
  EXPECT_EQ(run(nobody, admin, pki_->ca_file(), {}, &err), 3) << err;
  EXPECT_EQ(err.find(refused), std::string::npos) << err;
  EXPECT_NE(err.find("Connection refused"), std::string::npos) << err;
}

TEST(IngestInsecureTest, HelloWithoutHostIdIsInvalidArgument) {
  const std::string dir = testing_support::FreshDir("insecure-hello");
  DaemonHarness daemon(dir, nullptr);
  ASSERT_TRUE(daemon.Start().ok());
  TestAgent agent(daemon.ChannelWith(std::nullopt), absl::Seconds(10));
  EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
  grpc::Status s = agent.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "hello.host_id: required in insecure mode (there is no certificate)");
}

TEST_F(IngestBadInputTest, ACertificateOfAnotherTrustDomainOrAnUnknownRoleIsUnauthenticated) {
  // Signed by attestd's own client CA, so TLS accepts them; the SPIFFE id
  // is what is wrong.
  for (const std::string& uri :
       {std::string("spiffe://other-corp/host/td-1"), std::string("spiffe://attest/robot/td-2")}) {
    pki::CertSpec spec;
    spec.common_name = "td";
    spec.client = true;
    spec.uri_sans = {uri};
    spec.not_before = Now() - absl::Hours(1);
    spec.not_after = Now() + absl::Hours(24);
    auto issued = pki::Issue(pki_->ca(), spec);
    ASSERT_TRUE(issued.ok()) << issued.status();
    const testing_support::CertFiles files{*dir_ + "/td.crt", *dir_ + "/td.key"};
    std::ofstream(files.cert, std::ios::trunc) << issued->cert_pem;
    std::ofstream(files.key, std::ios::trunc) << issued->key_pem;
    TestAgent agent(daemon_->ChannelWith(files), absl::Seconds(10));
    EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
    grpc::Status s = agent.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << uri;
    EXPECT_NE(s.error_message().find("certificate has no SPIFFE id of the form spiffe://attest/"),
              std::string::npos)
        << s.error_message();
  }
  EXPECT_TRUE(daemon_->Evidence("td-1").empty());
  EXPECT_TRUE(daemon_->Evidence("td-2").empty());
}

TEST_F(IngestBadInputTest, AdminCertificateCannotStreamSignals) {
  TestAgent agent(daemon_->ChannelAs("admin", "ops-1"));
  EXPECT_FALSE(agent.Hello(ts::Hello("", "inst")));
  EXPECT_EQ(agent.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(IngestBadInputTest, HostCertificateCannotUseTheAdminApi) {
  auto admin = v1::AdminService::NewStub(daemon_->ChannelAs("host", "good-1"));
  grpc::ClientContext ctx;
  v1::ListHostsResponse resp;
  grpc::Status s = admin->ListHosts(&ctx, v1::ListHostsRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(resp.hosts_size(), 0);
}

TEST_F(IngestBadInputTest, FloodBeyondTheRateLimitIsResourceExhausted) {
  // The suite's daemon allows 1 signal/s with a burst of 100.
  auto agent = Connected("flood-1");
  std::vector<v1::Signal> batch;
  uint64_t seq = 0;
  auto next_batch = [&] {
    batch.clear();
    for (int i = 0; i < 40; ++i) batch.push_back(ts::Heartbeat(++seq, Now()));
  };
  next_batch();
  ASSERT_TRUE(agent->Send(batch));
  next_batch();
  ASSERT_TRUE(agent->Send(batch));
  next_batch();
  EXPECT_FALSE(agent->Send(batch));
  grpc::Status s = agent->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("rate limit"), std::string::npos);
  EXPECT_EQ(SignalRecords("flood-1"), 80u);
}

TEST_F(IngestBadInputTest, ASecondStreamForTheSameHostClosesTheOlderOne) {
  auto first = Connected("dup-1");
  auto second = Connected("dup-1");
  grpc::Status s = first->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(s.error_message().find("replaced by a newer stream"), std::string::npos);
  uint64_t acked = 0;
  EXPECT_TRUE(second->Send({ts::Heartbeat(1, Now())}, &acked));
  EXPECT_EQ(acked, 1u);
  EXPECT_TRUE(second->Finish().ok());
}

}  // namespace
}  // namespace attest
