// services: the state of the systemd units the agent is told to watch
// (--service UNIT, repeatable), from one `systemctl show` call: how EDR,
// antivirus and intrusion detection are evidenced without attest knowing
// each vendor. attestd decides which must be active (host.services_running).
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_SERVICES_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_SERVICES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// "auditd" -> "auditd.service"; names with a unit suffix stay. InvalidArgument
// for names systemd would not accept (empty, '/', whitespace, over 255 bytes).
absl::StatusOr<std::string> NormalizeUnitName(std::string_view name);

// `systemctl show --property=Id,LoadState,ActiveState,SubState UNIT...`
// output: one block per unit, in the order asked. InvalidArgument when the
// blocks do not match `units`.
absl::StatusOr<v1::ServicesState> ParseSystemctlShow(std::string_view text,
                                                     const std::vector<std::string>& units);

class ServicesCollector : public Collector {
 public:
  explicit ServicesCollector(std::vector<std::string> units) : units_(std::move(units)) {}
  std::string_view name() const override { return "services"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

 private:
  const std::vector<std::string> units_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_SERVICES_H_
