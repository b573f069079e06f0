#include "agents/linux/collectors/log_shipping.h"

#include <limits>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

constexpr size_t kImpstatsTailBytes = 256 << 10;
// How far after the agent's own clock a delivery time may lie (clocks of
// the shipper's writer and the agent's may differ a little).
constexpr absl::Duration kMaxDeliverySkew = absl::Minutes(5);

uint64_t Counter(const Json& o, std::string_view key) {
  const Json* v = o.Find(key);
  return v != nullptr && v->as_uint() ? *v->as_uint() : 0;
}

}  // namespace

absl::StatusOr<ShipperConfig> ParseShipperSpec(std::string_view spec) {
  ShipperConfig c;
  for (std::string_view pair : Split(spec, ",")) {
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("shipper: \"", pair, "\" is not key=value"));
    }
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "name")
      c.name = std::string(value);
    else if (key == "unit")
      c.unit = std::string(value);
    else if (key == "path")
      c.path = std::string(value);
    else if (key == "action")
      c.action = std::string(value);
    else if (key == "probe") {
      if (value == "rsyslog_impstats")
        c.probe = v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS;
      else if (value == "journal_upload")
        c.probe = v1::SHIPPER_PROBE_JOURNAL_UPLOAD;
      else if (value == "marker_file")
        c.probe = v1::SHIPPER_PROBE_MARKER_FILE;
      else {
        return absl::InvalidArgumentError(
            StrCat("shipper: probe \"", value,
                   "\" (use rsyslog_impstats, journal_upload or marker_file)"));
      }
    } else {
      return absl::InvalidArgumentError(StrCat("shipper: unknown key \"", key, "\""));
    }
  }
  if (c.name.empty() || c.probe == v1::SHIPPER_PROBE_UNSPECIFIED || c.path.empty() ||
      c.path[0] != '/') {
    return absl::InvalidArgumentError("shipper: needs name, probe and an absolute path");
  }
  if (c.probe == v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS && c.action.empty()) {
    return absl::InvalidArgumentError("shipper: rsyslog_impstats needs action=<omfwd action name>");
  }
  return c;
}

ImpstatsReading ParseImpstats(std::string_view text, std::string_view action, absl::TimeZone zone,
                              bool whole_file) {
  ImpstatsReading reading;
  const std::string queue_name = StrCat(action, " queue");
  std::optional<uint64_t> previous;
  if (whole_file) previous = 0;
  for (std::string_view line : Split(text, "\n")) {
    const size_t brace = line.find(": {");
    if (brace == std::string_view::npos) continue;
    auto json = Json::Parse(line.substr(brace + 2));
    if (!json.ok() || !json->is_object()) continue;  // a torn first line of the tail
    const Json* name = json->Find("name");
    if (name == nullptr || !name->is_string() || name->as_string() != queue_name) continue;
    absl::Time at;
    std::string err;
    if (!absl::ParseTime("%a %b %d %H:%M:%S %Y", std::string(line.substr(0, brace)), zone, &at,
                         &err)) {
      continue;
    }
    reading.found = true;
    const uint64_t size = Counter(*json, "size");
    const uint64_t gone = size + Counter(*json, "discarded.full") + Counter(*json, "discarded.nf");
    const uint64_t enqueued = Counter(*json, "enqueued");
    const uint64_t delivered = enqueued > gone ? enqueued - gone : 0;
    // An increase is a delivery; a decrease is an rsyslog restart (counters
    // reset), after which anything delivered counts again.
    if (previous && (delivered > *previous || (delivered < *previous && delivered > 0))) {
      reading.last_delivery = at;
    }
    previous = delivered;
    reading.backlog = size;
  }
  return reading;
}

absl::StatusOr<std::optional<absl::Time>> ParseJournalUploadState(std::string_view text) {
  for (std::string_view line : Split(text, "\n")) {
    if (line.rfind("LAST_CURSOR=", 0) != 0) continue;
    for (std::string_view field : Split(line.substr(12), ";")) {
      if (field.rfind("t=", 0) != 0) continue;
      const std::string_view hex = field.substr(2);
      uint64_t usec = 0;
      // journald writes t= as lower-case hex of at most 16 digits.
      bool ok = !hex.empty() && hex.size() <= 16;
      for (char c : hex) {
        int v;
        if (c >= '0' && c <= '9') {
          v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
          v = c - 'a' + 10;
        } else {
          ok = false;
          break;
        }
        usec = usec * 16 + static_cast<uint64_t>(v);
      }
      if (!ok || usec > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return absl::DataLossError(
            StrCat("LAST_CURSOR t=", hex.substr(0, 32), " is not hex microseconds"));
      }
      return absl::FromUnixMicros(static_cast<int64_t>(usec));
    }
  }
  return std::nullopt;
}

