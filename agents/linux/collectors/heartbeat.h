// heartbeat: "the agent is alive", when nothing else said so for an
// interval. What agent.reporting judges; it carries nothing else. attestd
// takes any signal as proof of life (docs/design.md, "Fewer records"), so
// the scheduler sends a heartbeat only after an interval of silence.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_

#include "agents/linux/collectors/collector.h"

namespace attest::agent {

class HeartbeatCollector : public Collector {
 public:
  std::string_view name() const override { return "heartbeat"; }
  bool only_when_silent() const override { return true; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override {
    v1::Signal s;
    s.mutable_heartbeat();
    return std::vector<v1::Signal>{std::move(s)};
  }
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_HEARTBEAT_H_
