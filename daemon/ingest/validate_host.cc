// Bounds of the server-control states (host.* rules).
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/ingest/validate_internal.h"

namespace attest::ingest::internal {
namespace {

#define ATTEST_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

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
constexpr uint32_t kMaxProfiles = 65536;

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
  if (d.block_mounts_omitted() > d.mounts_omitted()) {
    return Invalid("disk_encryption.block_mounts_omitted", "more than mounts_omitted");
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
  // The agent's own bound: sums of counts stay far from overflowing.
  for (const auto& [field, n] :
       {std::pair<const char*, uint32_t>{"mac.apparmor_enforce", m.apparmor_enforce()},
        {"mac.apparmor_complain", m.apparmor_complain()},
        {"mac.apparmor_other", m.apparmor_other()}}) {
    if (n > kMaxProfiles) return Invalid(field, attest::StrCat("more than ", kMaxProfiles));
  }
  if (static_cast<uint64_t>(m.apparmor_not_enforcing_size()) >
      uint64_t{m.apparmor_complain()} + m.apparmor_other()) {
    return Invalid("mac.apparmor_not_enforcing", "more names than profiles not enforcing");
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

}  // namespace

absl::Status ValidateHostState(const v1::Signal& s, absl::Time now, const Limits& l) {
  switch (s.kind_case()) {
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
    default:
      return Invalid("kind", "not a server-control state");
  }
}

}  // namespace attest::ingest::internal
