// log_shipping: for each configured shipper, is its systemd unit active and
// when did it last deliver successfully? A shipper that cannot be read (its
// unit's state or its probe) is reported with `error` set, and the others
// as usual. Probes:
//   rsyslog_impstats  impstats JSON lines of the forwarding action's queue
//   journal_upload    systemd-journal-upload's state file (cursor time)
//   marker_file       the mtime of a file the shipper touches on success
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_LOG_SHIPPING_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_LOG_SHIPPING_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

struct ShipperConfig {
  std::string name;  // as reported, e.g. "central-syslog"
  std::string unit;  // systemd unit; "" = do not ask systemd
  v1::ShipperProbe probe = v1::SHIPPER_PROBE_UNSPECIFIED;
  std::string path;    // impstats log, state file or marker (host path)
  std::string action;  // rsyslog action name (rsyslog_impstats only)
};

// Parses "name=central,unit=rsyslog.service,probe=rsyslog_impstats,
// path=/var/log/rsyslog-stats.log,action=fwd-central" (the --shipper flag).
absl::StatusOr<ShipperConfig> ParseShipperSpec(std::string_view spec);

struct ImpstatsReading {
  std::optional<absl::Time> last_delivery;  // when delivered last increased
  uint64_t backlog = 0;                     // the queue's current size
  bool found = false;                       // the action appears at all
};
// Reads impstats JSON lines ("<ctime>: { ... }", times in `zone`) for
// `action`: delivered = enqueued - size - discarded of "<action> queue".
// With `whole_file`, the text starts where rsyslog started writing, when
// every counter was 0, so deliveries before the first line count too.
ImpstatsReading ParseImpstats(std::string_view text, std::string_view action, absl::TimeZone zone,
                              bool whole_file = false);

// The realtime stamp (t=, hex microseconds) in journal-upload's state file;
// nullopt when there is no cursor yet (nothing uploaded). DataLoss when
// t= is not hex: the file is damaged, and that is not "never delivered".
absl::StatusOr<std::optional<absl::Time>> ParseJournalUploadState(std::string_view text);

class LogShippingCollector : public Collector {
 public:
  explicit LogShippingCollector(std::vector<ShipperConfig> shippers);
  std::string_view name() const override { return "log_shipping"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

 private:
  // Fills `state` (active, backlog) and `delivered` for one shipper.
  absl::Status ReadShipper(const ShipperConfig& shipper, const CollectContext& ctx,
                           v1::LogShippingState& state, std::optional<absl::Time>& delivered);

  const std::vector<ShipperConfig> shippers_;
  std::mutex mu_;
  // Deliveries seen in earlier runs, for when a log tail no longer shows one.
  std::map<std::string, absl::Time> last_seen_delivery_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_LOG_SHIPPING_H_
