// firewall: the packet filter the kernel has loaded, from `nft -j list
// ruleset`, or from `iptables-save` and `ip6tables-save` where nft is not
// installed. Reported as the base chains (family, hook, policy, whether the
// chain ends in an unconditional drop) and a fingerprint of the rules;
// attestd decides whether that is a default-drop firewall
// (host.firewall_enabled). Listing rules needs CAP_NET_ADMIN in the host's
// network namespace.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_FIREWALL_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_FIREWALL_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// `nft -j list ruleset` output. InvalidArgument when it is not nft's JSON.
absl::StatusOr<v1::FirewallState> ParseNftRuleset(std::string_view json);

// `iptables-save` and `ip6tables-save` output (either may be empty: no
// rules loaded for that family). InvalidArgument on a line neither writes.
absl::StatusOr<v1::FirewallState> ParseIptablesSave(std::string_view ipv4, std::string_view ipv6);

class FirewallCollector : public Collector {
 public:
  std::string_view name() const override { return "firewall"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_FIREWALL_H_
