#include "common/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>

#include "common/net.h"
#include "common/strings.h"
#include "common/tls_client.h"

namespace attest {

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  HttpUrl out;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return absl::InvalidArgumentError(
        attest::StrCat("URL ", url, ": only http[s]://HOST[:PORT][/PATH] is supported"));
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    // Not echoed: the URL holds a password.
    return absl::InvalidArgumentError("a URL with user[:password]@ is not supported");
  }
  auto split = SplitHostPort(authority);
  if (!split.ok()) {
    return absl::InvalidArgumentError(attest::StrCat("URL ", url, ": ", split.status().message()));
  }
  if (split->host.empty()) {
    return absl::InvalidArgumentError(attest::StrCat("URL ", url, ": no host"));
  }
  const std::string& port = split->port;
  if (split->has_port &&
      (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
       port.size() > 5 || std::stoi(port) > 65535)) {
    return absl::InvalidArgumentError(attest::StrCat("URL ", url, ": bad port"));
  }
  out.host = split->host;
  out.port = split->has_port ? port : (out.tls ? "443" : "80");
  out.path = std::string(path);
  return out;
}

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;

// Writes `req` and reads the response on a connected (and, for TLS,
// handshaken) stream, driving `io` until each step ends.
template <typename Stream>
beast::error_code Exchange(boost::asio::io_context& io, Stream& stream,
                           http::request<http::string_body>& req,
                           http::response<http::string_body>& res, std::string_view& step) {
  beast::error_code ec;
  step = "write";
  http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
  io.restart();
  io.run();
  if (ec) return ec;
  step = "read";
  beast::flat_buffer buffer;
  http::async_read(stream, buffer, res, [&](beast::error_code e, size_t) { ec = e; });
  io.restart();
  io.run();
  return ec;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const HttpUrl& url,
                                         const std::string& target, const std::string& body,
                                         const std::string& content_type, absl::Duration timeout,
                                         const HttpTls& tls) {
  const std::string path = url.path + (target.empty() ? "/" : target);
  const std::string what =
      attest::StrCat(method, url.tls ? " https://" : " http://", url.host, ":", url.port, path);
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return absl::InvalidArgumentError(what + ": unknown method");
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream tcp(io);
  const auto deadline = std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout));
  beast::error_code ec;
  std::string_view step = "resolve";
  std::string detail;  // OpenSSL's reason for a failed handshake
  auto fail = [&] {
    const bool late = ec == beast::error::timeout;
    std::string msg = attest::StrCat(what, ": ", step, ": ", ec.message(), detail);
    return late ? absl::DeadlineExceededError(msg) : absl::UnavailableError(msg);
  };
  // Resolution has no deadline of its own; names here are addresses or
  // /etc/hosts entries in practice.
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return fail();
  tcp.expires_after(deadline);
  step = "connect";
  tcp.async_connect(endpoints, [&](beast::error_code e, const auto&) { ec = e; });
  io.run();
  if (ec) return fail();
  http::request<http::string_body> req{verb, path, 11};
  req.set(http::field::host, attest::StrCat(url.host, ":", url.port));
  req.set(http::field::user_agent, "attest");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  http::response<http::string_body> res;
  if (!url.tls) {
    ec = Exchange(io, tcp, req, res, step);
    if (ec) return fail();
    tcp.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
  }
  auto ctx = TlsClientContext(tls);
  if (!ctx.ok()) return ctx.status();
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), **ctx);
  SSL* ssl_handle = stream.native_handle();
  ExpectPeerName(ssl_handle, url.host);
  step = "TLS handshake";
  stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  io.restart();
  io.run();
  if (ec) {
    detail = VerifyFailure(ssl_handle);
    return fail();
  }
  ec = Exchange(io, stream, req, res, step);
  if (ec) return fail();
  // The response is complete (its length was known): closing without a
  // close_notify loses nothing, and waiting for the peer's would only add a
  // round trip, or a stall with a peer that does not answer one.
  beast::get_lowest_layer(stream).socket().close(ec);
  return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
}

absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const std::string& host,
                                         const std::string& port, const std::string& target,
                                         const std::string& body, const std::string& content_type,
                                         absl::Duration timeout) {
  return HttpRequest(method, HttpUrl{false, host, port, ""}, target, body, content_type, timeout);
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace attest
