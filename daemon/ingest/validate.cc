#include "daemon/ingest/validate.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "common/names.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::ingest {
namespace {

// Earliest plausible observation; older timestamps are clock bugs.
const absl::Time kEarliest = absl::FromUnixSeconds(946684800);  // 2000-01-01
// google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31.
constexpr int64_t kTimestampMinSeconds = -62135596800;
constexpr int64_t kTimestampMaxSeconds = 253402300799;
// absl::Status payloads: the refused seq (decimal), and "this becomes
// acceptable as time passes".
constexpr char kRefusedSeqPayload[] = "type.attest.dev/refused-seq";
constexpr char kRetryLaterPayload[] = "type.attest.dev/retry-later";

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(attest::StrCat(field, ": ", what));
}

absl::Status CheckString(std::string_view field, const std::string& value, size_t max,
                         bool required) {
  if (required && value.empty()) return Invalid(field, "required");
  if (value.size() > max) return Invalid(field, attest::StrCat("longer than ", max, " bytes"));
  return absl::OkStatus();
}

// A time the agent claims. `oldest`: the earliest time accepted.
absl::Status CheckTimestamp(std::string_view field, const google::protobuf::Timestamp& ts,
                            absl::Time now, absl::Time oldest, const Limits& limits) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) return Invalid(field, "nanos out of range");
  if (ts.seconds() < kTimestampMinSeconds || ts.seconds() > kTimestampMaxSeconds) {
    return Invalid(field, "not a timestamp (years 1 to 9999)");
  }
  const absl::Time t = FromProto(ts);
  if (t < kEarliest) return Invalid(field, "before 2000-01-01 (unset or a clock bug)");
  if (t < oldest) {
    return Invalid(field,
                   attest::StrCat("older than ", absl::FormatDuration(limits.max_evidence_age),
                                  " before the daemon's clock (", FormatRfc3339(t),
                                  "; attestd --max-evidence-age)"));
  }
  if (t > now + limits.max_future_skew) {
    absl::Status s =
        Invalid(field, attest::StrCat("in the future (", FormatRfc3339(t), " is more than ",
                                      absl::FormatDuration(limits.max_future_skew),
                                      " after the daemon's clock, ", FormatRfc3339(now), ")"));
    s.SetPayload(kRetryLaterPayload, absl::Cord("1"));
    return s;
  }
  return absl::OkStatus();
}

// When the observation was made: within max_evidence_age of now.
absl::Status CheckObservedTime(std::string_view field, const google::protobuf::Timestamp& ts,
                               absl::Time now, const Limits& limits) {
  const absl::Time oldest =
      limits.max_evidence_age > absl::ZeroDuration() ? now - limits.max_evidence_age : kEarliest;
  return CheckTimestamp(field, ts, now, oldest, limits);
}

// A time an observation reports about the past (a last delivery): any time
// since 2000 will do, it only makes the state older.
absl::Status CheckReportedTime(std::string_view field, const google::protobuf::Timestamp& ts,
                               absl::Time now, const Limits& limits) {
  return CheckTimestamp(field, ts, now, kEarliest, limits);
}

#define ATTEST_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

