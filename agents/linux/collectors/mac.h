// mac: the host's mandatory access control. The active Linux security
// modules (/sys/kernel/security/lsm), AppArmor's loaded profiles by mode,
// and SELinux's mode (/sys/fs/selinux/enforce). attestd decides which is
// required (host.mac_enforcing): the agent only reports.
//
// AppArmor's profile list (/sys/kernel/security/apparmor/profiles) opens
// only for uid or gid 0; where it is refused, the collector reads the
// same names and modes from the world-readable policy/profiles tree.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_MAC_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_MAC_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

inline constexpr size_t kMaxNotEnforcingNames = 32;
inline constexpr size_t kMaxAppArmorProfiles = 1 << 16;

// A profile's name and mode.
using AppArmorProfile = std::pair<std::string, std::string>;

// /sys/kernel/security/apparmor/profiles: "NAME (MODE)" per line. A name
// may hold spaces; the mode is the last parenthesised word.
absl::StatusOr<std::vector<AppArmorProfile>> ParseAppArmorProfiles(std::string_view text);

// The state from what was read: `lsm` is the lsm file's text, `profiles`
// AppArmor's (ignored unless AppArmor is active), `selinux_enforce` the
// enforce file's text ("" when absent), `selinux_config` /etc/selinux/config.
v1::MacState MacFrom(std::string_view lsm, const std::vector<AppArmorProfile>& profiles,
                     std::string_view selinux_enforce, std::string_view selinux_config);

class MacCollector : public Collector {
 public:
  std::string_view name() const override { return "mac"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_MAC_H_
