#include "common/net.h"

#include <arpa/inet.h>

namespace attest {

absl::StatusOr<HostPort> SplitHostPort(std::string_view address) {
  HostPort out;
  std::string_view host = address;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("unclosed [");
    host = address.substr(1, close - 1);
    const std::string_view after = address.substr(close + 1);
    if (!after.empty() && after.front() != ':') return absl::InvalidArgumentError("bad port");
    out.has_port = !after.empty();
    if (out.has_port) out.port = std::string(after.substr(1));
  } else if (const size_t colon = address.rfind(':'); colon != std::string_view::npos) {
    host = address.substr(0, colon);
    out.has_port = true;
    out.port = std::string(address.substr(colon + 1));
  }
  out.host = std::string(host);
  return out;
}

bool IsLoopbackAddress(const std::string& listen) {
  auto split = SplitHostPort(listen);
  if (!split.ok()) return false;
  const std::string& host = split->host;
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace attest
