#include "tests/support/http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/strings.h"

namespace attest::testing_support {

absl::StatusOr<std::string> HttpGet(const std::string& host_port, const std::string& target) {
  namespace http = boost::beast::http;
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("address needs HOST:PORT");
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.connect(resolver.resolve(host_port.substr(0, colon), host_port.substr(colon + 1)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host_port);
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    boost::beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    if (res.result() != http::status::ok) {
      return absl::UnavailableError(attest::StrCat("GET ", target, ": HTTP ", res.result_int()));
    }
    return res.body();
  } catch (const std::exception& e) {
    return absl::UnavailableError(attest::StrCat("GET ", target, ": ", e.what()));
  }
}

}  // namespace attest::testing_support
