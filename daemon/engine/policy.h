// The policy file (YAML): which controls are judged, how, and which audit
// windows are reported. Loading is pure (text in, Policy or an error naming
// file:line out), so a bad file is refused before anything uses it and the
// daemon keeps the last good version.
#ifndef ATTEST_DAEMON_ENGINE_POLICY_H_
#define ATTEST_DAEMON_ENGINE_POLICY_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::engine {

enum class Rule {
  kPatchSecuritySla,        // patch.security_sla
  kLogsShippingContinuity,  // logs.shipping_continuity
  kAccessChangeApproved,    // access.change_approved
  kAgentReporting,          // agent.reporting
  kCheckPass,               // check.pass
  kHostTimeSynced,          // host.time_synced
  kHostFirewallEnabled,     // host.firewall_enabled
  kHostServicesRunning,     // host.services_running
  kHostSshdPolicy,          // host.sshd_policy
  kHostBackupFresh,         // host.backup_fresh
  kHostDiskEncrypted,       // host.disk_encrypted
  kHostMacEnforcing,        // host.mac_enforcing
  kAccessReviewPerformed,   // access.review_performed
};

// Every rule, in the order `attestd --print-default-policy` documents them.
inline constexpr Rule kAllRules[] = {
    Rule::kPatchSecuritySla,
    Rule::kLogsShippingContinuity,
    Rule::kAccessChangeApproved,
    Rule::kAgentReporting,
    Rule::kCheckPass,
    Rule::kHostTimeSynced,
    Rule::kHostFirewallEnabled,
    Rule::kHostServicesRunning,
    Rule::kHostSshdPolicy,
    Rule::kHostBackupFresh,
    Rule::kHostDiskEncrypted,
    Rule::kHostMacEnforcing,
    Rule::kAccessReviewPerformed,
};

std::string_view RuleName(Rule rule);

struct Control {
  std::string id;
  std::string title;
  std::vector<std::string> tsc;  // e.g. CC7.1
  Rule rule;
  // Rule parameters, all validated at load:
  absl::Duration security_max_age;  // patch.security_sla (required)
  absl::Duration reboot_grace;      // patch.security_sla (default 0)
  absl::Duration max_gap;           // logs.shipping_continuity (required)
  std::string shipper;              // logs.shipping_continuity ("" = every shipper)
  absl::Duration approval_window;   // access.change_approved (required)
  std::string check;                // check.pass: the custom check's name (required)
  // host.time_synced: the kernel's estimated error at most this; a
  // time-sync daemon must run unless require_daemon is false.
  absl::Duration max_estimated_error = absl::Milliseconds(100);
  bool require_daemon = true;
  // host.firewall_enabled: the families whose input must drop by default
  // ("ipv4", "ipv6"), and, when not empty, the only rulesets accepted
  // ("sha256:..." fingerprints, as the firewall signal reports them).
  std::vector<std::string> families = {"ipv4", "ipv6"};
  std::vector<std::string> rulesets;
  // host.services_running (required): label -> units, any one of which
  // active satisfies the label. Units are "NAME.service" when given bare.
  std::map<std::string, std::vector<std::string>> required_services;
  // host.sshd_policy: the PermitRootLogin values allowed (sshd -T's own
  // words; "prohibit-password" and "without-password" are one), and MFA:
  // AuthenticationMethods must ask for a second factor after publickey,
  // with one of mfa_pam_modules in sshd's PAM auth stack.
  std::vector<std::string> permit_root_login = {"no", "prohibit-password"};
  bool require_mfa = false;
  // host.backup_fresh: the newest success at most max_age old (required);
  // `backup` names one source ("" = every source the host reports).
  absl::Duration backup_max_age;
  std::string backup;
  std::vector<std::string> mfa_pam_modules = {
      "pam_google_authenticator.so", "pam_u2f.so", "pam_duo.so", "pam_oath.so", "pam_yubico.so",
      "pam_radius_auth.so",          "pam_sss.so"};
  // host.disk_encrypted: for each path, the mounts holding it and every
  // mount on a block device below it but exempt_mounts must rest on
  // dm-crypt, and every active swap unless encrypted_swap is false.
  // Filesystems of exempt_fstypes, and read-only mounts with
  // exempt_read_only, need no encryption.
  std::vector<std::string> encrypted_mounts = {"/", "/var", "/home", "/srv"};
  bool encrypted_swap = true;
  std::vector<std::string> exempt_mounts = {"/boot", "/boot/efi"};
  std::vector<std::string> exempt_fstypes = {"tmpfs", "ramfs"};
  bool exempt_read_only = false;
  // host.mac_enforcing: "apparmor", "selinux" or "any" (either will do).
  // AppArmor counts with at least min_enforced_profiles profiles in
  // enforce mode, and, unless allow_complain, none in another mode.
  std::string mac = "any";
  int64_t min_enforced_profiles = 1;
  bool allow_complain = true;
  // access.review_performed: a campaign covering the host completed within
  // `cadence` (required); undecided entries FAIL from due + due_grace; a
  // revoked entry still on the host revoke_within (required) after the
  // decision FAILs. Members of privileged_groups are review entries.
  absl::Duration review_cadence;
  absl::Duration due_grace;
  absl::Duration revoke_within;
  std::vector<std::string> privileged_groups = {"root", "sudo",   "wheel", "admin",
                                                "adm",  "docker", "lxd"};
  // Evidence older than this is no evidence; InfiniteDuration when unset
  // (allowed only for access.change_approved and access.review_performed,
  // which are event-driven).
  absl::Duration freshness = absl::InfiniteDuration();
  // FAIL intervals no longer than this are not deviations.
  absl::Duration grace;
};

struct Thresholds {
  double effectiveness = 0.99;  // PASS / (PASS + FAIL)
  double coverage = 0.95;       // (PASS + FAIL + EXCEPTED) / in-scope time
  absl::Duration max_deviation = absl::Hours(72);
};

struct Window {
  std::string id;
  absl::Time start;
  absl::Time end;
  std::map<std::string, std::string> scope;  // label selector; empty = every host
  Thresholds thresholds;
};

struct Policy {
  std::vector<Control> controls;
  std::vector<Window> windows;
  // "sha256:<first 16 hex>" of the file's bytes: what intervals record as
  // the policy version they were judged under.
  std::string version;
  std::string source;  // the file's text, stored with each version
};

// Parses and validates a policy. `file` only names the source in errors,
// which read "FILE:LINE: what is wrong". Unknown keys are errors (a typo must
// not silently drop a control's parameter).
absl::StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view file);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_POLICY_H_
