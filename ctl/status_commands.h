// attestctl commands about now: `hosts` (list, show) and `status`.
#ifndef ATTEST_CTL_STATUS_COMMANDS_H_
#define ATTEST_CTL_STATUS_COMMANDS_H_

#include <string>

#include "ctl/engine_commands.h"

namespace attest::ctl {

// Every host attestd has heard from: agent, last seen, records, labels.
int HostsList(Stub& admin, const CommandFlags& f);
// One host now: status, labels, agent, each control's state and since
// when, pending security updates, windows, active exceptions.
int HostsShow(Stub& admin, const std::string& host, const CommandFlags& f);
// The fleet now: reporting hosts, hosts per control per state, failing
// hosts, pending security updates, open windows so far, the last
// checkpoint. Exit 0 even when controls fail: findings are in the output.
int StatusCmd(Stub& admin, const CommandFlags& f);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_STATUS_COMMANDS_H_
