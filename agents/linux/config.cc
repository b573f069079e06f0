#include "agents/linux/config.h"

#include <unistd.h>

#include <algorithm>

#include "agents/linux/collectors/backup.h"
#include "agents/linux/collectors/services.h"
#include "common/flags.h"
#include "common/names.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {
namespace {

constexpr char kSynopsis[] =
    "--daemon HOST:PORT [--daemon HOST:PORT] [flags]\n\n"
    "attest-agent observes this host (patch level, log shipping, access changes,\n"
    "custom checks), keeps every observation in a durable spool, and streams it\n"
    "to one or two attestd daemons (an HA pair) over mutual TLS.\n\n"
    "Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration.";

}  // namespace

const std::map<std::string, absl::Duration>& DefaultIntervals() {
  static const auto* defaults =
      new std::map<std::string, absl::Duration>{{"heartbeat", absl::Seconds(60)},
                                                {"patch", absl::Hours(1)},
                                                {"access", absl::Minutes(5)},
                                                {"log_shipping", absl::Seconds(60)},
                                                {"checks", absl::Minutes(5)},
                                                {"time_sync", absl::Minutes(5)},
                                                {"firewall", absl::Minutes(5)},
                                                {"services", absl::Minutes(1)},
                                                {"sshd", absl::Minutes(15)},
                                                {"backup", absl::Minutes(15)},
                                                {"disk_encryption", absl::Minutes(15)},
                                                {"mac", absl::Minutes(15)}};
  return *defaults;
}

