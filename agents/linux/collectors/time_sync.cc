#include "agents/linux/collectors/time_sync.h"

#include <sys/timex.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {
namespace {

// Process names (comm, at most 15 characters) of the programs that
// discipline a Linux clock, and the names reported for them.
constexpr std::pair<std::string_view, std::string_view> kDaemons[] = {
    {"chronyd", "chronyd"},   {"systemd-timesyn", "systemd-timesyncd"},
    {"ntpd", "ntpd"},  // ntp, ntpsec and OpenNTPD alike
    {"openntpd", "openntpd"}, {"ptp4l", "ptp4l"},
    {"phc2sys", "phc2sys"},
};

// A /proc listing can hold any number of processes; comm is read for at
// most this many.
constexpr size_t kMaxProcesses = 1 << 16;

}  // namespace

absl::StatusOr<KernelClock> ReadKernelClock() {
  struct timex tx {};
  tx.modes = 0;  // read only
  const int state = adjtimex(&tx);
  if (state < 0) {
    return absl::InternalError(StrCat("adjtimex: ", std::strerror(errno)));
  }
  KernelClock k;
  k.state = state;
  k.status = static_cast<uint32_t>(tx.status);
  k.max_error_us = tx.maxerror;
  k.est_error_us = tx.esterror;
  k.offset = tx.offset;
  return k;
}

std::vector<std::string> TimeSyncDaemons(const std::vector<std::string>& process_names) {
  std::vector<std::string> found;
  for (std::string_view name : process_names) {
    name = TrimWhitespace(name);
    for (const auto& [comm, daemon] : kDaemons) {
      if (name == comm) found.emplace_back(daemon);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

v1::TimeSyncState TimeSyncFrom(const KernelClock& clock, std::vector<std::string> daemons) {
  v1::TimeSyncState s;
  s.set_synchronized(clock.state != TIME_ERROR && (clock.status & STA_UNSYNC) == 0);
  s.set_max_error_us(clock.max_error_us);
  s.set_est_error_us(clock.est_error_us);
  s.set_offset_ns((clock.status & STA_NANO) != 0 ? clock.offset : clock.offset * 1000);
  s.set_status(clock.status);
  for (std::string& d : daemons) s.add_daemons(std::move(d));
  return s;
}

absl::StatusOr<std::vector<v1::Signal>> TimeSyncCollector::Collect(const CollectContext& ctx) {
  auto clock = ReadKernelClock();
  if (!clock.ok()) return clock.status();
  // Without the host's /proc (a container that does not mount it) the
  // daemons are unknown, which is not the same as none running.
  auto pids = ctx.root.ListDir("/proc");
  if (!pids.ok()) {
    return absl::Status(pids.status().code(),
                        StrCat(pids.status().message(),
                               " (time_sync names the clock's daemon from the host's /proc)"));
  }
  std::vector<std::string> names;
  for (const std::string& pid : *pids) {
    if (names.size() >= kMaxProcesses) break;
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), absl::ascii_isdigit)) continue;
    // A process may exit between the listing and the read: skip it.
    if (auto comm = ctx.root.ReadFile(StrCat("/proc/", pid, "/comm"), 64); comm.ok()) {
      names.push_back(*comm);
    }
  }
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  *s.mutable_time_sync() = TimeSyncFrom(*clock, TimeSyncDaemons(names));
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
