// Client-side TLS on Boost.Asio, shared by the HTTP client (https
// Alertmanagers) and attestctl's check of why a TLS connection failed.
#ifndef ATTEST_COMMON_TLS_CLIENT_H_
#define ATTEST_COMMON_TLS_CLIENT_H_

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest {

// What a TLS client trusts and presents, as PEM text. The server's
// certificate must chain to `ca_pem` (the system's trust store when empty);
// with `cert_pem` and `key_pem`, the client presents that certificate.
struct TlsClientPem {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// A TLS 1.2+ client context that verifies the server. InvalidArgument when
// the PEM text is unusable.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> TlsClientContext(
    const TlsClientPem& pem);

// The server's certificate must name `host`: an IP address is matched
// against its IP SANs, a name against its DNS names (and sent as SNI).
void ExpectPeerName(SSL* ssl, const std::string& host);

// OpenSSL's reason why the server's certificate was not accepted ("" if it
// was, or was not looked at), e.g. " (unable to get local issuer certificate)".
std::string VerifyFailure(SSL* ssl);

// Connects to host:port and shakes hands as `pem` would, offering ALPN
// `alpn` ("h2" for gRPC), then waits up to `timeout` for the server's
// first bytes or its alert. For telling a TLS refusal from a server that is
// down, which gRPC reports alike:
//   Unavailable       no TCP connection (down, wrong port, filtered);
//   PermissionDenied  TLS refused: the server's certificate is not trusted
//                     or does not name `server_name`, or the server refused
//                     ours (its alert, or it hangs up at once, as gRPC does);
//   Ok                the server accepted the connection.
absl::Status ProbeTls(const std::string& host, const std::string& port,
                      const std::string& server_name, const TlsClientPem& pem,
                      const std::string& alpn, absl::Duration timeout);

}  // namespace attest

#endif  // ATTEST_COMMON_TLS_CLIENT_H_