absl::StatusOr<ParsedAgentArgs> ParseAgentArgs(int argc, char** argv) {
  ParsedAgentArgs parsed;
  AgentConfig& c = parsed.config;
  std::string config_file, snapshot_interval = "6h", check_timeout = "30s", max_backoff = "60s";
  std::vector<std::string> labels, intervals, shippers, services, backups;
  FlagSet flags("attest-agent", kSynopsis);
  flags.String("config", &config_file, "YAML file with any of these settings (flags win)");
  bool is_configured = false;  // main() acts on it (IsConfiguredExit)
  flags.Bool("is-configured", &is_configured, kIsConfiguredHelp);
  flags.Repeated("daemon", &c.daemons, "attestd address; twice for an HA pair");
  flags.String("root", &c.root, "where the host's filesystem is (/host in a container)");
  flags.String("spool-dir", &c.spool_dir, "durable spool and agent state");
  flags.Int("spool-max-bytes", &c.spool_max_bytes, "spool bound; oldest unsent data goes first");
  flags.Bool("spool-fsync", &c.spool_fsync, "fdatasync every append (survives power loss)");
  flags.Bool("insecure", &c.insecure, "no TLS; only toward loopback daemons");
  flags.String("host-id", &c.host_id, "host id in insecure mode (default: hostname)");
  flags.String("tls-cert", &c.tls_cert, "agent certificate (PEM, SAN spiffe://<td>/host/<id>)");
  flags.String("tls-key", &c.tls_key, "its private key (PEM)");
  flags.String("ca", &c.ca, "CA that signed attestd's certificate (PEM)");
  flags.String("server-name", &c.server_name, "attestd's TLS name if not its address");
  flags.Repeated("label", &labels, "KEY=VALUE label of this host, e.g. env=prod");
  flags.Repeated("interval", &intervals, "COLLECTOR=DURATION, e.g. patch=30m");
  flags.Repeated("disable", &c.disabled, "a collector not to run");
  flags.String("snapshot-interval", &snapshot_interval, "full access snapshot at least this often");
  flags.Repeated(
      "shipper", &shippers,
      "name=N,probe=rsyslog_impstats|journal_upload|marker_file,path=P[,unit=U][,action=A]");
  flags.String("checks-dir", &c.checks_dir, "custom checks (Nagios plugin convention)");
  flags.Repeated("service", &services,
                 "a systemd unit whose state to report, e.g. auditd (host.services_running)");
  flags.String("sshd-config", &c.sshd_config, "the sshd_config `sshd -T -f` reads (host path)");
  flags.Repeated("backup", &backups,
                 "name=N,probe=restic|borg|marker_file,env_file=F|path=P (host.backup_fresh)");
  flags.String("check-timeout", &check_timeout, "kill a custom check after this long");
  flags.Bool("inotify", &c.inotify, "watch access files for changes between rescans");
  flags.String("max-backoff", &max_backoff, "longest wait between reconnects to a daemon");
  flags.String("log-format", &c.log_format, "text or json");
  flags.String("log-level", &c.log_level, "trace, debug, info, warn or error");
  if (absl::Status s = flags.ParseWithConfig(argc, argv, &config_file); !s.ok()) return s;
  parsed.usage = flags.Usage();
  if (flags.help_requested() || flags.version_requested()) {
    parsed.help = flags.help_requested();
    parsed.version = flags.version_requested();
    parsed.version_line = flags.VersionLine();
    return parsed;
  }
  if (c.daemons.empty()) return absl::FailedPreconditionError("--daemon is required");
  if (c.daemons.size() > 2) {
    return absl::InvalidArgumentError(
        "at most two --daemon (an HA pair); shard with separate agents");
  }
  if (c.insecure) {
    for (const auto& d : c.daemons) {
      if (!IsLoopbackAddress(d)) {
        return absl::InvalidArgumentError(
            StrCat("--insecure is only allowed toward loopback daemons, not ", d));
      }
    }
    if (c.host_id.empty()) {
      char name[256] = {};
      gethostname(name, sizeof(name) - 1);
      c.host_id = name;
    }
    if (!IsValidHostId(c.host_id)) {
      return absl::InvalidArgumentError(
          StrCat("--host-id \"", c.host_id, "\": want 1-253 characters of [A-Za-z0-9._-]"));
    }
  } else if (c.tls_cert.empty() || c.tls_key.empty() || c.ca.empty()) {
    return absl::FailedPreconditionError(
        "TLS needs --tls-cert, --tls-key and --ca (or --insecure)");
  }
  for (const auto& l : labels) {
    const size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(StrCat("--label: want KEY=VALUE, got \"", l, "\""));
    }
    c.labels[l.substr(0, eq)] = l.substr(eq + 1);
    // attestd's rules for a hello: a label it would refuse stops the agent
    // here rather than making every hello fail and retry for ever.
    const absl::Status label = CheckLabel(l.substr(0, eq), l.substr(eq + 1));
    if (!label.ok()) {
      return absl::InvalidArgumentError(
          StrCat("--label \"", l.substr(0, eq), "\": ", label.message()));
    }
  }
  if (c.labels.size() > kMaxLabels) {
    return absl::InvalidArgumentError(StrCat("--label: at most ", kMaxLabels, " labels"));
  }
  c.intervals = DefaultIntervals();
  for (const auto& i : intervals) {
    const size_t eq = i.find('=');
    const std::string name = i.substr(0, eq);
    if (eq == std::string::npos || !DefaultIntervals().count(name)) {
      return absl::InvalidArgumentError(
          StrCat("--interval: want COLLECTOR=DURATION with a known collector, got \"", i, "\""));
    }
    auto d = ParseHumanDuration(i.substr(eq + 1));
    if (!d.ok() || *d < absl::Seconds(1)) {
      return absl::InvalidArgumentError(StrCat("--interval ", i, ": want a duration >= 1s"));
    }
    c.intervals[name] = *d;
  }
  for (const auto& d : c.disabled) {
    if (!DefaultIntervals().count(d)) {
      return absl::InvalidArgumentError(StrCat("--disable: unknown collector \"", d, "\""));
    }
  }
  auto snap = ParseHumanDuration(snapshot_interval);
  if (!snap.ok())
    return absl::InvalidArgumentError(StrCat("--snapshot-interval: ", snap.status().message()));
  if (*snap < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--snapshot-interval: want a duration of at least 1s");
  }
  c.snapshot_interval = *snap;
  auto backoff = ParseHumanDuration(max_backoff);
  if (!backoff.ok() || *backoff < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--max-backoff: want a duration of at least 100ms");
  }
  c.max_backoff = *backoff;
  auto timeout = ParseHumanDuration(check_timeout);
  if (!timeout.ok())
    return absl::InvalidArgumentError(StrCat("--check-timeout: ", timeout.status().message()));
  if (*timeout < absl::Seconds(1)) {
    // Shorter would kill every check before it could answer: all UNKNOWN.
    return absl::InvalidArgumentError("--check-timeout: want a duration of at least 1s");
  }
  c.check_timeout = *timeout;
  for (const auto& spec : shippers) {
    auto shipper = ParseShipperSpec(spec);
    if (!shipper.ok()) return absl::InvalidArgumentError(StrCat("--", shipper.status().message()));
    for (const auto& other : c.shippers) {
      if (other.name == shipper->name) {
        // Two shippers under one name would share one remembered delivery.
        return absl::InvalidArgumentError(
            StrCat("--shipper: the name \"", shipper->name, "\" is used twice"));
      }
    }
    c.shippers.push_back(*shipper);
  }
  if (services.size() > kMaxServices) {
    return absl::InvalidArgumentError(StrCat("--service: at most ", kMaxServices, " units"));
  }
  for (const auto& name : services) {
    auto unit = NormalizeUnitName(name);
    if (!unit.ok())
      return absl::InvalidArgumentError(StrCat("--service: ", unit.status().message()));
    if (std::find(c.services.begin(), c.services.end(), *unit) == c.services.end()) {
      c.services.push_back(*unit);
    }
  }
  for (const auto& spec : backups) {
    auto backup = ParseBackupSpec(spec);
    if (!backup.ok()) return absl::InvalidArgumentError(StrCat("--", backup.status().message()));
    for (const auto& other : c.backups) {
      if (other.name == backup->name) {
        return absl::InvalidArgumentError(
            StrCat("--backup: the name \"", backup->name, "\" is used twice"));
      }
    }
    c.backups.push_back(*backup);
  }
  if (c.backups.size() > kMaxBackups) {
    return absl::InvalidArgumentError(StrCat("--backup: at most ", kMaxBackups, " backups"));
  }
  if (c.sshd_config.empty() || c.sshd_config[0] != '/') {
    return absl::InvalidArgumentError("--sshd-config: want an absolute path");
  }
  if (c.spool_max_bytes < 4096) {
    return absl::InvalidArgumentError("--spool-max-bytes must be at least 4096");
  }
  return parsed;
}

}  // namespace attest::agent
