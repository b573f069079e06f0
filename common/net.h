// Address helpers shared by the three programs.
#ifndef ATTEST_COMMON_NET_H_
#define ATTEST_COMMON_NET_H_

#include <string>

namespace attest {

// True for "host:port" addresses on 127.0.0.0/8, ::1 or localhost. Insecure
// mode is only ever allowed toward such addresses.
bool IsLoopbackAddress(const std::string& address);

}  // namespace attest

#endif  // ATTEST_COMMON_NET_H_
