// heartbeat: "the agent is alive", every interval. What agent.reporting
// judges; it carries nothing else.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_

#include "agents/linux/collectors/collector.h"

namespace attest::agent {

class HeartbeatCollector : public Collector {
 public:
  std::string_view name() const override { return "heartbeat"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override {
    v1::Signal s;
    s.mutable_heartbeat();
    return std::vector<v1::Signal>{std::move(s)};
  }
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_
