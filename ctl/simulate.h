// A realistic, reproducible fleet history in the evidence interchange
// format, for the demo, tests and benchmarks (attestctl simulate).
//
// Each host sends a hello, heartbeats every 10 minutes, patch state hourly,
// log-shipping state every 10 minutes, an access snapshot every 6 hours and
// an "ntp" check every 30 minutes. Over that: weekly security updates that
// most hosts install within days and some install late, kernel updates that
// need a reboot, log-shipping gaps and stopped units, access changes (some
// approved in time, some late, some never), agent outages, lost signals
// (sequence gaps), failing checks, and hosts joining or leaving mid-way.
// Every time is a whole minute, so a per-minute recomputation is exact.
#ifndef ATTEST_CTL_SIMULATE_H_
#define ATTEST_CTL_SIMULATE_H_

#include <cstdint>
#include <functional>
#include <string>

namespace attest::ctl {

struct SimulateOptions {
  int hosts = 20;
  int days = 30;
  uint64_t seed = 1;
  int64_t start = 0;  // Unix seconds, a UTC midnight
};

struct SimulateStats {
  uint64_t records = 0;
  uint64_t approvals = 0;
};

// Calls `record` with each JSON Lines record (no newline), hosts in order,
// each host's records in time order; and `approval` with each approval as a
// JSON object {change_id, ticket, approver, at}. Same options, same output.
SimulateStats Simulate(const SimulateOptions& options,
                       const std::function<void(const std::string&)>& record,
                       const std::function<void(const std::string&)>& approval);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_SIMULATE_H_
