// The built-in policy: what attestd judges when no --policy was ever given
// (`attestd --print-default-policy` prints it as a starting point). It holds
// the four controls every SOC 2 fleet has evidence for from the agent
// alone, and no windows: windows are per audit, created with
// `attestctl windows create` or a policy file.
#ifndef ATTEST_DAEMON_ENGINE_DEFAULT_POLICY_H_
#define ATTEST_DAEMON_ENGINE_DEFAULT_POLICY_H_

namespace attest::engine {

// The YAML text; ParsePolicy(kDefaultPolicy, kDefaultPolicyName) succeeds.
extern const char kDefaultPolicy[];
inline constexpr char kDefaultPolicyName[] = "built-in";

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_DEFAULT_POLICY_H_