LogShippingCollector::LogShippingCollector(std::vector<ShipperConfig> shippers)
    : shippers_(std::move(shippers)) {}

absl::Status LogShippingCollector::ReadShipper(const ShipperConfig& shipper,
                                               const CollectContext& ctx,
                                               v1::LogShippingState& state,
                                               std::optional<absl::Time>& delivered) {
  if (shipper.unit.empty()) {
    state.set_active(true);  // not under systemd: activity is judged by deliveries alone
  } else {
    auto result = ctx.commands.Run({"systemctl", "is-active", shipper.unit}, absl::Seconds(10));
    if (!result.ok()) return result.status();
    state.set_active(result->exit_code == 0);
  }
  switch (shipper.probe) {
    case v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS: {
      auto tail = ctx.root.ReadTail(shipper.path, kImpstatsTailBytes);
      if (!tail.ok()) return tail.status();
      const bool whole_file = tail->size() < kImpstatsTailBytes;
      ImpstatsReading r = ParseImpstats(*tail, shipper.action, absl::LocalTimeZone(), whole_file);
      if (!r.found) {
        return absl::NotFoundError(StrCat(shipper.path, ": no impstats for \"", shipper.action,
                                          " queue\" (is impstats on, and the action named?)"));
      }
      state.set_backlog(r.backlog);
      delivered = r.last_delivery;
      return absl::OkStatus();
    }
    case v1::SHIPPER_PROBE_JOURNAL_UPLOAD: {
      auto text = ctx.root.ReadFile(shipper.path, 1 << 20);
      if (!text.ok()) {
        // Missing means "never delivered"; other errors are errors.
        return text.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                                   : text.status();
      }
      auto parsed = ParseJournalUploadState(*text);
      if (!parsed.ok()) {
        return absl::DataLossError(StrCat(shipper.path, ": ", parsed.status().message()));
      }
      delivered = *parsed;
      return absl::OkStatus();
    }
    case v1::SHIPPER_PROBE_MARKER_FILE: {
      auto mtime = ctx.root.ModifiedAt(shipper.path);
      if (mtime.ok()) {
        delivered = *mtime;
      } else if (mtime.status().code() != absl::StatusCode::kNotFound) {
        return mtime.status();
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError("shipper with no probe");
  }
}

absl::StatusOr<std::vector<v1::Signal>> LogShippingCollector::Collect(const CollectContext& ctx) {
  std::vector<v1::Signal> signals;
  std::lock_guard lock(mu_);
  for (const ShipperConfig& shipper : shippers_) {
    v1::Signal signal;
    *signal.mutable_observed_at() = ToProto(ctx.now);
    v1::LogShippingState& state = *signal.mutable_log_shipping();
    state.set_shipper(shipper.name);
    state.set_unit(shipper.unit);
    state.set_probe(shipper.probe);
    std::optional<absl::Time> delivered;
    if (absl::Status s = ReadShipper(shipper, ctx, state, delivered); !s.ok()) {
      // This shipper's state is unknown; the others are still reported.
      spdlog::warn("shipper {}: {}", shipper.name, s.ToString());
      state.set_active(false);
      state.set_backlog(0);
      state.set_error(s.ToString().substr(0, kMaxReportedErrorBytes));
      signals.push_back(std::move(signal));
      continue;
    }
    // A delivery after now is a clock bug (the marker touched, or the cursor
    // written, while the clock was wrong). It proves nothing about today:
    // ignored, so that a stale shipper cannot look fresh for as long as the
    // bad time lies ahead, and attestd (which refuses times past its own
    // clock) is not sent it.
    if (delivered && *delivered > ctx.now + kMaxDeliverySkew) {
      spdlog::warn("shipper {}: last delivery {} is after the current time {}; ignored",
                   shipper.name, FormatRfc3339(*delivered), FormatRfc3339(ctx.now));
      delivered.reset();
    }
    auto& remembered = last_seen_delivery_[shipper.name];
    if (delivered && *delivered > remembered) remembered = *delivered;
    if (remembered > absl::UnixEpoch()) *state.mutable_last_delivery() = ToProto(remembered);
    signals.push_back(std::move(signal));
  }
  return signals;
}

}  // namespace attest::agent
