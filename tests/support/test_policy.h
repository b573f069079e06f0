// The controls the cross-process tests judge with: short SLAs so that a
// few simulated days show passes, failures and deviations. Tests append
// their own windows.
#ifndef ATTEST_TESTS_SUPPORT_TEST_POLICY_H_
#define ATTEST_TESTS_SUPPORT_TEST_POLICY_H_

#include <string>

namespace attest::testing_support {

inline constexpr char kTestControls[] =
    "controls:\n"
    "  - {id: patch-sla, title: Security updates within SLA, tsc: [CC7.1],\n"
    "     rule: patch.security_sla, params: {security_max_age: 2d, reboot_grace: 1d},\n"
    "     freshness: 2h}\n"
    "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
    "     params: {max_gap: 15m}, freshness: 30m}\n"
    "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
    "     params: {approval_window: 24h}}\n"
    "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n";

// The controls with window q1 (2026-01-01T06:00Z to 01-07), which the
// simulated fleets loaded from 2026-01-01 fall into: the bundle tests'.
inline std::string TestPolicyQ1() {
  return std::string(kTestControls) +
         "windows:\n"
         "  - {id: q1, start: 2026-01-01T06:00:00Z, end: 2026-01-07T00:00:00Z}\n";
}

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_TEST_POLICY_H_
