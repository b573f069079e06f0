// A small blocking HTTP/1.1 client (Boost.Beast) for attestd's outbound
// calls (Alertmanager) and for tests that talk to Prometheus and
// Alertmanager. http or https (server verified; optional client
// certificate); every call has a deadline.
#ifndef ATTEST_COMMON_HTTP_CLIENT_H_
#define ATTEST_COMMON_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls_client.h"

namespace attest {

// http[s]://HOST[:PORT][/PATH], split; the port defaults to 80 or 443.
// Anything else is InvalidArgument.
struct HttpUrl {
  bool tls = false;  // https
  std::string host;
  std::string port;
  std::string path;  // "" or starting with '/', no trailing '/'
};
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

// How an https request authenticates (tls_client.h): the server's
// certificate must chain to the CA and name the URL's host.
using HttpTls = TlsClientPem;

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One request to `url` with `target` (path and query, appended to the
// URL's path). The whole exchange must finish within `timeout`; a
// connection, TLS or protocol failure is Unavailable (DeadlineExceeded when
// the time ran out). Any HTTP status is returned, not turned into an error.
absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const HttpUrl& url,
                                         const std::string& target, const std::string& body = "",
                                         const std::string& content_type = "",
                                         absl::Duration timeout = absl::Seconds(10),
                                         const HttpTls& tls = {});

// The same over plain http to `host:port`.
absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const std::string& host,
                                         const std::string& port, const std::string& target,
                                         const std::string& body = "",
                                         const std::string& content_type = "",
                                         absl::Duration timeout = absl::Seconds(10));

// Percent-encodes `s` for a query string value.
std::string UrlEncode(std::string_view s);

}  // namespace attest

#endif  // ATTEST_COMMON_HTTP_CLIENT_H_
