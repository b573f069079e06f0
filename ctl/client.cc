#include "ctl/client.h"

#include <cstdio>

#include "common/files.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::ctl {
namespace {

// Whether this run speaks TLS: a refused client certificate then looks
// exactly like a daemon that is down (gRPC says UNAVAILABLE, "Socket
// closed"), so the message names both causes.
bool used_tls = false;

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
    fprintf(stderr,
            "attestctl: attestd is down, or it refused this client certificate (signed by "
            "another CA than its --client-ca, expired, or not yet valid)\n");
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
