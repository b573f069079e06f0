#include "tests/support/daemon_harness.h"

#include <signal.h>

#include <atomic>
#include <filesystem>

#include "common/strings.h"

namespace attest::testing_support {

DaemonHarness::DaemonHarness(std::string dir, FixturePki* pki, std::vector<std::string> extra_flags)
    : dir_(std::move(dir)), pki_(pki), extra_flags_(std::move(extra_flags)) {
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/attestd.log";
}

DaemonHarness::~DaemonHarness() { Kill(); }

absl::Status DaemonHarness::Start() {
  const std::string ready = dir_ + "/ready";
  std::filesystem::remove(ready);
  const std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
  std::vector<std::string> argv = {BinaryPath("attestd"), "--listen=" + listen,
                                   "--data-dir=" + data_dir_, "--ready-file=" + ready,
                                   "--log-level=info"};
  if (pki_ == nullptr) {
    argv.push_back("--insecure");
  } else {
    argv.push_back("--tls-cert=" + pki_->server().cert);
    argv.push_back("--tls-key=" + pki_->server().key);
    argv.push_back("--client-ca=" + pki_->ca_file());
  }
  for (const auto& f : extra_flags_) argv.push_back(f);
  auto child = ChildProcess::Start(argv, log_path_);
  if (!child.ok()) return child.status();
  process_.emplace(std::move(*child));
  auto address = WaitForFile(ready, &*process_, absl::Seconds(30));
  if (!address.ok()) return address.status();
  address_ = *address;
  // attestd writes the whole file at once (rename), so it is complete now.
  const std::string ready_text = ReadAll(ready);
  const size_t at = ready_text.find("\nmetrics ");
  if (at != std::string::npos) {
    const size_t from = at + strlen("\nmetrics ");
    metrics_address_ = ready_text.substr(from, ready_text.find('\n', from) - from);
  }
  return absl::OkStatus();
}

void DaemonHarness::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  (void)process_->Wait(absl::Seconds(30));
  process_.reset();
}

void DaemonHarness::Signal(int signo) const {
  if (process_) process_->Signal(signo);
}

absl::StatusOr<int> DaemonHarness::Stop() {
  if (!process_) return absl::FailedPreconditionError("not running");
  process_->Signal(SIGTERM);
  auto code = process_->Wait(absl::Seconds(30));
  process_.reset();
  return code;
}

namespace {

grpc::ChannelArguments OwnConnection() {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  // Each test channel on its own connection: a distinct argument, and no
  // subchannel shared through gRPC's global pool (a channel made after a
  // daemon restart must not inherit a connection to the dead process).
  static std::atomic<int> counter{0};
  args.SetInt("attest.test.channel", ++counter);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

}  // namespace

std::shared_ptr<grpc::Channel> DaemonHarness::InsecureChannelTo(const std::string& address) {
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), OwnConnection());
}

std::shared_ptr<grpc::Channel> DaemonHarness::ChannelWith(const std::optional<CertFiles>& client) {
  if (pki_ == nullptr) return InsecureChannelTo(address_);
  grpc::ChannelArguments args = OwnConnection();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pki_->ReadFile(pki_->ca_file());
  if (client) {
    ssl.pem_cert_chain = pki_->ReadFile(client->cert);
    ssl.pem_private_key = pki_->ReadFile(client->key);
  }
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(address_, grpc::SslCredentials(ssl), args);
}

std::shared_ptr<grpc::Channel> DaemonHarness::ChannelAs(const std::string& role,
                                                        const std::string& name) {
  if (pki_ == nullptr) return ChannelWith(std::nullopt);
  return ChannelWith(pki_->Client(role, name));
}

std::unique_ptr<v1::AdminService::Stub> DaemonHarness::Admin() {
  return v1::AdminService::NewStub(ChannelAs("admin", "test-admin"));
}

std::vector<v1::EvidenceRecord> DaemonHarness::Evidence(const std::string& host) {
  auto admin = Admin();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::ListEvidenceRequest req;
  req.set_host(host);
  auto reader = admin->ListEvidence(&ctx, req);
  std::vector<v1::EvidenceRecord> out;
  v1::EvidenceRecord r;
  while (reader->Read(&r)) out.push_back(r);
  grpc::Status s = reader->Finish();
  if (!s.ok()) out.clear();
  return out;
}

std::vector<std::string> AgentCommand(const DaemonHarness& daemon, FixturePki& pki,
                                      const std::string& host, const std::string& spool_dir,
                                      const std::string& checks_dir,
                                      const std::vector<std::string>& extra) {
  const CertFiles cert = pki.Client("host", host);
  std::vector<std::string> argv = {
      BinaryPath("attest-agent"), "--daemon=" + daemon.address(), "--root=/",
      "--spool-dir=" + spool_dir, "--tls-cert=" + cert.cert,      "--tls-key=" + cert.key,
      "--ca=" + pki.ca_file(),    "--server-name=localhost",      "--checks-dir=" + checks_dir,
      "--label=env=test",         "--max-backoff=500ms"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

TestAgent::TestAgent(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(v1::AgentService::NewStub(channel)) {
  context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  stream_ = stub_->Stream(&context_);
}

bool TestAgent::Write(const v1::AgentMessage& message) { return stream_->Write(message); }

bool TestAgent::Hello(const v1::Hello& hello, v1::Welcome* welcome) {
  v1::AgentMessage m;
  *m.mutable_hello() = hello;
  if (!stream_->Write(m)) return false;
  v1::DaemonMessage reply;
  if (!stream_->Read(&reply) || !reply.has_welcome()) return false;
  if (welcome != nullptr) *welcome = reply.welcome();
  return true;
}

bool TestAgent::Send(const std::vector<v1::Signal>& signals, uint64_t* acked) {
  v1::AgentMessage m;
  for (const auto& s : signals) *m.mutable_batch()->add_signals() = s;
  if (!stream_->Write(m)) return false;
  v1::DaemonMessage reply;
  if (!stream_->Read(&reply) || !reply.has_ack()) return false;
  if (acked != nullptr) *acked = reply.ack().highest_durable_seq();
  return true;
}

grpc::Status TestAgent::AwaitEnd() {
  if (!finished_) {
    v1::DaemonMessage drain;
    while (stream_->Read(&drain)) {
    }
    status_ = stream_->Finish();
    finished_ = true;
  }
  return status_;
}

grpc::Status TestAgent::Finish() {
  if (!finished_) {
    stream_->WritesDone();
    v1::DaemonMessage drain;
    while (stream_->Read(&drain)) {
    }
    status_ = stream_->Finish();
    finished_ = true;
  }
  return status_;
}

}  // namespace attest::testing_support
