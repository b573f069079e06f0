// backup: the newest successful backup of each configured source
// (--backup name=N,probe=restic|borg|marker_file,...). restic and borg run
// with the repository settings of an environment file (env_file=, KEY=VALUE
// lines, e.g. RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE, or BORG_REPO and
// BORG_PASSPHRASE), which the agent reads and passes to the tool only:
// credentials are never logged or sent. A marker file's mtime is the time
// of the job's last success. attestd judges the age (host.backup_fresh).
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_BACKUP_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_BACKUP_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

struct BackupConfig {
  std::string name;
  v1::BackupProbe probe = v1::BACKUP_PROBE_UNSPECIFIED;
  std::string env_file;  // restic, borg: the tool's environment (a host path)
  std::string path;      // marker_file: the marker (a host path)
};

// "name=N,probe=P[,env_file=F][,path=P]" (the --backup flag).
absl::StatusOr<BackupConfig> ParseBackupSpec(std::string_view spec);

// KEY=VALUE lines ('#' comments and blank lines skipped, an optional
// "export " prefix). InvalidArgument naming the line, never its value.
absl::StatusOr<std::vector<std::string>> ParseEnvFile(std::string_view text);

struct Snapshot {
  absl::Time time;
  std::string id;
};
// `restic snapshots --json --latest 1`: the newest of the listed snapshots
// (one per host and paths); nullopt for "[]".
absl::StatusOr<std::optional<Snapshot>> ParseResticSnapshots(std::string_view json);
// `borg list --json --last 1`: the archive's time, which borg writes in
// local time without an offset (read in `zone`); nullopt without archives.
absl::StatusOr<std::optional<Snapshot>> ParseBorgList(std::string_view json, absl::TimeZone zone);

class BackupCollector : public Collector {
 public:
  explicit BackupCollector(std::vector<BackupConfig> backups) : backups_(std::move(backups)) {}
  std::string_view name() const override { return "backup"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

 private:
  const std::vector<BackupConfig> backups_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_BACKUP_H_
