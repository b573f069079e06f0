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
  - id: access-review
    title: User access reviewed each quarter, revocations carried out within a week
    tsc: [CC6.2, CC6.3]
    rule: access.review_performed
    params: {cadence: 90d, due_grace: 7d, revoke_within: 7d}
  - id: agent-reporting
    title: Monitoring agent reporting
    tsc: [CC7.1]
    rule: agent.reporting
    freshness: 15m
  - id: time-synced
    title: Clock synchronised by a time-sync daemon
    tsc: [CC7.2]
    rule: host.time_synced
    params: {max_estimated_error: 100ms, require_daemon: true}
    freshness: 1h
  - id: firewall-enabled
    title: Host firewall drops inbound traffic by default
    tsc: [CC6.6]
    rule: host.firewall_enabled
    params: {families: [ipv4, ipv6]}
    freshness: 1h
  - id: services-running
    title: Audit and endpoint protection services running
    tsc: [CC6.8, CC7.2]
    rule: host.services_running
    params:
      required:
        audit: [auditd]
    freshness: 1h
  - id: sshd-hardened
    title: SSH without passwords, empty passwords or root password logins
    tsc: [CC6.1]
    rule: host.sshd_policy
    params: {permit_root_login: [no, prohibit-password], require_mfa: false}
    freshness: 1h
  - id: backup-fresh
    title: A successful backup within the last day
    tsc: [A1.2]
    rule: host.backup_fresh
    params: {max_age: 26h}
    freshness: 1h
  - id: disk-encrypted
    title: Data at rest and swap on dm-crypt
    tsc: [CC6.1, CC6.7]
    rule: host.disk_encrypted
    params:
      mounts: [/, /var, /home, /srv]
      swap: true
      exempt_fstypes: [tmpfs, ramfs]
    freshness: 1h
  - id: mac-enforcing
    title: Mandatory access control enforcing (AppArmor or SELinux)
    tsc: [CC6.8]
    rule: host.mac_enforcing
    params: {require: any, min_enforced_profiles: 1, allow_complain: true}
    freshness: 1h
)";

}  // namespace attest::engine
