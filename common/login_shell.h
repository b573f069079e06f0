// Whether a passwd shell lets its user log in: the agent sends the keys of
// such users, and an access review lists them (daemon/engine/review_population.h).
#ifndef ATTEST_COMMON_LOGIN_SHELL_H_
#define ATTEST_COMMON_LOGIN_SHELL_H_

#include <string_view>

namespace attest {

inline bool IsLoginShell(std::string_view shell) {
  if (shell.empty()) return false;
  const size_t slash = shell.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? shell : shell.substr(slash + 1);
  return base != "nologin" && base != "false" && base != "sync" && base != "halt" &&
         base != "shutdown";
}

}  // namespace attest

#endif  // ATTEST_COMMON_LOGIN_SHELL_H_
