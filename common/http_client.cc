#include "common/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>

#include "common/strings.h"

namespace attest {

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(
        attest::StrCat("URL ", url, ": only http://HOST:PORT[/PATH] is supported"));
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) {
    return absl::InvalidArgumentError(attest::StrCat("URL ", url, ": needs HOST:PORT"));
  }
  std::string_view host = authority.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  for (char c : authority.substr(colon + 1)) {
    if (c < '0' || c > '9')
      return absl::InvalidArgumentError(attest::StrCat("URL ", url, ": bad port"));
  }
  return HttpUrl{std::string(host), std::string(authority.substr(colon + 1)), std::string(path)};
}

absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const std::string& host,
                                         const std::string& port, const std::string& target,
                                         const std::string& body, const std::string& content_type,
                                         absl::Duration timeout) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  const std::string what = attest::StrCat(method, " http://", host, ":", port, target);
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return absl::InvalidArgumentError(what + ": unknown method");
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  const auto deadline = std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout));
  beast::error_code ec;
  auto fail = [&](std::string_view step) {
    const bool late = ec == beast::error::timeout;
    std::string msg = attest::StrCat(what, ": ", step, ": ", ec.message());
    return late ? absl::DeadlineExceededError(msg) : absl::UnavailableError(msg);
  };
  // Resolution has no deadline of its own; names here are addresses or
  // /etc/hosts entries in practice.
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return fail("resolve");
  stream.expires_after(deadline);
  stream.async_connect(endpoints, [&](beast::error_code e, const auto&) { ec = e; });
  http::request<http::string_body> req{verb, target.empty() ? "/" : target, 11};
  req.set(http::field::host, attest::StrCat(host, ":", port));
  req.set(http::field::user_agent, "attest");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  std::string_view step = "connect";
  io.run();
  if (ec) return fail(step);
  step = "write";
  http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
  io.restart();
  io.run();
  if (ec) return fail(step);
  step = "read";
  http::async_read(stream, buffer, res, [&](beast::error_code e, size_t) { ec = e; });
  io.restart();
  io.run();
  if (ec) return fail(step);
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
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
