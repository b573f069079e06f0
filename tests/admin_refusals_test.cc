// What attestd refuses on its admin API, through attestctl as people use it:
// each refusal exits 1 with attestd's reason, and nothing is recorded. One
// attestd over mTLS serves every case; an auditor's certificate is used
// where the role is the point.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fixture_pki.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

namespace ts = testing_signals;

struct Refusal {
  std::string name;
  std::vector<std::string> args;  // {dir}, {future} and {long} are replaced
  std::string message;            // a part of stderr
  int exit_code = 1;
  std::string role = "admin";
};

class AdminRefusalsTest : public testing::TestWithParam<Refusal> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(FreshDir("admin_refusals"));
    pki_ = new FixturePki(*dir_ + "/pki");
    daemon_ = new DaemonHarness(*dir_, pki_, {"--max-message-bytes=65536"});
    ASSERT_TRUE(daemon_->Start().ok()) << ReadAll(daemon_->log_path());
    std::ofstream(*dir_ + "/approvals.jsonl")
        << R"({"change_id":"chg-a","ticket":"t","approver":"a"})"
        << "\n"
        << R"({"change_id":"chg-b","ticket":"t","approver":"a"})"
        << "\n";
    std::ofstream(*dir_ + "/import.jsonl")
        << R"({"heartbeat":{},"host":"web-2","instance_id":"i1","kind":"heartbeat",)"
        << R"("observed_at":"2026-01-02T00:00:00Z","seq":1})"
        << "\n";
    // A host the engine knows, and a window, for the refusals that need one.
    TestAgent agent(daemon_->ChannelAs("host", "web-1"));
    ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-1")));
    ASSERT_TRUE(agent.Send({ts::Heartbeat(1, absl::Now())}));
    agent.Finish();
    ASSERT_EQ(Ctl({"windows", "create", "w1", "--start", "2026-01-01T00:00:00Z", "--end",
                   "2026-02-01T00:00:00Z"}),
              0);
    ASSERT_TRUE(Eventually([] {
      return Ctl({"timeline", "--host", "web-1", "--control", "agent-reporting"}) == 0;
    }));
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(*daemon_->Stop(), 0);
    delete daemon_;
    delete pki_;
    delete dir_;
  }
  static int Ctl(const std::vector<std::string>& args, const std::string& role = "admin",
                 std::string* err = nullptr) {
    const CertFiles cert = pki_->Client(role, role == "admin" ? "ops-1" : "audit-1");
    std::vector<std::string> argv = {BinaryPath("attestctl"),
                                     "--daemon",
                                     daemon_->address(),
                                     "--tls-cert",
                                     cert.cert,
                                     "--tls-key",
                                     cert.key,
                                     "--ca",
                                     pki_->ca_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, local_err;
    return RunTool(argv, *dir_, &out, err ? err : &local_err);
  }

  static std::string* dir_;
  static FixturePki* pki_;
  static DaemonHarness* daemon_;
};

std::string* AdminRefusalsTest::dir_ = nullptr;
FixturePki* AdminRefusalsTest::pki_ = nullptr;
DaemonHarness* AdminRefusalsTest::daemon_ = nullptr;

TEST_P(AdminRefusalsTest, ExitsWithAttestdsReason) {
  const Refusal& r = GetParam();
  const std::string future = FormatRfc3339(absl::Now() + absl::Hours(1));
  std::vector<std::string> args;
  for (const std::string& a : r.args) {
    args.push_back(absl::StrReplaceAll(
        a, {{"{dir}", *dir_}, {"{future}", future}, {"{long}", std::string(1025, 'x')}}));
  }
  std::string err;
  EXPECT_EQ(Ctl(args, r.role, &err), r.exit_code) << err;
  EXPECT_NE(err.find(r.message), std::string::npos) << err;
}

std::string CaseName(const testing::TestParamInfo<Refusal>& param) { return param.param.name; }

const std::string kT0 = "2026-01-01T00:00:00Z";
const std::string kT1 = "2026-02-01T00:00:00Z";

