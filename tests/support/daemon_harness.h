// Runs a real attestd as a child process on a free loopback port, and talks
// to it the way agents and attestctl do.
#ifndef ATTEST_TESTS_SUPPORT_DAEMON_HARNESS_H_
#define ATTEST_TESTS_SUPPORT_DAEMON_HARNESS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/v1/admin.grpc.pb.h"
#include "attest/v1/agent.grpc.pb.h"
#include "tests/support/fixture_pki.h"
#include "tests/support/process.h"

namespace attest::testing_support {

class DaemonHarness {
 public:
  // `pki` null: insecure loopback mode. Extra flags are appended.
  DaemonHarness(std::string dir, FixturePki* pki, std::vector<std::string> extra_flags = {});
  ~DaemonHarness();

  // Starts attestd and waits until it serves. The data dir persists across
  // restarts; the port is chosen on the first start and kept afterwards, so
  // agents can reconnect to the same address.
  absl::Status Start();
  void Kill();                   // SIGKILL, reaped
  absl::StatusOr<int> Stop();    // SIGTERM, exit code
  void Signal(int signo) const;  // e.g. SIGHUP; nothing when not running
  const std::string& address() const { return address_; }
  // attestd's pid while it runs (-1 otherwise).
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // The /metrics address (with --metrics-listen among the extra flags).
  const std::string& metrics_address() const { return metrics_address_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }

  // A channel as host `host` (its certificate), or as `role/name`.
  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& role, const std::string& name);
  std::shared_ptr<grpc::Channel> ChannelWith(const std::optional<CertFiles>& client);
  // An insecure channel of its own to `address` (no daemon needed): for
  // threads that connect while another thread restarts the daemon.
  static std::shared_ptr<grpc::Channel> InsecureChannelTo(const std::string& address);
  std::unique_ptr<v1::AdminService::Stub> Admin();

  // Every evidence record of `host`, via the admin API.
  std::vector<v1::EvidenceRecord> Evidence(const std::string& host);

 private:
  std::string dir_;
  FixturePki* pki_;
  std::vector<std::string> extra_flags_;
  std::string data_dir_;
  std::string log_path_;
  std::string address_;
  std::string metrics_address_;
  std::optional<ChildProcess> process_;
};

// The command line of a real attest-agent for host `host` that ships to
// `daemon` over mTLS (certificate from `pki`), spooling in `spool_dir` and
// running the checks in `checks_dir`; `extra` flags are appended.
std::vector<std::string> AgentCommand(const DaemonHarness& daemon, FixturePki& pki,
                                      const std::string& host, const std::string& spool_dir,
                                      const std::string& checks_dir,
                                      const std::vector<std::string>& extra);

// A synchronous agent stream for tests.
class TestAgent {
 public:
  TestAgent(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline = absl::Seconds(30));

  // Sends the hello and reads the Welcome. False if the stream ended.
  bool Hello(const v1::Hello& hello, v1::Welcome* welcome = nullptr);
  // Sends a batch and reads its ack. False if the stream ended.
  bool Send(const std::vector<v1::Signal>& signals, uint64_t* acked = nullptr);
  // Writes a raw message without waiting for a reply.
  bool Write(const v1::AgentMessage& message);
  // Closes the sending side and returns the final status.
  grpc::Status Finish();
  // Sends nothing more but keeps the sending side open, and returns the
  // status the daemon ends the stream with (or the deadline's).
  grpc::Status AwaitEnd();

 private:
  std::unique_ptr<v1::AgentService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::DaemonMessage>> stream_;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_DAEMON_HARNESS_H_
