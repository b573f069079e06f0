// The server-control rules (host.*): one state signal judged against the
// control's parameters. Pure, like the rest of the judge: freshness and a
// failed collector are judge.cc's, what the state itself says is here.
#ifndef ATTEST_DAEMON_ENGINE_HOST_RULES_H_
#define ATTEST_DAEMON_ENGINE_HOST_RULES_H_

#include <string>
#include <string_view>

#include "attest/v1/engine.pb.h"
#include "attest/v1/signal.pb.h"
#include "daemon/engine/policy.h"

namespace attest::engine {

// The signal kind (and collector) a host.* rule reads: "time_sync",
// "firewall", "services", "sshd", "backup", "disk_encryption", "mac"; ""
// for other rules.
std::string_view HostKind(Rule rule);

// Where JudgeFacts.host keeps a state: its kind, or "backup/NAME" (a host
// reports each backup source on its own).
std::string HostFactKey(const v1::Signal& state);
inline constexpr std::string_view kBackupFactPrefix = "backup/";

struct HostVerdict {
  v1::ControlState state = v1::CONTROL_STATE_NO_EVIDENCE;
  std::string cause;  // why; for a PASS only what an auditor should know
};

// `state` holds the kind HostKind(c.rule) names.
HostVerdict JudgeHostState(const Control& c, const v1::Signal& state);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_HOST_RULES_H_
