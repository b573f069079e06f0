// The canonical JSON of the server-control states (host.* rules).
#include "daemon/evidence/record_json_internal.h"

namespace attest::evidence::internal {
namespace {

std::string_view FirewallSourceName(v1::FirewallSource s) {
  switch (s) {
    case v1::FIREWALL_SOURCE_NFTABLES:
      return "nftables";
    case v1::FIREWALL_SOURCE_IPTABLES:
      return "iptables";
    default:
      return "unspecified";
  }
}

std::string_view BackupProbeName(v1::BackupProbe p) {
  switch (p) {
    case v1::BACKUP_PROBE_RESTIC:
      return "restic";
    case v1::BACKUP_PROBE_BORG:
      return "borg";
    case v1::BACKUP_PROBE_MARKER_FILE:
      return "marker_file";
    default:
      return "unspecified";
  }
}

void WriteTimeSync(std::string* out, const v1::TimeSyncState& t) {
  ObjectWriter w(out);
  w.StringArray("daemons", t.daemons());
  w.Int("est_error_us", t.est_error_us());
  w.Int("max_error_us", t.max_error_us());
  w.Int("offset_ns", t.offset_ns());
  w.Uint("status", t.status());
  w.Bool("synchronized", t.synchronized());
  w.Close();
}

void WriteFirewall(std::string* out, const v1::FirewallState& f) {
  ObjectWriter w(out);
  w.BeginArray("chains");
  for (const auto& c : f.chains()) {
    w.Next();
    ObjectWriter item(out);
    item.Bool("ends_in_drop", c.ends_in_drop());
    item.String("family", c.family());
    item.String("hook", c.hook());
    item.String("name", c.name());
    item.String("policy", c.policy());
    item.Int("priority", c.priority());
    item.Uint("rules", c.rules());
    item.String("table", c.table());
    item.Close();
  }
  w.EndArray();
  w.Uint("rules", f.rules());
  w.String("ruleset_sha256", f.ruleset_sha256());
  w.String("source", FirewallSourceName(f.source()));
  w.Close();
}

void WriteServices(std::string* out, const v1::ServicesState& s) {
  ObjectWriter w(out);
  w.BeginArray("units");
  for (const auto& u : s.units()) {
    w.Next();
    ObjectWriter item(out);
    item.String("active_state", u.active_state());
    item.String("load_state", u.load_state());
    item.String("sub_state", u.sub_state());
    item.String("unit", u.unit());
    item.Close();
  }
  w.EndArray();
  w.Close();
}

void WriteSshd(std::string* out, const v1::SshdState& s) {
  ObjectWriter w(out);
  w.Bool("installed", s.installed());
  w.StringArray("pam_auth_modules", s.pam_auth_modules());
  w.StringArray("pam_auth_required", s.pam_auth_required());
  // An object: attestd accepts only sorted, distinct keys (validate.cc).
  w.Key("settings");
  ObjectWriter settings(out);
  for (const auto& kv : s.settings()) settings.String(kv.key(), kv.value());
  settings.Close();
  w.Close();
}

void WriteBackup(std::string* out, const v1::BackupState& b) {
  ObjectWriter w(out);
  if (!b.error().empty()) w.String("error", b.error());
  if (b.has_last_success()) {
    w.Time("last_success", b.last_success());
  } else {
    w.Key("last_success");
    out->append("null");
  }
  w.String("name", b.name());
  w.String("probe", BackupProbeName(b.probe()));
  w.String("snapshot", b.snapshot());
  w.Close();
}

void WriteDiskEncryption(std::string* out, const v1::DiskEncryptionState& d) {
  ObjectWriter w(out);
  w.Uint("block_mounts_omitted", d.block_mounts_omitted());
  w.Uint("mounts_omitted", d.mounts_omitted());
  w.BeginArray("volumes");
  for (const auto& v : d.volumes()) {
    w.Next();
    ObjectWriter item(out);
    item.String("fstype", v.fstype());
    item.String("path", v.path());
    item.Bool("read_only", v.read_only());
    item.String("source", v.source());
    item.BeginArray("stack");
    for (const auto& l : v.stack()) {
      item.Next();
      ObjectWriter layer(out);
      layer.Uint("depth", l.depth());
      layer.String("detail", l.detail());
      layer.String("kind", l.kind());
      layer.String("name", l.name());
      layer.Close();
    }
    item.EndArray();
    item.Bool("swap", v.swap());
    item.Close();
  }
  w.EndArray();
  w.Close();
}

void WriteMac(std::string* out, const v1::MacState& m) {
  ObjectWriter w(out);
  w.Uint("apparmor_complain", m.apparmor_complain());
  w.Uint("apparmor_enforce", m.apparmor_enforce());
  w.StringArray("apparmor_not_enforcing", m.apparmor_not_enforcing());
  w.Uint("apparmor_other", m.apparmor_other());
  w.StringArray("lsms", m.lsms());
  w.String("selinux_mode", m.selinux_mode());
  w.String("selinux_policy", m.selinux_policy());
  w.Close();
}

}  // namespace

void WriteHostState(std::string* out, const v1::Signal& s) {
  switch (s.kind_case()) {
    case v1::Signal::kTimeSync:
      return WriteTimeSync(out, s.time_sync());
    case v1::Signal::kFirewall:
      return WriteFirewall(out, s.firewall());
    case v1::Signal::kServices:
      return WriteServices(out, s.services());
    case v1::Signal::kSshd:
      return WriteSshd(out, s.sshd());
    case v1::Signal::kBackup:
      return WriteBackup(out, s.backup());
    case v1::Signal::kDiskEncryption:
      return WriteDiskEncryption(out, s.disk_encryption());
    case v1::Signal::kMac:
      return WriteMac(out, s.mac());
    default:
      out->append("{}");
  }
}

}  // namespace attest::evidence::internal
