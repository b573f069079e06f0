#include "ctl/client.h"

#include "common/files.h"
#include "common/net.h"
#include "common/strings.h"

namespace attest::ctl {
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
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadFileToString(o.ca);
  if (!ca.ok()) return ca.status();
  auto cert = ReadFileToString(o.tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadFileToString(o.tls_key);
  if (!key.ok()) return key.status();
  ssl.pem_root_certs = *ca;
  ssl.pem_cert_chain = *cert;
  ssl.pem_private_key = *key;
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

}  // namespace attest::ctl
