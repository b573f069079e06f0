// Interchange parsers of the server-control states (host.* rules).
#include "daemon/evidence/interchange_internal.h"

namespace attest::evidence::internal {
namespace {

template <typename J>
absl::Status ParseTimeSync(const BasicFields<J>& f, v1::TimeSyncState* t) {
  bool synchronized = false;
  RETURN_IF_ERROR(f.Bool("synchronized", &synchronized));
  t->set_synchronized(synchronized);
  int64_t v = 0;
  RETURN_IF_ERROR(f.Int("max_error_us", &v));
  t->set_max_error_us(v);
  v = 0;
  RETURN_IF_ERROR(f.Int("est_error_us", &v));
  t->set_est_error_us(v);
  v = 0;
  RETURN_IF_ERROR(f.Int("offset_ns", &v));
  t->set_offset_ns(v);
  uint32_t status = 0;
  RETURN_IF_ERROR(f.Uint("status", &status));
  t->set_status(status);
  return f.Strings("daemons", t->mutable_daemons());
}

template <typename J>
absl::Status ParseFirewall(const BasicFields<J>& f, v1::FirewallState* fw) {
  v1::FirewallSource source{};
  RETURN_IF_ERROR(f.Enum(
      "source",
      {{"nftables", v1::FIREWALL_SOURCE_NFTABLES}, {"iptables", v1::FIREWALL_SOURCE_IPTABLES}},
      &source));
  fw->set_source(source);
  uint32_t rules = 0;
  RETURN_IF_ERROR(f.Uint("rules", &rules));
  fw->set_rules(rules);
  RETURN_IF_ERROR(f.String("ruleset_sha256", fw->mutable_ruleset_sha256(), true));
  return f.Objects("chains", [&](const auto& e) {
    v1::FirewallChain* c = fw->add_chains();
    RETURN_IF_ERROR(e.String("family", c->mutable_family(), true));
    RETURN_IF_ERROR(e.String("table", c->mutable_table(), true));
    RETURN_IF_ERROR(e.String("name", c->mutable_name(), true));
    RETURN_IF_ERROR(e.String("hook", c->mutable_hook(), true));
    RETURN_IF_ERROR(e.String("policy", c->mutable_policy(), true));
    int64_t priority = 0;
    RETURN_IF_ERROR(e.Int("priority", &priority));
    if (priority < INT32_MIN || priority > INT32_MAX) {
      return Bad("firewall.chains.priority", "must be a 32-bit integer");
    }
    c->set_priority(static_cast<int32_t>(priority));
    uint32_t n = 0;
    RETURN_IF_ERROR(e.Uint("rules", &n));
    c->set_rules(n);
    bool drop = false;
    RETURN_IF_ERROR(e.Bool("ends_in_drop", &drop));
    c->set_ends_in_drop(drop);
    return absl::OkStatus();
  });
}

template <typename J>
absl::Status ParseServices(const BasicFields<J>& f, v1::ServicesState* s) {
  return f.Objects("units", [&](const auto& e) {
    v1::UnitState* u = s->add_units();
    RETURN_IF_ERROR(e.String("unit", u->mutable_unit(), true));
    RETURN_IF_ERROR(e.String("active_state", u->mutable_active_state(), true));
    RETURN_IF_ERROR(e.String("sub_state", u->mutable_sub_state()));
    return e.String("load_state", u->mutable_load_state());
  });
}

template <typename J>
absl::Status ParseSshd(const BasicFields<J>& f, v1::SshdState* s) {
  bool installed = false;
  RETURN_IF_ERROR(f.Bool("installed", &installed));
  s->set_installed(installed);
  RETURN_IF_ERROR(f.Strings("pam_auth_modules", s->mutable_pam_auth_modules()));
  RETURN_IF_ERROR(f.Strings("pam_auth_required", s->mutable_pam_auth_required()));
  const auto* settings = f.Find("settings");
  if (settings != nullptr && !settings->is_null()) {
    if (!settings->is_object()) return Bad("sshd.settings", "must be an object of strings");
    for (const auto& [k, v] : settings->as_object()) {  // sorted, as a std::map
      if (!v.is_string()) return Bad("sshd.settings", "must be an object of strings");
      v1::SshdSetting* kv = s->add_settings();
      kv->set_key(std::string(k));
      kv->set_value(std::string(v.as_string()));
    }
  }
  return absl::OkStatus();
}

template <typename J>
absl::Status ParseBackup(const BasicFields<J>& f, v1::BackupState* b) {
  RETURN_IF_ERROR(f.String("name", b->mutable_name(), true));
  v1::BackupProbe probe{};
  RETURN_IF_ERROR(f.Enum("probe",
                         {{"restic", v1::BACKUP_PROBE_RESTIC},
                          {"borg", v1::BACKUP_PROBE_BORG},
                          {"marker_file", v1::BACKUP_PROBE_MARKER_FILE}},
                         &probe));
  b->set_probe(probe);
  bool has = false;
  RETURN_IF_ERROR(f.Time("last_success", b->mutable_last_success(), &has));
  if (!has) b->clear_last_success();
  RETURN_IF_ERROR(f.String("snapshot", b->mutable_snapshot()));
  return f.String("error", b->mutable_error());
}

template <typename J>
absl::Status ParseDiskEncryption(const BasicFields<J>& f, v1::DiskEncryptionState* d) {
  uint32_t omitted = 0;
  RETURN_IF_ERROR(f.Uint("mounts_omitted", &omitted));
  d->set_mounts_omitted(omitted);
  uint32_t block_omitted = 0;
  RETURN_IF_ERROR(f.Uint("block_mounts_omitted", &block_omitted));
  d->set_block_mounts_omitted(block_omitted);
  return f.Objects("volumes", [&](const auto& e) {
    v1::Volume* v = d->add_volumes();
    RETURN_IF_ERROR(e.String("path", v->mutable_path(), true));
    RETURN_IF_ERROR(e.String("fstype", v->mutable_fstype(), true));
    RETURN_IF_ERROR(e.String("source", v->mutable_source()));
    bool flag = false;
    RETURN_IF_ERROR(e.Bool("read_only", &flag));
    v->set_read_only(flag);
    flag = false;
    RETURN_IF_ERROR(e.Bool("swap", &flag));
    v->set_swap(flag);
    return e.Objects("stack", [&](const auto& g) {
      v1::BlockLayer* l = v->add_stack();
      uint32_t depth = 0;
      RETURN_IF_ERROR(g.Uint("depth", &depth));
      l->set_depth(depth);
      RETURN_IF_ERROR(g.String("name", l->mutable_name(), true));
      RETURN_IF_ERROR(g.String("kind", l->mutable_kind(), true));
      return g.String("detail", l->mutable_detail());
    });
  });
}

template <typename J>
absl::Status ParseMac(const BasicFields<J>& f, v1::MacState* m) {
  RETURN_IF_ERROR(f.Strings("lsms", m->mutable_lsms()));
  for (const auto& [key, set] : {std::pair<const char*, void (v1::MacState::*)(uint32_t)>{
                                     "apparmor_enforce", &v1::MacState::set_apparmor_enforce},
                                 {"apparmor_complain", &v1::MacState::set_apparmor_complain},
                                 {"apparmor_other", &v1::MacState::set_apparmor_other}}) {
    uint32_t n = 0;
    RETURN_IF_ERROR(f.Uint(key, &n));
    (m->*set)(n);
  }
  RETURN_IF_ERROR(f.Strings("apparmor_not_enforcing", m->mutable_apparmor_not_enforcing()));
  RETURN_IF_ERROR(f.String("selinux_mode", m->mutable_selinux_mode()));
  return f.String("selinux_policy", m->mutable_selinux_policy());
}

}  // namespace

bool IsHostKind(std::string_view kind) {
  for (std::string_view k :
       {"time_sync", "firewall", "services", "sshd", "backup", "disk_encryption", "mac"}) {
    if (kind == k) return true;
  }
  return false;
}

template <typename J>
absl::Status ParseHostState(std::string_view kind, const BasicFields<J>& f, v1::Signal* s) {
  if (kind == "time_sync") return ParseTimeSync(f, s->mutable_time_sync());
  if (kind == "firewall") return ParseFirewall(f, s->mutable_firewall());
  if (kind == "services") return ParseServices(f, s->mutable_services());
  if (kind == "sshd") return ParseSshd(f, s->mutable_sshd());
  if (kind == "backup") return ParseBackup(f, s->mutable_backup());
  if (kind == "disk_encryption") return ParseDiskEncryption(f, s->mutable_disk_encryption());
  if (kind == "mac") return ParseMac(f, s->mutable_mac());
  return Bad("kind", attest::StrCat("\"", kind, "\" is not a server-control kind"));
}

template absl::Status ParseHostState(std::string_view, const BasicFields<Json>&, v1::Signal*);
template absl::Status ParseHostState(std::string_view, const BasicFields<JsonView>&, v1::Signal*);

}  // namespace attest::evidence::internal
