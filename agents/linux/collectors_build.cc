// The collectors attest-agent runs, as its configuration says (see config.h).
#include <algorithm>

#include "agents/linux/collectors/access.h"
#include "agents/linux/collectors/backup.h"
#include "agents/linux/collectors/checks.h"
#include "agents/linux/collectors/disk_encryption.h"
#include "agents/linux/collectors/firewall.h"
#include "agents/linux/collectors/heartbeat.h"
#include "agents/linux/collectors/log_shipping.h"
#include "agents/linux/collectors/mac.h"
#include "agents/linux/collectors/patch.h"
#include "agents/linux/collectors/services.h"
#include "agents/linux/collectors/sshd.h"
#include "agents/linux/collectors/time_sync.h"
#include "agents/linux/config.h"

namespace attest::agent {

std::vector<ScheduledCollector> BuildCollectors(const AgentConfig& c, AccessCollector** access) {
  std::vector<ScheduledCollector> out;
  auto enabled = [&](const std::string& name) {
    return std::find(c.disabled.begin(), c.disabled.end(), name) == c.disabled.end();
  };
  auto add = [&](std::unique_ptr<Collector> collector) {
    const std::string name(collector->name());
    if (enabled(name)) out.push_back({std::move(collector), c.intervals.at(name)});
  };
  add(std::make_unique<HeartbeatCollector>());
  add(std::make_unique<PatchCollector>());
  auto access_collector =
      std::make_unique<AccessCollector>(c.spool_dir + "/access-snapshot.pb", c.snapshot_interval);
  *access = enabled("access") ? access_collector.get() : nullptr;
  add(std::move(access_collector));
  if (!c.shippers.empty()) add(std::make_unique<LogShippingCollector>(c.shippers));
  add(std::make_unique<ChecksCollector>(c.checks_dir, c.check_timeout));
  add(std::make_unique<TimeSyncCollector>());
  add(std::make_unique<FirewallCollector>());
  if (!c.services.empty()) add(std::make_unique<ServicesCollector>(c.services));
  add(std::make_unique<SshdCollector>(c.sshd_config));
  if (!c.backups.empty()) add(std::make_unique<BackupCollector>(c.backups));
  add(std::make_unique<DiskEncryptionCollector>());
  add(std::make_unique<MacCollector>());
  return out;
}

}  // namespace attest::agent