std::vector<std::string> Except(std::vector<std::string> extra) {
  std::vector<std::string> args = {"except",     "create", "--reason", "r",
                                   "--approver", "a",      "--ticket", "t"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AdminRefusalsTest,
    testing::Values(
        Refusal{"window_bad_id",
                {"windows", "create", "bad.id!", "--start", kT0, "--end", kT1},
                "window id must be 1-253 characters of [A-Za-z0-9._-]"},
        Refusal{"window_exists",
                {"windows", "create", "w1", "--start", kT0, "--end", kT1},
                "window \"w1\" exists"},
        Refusal{"window_backwards",
                {"windows", "create", "w2", "--start", kT1, "--end", kT0},
                "window end must be after its start"},
        Refusal{"window_threshold",
                {"windows", "create", "w3", "--start", kT0, "--end", kT1, "--coverage", "1.5"},
                "thresholds: effectiveness and coverage are fractions in [0, 1]"},
        Refusal{"approve_unknown",
                {"approve", "--change", "chg-x", "--ticket", "t", "--approver", "a"},
                "no access change \"chg-x\""},
        Refusal{"approve_long",
                {"approve", "--change", "chg-x", "--ticket", "{long}", "--approver", "a"},
                "ticket is too long"},
        Refusal{"approve_future",
                {"approve", "--change", "chg-x", "--ticket", "t", "--approver", "a", "--at",
                 "{future}"},
                "an approval cannot be given in the future"},
        Refusal{"approve_file_partial",
                {"approve", "--from-file", "{dir}/approvals.jsonl"},
                "no access change \"chg-b\""},
        Refusal{"except_unknown_control",
                Except({"--control", "patch-sal", "--host", "web-1", "--start", kT0, "--end", kT1}),
                "no control \"patch-sal\" in any policy version"},
        Refusal{"except_backwards",
                Except({"--control", "patch-sla", "--host", "web-1", "--start", kT1, "--end", kT0}),
                "an exception's end must be after its start"},
        Refusal{"except_long",
                {"except", "create", "--control", "patch-sla", "--host", "web-1", "--start", kT0,
                 "--end", kT1, "--reason", "{long}", "--approver", "a", "--ticket", "t"},
                "reason is too long"},
        Refusal{"revoke_unknown",
                {"except", "revoke", "--id", "EX-9", "--reason", "r"},
                "no exception \"EX-9\""},
        Refusal{"decommission_unknown", {"hosts", "decommission", "nohost"}, "no host \"nohost\""},
        Refusal{"decommission_future",
                {"hosts", "decommission", "web-1", "--at", "{future}"},
                "a decommission cannot be dated in the future"},
        Refusal{"decommission_before_enrolment",
                {"hosts", "decommission", "web-1", "--at", "2020-01-01T00:00:00Z"},
                "a decommission cannot be dated before the host's first observation"},
        Refusal{"revoke_future",
                {"except", "revoke", "--id", "EX-1", "--reason", "r", "--at", "{future}"},
                "a revocation cannot be dated in the future"},
        Refusal{"evidence_unknown", {"evidence", "nohost"}, "no host \"nohost\""},
        Refusal{"report_unknown_window", {"report", "--window", "nope"}, "no window \"nope\""},
        Refusal{"sample_unknown_window",
                {"sample", "--window", "nope", "--control", "patch-sla", "--n", "1"},
                "no window \"nope\""},
        Refusal{"sample_unknown_control",
                {"sample", "--window", "w1", "--control", "nope", "--n", "1"},
                "no control \"nope\""},
        Refusal{"export_unknown_window",
                {"export", "--window", "nope", "--out", "{dir}/x.tar"},
                "no window \"nope\""},
        Refusal{"export_unwritable",
                {"export", "--window", "w1", "--out", "/proc/attest/x.tar"},
                "cannot create /proc/attest/x.tar"},
        Refusal{"timeline_backwards",
                {"timeline", "--host", "web-1", "--control", "agent-reporting", "--start", kT1,
                 "--end", kT0},
                "to must be after from"},
        Refusal{"timeline_unknown_host",
                {"timeline", "--host", "nohost", "--control", "agent-reporting"},
                "no host \"nohost\""},
        Refusal{"timeline_unknown_control",
                {"timeline", "--host", "web-1", "--control", "nope"},
                "no control \"nope\""},
        Refusal{"report_unwritable",
                {"report", "--window", "w1", "--format", "csv", "--out", "/proc/x.csv"},
                "report: cannot write /proc/x.csv",
                2},
        Refusal{"auditor_import",
                {"import", "{dir}/import.jsonl"},
                "may only read; this needs an admin",
                1,
                "auditor"},
        Refusal{"auditor_write",
                {"windows", "create", "w9", "--start", kT0, "--end", kT1},
                "may only read",
                1,
                "auditor"}),
    CaseName);

TEST_F(AdminRefusalsTest, APdfWithoutChromiumSaysSo) {
  setenv("ATTEST_CHROMIUM", "/nonexistent/chromium", 1);
  std::string err;
  const int code = Ctl({"report", "--window", "w1", "--format", "pdf", "--out", *dir_ + "/r.pdf"},
                       "admin", &err);
  unsetenv("ATTEST_CHROMIUM");
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("PDF needs Chromium, which is not installed"), std::string::npos) << err;
}

// An exception request for patch-sla on `host`, complete but for what a
// case changes.
v1::Exception PatchSlaException(const std::string& host, absl::Time start, absl::Time end) {
  v1::Exception x;
  x.set_control("patch-sla");
  x.set_host(host);
  x.set_reason("r");
  x.set_approver("a");
  x.set_ticket("t");
  *x.mutable_start() = ToProto(start);
  *x.mutable_end() = ToProto(end);
  return x;
}

// A refusal with `code` whose message contains `text`.
void ExpectRefused(const grpc::Status& s, grpc::StatusCode code, const std::string& text) {
  EXPECT_EQ(s.error_code(), code) << s.error_message();
  EXPECT_NE(s.error_message().find(text), std::string::npos) << s.error_message();
}

