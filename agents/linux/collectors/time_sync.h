// time_sync: is the host's clock disciplined? The kernel's own view, from
// adjtimex(2) read-only (synchronised, maximum and estimated error, offset,
// STA_* bits), and which time-sync daemons run, from the process names
// under --root's /proc. adjtimex asks the running kernel, which a container
// shares with its node, so it needs no --root. attestd judges the result
// (host.time_synced): the agent only reports.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_TIME_SYNC_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_TIME_SYNC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// What adjtimex(2) returned, in the kernel's units.
struct KernelClock {
  int state = 0;        // the return value: TIME_OK (0) ... TIME_ERROR (5)
  uint32_t status = 0;  // STA_* bits
  int64_t max_error_us = 0;
  int64_t est_error_us = 0;
  int64_t offset = 0;  // µs, or ns when STA_NANO is set
};

// The kernel's clock, read-only (modes = 0: needs no privilege).
absl::StatusOr<KernelClock> ReadKernelClock();

// The daemons among process names (the `comm` of each process: 15
// characters at most, so "systemd-timesyncd" reads "systemd-timesyn"):
// the known clock disciplines, by their full names, sorted, each once.
std::vector<std::string> TimeSyncDaemons(const std::vector<std::string>& process_names);

// The signal's state from what was read.
v1::TimeSyncState TimeSyncFrom(const KernelClock& clock, std::vector<std::string> daemons);

class TimeSyncCollector : public Collector {
 public:
  std::string_view name() const override { return "time_sync"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_TIME_SYNC_H_
