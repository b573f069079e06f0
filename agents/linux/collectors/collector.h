// The collector interface. A collector observes one aspect of the host and
// returns signals; it never decides pass or fail (attestd judges). The
// framework (registry.h) schedules, times and error-wraps every collector.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_COLLECTOR_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_COLLECTOR_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/linux/collectors/command.h"
#include "agents/linux/collectors/root_fs.h"
#include "attest/v1/signal.pb.h"

namespace attest::agent {

// An error reported in a signal (a collector's, or one shipper's) is cut
// to this many bytes.
inline constexpr size_t kMaxReportedErrorBytes = 4000;

// What a collector may use. Every file read goes through `root` and every
// program runs through `commands`, so tests point collectors at fixture
// trees and containers at /host.
struct CollectContext {
  const RootFs& root;
  const CommandRunner& commands;
  absl::Time now;
};

class Collector {
 public:
  virtual ~Collector() = default;
  // Stable name: used in flags ("--disable patch"), logs and CollectorError.
  virtual std::string_view name() const = 0;
  // Observes the host. Signals need observed_at and their kind; the spool
  // assigns seqs. An error is reported as a CollectorError signal, so
  // silence never reads as a pass.
  virtual absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) = 0;
  // True for a collector whose signal says only "the agent is alive"
  // (heartbeat): the scheduler runs it only when no signal at all went out
  // for one of its intervals, since attestd counts every signal as alive.
  virtual bool only_when_silent() const { return false; }
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_COLLECTOR_H_
