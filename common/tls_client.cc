#include "common/tls_client.h"

#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "common/strings.h"

namespace attest {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;

absl::StatusOr<std::unique_ptr<ssl::context>> TlsClientContext(const TlsClientPem& pem) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (pem.ca_pem.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->add_certificate_authority(boost::asio::buffer(pem.ca_pem), ec);
  }
  if (ec) return absl::InvalidArgumentError(StrCat("TLS CA: ", ec.message()));
  if (!pem.cert_pem.empty()) {
    ctx->use_certificate_chain(boost::asio::buffer(pem.cert_pem), ec);
    if (!ec) ctx->use_private_key(boost::asio::buffer(pem.key_pem), ssl::context::pem, ec);
    if (ec) return absl::InvalidArgumentError(StrCat("TLS client key: ", ec.message()));
  }
  return ctx;
}

void ExpectPeerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  if (!not_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    SSL_set_tlsext_host_name(ssl, host.c_str());
  }
}

std::string VerifyFailure(SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_OK) return "";
  return StrCat(" (", X509_verify_cert_error_string(verify), ")");
}

absl::Status ProbeTls(const std::string& host, const std::string& port,
                      const std::string& server_name, const TlsClientPem& pem,
                      const std::string& alpn, absl::Duration timeout) {
  const std::string where = StrCat(host, ":", port);
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return absl::UnavailableError(StrCat(where, ": ", ec.message()));
  auto ctx = TlsClientContext(pem);
  if (!ctx.ok()) return ctx.status();
  beast::ssl_stream<beast::tcp_stream> stream(io, **ctx);
  const auto deadline = std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout));
  const auto run = [&] {
    io.restart();
    io.run();
  };
  beast::get_lowest_layer(stream).expires_after(deadline);
  beast::get_lowest_layer(stream).async_connect(endpoints,
                                                [&](beast::error_code e, const auto&) { ec = e; });
  run();
  if (ec) return absl::UnavailableError(StrCat(where, ": ", ec.message()));
  SSL* handle = stream.native_handle();
  ExpectPeerName(handle, server_name);
  if (!alpn.empty()) {
    std::string wire(1, static_cast<char>(alpn.size()));
    wire += alpn;
    SSL_set_alpn_protos(handle, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  run();
  if (ec == beast::error::timeout) {
    return absl::UnavailableError(StrCat(where, ": no TLS handshake within the time"));
  }
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat(where, ": TLS handshake: ", ec.message(), VerifyFailure(handle)));
  }
  // With TLS 1.3 the server judges our certificate after the handshake has
  // ended for us: its verdict is the first thing it sends, an alert or data.
  std::array<char, 64> first;
  size_t got = 0;
  beast::get_lowest_layer(stream).expires_after(deadline);
  stream.async_read_some(boost::asio::buffer(first), [&](beast::error_code e, size_t n) {
    ec = e;
    got = n;
  });
  run();
  if (got > 0 || ec == beast::error::timeout) return absl::OkStatus();
  if (ec == boost::asio::error::eof || ec == ssl::error::stream_truncated) {
    return absl::PermissionDeniedError(StrCat(
        where, ": closed the connection once TLS was set up, so it refused our certificate"));
  }
  return absl::PermissionDeniedError(StrCat(where, ": ", ec.message()));
}

}  // namespace attest
