// Address helpers shared by the three programs.
#ifndef ATTEST_COMMON_NET_H_
#define ATTEST_COMMON_NET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace attest {

// HOST[:PORT] or [V6][:PORT], split; `port` is "" when absent (and not
// checked). InvalidArgument "unclosed [" or "bad port" (something other
// than ":PORT" after "]").
struct HostPort {
  std::string host;
  std::string port;
  bool has_port = false;  // a ':' was there, even with nothing after it
};
absl::StatusOr<HostPort> SplitHostPort(std::string_view address);

// True for "host:port" addresses on 127.0.0.0/8, ::1 or localhost. Insecure
// mode is only ever allowed toward such addresses.
bool IsLoopbackAddress(const std::string& address);

}  // namespace attest

#endif  // ATTEST_COMMON_NET_H_
