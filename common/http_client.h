// A small blocking HTTP/1.1 client (Boost.Beast) for attestd's outbound
// calls (Alertmanager) and for tests that talk to Prometheus and
// Alertmanager. Plain http only; every call has a deadline.
#ifndef ATTEST_COMMON_HTTP_CLIENT_H_
#define ATTEST_COMMON_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest {

// http://HOST:PORT[/PATH], split. Anything else (https, no port) is
// InvalidArgument.
struct HttpUrl {
  std::string host;
  std::string port;
  std::string path;  // "" or starting with '/', no trailing '/'
};
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One request to `host:port` with `target` (path and query). The whole
// exchange must finish within `timeout`; a connection or protocol failure
// is Unavailable (DeadlineExceeded when the time ran out). Any HTTP status
// is returned, not turned into an error.
absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const std::string& host,
                                         const std::string& port, const std::string& target,
                                         const std::string& body = "",
                                         const std::string& content_type = "",
                                         absl::Duration timeout = absl::Seconds(10));

// Percent-encodes `s` for a query string value.
std::string UrlEncode(std::string_view s);

}  // namespace attest

#endif  // ATTEST_COMMON_HTTP_CLIENT_H_
