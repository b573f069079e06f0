#include "daemon/evidence/interchange.h"

#include <cstdint>
#include <set>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/interchange_internal.h"

namespace attest::evidence {
namespace {

using internal::Bad;
using internal::BasicFields;

template <typename J>
absl::Status ParsePatch(const BasicFields<J>& f, v1::PatchState* p) {
  RETURN_IF_ERROR(f.String("os", p->mutable_os()));
  RETURN_IF_ERROR(f.String("kernel_running", p->mutable_kernel_running()));
  RETURN_IF_ERROR(f.String("kernel_latest", p->mutable_kernel_latest()));
  bool reboot = false;
  RETURN_IF_ERROR(f.Bool("reboot_required", &reboot));
  p->set_reboot_required(reboot);
  // Absent in lines written before the field existed: "not_recorded".
  v1::PackageManager pm = v1::PACKAGE_MANAGER_NOT_RECORDED;
  RETURN_IF_ERROR(f.Enum("package_manager",
                         {{"dpkg", v1::PACKAGE_MANAGER_DPKG},
                          {"rpm", v1::PACKAGE_MANAGER_RPM},
                          {"not_recorded", v1::PACKAGE_MANAGER_NOT_RECORDED}},
                         &pm, /*optional=*/true));
  p->set_package_manager(pm);
  uint32_t installed = 0;
  RETURN_IF_ERROR(f.Uint("installed_packages", &installed));
  p->set_installed_packages(installed);
  return f.Objects("pending", [&](const auto& item) {
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

template <typename J>
absl::Status ParseLogShipping(const BasicFields<J>& f, v1::LogShippingState* l) {
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
  RETURN_IF_ERROR(f.Enum("probe",
                         {{"rsyslog_impstats", v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS},
                          {"journal_upload", v1::SHIPPER_PROBE_JOURNAL_UPLOAD},
                          {"marker_file", v1::SHIPPER_PROBE_MARKER_FILE},
                          {"not_recorded", v1::SHIPPER_PROBE_NOT_RECORDED}},
                         &probe, /*optional=*/true));
  l->set_probe(probe);
  return absl::OkStatus();
}

template <typename J>
absl::Status ParseAccessChange(const BasicFields<J>& f, v1::AccessChange* c) {
  RETURN_IF_ERROR(f.String("id", c->mutable_id(), true));
  v1::AccessChangeKind kind{};
  RETURN_IF_ERROR(f.Enum("change",
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

template <typename J>
absl::Status ParseAccessSnapshot(const BasicFields<J>& f, v1::AccessSnapshot* a) {
  RETURN_IF_ERROR(f.Objects("users", [&](const auto& e) {
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
  RETURN_IF_ERROR(f.Objects("groups", [&](const auto& e) {
    v1::GroupEntry* g = a->add_groups();
    RETURN_IF_ERROR(e.String("name", g->mutable_name(), true));
    uint32_t gid = 0;
    RETURN_IF_ERROR(e.Uint("gid", &gid));
    g->set_gid(gid);
    return e.Strings("members", g->mutable_members());
  }));
  RETURN_IF_ERROR(f.Objects("sudoers", [&](const auto& e) {
    v1::SudoersEntry* s = a->add_sudoers();
    RETURN_IF_ERROR(e.String("file", s->mutable_file(), true));
    RETURN_IF_ERROR(e.String("fingerprint", s->mutable_fingerprint()));
    return e.Strings("rules", s->mutable_rules());
  }));
  return f.Objects("keys", [&](const auto& e) {
    v1::KeyEntry* k = a->add_keys();
    RETURN_IF_ERROR(e.String("user", k->mutable_user(), true));
    RETURN_IF_ERROR(e.String("type", k->mutable_type()));
    RETURN_IF_ERROR(e.String("fingerprint", k->mutable_fingerprint(), true));
    return e.String("comment", k->mutable_comment());
  });
}

template <typename J>
absl::Status ParseCheck(const BasicFields<J>& f, v1::CheckResult* c) {
  RETURN_IF_ERROR(f.String("name", c->mutable_name(), true));
  v1::CheckStatus status{};
  RETURN_IF_ERROR(f.Enum("status",
                         {{"ok", v1::CHECK_STATUS_OK},
                          {"warning", v1::CHECK_STATUS_WARNING},
                          {"critical", v1::CHECK_STATUS_CRITICAL},
                          {"unknown", v1::CHECK_STATUS_UNKNOWN}},
                         &status));
  c->set_status(status);
  return f.String("detail", c->mutable_detail());
}

template <typename J>
absl::Status ParseHello(const BasicFields<J>& f, v1::Hello* h) {
  RETURN_IF_ERROR(f.String("agent_version", h->mutable_agent_version()));
  RETURN_IF_ERROR(f.String("instance_id", h->mutable_instance_id()));
  RETURN_IF_ERROR(f.String("boot_id", h->mutable_boot_id()));
  const auto* labels = f.Find("labels");
  if (labels != nullptr && !labels->is_null()) {
    if (!labels->is_object()) return Bad("hello.labels", "must be an object of strings");
    for (const auto& [k, v] : labels->as_object()) {
      if (!v.is_string()) return Bad("hello.labels", "must be an object of strings");
      (*h->mutable_labels())[std::string(k)] = v.as_string();
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

namespace {

template <typename J>
absl::Status ParseRecord(const J& record, v1::ImportRecord* into) {
  const J* json = &record;
  if (!json->is_object()) return Bad("record", "must be a JSON object");
  const BasicFields<J> top(*json, "record");
  v1::ImportRecord& out = *into;
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
  const J* body = top.Find(kind);
  if (body == nullptr || !body->is_object()) {
    return Bad(kind, attest::StrCat("an object named after the kind \"", kind, "\" is required"));
  }
  uint64_t seq = 0;
  RETURN_IF_ERROR(top.Uint("seq", &seq));
  RETURN_IF_ERROR(top.NoOtherKeys());
  const BasicFields<J> f(*body, kind);
  if (kind == "hello") {
    // A hello took this seq in the agent's numbering (exports write 0).
    out.set_hello_seq(seq);
    v1::Hello* h = out.mutable_hello();
    RETURN_IF_ERROR(ParseHello(f, h));
    *h->mutable_sent_at() = observed_at;
    if (out.instance_id().empty()) out.set_instance_id(h->instance_id());
    return f.NoOtherKeys();
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
  } else if (internal::IsHostKind(kind)) {
    RETURN_IF_ERROR(internal::ParseHostState(kind, f, s));
  } else if (kind == "collector_error") {
    RETURN_IF_ERROR(f.String("collector", s->mutable_collector_error()->mutable_collector(), true));
    RETURN_IF_ERROR(f.String("error", s->mutable_collector_error()->mutable_error()));
  } else {
    return Bad("kind", attest::StrCat("unknown kind \"", kind, "\""));
  }
  return f.NoOtherKeys();
}

template <typename J>
absl::StatusOr<v1::ImportRecord> ParseRecord(const J& record) {
  v1::ImportRecord out;
  RETURN_IF_ERROR(ParseRecord(record, &out));
  return out;
}

}  // namespace

absl::StatusOr<v1::ImportRecord> ParseInterchangeJson(const Json& record) {
  return ParseRecord(record);
}

absl::Status ParseInterchangeJson(const Json& record, v1::ImportRecord* out) {
  return ParseRecord(record, out);
}

absl::Status ParseInterchangeJson(const JsonView& record, v1::ImportRecord* out) {
  return ParseRecord(record, out);
}

}  // namespace attest::evidence