// What attestctl refuses before sending (exit 2), attestd refuses as well,
// for any other client of the API.
TEST(AdminDirectTest, RequestsAttestctlNeverSendsAreRefusedToo) {
  const std::string dir = FreshDir("admin_direct");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki);
  ASSERT_TRUE(daemon.Start().ok());
  auto admin = daemon.Admin();
  {
    grpc::ClientContext ctx;
    v1::WindowDef window;
    window.set_id("w1");
    *window.mutable_start() = ToProto(absl::FromUnixSeconds(1767225600));
    *window.mutable_end() = ToProto(absl::FromUnixSeconds(1769904000));
    v1::WindowDef created;
    ASSERT_TRUE(admin->CreateWindow(&ctx, window, &created).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::Exception x = PatchSlaException("web-1", absl::FromUnixSeconds(1767225600),
                                        absl::FromUnixSeconds(1769904000));
    (*x.mutable_selector())["env"] = "prod";
    v1::Exception reply;
    const grpc::Status s = admin->CreateException(&ctx, x, &reply);
    ExpectRefused(s, grpc::StatusCode::INVALID_ARGUMENT, "a host or a label selector, not both");
  }
  {
    grpc::ClientContext ctx;
    v1::RevokeExceptionRequest request;
    request.set_id("EX-1");
    request.set_approver("a");
    v1::Exception reply;
    const grpc::Status s = admin->RevokeException(&ctx, request, &reply);
    ExpectRefused(s, grpc::StatusCode::INVALID_ARGUMENT, "reason is required");
  }
  {
    grpc::ClientContext ctx;
    v1::ListExceptionsResponse listed;
    ASSERT_TRUE(admin->ListExceptions(&ctx, v1::ListExceptionsRequest(), &listed).ok());
    EXPECT_EQ(listed.exceptions_size(), 0);  // nothing refused was recorded
  }
  EXPECT_TRUE(daemon.Stop().ok());
}

TEST(AdminTwiceTest, RevokingOrDecommissioningTwiceIsRefusedAndTheFirstStands) {
  const std::string dir = FreshDir("admin_twice");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki);
  ASSERT_TRUE(daemon.Start().ok());
  const absl::Time now = absl::Now();
  TestAgent agent(daemon.ChannelAs("host", "web-1"));
  ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-1")));
  ASSERT_TRUE(agent.Send({ts::Heartbeat(1, now - absl::Hours(1))}));
  agent.Finish();
  auto admin = daemon.Admin();
  const v1::Exception x = PatchSlaException("web-1", now - absl::Hours(2), now + absl::Hours(24));
  v1::Exception created;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->CreateException(&ctx, x, &created).ok());
  }
  v1::RevokeExceptionRequest revoke;
  revoke.set_id(created.id());
  revoke.set_reason("fixed");
  *revoke.mutable_at() = ToProto(now - absl::Minutes(30));
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext ctx;
    v1::Exception reply;
    revoke.set_reason(attempt == 0 ? "fixed" : "again");
    *revoke.mutable_at() = ToProto(now - absl::Minutes(attempt == 0 ? 30 : 10));
    const grpc::Status s = admin->RevokeException(&ctx, revoke, &reply);
    if (attempt == 0) {
      ASSERT_TRUE(s.ok()) << s.error_message();
    } else {
      ExpectRefused(s, grpc::StatusCode::FAILED_PRECONDITION, "was already revoked at");
    }
  }
  {
    grpc::ClientContext ctx;
    v1::ListExceptionsResponse listed;
    ASSERT_TRUE(admin->ListExceptions(&ctx, v1::ListExceptionsRequest(), &listed).ok());
    ASSERT_EQ(listed.exceptions_size(), 1);
    EXPECT_EQ(FromProto(listed.exceptions(0).revoked_at()), now - absl::Minutes(30));
  }
  // The engine learns of the host from its evidence, a moment after the ack.
  ASSERT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    v1::Decommission d;
    d.set_host("web-1");
    v1::Decommission reply;
    return admin->DecommissionHost(&ctx, d, &reply).ok();
  }));
  grpc::ClientContext ctx;
  v1::Decommission again;
  again.set_host("web-1");
  v1::Decommission reply;
  const grpc::Status s = admin->DecommissionHost(&ctx, again, &reply);
  ExpectRefused(s, grpc::StatusCode::FAILED_PRECONDITION, "was already decommissioned at");
  EXPECT_TRUE(daemon.Stop().ok());
}

TEST(AdminRequestSizeTest, ARequestOverMaxMessageBytesIsResourceExhausted) {
  const std::string dir = FreshDir("admin_size");
  FixturePki pki(dir + "/pki");
  DaemonHarness daemon(dir, &pki, {"--max-message-bytes=65536"});
  ASSERT_TRUE(daemon.Start().ok());
  grpc::ClientContext ctx;
  v1::Approval approval;
  approval.set_change_id("c");
  approval.set_approver("a");
  approval.set_ticket(std::string(100 * 1024, 't'));
  v1::Approval reply;
  const grpc::Status s = daemon.Admin()->Approve(&ctx, approval, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(daemon.Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
