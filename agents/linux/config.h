// attest-agent's configuration: flags, or a YAML file with the same names.
#ifndef ATTEST_AGENTS_LINUX_CONFIG_H_
#define ATTEST_AGENTS_LINUX_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/linux/collectors/backup.h"
#include "agents/linux/collectors/log_shipping.h"
#include "agents/linux/collectors/registry.h"

namespace attest::agent {

// The most --service units one agent reports (attestd's bound too).
inline constexpr size_t kMaxServices = 64;
// The most --backup sources one agent reports.
inline constexpr size_t kMaxBackups = 16;

struct AgentConfig {
  std::vector<std::string> daemons;
  std::string root = "/";
  std::string spool_dir = "/var/lib/attest-agent";
  int64_t spool_max_bytes = 256ll << 20;
  bool spool_fsync = true;
  bool insecure = false;
  std::string host_id;  // insecure mode only
  std::string tls_cert, tls_key, ca, server_name;
  std::map<std::string, std::string> labels;
  std::map<std::string, absl::Duration> intervals;  // per collector
  std::vector<std::string> disabled;
  absl::Duration snapshot_interval = absl::Hours(6);
  std::vector<ShipperConfig> shippers;
  std::string checks_dir = "/etc/attest/checks.d";
  std::vector<std::string> services;  // units to report (--service), normalized
  std::string sshd_config = "/etc/ssh/sshd_config";
  std::vector<BackupConfig> backups;  // --backup
  absl::Duration check_timeout = absl::Seconds(30);
  bool inotify = true;
  absl::Duration max_backoff = absl::Seconds(60);
  std::string log_format = "text";
  std::string log_level = "info";
};

struct ParsedAgentArgs {
  AgentConfig config;
  bool help = false;
  bool version = false;  // --version
  std::string usage;
  std::string version_line;
};

// The collectors attest-agent knows, with their default intervals.
const std::map<std::string, absl::Duration>& DefaultIntervals();

class AccessCollector;
// The collectors `c` enables, each at its interval, in the order the agent
// runs them. `access` is set to the access collector (null when disabled),
// for the agent's inotify watch.
std::vector<ScheduledCollector> BuildCollectors(const AgentConfig& c, AccessCollector** access);

// InvalidArgument naming the flag (and file:line for the config file);
// FailedPrecondition while no daemon or no TLS is set (the packaged
// configuration, see --is-configured).
absl::StatusOr<ParsedAgentArgs> ParseAgentArgs(int argc, char** argv);

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_CONFIG_H_
