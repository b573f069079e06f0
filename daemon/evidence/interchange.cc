#include "daemon/evidence/interchange.h"

#include <cstdint>
#include <set>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::evidence {
namespace {

absl::Status Bad(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(attest::StrCat(field, ": ", what));
}

// Typed field access on one JSON object; errors name "kind.field". It
// remembers which keys were asked for, so that a key nobody asks for (a
// typo such as `pending_updates`) is refused instead of silently dropping
// what it carried.
class Fields {
 public:
  Fields(const Json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  // The value of `key` (nullptr when absent), counted as known.
  const Json* Find(std::string_view key) const {
    asked_.emplace(key);
    return object_.Find(key);
  }
  // Refuses the first key that no accessor asked for.
  absl::Status NoOtherKeys() const {
    for (const auto& [key, value] : object_.as_object()) {
      if (asked_.count(key) == 0) return Bad(Name(key), "unknown field");
    }
    return absl::OkStatus();
  }

  absl::Status String(std::string_view key, std::string* out, bool required = false) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null())
      return required ? Bad(Name(key), "required") : absl::OkStatus();
    if (!v->is_string()) return Bad(Name(key), "must be a string");
    *out = v->as_string();
    return absl::OkStatus();
  }
  absl::Status Bool(std::string_view key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_bool()) return Bad(Name(key), "must be true or false");
    *out = v->as_bool();
    return absl::OkStatus();
  }
  template <typename Int>
  absl::Status Uint(std::string_view key, Int* out) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    auto u = v->is_int() ? v->as_uint() : std::nullopt;
    if (!u || *u > std::numeric_limits<Int>::max()) {
      return Bad(Name(key), "must be a non-negative integer in range");
    }
    *out = static_cast<Int>(*u);
    return absl::OkStatus();
  }
  absl::Status Int(std::string_view key, int64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    auto i = v->is_int() ? v->as_int() : std::nullopt;
    if (!i) return Bad(Name(key), "must be an integer in range");
    *out = *i;
    return absl::OkStatus();
  }
  absl::Status Time(std::string_view key, google::protobuf::Timestamp* out, bool* present) const {
    const Json* v = Find(key);
    *present = false;
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_string()) return Bad(Name(key), "must be an RFC 3339 string");
    auto t = ParseRfc3339(v->as_string());
    if (!t.ok()) return Bad(Name(key), std::string(t.status().message()));
    *out = ToProto(*t);
    *present = true;
    return absl::OkStatus();
  }
  absl::Status Strings(std::string_view key,
                       google::protobuf::RepeatedPtrField<std::string>* out) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_array()) return Bad(Name(key), "must be a list of strings");
    for (const Json& e : v->as_array()) {
      if (!e.is_string()) return Bad(Name(key), "must be a list of strings");
      out->Add(std::string(e.as_string()));
    }
    return absl::OkStatus();
  }
  // Each element of a list of objects.
  absl::Status Objects(std::string_view key,
                       const std::function<absl::Status(const Fields&)>& each) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_array()) return Bad(Name(key), "must be a list of objects");
    for (const Json& e : v->as_array()) {
      if (!e.is_object()) return Bad(Name(key), "must be a list of objects");
      const Fields item(e, Name(key));
      if (absl::Status s = each(item); !s.ok()) return s;
      if (absl::Status s = item.NoOtherKeys(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // An enum given by name.
  template <typename E>
  // `optional`: an absent key leaves *out as it is (its documented default).
  absl::Status Enum(std::string_view key, std::initializer_list<std::pair<const char*, E>> names,
                    E* out, bool optional = false) const {
    if (optional) {
      const Json* value = Find(key);
      if (value == nullptr || value->is_null()) return absl::OkStatus();
    }
    std::string name;
    if (absl::Status s = String(key, &name, /*required=*/true); !s.ok()) return s;
    for (const auto& [n, e] : names) {
      if (name == n) {
        *out = e;
        return absl::OkStatus();
      }
    }
    return Bad(Name(key), attest::StrCat("unknown value \"", name, "\""));
  }

 private:
  std::string Name(std::string_view key) const { return attest::StrCat(prefix_, ".", key); }
  const Json& object_;
  std::string prefix_;
  mutable std::set<std::string, std::less<>> asked_;
};

#define ATTEST_CONCAT_(a, b) a##b
#define ATTEST_CONCAT(a, b) ATTEST_CONCAT_(a, b)
#define RETURN_IF_ERROR_(var, expr)                       \
  do {                                                    \
    if (absl::Status var = (expr); !var.ok()) return var; \
  } while (0)
#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_(ATTEST_CONCAT(status_, __COUNTER__), expr)

absl::Status ParsePatch(const Fields& f, v1::PatchState* p) {
  RETURN_IF_ERROR(f.String("os", p->mutable_os()));
  RETURN_IF_ERROR(f.String("kernel_running", p->mutable_kernel_running()));
  RETURN_IF_ERROR(f.String("kernel_latest", p->mutable_kernel_latest()));
  bool reboot = false;
  RETURN_IF_ERROR(f.Bool("reboot_required", &reboot));
  p->set_reboot_required(reboot);
  // Absent in lines written before the field existed: "not_recorded".
  v1::PackageManager pm = v1::PACKAGE_MANAGER_NOT_RECORDED;
  RETURN_IF_ERROR(f.Enum<v1::PackageManager>("package_manager",
                                             {{"dpkg", v1::PACKAGE_MANAGER_DPKG},
                                              {"rpm", v1::PACKAGE_MANAGER_RPM},
                                              {"not_recorded", v1::PACKAGE_MANAGER_NOT_RECORDED}},
                                             &pm, /*optional=*/true));
  p->set_package_manager(pm);
  uint32_t installed = 0;
  RETURN_IF_ERROR(f.Uint("installed_packages", &installed));
  p->set_installed_packages(installed);
  return f.Objects("pending", [&](const Fields& item) {
    v1::PendingUpdate* u = p->add_pending();
    RETURN_IF_ERROR(item.String("package", u->mutable_package(), true));
    RETURN_IF_ERROR(item.String("installed_version", u->mutable_installed_version()));
    RETURN_IF_ERROR(item.String("candidate_version", u->mutable_candidate_version()));
    bool security = false;
    RETURN_IF_ERROR(item.Bool("security", &security));
    u->set_security(security);
    return item.String("source", u->mutable_source());
  });
}

absl::Status ParseLogShipping(const Fields& f, v1::LogShippingState* l) {
  RETURN_IF_ERROR(f.String("shipper", l->mutable_shipper(), true));
  RETURN_IF_ERROR(f.String("unit", l->mutable_unit()));
  RETURN_IF_ERROR(f.String("error", l->mutable_error()));
  bool active = false;
  RETURN_IF_ERROR(f.Bool("active", &active));
  l->set_active(active);
  bool present = false;
  RETURN_IF_ERROR(f.Time("last_delivery", l->mutable_last_delivery(), &present));
  if (!present) l->clear_last_delivery();
  uint64_t backlog = 0;
  RETURN_IF_ERROR(f.Uint("backlog", &backlog));
  l->set_backlog(backlog);
  // Absent in lines written before the field existed: "not_recorded".
  v1::ShipperProbe probe = v1::SHIPPER_PROBE_NOT_RECORDED;
  RETURN_IF_ERROR(
      f.Enum<v1::ShipperProbe>("probe",
                               {{"rsyslog_impstats", v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS},
                                {"journal_upload", v1::SHIPPER_PROBE_JOURNAL_UPLOAD},
                                {"marker_file", v1::SHIPPER_PROBE_MARKER_FILE},
                                {"not_recorded", v1::SHIPPER_PROBE_NOT_RECORDED}},
                               &probe, /*optional=*/true));
  l->set_probe(probe);
  return absl::OkStatus();
}

absl::Status ParseAccessChange(const Fields& f, v1::AccessChange* c) {
  RETURN_IF_ERROR(f.String("id", c->mutable_id(), true));
  v1::AccessChangeKind kind{};
  RETURN_IF_ERROR(
      f.Enum<v1::AccessChangeKind>("change",
                                   {{"user_added", v1::ACCESS_CHANGE_KIND_USER_ADDED},
                                    {"user_removed", v1::ACCESS_CHANGE_KIND_USER_REMOVED},
                                    {"user_modified", v1::ACCESS_CHANGE_KIND_USER_MODIFIED},
                                    {"group_changed", v1::ACCESS_CHANGE_KIND_GROUP_CHANGED},
                                    {"sudoers_changed", v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED},
                                    {"key_added", v1::ACCESS_CHANGE_KIND_KEY_ADDED},
                                    {"key_removed", v1::ACCESS_CHANGE_KIND_KEY_REMOVED}},
                                   &kind));
  c->set_change(kind);
  RETURN_IF_ERROR(f.String("subject", c->mutable_subject(), true));
  RETURN_IF_ERROR(f.String("before", c->mutable_before()));
  RETURN_IF_ERROR(f.String("after", c->mutable_after()));
  return f.String("diff", c->mutable_diff());
}

absl::Status ParseAccessSnapshot(const Fields& f, v1::AccessSnapshot* a) {
  RETURN_IF_ERROR(f.Objects("users", [&](const Fields& e) {
    v1::UserEntry* u = a->add_users();
    RETURN_IF_ERROR(e.String("name", u->mutable_name(), true));
    uint32_t uid = 0, gid = 0;
    RETURN_IF_ERROR(e.Uint("uid", &uid));
    RETURN_IF_ERROR(e.Uint("gid", &gid));
    u->set_uid(uid);
    u->set_gid(gid);
    RETURN_IF_ERROR(e.String("shell", u->mutable_shell()));
    return e.String("home", u->mutable_home());
  }));
  RETURN_IF_ERROR(f.Objects("groups", [&](const Fields& e) {
    v1::GroupEntry* g = a->add_groups();
    RETURN_IF_ERROR(e.String("name", g->mutable_name(), true));
    uint32_t gid = 0;
    RETURN_IF_ERROR(e.Uint("gid", &gid));
    g->set_gid(gid);
    return e.Strings("members", g->mutable_members());
  }));
  RETURN_IF_ERROR(f.Objects("sudoers", [&](const Fields& e) {
    v1::SudoersEntry* s = a->add_sudoers();
    RETURN_IF_ERROR(e.String("file", s->mutable_file(), true));
    RETURN_IF_ERROR(e.String("fingerprint", s->mutable_fingerprint()));
    return e.Strings("rules", s->mutable_rules());
  }));
  return f.Objects("keys", [&](const Fields& e) {
    v1::KeyEntry* k = a->add_keys();
    RETURN_IF_ERROR(e.String("user", k->mutable_user(), true));
    RETURN_IF_ERROR(e.String("type", k->mutable_type()));
    RETURN_IF_ERROR(e.String("fingerprint", k->mutable_fingerprint(), true));
    return e.String("comment", k->mutable_comment());
  });
}

absl::Status ParseCheck(const Fields& f, v1::CheckResult* c) {
  RETURN_IF_ERROR(f.String("name", c->mutable_name(), true));
  v1::CheckStatus status{};
  RETURN_IF_ERROR(f.Enum<v1::CheckStatus>("status",
                                          {{"ok", v1::CHECK_STATUS_OK},
                                           {"warning", v1::CHECK_STATUS_WARNING},
                                           {"critical", v1::CHECK_STATUS_CRITICAL},
                                           {"unknown", v1::CHECK_STATUS_UNKNOWN}},
                                          &status));
  c->set_status(status);
  return f.String("detail", c->mutable_detail());
}

absl::Status ParseTimeSync(const Fields& f, v1::TimeSyncState* t) {
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

absl::Status ParseFirewall(const Fields& f, v1::FirewallState* fw) {
  v1::FirewallSource source{};
  RETURN_IF_ERROR(f.Enum<v1::FirewallSource>(
      "source",
      {{"nftables", v1::FIREWALL_SOURCE_NFTABLES}, {"iptables", v1::FIREWALL_SOURCE_IPTABLES}},
      &source));
  fw->set_source(source);
  uint32_t rules = 0;
  RETURN_IF_ERROR(f.Uint("rules", &rules));
  fw->set_rules(rules);
  RETURN_IF_ERROR(f.String("ruleset_sha256", fw->mutable_ruleset_sha256(), true));
  return f.Objects("chains", [&](const Fields& e) {
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

absl::Status ParseServices(const Fields& f, v1::ServicesState* s) {
  return f.Objects("units", [&](const Fields& e) {
    v1::UnitState* u = s->add_units();
    RETURN_IF_ERROR(e.String("unit", u->mutable_unit(), true));
    RETURN_IF_ERROR(e.String("active_state", u->mutable_active_state(), true));
    RETURN_IF_ERROR(e.String("sub_state", u->mutable_sub_state()));
    return e.String("load_state", u->mutable_load_state());
  });
}

absl::Status ParseSshd(const Fields& f, v1::SshdState* s) {
  bool installed = false;
  RETURN_IF_ERROR(f.Bool("installed", &installed));
  s->set_installed(installed);
  RETURN_IF_ERROR(f.Strings("pam_auth_modules", s->mutable_pam_auth_modules()));
  RETURN_IF_ERROR(f.Strings("pam_auth_required", s->mutable_pam_auth_required()));
  const Json* settings = f.Find("settings");
  if (settings != nullptr && !settings->is_null()) {
    if (!settings->is_object()) return Bad("sshd.settings", "must be an object of strings");
    for (const auto& [k, v] : settings->as_object()) {  // sorted, as a std::map
      if (!v.is_string()) return Bad("sshd.settings", "must be an object of strings");
      v1::SshdSetting* kv = s->add_settings();
      kv->set_key(k);
      kv->set_value(v.as_string());
    }
  }
  return absl::OkStatus();
}

absl::Status ParseBackup(const Fields& f, v1::BackupState* b) {
  RETURN_IF_ERROR(f.String("name", b->mutable_name(), true));
  v1::BackupProbe probe{};
  RETURN_IF_ERROR(f.Enum<v1::BackupProbe>("probe",
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

absl::Status ParseDiskEncryption(const Fields& f, v1::DiskEncryptionState* d) {
  uint32_t omitted = 0;
  RETURN_IF_ERROR(f.Uint("mounts_omitted", &omitted));
  d->set_mounts_omitted(omitted);
  return f.Objects("volumes", [&](const Fields& e) {
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
    return e.Objects("stack", [&](const Fields& g) {
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

absl::Status ParseMac(const Fields& f, v1::MacState* m) {
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

absl::Status ParseHello(const Fields& f, v1::Hello* h) {
  RETURN_IF_ERROR(f.String("agent_version", h->mutable_agent_version()));
  RETURN_IF_ERROR(f.String("instance_id", h->mutable_instance_id()));
  RETURN_IF_ERROR(f.String("boot_id", h->mutable_boot_id()));
  const Json* labels = f.Find("labels");
  if (labels != nullptr && !labels->is_null()) {
    if (!labels->is_object()) return Bad("hello.labels", "must be an object of strings");
    for (const auto& [k, v] : labels->as_object()) {
      if (!v.is_string()) return Bad("hello.labels", "must be an object of strings");
      (*h->mutable_labels())[k] = v.as_string();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ImportRecord> ParseInterchangeLine(std::string_view line) {
  auto json = Json::Parse(line);
  if (!json.ok())
    return absl::InvalidArgumentError(
        attest::StrCat("not JSON: ", std::string(json.status().message())));
  return ParseInterchangeJson(*json);
}

absl::StatusOr<v1::ImportRecord> ParseInterchangeJson(const Json& record) {
  const Json* json = &record;
  if (!json->is_object()) return Bad("record", "must be a JSON object");
  Fields top(*json, "record");
  v1::ImportRecord out;
  RETURN_IF_ERROR(top.String("host", out.mutable_host(), true));
  RETURN_IF_ERROR(top.String("instance_id", out.mutable_instance_id()));
  std::string kind;
  RETURN_IF_ERROR(top.String("kind", &kind, true));
  google::protobuf::Timestamp observed_at;
  bool has_time = false;
  RETURN_IF_ERROR(top.Time("observed_at", &observed_at, &has_time));
  if (!has_time) return Bad("observed_at", "required");
  // What an export adds to each record; attestd recomputes all of it.
  for (const char* chain : {"hash", "prev_hash", "index", "received_at", "origin"}) {
    (void)top.Find(chain);
  }
  const Json* body = top.Find(kind);
  if (body == nullptr || !body->is_object()) {
    return Bad(kind, attest::StrCat("an object named after the kind \"", kind, "\" is required"));
  }
  uint64_t seq = 0;
  RETURN_IF_ERROR(top.Uint("seq", &seq));
  RETURN_IF_ERROR(top.NoOtherKeys());
  Fields f(*body, kind);
  if (kind == "hello") {
    // A hello took this seq in the agent's numbering (exports write 0).
    out.set_hello_seq(seq);
    v1::Hello* h = out.mutable_hello();
    RETURN_IF_ERROR(ParseHello(f, h));
    *h->mutable_sent_at() = observed_at;
    if (out.instance_id().empty()) out.set_instance_id(h->instance_id());
    RETURN_IF_ERROR(f.NoOtherKeys());
    return out;
  }
  if (kind == "gap") return Bad("kind", "gap records are made by attestd and cannot be imported");
  v1::Signal* s = out.mutable_signal();
  s->set_seq(seq);
  *s->mutable_observed_at() = observed_at;
  if (kind == "heartbeat") {
    s->mutable_heartbeat();
  } else if (kind == "patch") {
    RETURN_IF_ERROR(ParsePatch(f, s->mutable_patch()));
  } else if (kind == "log_shipping") {
    RETURN_IF_ERROR(ParseLogShipping(f, s->mutable_log_shipping()));
  } else if (kind == "access_change") {
    RETURN_IF_ERROR(ParseAccessChange(f, s->mutable_access_change()));
  } else if (kind == "access_snapshot") {
    RETURN_IF_ERROR(ParseAccessSnapshot(f, s->mutable_access_snapshot()));
  } else if (kind == "check") {
    RETURN_IF_ERROR(ParseCheck(f, s->mutable_check()));
  } else if (kind == "time_sync") {
    RETURN_IF_ERROR(ParseTimeSync(f, s->mutable_time_sync()));
  } else if (kind == "firewall") {
    RETURN_IF_ERROR(ParseFirewall(f, s->mutable_firewall()));
  } else if (kind == "services") {
    RETURN_IF_ERROR(ParseServices(f, s->mutable_services()));
  } else if (kind == "sshd") {
    RETURN_IF_ERROR(ParseSshd(f, s->mutable_sshd()));
  } else if (kind == "backup") {
    RETURN_IF_ERROR(ParseBackup(f, s->mutable_backup()));
  } else if (kind == "disk_encryption") {
    RETURN_IF_ERROR(ParseDiskEncryption(f, s->mutable_disk_encryption()));
  } else if (kind == "mac") {
    RETURN_IF_ERROR(ParseMac(f, s->mutable_mac()));
  } else if (kind == "collector_error") {
    RETURN_IF_ERROR(f.String("collector", s->mutable_collector_error()->mutable_collector(), true));
    RETURN_IF_ERROR(f.String("error", s->mutable_collector_error()->mutable_error()));
  } else {
    return Bad("kind", attest::StrCat("unknown kind \"", kind, "\""));
  }
  RETURN_IF_ERROR(f.NoOtherKeys());
  return out;
}

}  // namespace attest::evidence
