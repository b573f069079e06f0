#include "tests/support/http.h"

#include "common/http_client.h"
#include "common/strings.h"

namespace attest::testing_support {

absl::StatusOr<std::string> HttpGet(const std::string& host_port, const std::string& target) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("address needs HOST:PORT");
  auto res = HttpRequest("GET", host_port.substr(0, colon), host_port.substr(colon + 1), target);
  if (!res.ok()) return res.status();
  if (res->status != 200) {
    return absl::UnavailableError(
        attest::StrCat("GET ", target, ": HTTP ", res->status, ": ", res->body.substr(0, 200)));
  }
  return std::move(res->body);
}

}  // namespace attest::testing_support
