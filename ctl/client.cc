#include "ctl/client.h"

#include <cstdio>

#include "common/files.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/tls_client.h"

namespace attest::ctl {
namespace {

// Whether this run speaks TLS, and how: a refused certificate looks exactly
// like a daemon that is down to gRPC (UNAVAILABLE, "Socket closed"), so a
// failed call is followed by a handshake of our own to tell them apart.
bool used_tls = false;
ClientOptions tls_options;
TlsPem tls_pem;

// Why gRPC found attestd UNAVAILABLE over TLS: PermissionDenied when the
// TLS connection itself is refused (with OpenSSL's reason), Unavailable
// when no connection can be made, Ok when TLS works (the cause is another).
absl::Status WhyUnavailable() {
  auto split = SplitHostPort(tls_options.daemon);
  if (!split.ok() || split->host.empty() || split->port.empty()) {
    return absl::OkStatus();  // not HOST:PORT: no guess
  }
  const std::string& host = split->host;
  const std::string& port = split->port;
  const std::string name = tls_options.server_name.empty() ? host : tls_options.server_name;
  return ProbeTls(host, port, name, TlsClientPem{tls_pem.ca, tls_pem.cert, tls_pem.key}, "h2",
                  absl::Seconds(5));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ClientOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (o.tls_cert.empty() && o.tls_key.empty() && o.ca.empty()) {
    if (!IsLoopbackAddress(o.daemon)) {
      return absl::InvalidArgumentError(
          StrCat("--daemon ", o.daemon, " is not loopback: give --tls-cert, --tls-key and --ca"));
    }
    return grpc::CreateCustomChannel(o.daemon, grpc::InsecureChannelCredentials(), args);
  }
  auto pem = ReadTlsPem(o.ca, o.tls_cert, o.tls_key);
  if (!pem.ok()) return pem.status();
  used_tls = true;
  tls_options = o;
  tls_pem = *pem;
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem->ca;
  ssl.pem_cert_chain = pem->cert;
  ssl.pem_private_key = pem->key;
  if (!o.server_name.empty()) args.SetSslTargetNameOverride(o.server_name);
  return grpc::CreateCustomChannel(o.daemon, grpc::SslCredentials(ssl), args);
}

int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnreachable;
    default:
      return kExitFindings;
  }
}

int Fail(const char* what, const grpc::Status& s) {
  fprintf(stderr, "attestctl: %s: %s\n", what, s.error_message().c_str());
  if (used_tls && s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const absl::Status why = WhyUnavailable();
    if (absl::IsPermissionDenied(why)) {
      // Not a daemon that is down: retrying will not help.
      fprintf(stderr,
              "attestctl: attestd refused the TLS connection: %s (check --ca, --server-name, and "
              "that --tls-cert is signed by attestd's --client-ca, valid now and not revoked)\n",
              std::string(why.message()).c_str());
      return kExitFindings;
    }
    if (!why.ok()) fprintf(stderr, "attestctl: %s\n", std::string(why.message()).c_str());
  }
  return ExitCodeFor(s);
}

int Usage(const std::string& message) {
  fprintf(stderr, "attestctl: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace attest::ctl

namespace attest::ctl {

std::chrono::system_clock::time_point Deadline(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

bool TimeFlag(const char* name, const std::string& value, google::protobuf::Timestamp* out) {
  auto t = ParseRfc3339(value);
  if (!t.ok()) {
    fprintf(stderr, "attestctl: --%s: %s\n", name, std::string(t.status().message()).c_str());
    return false;
  }
  *out = ToProto(*t);
  return true;
}

}  // namespace attest::ctl
