#include "daemon/engine/default_policy.h"

namespace attest::engine {

const char kDefaultPolicy[] = R"(# attest's built-in policy (attestd --print-default-policy).
controls:
  - id: patch-sla
    title: Security updates installed within SLA
    tsc: [CC7.1, CC8.1]
    rule: patch.security_sla
    params: {security_max_age: 14d, reboot_grace: 3d}
    freshness: 2h
  - id: log-shipping
    title: Logs shipped to central storage without gaps
    tsc: [CC7.2]
    rule: logs.shipping_continuity
    params: {max_gap: 15m}
    freshness: 30m
  - id: access-approved
    title: Access changes approved within a day
    tsc: [CC6.2, CC6.3]
    rule: access.change_approved
    params: {approval_window: 24h}
  - id: agent-reporting
    title: Monitoring agent reporting
    tsc: [CC7.1]
    rule: agent.reporting
    freshness: 15m
)";

}  // namespace attest::engine