absl::Status ValidatePatch(const v1::PatchState& p, const Limits& l) {
  if (p.package_manager() == v1::PACKAGE_MANAGER_UNSPECIFIED ||
      !v1::PackageManager_IsValid(p.package_manager())) {
    return Invalid("patch.package_manager", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("patch.os", p.os(), l.max_string_bytes, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("patch.kernel_running", p.kernel_running(), l.max_string_bytes, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("patch.kernel_latest", p.kernel_latest(), l.max_string_bytes, false));
  if (static_cast<size_t>(p.pending_size()) > l.max_pending_updates) {
    return Invalid("patch.pending",
                   attest::StrCat("more than ", l.max_pending_updates, " entries"));
  }
  for (int i = 0; i < p.pending_size(); ++i) {
    const auto& u = p.pending(i);
    const std::string f = attest::StrCat("patch.pending[", i, "]");
    ATTEST_RETURN_IF_ERROR(CheckString(f + ".package", u.package(), l.max_string_bytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString(f + ".candidate_version", u.candidate_version(), l.max_string_bytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString(f + ".installed_version", u.installed_version(), l.max_string_bytes, false));
    ATTEST_RETURN_IF_ERROR(CheckString(f + ".source", u.source(), l.max_string_bytes, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateLogShipping(const v1::LogShippingState& s, absl::Time now,
                                 absl::Time observed_at, const Limits& l) {
  if (s.probe() == v1::SHIPPER_PROBE_UNSPECIFIED || !v1::ShipperProbe_IsValid(s.probe())) {
    return Invalid("log_shipping.probe", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.shipper", s.shipper(), 256, true));
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.unit", s.unit(), 256, false));
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.error", s.error(), l.max_string_bytes, false));
  if (s.has_last_delivery()) {
    ATTEST_RETURN_IF_ERROR(
        CheckReportedTime("log_shipping.last_delivery", s.last_delivery(), now, l));
    // A delivery the shipper made after the observation was taken is a
    // claim about the future of that observation: it would make a
    // backdated state look fresh.
    if (FromProto(s.last_delivery()) > observed_at + l.max_future_skew) {
      return Invalid("log_shipping.last_delivery",
                     attest::StrCat("more than ", absl::FormatDuration(l.max_future_skew),
                                    " after the signal's observed_at"));
    }
  }
  if (s.backlog() > kMaxSeq) {
    return Invalid("log_shipping.backlog", "must be at most 2^53 - 1 (exact in JSON)");
  }
  return absl::OkStatus();
}

absl::Status ValidateAccessChange(const v1::AccessChange& c, const Limits& l) {
  if (c.change() == v1::ACCESS_CHANGE_KIND_UNSPECIFIED ||
      !v1::AccessChangeKind_IsValid(c.change())) {
    return Invalid("access_change.change", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.id", c.id(), 128, true));
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.subject", c.subject(), 1024, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("access_change.before", c.before(), l.max_string_bytes, false));
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.after", c.after(), l.max_string_bytes, false));
  return CheckString("access_change.diff", c.diff(), l.max_diff_bytes, false);
}

absl::Status ValidateSnapshot(const v1::AccessSnapshot& s, const Limits& l) {
  // Every entry counts against the limit, group members and sudoers rules
  // included: each is something the engine and a review may have to read.
  size_t entries =
      static_cast<size_t>(s.users_size()) + s.groups_size() + s.sudoers_size() + s.keys_size();
  for (const auto& g : s.groups()) entries += static_cast<size_t>(g.members_size());
  for (const auto& e : s.sudoers()) entries += static_cast<size_t>(e.rules_size());
  if (entries > l.max_snapshot_entries) {
    return Invalid("access_snapshot",
                   attest::StrCat("more than ", l.max_snapshot_entries,
                                  " entries (users, groups, group members, sudoers files and "
                                  "rules, keys)"));
  }
  for (const auto& u : s.users()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.name", u.name(), 256, true));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.shell", u.shell(), 4096, false));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.home", u.home(), 4096, false));
  }
  for (const auto& g : s.groups()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.groups.name", g.name(), 256, true));
    for (const std::string& m : g.members()) {
      ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.groups.members", m, 256, true));
    }
  }
  for (const auto& e : s.sudoers()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.sudoers.file", e.file(), 1024, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.sudoers.fingerprint", e.fingerprint(), 256, false));
    for (const std::string& r : e.rules()) {
      ATTEST_RETURN_IF_ERROR(
          CheckString("access_snapshot.sudoers.rules", r, l.max_string_bytes, false));
    }
  }
  for (const auto& k : s.keys()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.keys.user", k.user(), 256, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.keys.fingerprint", k.fingerprint(), 256, true));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.keys.type", k.type(), 256, false));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.keys.comment", k.comment(), l.max_string_bytes, false));
  }
  return absl::OkStatus();
}

// Server-control states: short words (states, keywords, names), bounded
// lists. A host reports only itself, so these bound what one record costs.
constexpr size_t kMaxWordBytes = 256;
constexpr int kMaxTimeDaemons = 16;
constexpr int kMaxFirewallChains = 256;
constexpr int kMaxUnits = 64;
constexpr int kMaxSshdSettings = 64;
constexpr int kMaxPamModules = 64;

absl::Status ValidateTimeSync(const v1::TimeSyncState& t) {
  if (t.daemons_size() > kMaxTimeDaemons) {
    return Invalid("time_sync.daemons", attest::StrCat("more than ", kMaxTimeDaemons, " entries"));
  }
  for (const std::string& d : t.daemons()) {
    ATTEST_RETURN_IF_ERROR(CheckString("time_sync.daemons", d, kMaxWordBytes, true));
  }
  // Exact in JSON (2^53 - 1), and never negative: an error is a magnitude.
  for (const auto& [field, v] :
       {std::pair<const char*, int64_t>{"time_sync.max_error_us", t.max_error_us()},
        {"time_sync.est_error_us", t.est_error_us()}}) {
    if (v < 0 || v > static_cast<int64_t>(kMaxSeq)) {
      return Invalid(field, "must be from 0 to 2^53 - 1");
    }
  }
  if (t.offset_ns() < -static_cast<int64_t>(kMaxSeq) ||
      t.offset_ns() > static_cast<int64_t>(kMaxSeq)) {
    return Invalid("time_sync.offset_ns", "must be within ±(2^53 - 1)");
  }
  return absl::OkStatus();
}

absl::Status ValidateFirewall(const v1::FirewallState& f) {
  if (f.source() == v1::FIREWALL_SOURCE_UNSPECIFIED || !v1::FirewallSource_IsValid(f.source())) {
    return Invalid("firewall.source", "UNSPECIFIED or unknown");
  }
  if (f.chains_size() > kMaxFirewallChains) {
    return Invalid("firewall.chains", attest::StrCat("more than ", kMaxFirewallChains, " chains"));
  }
  for (const auto& c : f.chains()) {
    ATTEST_RETURN_IF_ERROR(CheckString("firewall.chains.family", c.family(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(CheckString("firewall.chains.table", c.table(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(CheckString("firewall.chains.name", c.name(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(CheckString("firewall.chains.hook", c.hook(), kMaxWordBytes, true));
    if (c.policy() != "accept" && c.policy() != "drop") {
      return Invalid("firewall.chains.policy", "must be accept or drop");
    }
  }
  const std::string& sha = f.ruleset_sha256();
  if (sha.size() != 7 + 64 || !sha.starts_with("sha256:") ||
      sha.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
    return Invalid("firewall.ruleset_sha256", "must be sha256: and 64 lowercase hex digits");
  }
  return absl::OkStatus();
}

absl::Status ValidateServices(const v1::ServicesState& s) {
  if (s.units_size() > kMaxUnits) {
    return Invalid("services.units", attest::StrCat("more than ", kMaxUnits, " units"));
  }
  for (const auto& u : s.units()) {
    ATTEST_RETURN_IF_ERROR(CheckString("services.units.unit", u.unit(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("services.units.active_state", u.active_state(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("services.units.sub_state", u.sub_state(), kMaxWordBytes, false));
    ATTEST_RETURN_IF_ERROR(
        CheckString("services.units.load_state", u.load_state(), kMaxWordBytes, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateSshd(const v1::SshdState& s, const Limits& l) {
  if (!s.installed() &&
      (s.settings_size() > 0 || s.pam_auth_modules_size() > 0 || s.pam_auth_required_size() > 0)) {
    return Invalid("sshd", "settings or PAM modules for an sshd that is not installed");
  }
  if (s.settings_size() > kMaxSshdSettings) {
    return Invalid("sshd.settings", attest::StrCat("more than ", kMaxSshdSettings, " settings"));
  }
  for (int i = 0; i < s.settings_size(); ++i) {
    const auto& kv = s.settings(i);
    ATTEST_RETURN_IF_ERROR(CheckString("sshd.settings.key", kv.key(), kMaxWordBytes, true));
    // They are a JSON object in the evidence: one key once, in order.
    if (i > 0 && !(s.settings(i - 1).key() < kv.key())) {
      return Invalid("sshd.settings", "keys must be sorted and distinct");
    }
    ATTEST_RETURN_IF_ERROR(
        CheckString("sshd.settings.value", kv.value(), l.max_string_bytes, false));
  }
  for (const auto& [field, list] :
       {std::pair<const char*, const google::protobuf::RepeatedPtrField<std::string>*>{
            "sshd.pam_auth_modules", &s.pam_auth_modules()},
        {"sshd.pam_auth_required", &s.pam_auth_required()}}) {
    if (list->size() > kMaxPamModules) {
      return Invalid(field, attest::StrCat("more than ", kMaxPamModules, " modules"));
    }
    for (const std::string& m : *list) {
      ATTEST_RETURN_IF_ERROR(CheckString(field, m, kMaxWordBytes, true));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBackup(const v1::BackupState& b, absl::Time now, absl::Time observed_at,
                            const Limits& l) {
  if (b.probe() == v1::BACKUP_PROBE_UNSPECIFIED || !v1::BackupProbe_IsValid(b.probe())) {
    return Invalid("backup.probe", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("backup.name", b.name(), kMaxWordBytes, true));
  ATTEST_RETURN_IF_ERROR(CheckString("backup.snapshot", b.snapshot(), kMaxWordBytes, false));
  ATTEST_RETURN_IF_ERROR(CheckString("backup.error", b.error(), l.max_string_bytes, false));
  if (b.has_last_success()) {
    ATTEST_RETURN_IF_ERROR(CheckReportedTime("backup.last_success", b.last_success(), now, l));
    // A success after the observation would make a backdated state fresh.
    if (FromProto(b.last_success()) > observed_at + l.max_future_skew) {
      return Invalid("backup.last_success",
                     attest::StrCat("more than ", absl::FormatDuration(l.max_future_skew),
                                    " after the signal's observed_at"));
    }
  }
  return absl::OkStatus();
}

constexpr int kMaxVolumes = 256;
constexpr int kMaxVolumeLayers = 32;
constexpr int kMaxStateLayers = 4096;
constexpr uint32_t kMaxLayerDepth = 16;
constexpr int kMaxLsms = 32;
constexpr int kMaxNotEnforcing = 32;

bool KnownLayerKind(std::string_view k) {
  for (std::string_view known : {"crypt", "lvm", "raid", "multipath", "integrity", "verity", "dm",
                                 "partition", "disk", "loop", "ram", "zram", "unknown"}) {
    if (k == known) return true;
  }
  return false;
}

absl::Status ValidateDiskEncryption(const v1::DiskEncryptionState& d, const Limits& l) {
  if (d.volumes_size() > kMaxVolumes) {
    return Invalid("disk_encryption.volumes",
                   attest::StrCat("more than ", kMaxVolumes, " volumes"));
  }
  int layers = 0;
  for (const v1::Volume& v : d.volumes()) {
    ATTEST_RETURN_IF_ERROR(
        CheckString("disk_encryption.volumes.path", v.path(), l.max_string_bytes, true));
    if (v.path()[0] != '/') return Invalid("disk_encryption.volumes.path", "must be absolute");
    ATTEST_RETURN_IF_ERROR(
        CheckString("disk_encryption.volumes.fstype", v.fstype(), kMaxWordBytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("disk_encryption.volumes.source", v.source(), l.max_string_bytes, false));
    if (v.swap() != (v.fstype() == "swap")) {
      return Invalid("disk_encryption.volumes.fstype", "is swap exactly when swap is true");
    }
    if (v.stack_size() > kMaxVolumeLayers) {
      return Invalid("disk_encryption.volumes.stack",
                     attest::StrCat("more than ", kMaxVolumeLayers, " layers"));
    }
    layers += v.stack_size();
    for (int i = 0; i < v.stack_size(); ++i) {
      const v1::BlockLayer& b = v.stack(i);
      // One tree, depth first: the root at 0, each layer at most one below
      // the one before it.
      const bool shape =
          i == 0 ? b.depth() == 0 : b.depth() >= 1 && b.depth() <= v.stack(i - 1).depth() + 1;
      if (!shape || b.depth() > kMaxLayerDepth) {
        return Invalid(
            "disk_encryption.volumes.stack.depth",
            attest::StrCat("not one tree in depth-first order, at most ", kMaxLayerDepth, " deep"));
      }
      ATTEST_RETURN_IF_ERROR(
          CheckString("disk_encryption.volumes.stack.name", b.name(), kMaxWordBytes, true));
      if (!KnownLayerKind(b.kind())) {
        return Invalid("disk_encryption.volumes.stack.kind",
                       "not crypt, lvm, raid, multipath, integrity, verity, dm, partition, disk, "
                       "loop, ram, zram or unknown");
      }
      ATTEST_RETURN_IF_ERROR(CheckString("disk_encryption.volumes.stack.detail", b.detail(),
                                         l.max_string_bytes, false));
    }
  }
  if (layers > kMaxStateLayers) {
    return Invalid("disk_encryption.volumes.stack",
                   attest::StrCat("more than ", kMaxStateLayers, " layers in all"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMac(const v1::MacState& m, const Limits& l) {
  if (m.lsms_size() > kMaxLsms) {
    return Invalid("mac.lsms", attest::StrCat("more than ", kMaxLsms, " modules"));
  }
  bool apparmor = false, selinux = false;
  for (const std::string& s : m.lsms()) {
    ATTEST_RETURN_IF_ERROR(CheckString("mac.lsms", s, kMaxWordBytes, true));
    apparmor = apparmor || s == "apparmor";
    selinux = selinux || s == "selinux";
  }
  if (!apparmor && (m.apparmor_enforce() + m.apparmor_complain() + m.apparmor_other() > 0 ||
                    m.apparmor_not_enforcing_size() > 0)) {
    return Invalid("mac.apparmor_enforce", "AppArmor profiles while apparmor is not in lsms");
  }
  if (m.apparmor_not_enforcing_size() > kMaxNotEnforcing) {
    return Invalid("mac.apparmor_not_enforcing",
                   attest::StrCat("more than ", kMaxNotEnforcing, " names"));
  }
  for (const std::string& s : m.apparmor_not_enforcing()) {
    ATTEST_RETURN_IF_ERROR(CheckString("mac.apparmor_not_enforcing", s, l.max_string_bytes, true));
  }
  const std::string& mode = m.selinux_mode();
  if (selinux ? (mode != "enforcing" && mode != "permissive" && mode != "disabled")
              : !mode.empty()) {
    return Invalid("mac.selinux_mode",
                   "enforcing, permissive or disabled when selinux is in lsms, else empty");
  }
  return CheckString("mac.selinux_policy", m.selinux_policy(), kMaxWordBytes, false);
}

absl::Status ValidateKind(const v1::Signal& s, absl::Time now, const Limits& l) {
  switch (s.kind_case()) {
    case v1::Signal::kPatch:
      return ValidatePatch(s.patch(), l);
    case v1::Signal::kLogShipping:
      return ValidateLogShipping(s.log_shipping(), now, FromProto(s.observed_at()), l);
    case v1::Signal::kAccessChange:
      return ValidateAccessChange(s.access_change(), l);
    case v1::Signal::kAccessSnapshot:
      return ValidateSnapshot(s.access_snapshot(), l);
    case v1::Signal::kCheck:
      if (s.check().status() == v1::CHECK_STATUS_UNSPECIFIED ||
          !v1::CheckStatus_IsValid(s.check().status())) {
        return Invalid("check.status", "UNSPECIFIED or unknown");
      }
      ATTEST_RETURN_IF_ERROR(CheckString("check.name", s.check().name(), 256, true));
      return CheckString("check.detail", s.check().detail(), l.max_string_bytes, false);
    case v1::Signal::kHeartbeat:
      return absl::OkStatus();
    case v1::Signal::kTimeSync:
      return ValidateTimeSync(s.time_sync());
    case v1::Signal::kFirewall:
      return ValidateFirewall(s.firewall());
    case v1::Signal::kServices:
      return ValidateServices(s.services());
    case v1::Signal::kSshd:
      return ValidateSshd(s.sshd(), l);
    case v1::Signal::kBackup:
      return ValidateBackup(s.backup(), now, FromProto(s.observed_at()), l);
    case v1::Signal::kDiskEncryption:
      return ValidateDiskEncryption(s.disk_encryption(), l);
    case v1::Signal::kMac:
      return ValidateMac(s.mac(), l);
    case v1::Signal::kCollectorError:
      ATTEST_RETURN_IF_ERROR(
          CheckString("collector_error.collector", s.collector_error().collector(), 256, true));
      return CheckString("collector_error.error", s.collector_error().error(), l.max_string_bytes,
                         false);
    case v1::Signal::KIND_NOT_SET:
      break;
  }
  return Invalid("kind", "required (none set, or unknown to this daemon)");
}

}  // namespace

bool IsValidHostId(std::string_view id) { return attest::IsValidHostId(id); }

absl::Status ValidateHello(const v1::Hello& hello, absl::Time now, const Limits& limits) {
  if (!hello.host_id().empty() && !IsValidHostId(hello.host_id())) {
    return Invalid("hello.host_id", "must be 1-253 characters of [A-Za-z0-9._-]");
  }
  if (!IsValidHostId(hello.instance_id()) || hello.instance_id().size() > 128) {
    return Invalid("hello.instance_id", "required, 1-128 characters of [A-Za-z0-9._-]");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("hello.agent_version", hello.agent_version(), 64, true));
  ATTEST_RETURN_IF_ERROR(CheckString("hello.boot_id", hello.boot_id(), 64, false));
  if (static_cast<size_t>(hello.labels_size()) > limits.max_labels) {
    return Invalid("hello.labels", attest::StrCat("more than ", limits.max_labels, " labels"));
  }
  for (const auto& [key, value] : hello.labels()) {
    const absl::Status label = CheckLabel(key, value);
    if (!label.ok()) return Invalid("hello.labels", std::string(label.message()));
  }
  if (hello.has_agent_clock()) {
    // Any time a Timestamp can hold: a host clock in 1970 or years ahead is
    // what this field is for. It dates nothing.
    const google::protobuf::Timestamp& c = hello.agent_clock();
    if (c.nanos() < 0 || c.nanos() > 999999999 || c.seconds() < kTimestampMinSeconds ||
        c.seconds() > kTimestampMaxSeconds) {
      return Invalid("hello.agent_clock", "not a timestamp (years 1 to 9999)");
    }
  }
  if (hello.has_sent_at()) {
    // It dates the hello record, so it is bounded like any observation.
    ATTEST_RETURN_IF_ERROR(CheckObservedTime("hello.sent_at", hello.sent_at(), now, limits));
  }
  return absl::OkStatus();
}

absl::Status ValidateSignal(const v1::Signal& signal, absl::Time now, const Limits& limits) {
  if (signal.seq() == 0) return Invalid("seq", "must be at least 1");
  if (signal.seq() > kMaxSeq) {
    return Invalid("seq", attest::StrCat("must be at most 2^53 - 1 (", kMaxSeq, ")"));
  }
  if (!signal.has_observed_at()) return Invalid("observed_at", "required");
  ATTEST_RETURN_IF_ERROR(CheckObservedTime("observed_at", signal.observed_at(), now, limits));
  return ValidateKind(signal, now, limits);
}

std::optional<uint64_t> RefusedSeq(const absl::Status& status) {
  auto payload = status.GetPayload(kRefusedSeqPayload);  // absl::optional in Debian's abseil
  uint64_t seq = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seq)) return std::nullopt;
  return seq;
}

absl::Status ValidateBatch(const v1::SignalBatch& batch, absl::Time now, const Limits& limits) {
  if (batch.signals_size() == 0) return Invalid("batch", "has no signals");
  if (static_cast<size_t>(batch.signals_size()) > limits.max_signals_per_batch) {
    return Invalid("batch", attest::StrCat("more than ", limits.max_signals_per_batch, " signals"));
  }
  uint64_t previous = 0;
  for (int i = 0; i < batch.signals_size(); ++i) {
    const v1::Signal& s = batch.signals(i);
    if (absl::Status st = ValidateSignal(s, now, limits); !st.ok()) {
      absl::Status refused = absl::InvalidArgumentError(
          attest::StrCat("signal[", i, "] (seq ", s.seq(), "): ", st.message()));
      if (s.seq() > 0 && !st.GetPayload(kRetryLaterPayload)) {
        refused.SetPayload(kRefusedSeqPayload, absl::Cord(std::to_string(s.seq())));
      }
      return refused;
    }
    if (s.seq() <= previous) {
      return absl::InvalidArgumentError(attest::StrCat(
          "signal[", i, "] (seq ", s.seq(), "): seq not increasing (previous ", previous, ")"));
    }
    previous = s.seq();
  }
  return absl::OkStatus();
}

}  // namespace attest::ingest
