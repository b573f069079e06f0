// checks: custom checks, one executable per file in a directory (default
// /etc/attest/checks.d), following the Nagios plugin convention: exit 0 OK,
// 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the first line of stdout is the detail.
// A check that cannot run, or runs past its timeout, is UNKNOWN (which the
// daemon judges as no evidence, never as a pass).
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_CHECKS_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_CHECKS_H_

#include <string>

#include "agents/linux/collectors/collector.h"

namespace attest::agent {

class ChecksCollector : public Collector {
 public:
  // `dir` is the agent's own directory (not under --root).
  ChecksCollector(std::string dir, absl::Duration timeout);
  std::string_view name() const override { return "checks"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

 private:
  const std::string dir_;
  const absl::Duration timeout_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_CHECKS_H_
