// patch: OS release, running vs newest installed kernel, reboot required,
// and pending updates with their security classification, from dpkg/apt
// (Debian, Ubuntu) or rpm/dnf (RHEL family).
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_H_

#include "agents/linux/collectors/collector.h"

namespace attest::agent {

class PatchCollector : public Collector {
 public:
  std::string_view name() const override { return "patch"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_PATCH_H_
