// How attestctl reaches a daemon: --daemon HOST:PORT, insecure on loopback,
// mTLS with --tls-cert/--tls-key/--ca otherwise.
#ifndef ATTEST_CTL_CLIENT_H_
#define ATTEST_CTL_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"

namespace attest::ctl {

struct ClientOptions {
  std::string daemon = "127.0.0.1:7443";
  std::string tls_cert;
  std::string tls_key;
  std::string ca;
  std::string server_name;  // TLS name to expect; default: the daemon's host
};

// A channel to the daemon. InvalidArgument when TLS files are missing or
// when no TLS is configured for a non-loopback daemon.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ClientOptions& options);

// attestctl's exit codes (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// Maps a failed RPC to an exit code: 3 when the daemon could not be
// reached, 1 otherwise.
int ExitCodeFor(const grpc::Status& status);

// Prints "attestctl: WHAT: message" and returns ExitCodeFor(status). Over
// TLS, an UNAVAILABLE is checked with a handshake of attestctl's own: when
// attestd refuses the TLS connection (our certificate, or we its), that is
// printed with OpenSSL's reason and the exit code is 1, not 3.
int Fail(const char* what, const grpc::Status& status);
// Prints "attestctl: MESSAGE" and returns kExitUsage.
int Usage(const std::string& message);

// `seconds` from now: every RPC attestctl makes has a deadline.
std::chrono::system_clock::time_point Deadline(int seconds);

// Parses the RFC 3339 value of flag --NAME into `out`; false (after
// printing why) when it is not one.
bool TimeFlag(const char* name, const std::string& value, google::protobuf::Timestamp* out);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_CLIENT_H_
