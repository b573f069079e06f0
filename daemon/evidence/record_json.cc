#include "daemon/evidence/record_json.h"

#include "common/time_util.h"

namespace attest::evidence {
namespace {

std::string_view PackageManagerName(v1::PackageManager pm) {
  switch (pm) {
    case v1::PACKAGE_MANAGER_DPKG: return "dpkg";
    case v1::PACKAGE_MANAGER_RPM: return "rpm";
    default: return "unspecified";
  }
}

std::string_view ProbeName(v1::ShipperProbe p) {
  switch (p) {
    case v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS: return "rsyslog_impstats";
    case v1::SHIPPER_PROBE_JOURNAL_UPLOAD: return "journal_upload";
    case v1::SHIPPER_PROBE_MARKER_FILE: return "marker_file";
    default: return "unspecified";
  }
}

std::string_view ChangeName(v1::AccessChangeKind k) {
  switch (k) {
    case v1::ACCESS_CHANGE_KIND_USER_ADDED: return "user_added";
    case v1::ACCESS_CHANGE_KIND_USER_REMOVED: return "user_removed";
    case v1::ACCESS_CHANGE_KIND_USER_MODIFIED: return "user_modified";
    case v1::ACCESS_CHANGE_KIND_GROUP_CHANGED: return "group_changed";
    case v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED: return "sudoers_changed";
    case v1::ACCESS_CHANGE_KIND_KEY_ADDED: return "key_added";
    case v1::ACCESS_CHANGE_KIND_KEY_REMOVED: return "key_removed";
    default: return "unspecified";
  }
}

std::string_view CheckStatusName(v1::CheckStatus s) {
  switch (s) {
    case v1::CHECK_STATUS_OK: return "ok";
    case v1::CHECK_STATUS_WARNING: return "warning";
    case v1::CHECK_STATUS_CRITICAL: return "critical";
    case v1::CHECK_STATUS_UNKNOWN: return "unknown";
    default: return "unspecified";
  }
}

Json Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  Json arr = Json::MakeArray();
  for (const auto& v : values) arr.push_back(v);
  return arr;
}

Json PatchJson(const v1::PatchState& p) {
  Json o = Json::MakeObject();
  o["os"] = p.os();
  o["kernel_running"] = p.kernel_running();
  o["kernel_latest"] = p.kernel_latest();
  o["reboot_required"] = p.reboot_required();
  o["package_manager"] = PackageManagerName(p.package_manager());
  o["installed_packages"] = uint64_t{p.installed_packages()};
  Json pending = Json::MakeArray();
  for (const auto& u : p.pending()) {
    Json item = Json::MakeObject();
    item["package"] = u.package();
    item["installed_version"] = u.installed_version();
    item["candidate_version"] = u.candidate_version();
    item["security"] = u.security();
    item["source"] = u.source();
    pending.push_back(std::move(item));
  }
  o["pending"] = std::move(pending);
  return o;
}

Json LogShippingJson(const v1::LogShippingState& l) {
  Json o = Json::MakeObject();
  o["shipper"] = l.shipper();
  o["unit"] = l.unit();
  o["active"] = l.active();
  o["last_delivery"] =
      l.has_last_delivery() ? Json(FormatRfc3339(FromProto(l.last_delivery()))) : Json(nullptr);
  o["backlog"] = l.backlog();
  o["probe"] = ProbeName(l.probe());
  return o;
}

Json AccessChangeJson(const v1::AccessChange& c) {
  Json o = Json::MakeObject();
  o["id"] = c.id();
  o["change"] = ChangeName(c.change());
  o["subject"] = c.subject();
  o["before"] = c.before();
  o["after"] = c.after();
  o["diff"] = c.diff();
  return o;
}

Json AccessSnapshotJson(const v1::AccessSnapshot& s) {
  Json o = Json::MakeObject();
  Json users = Json::MakeArray();
  for (const auto& u : s.users()) {
    Json item = Json::MakeObject();
    item["name"] = u.name();
    item["uid"] = uint64_t{u.uid()};
    item["gid"] = uint64_t{u.gid()};
    item["shell"] = u.shell();
    item["home"] = u.home();
    users.push_back(std::move(item));
  }
  Json groups = Json::MakeArray();
  for (const auto& g : s.groups()) {
    Json item = Json::MakeObject();
    item["name"] = g.name();
    item["gid"] = uint64_t{g.gid()};
    item["members"] = Strings(g.members());
    groups.push_back(std::move(item));
  }
  Json sudoers = Json::MakeArray();
  for (const auto& e : s.sudoers()) {
    Json item = Json::MakeObject();
    item["file"] = e.file();
    item["fingerprint"] = e.fingerprint();
    item["rules"] = Strings(e.rules());
    sudoers.push_back(std::move(item));
  }
  Json keys = Json::MakeArray();
  for (const auto& k : s.keys()) {
    Json item = Json::MakeObject();
    item["user"] = k.user();
    item["type"] = k.type();
    item["fingerprint"] = k.fingerprint();
    item["comment"] = k.comment();
    keys.push_back(std::move(item));
  }
  o["users"] = std::move(users);
  o["groups"] = std::move(groups);
  o["sudoers"] = std::move(sudoers);
  o["keys"] = std::move(keys);
  return o;
}

Json HelloJson(const v1::Hello& h) {
  Json o = Json::MakeObject();
  o["agent_version"] = h.agent_version();
  o["instance_id"] = h.instance_id();
  o["boot_id"] = h.boot_id();
  Json labels = Json::MakeObject();
  for (const auto& [k, v] : h.labels()) labels[k] = v;
  o["labels"] = std::move(labels);
  return o;
}

Json SignalBody(const v1::Signal& s) {
  switch (s.kind_case()) {
    case v1::Signal::kPatch: return PatchJson(s.patch());
    case v1::Signal::kLogShipping: return LogShippingJson(s.log_shipping());
    case v1::Signal::kAccessChange: return AccessChangeJson(s.access_change());
    case v1::Signal::kAccessSnapshot: return AccessSnapshotJson(s.access_snapshot());
    case v1::Signal::kCheck: {
      Json o = Json::MakeObject();
      o["name"] = s.check().name();
      o["status"] = CheckStatusName(s.check().status());
      o["detail"] = s.check().detail();
      return o;
    }
    case v1::Signal::kHeartbeat: return Json::MakeObject();
    case v1::Signal::kCollectorError: {
      Json o = Json::MakeObject();
      o["collector"] = s.collector_error().collector();
      o["error"] = s.collector_error().error();
      return o;
    }
    case v1::Signal::KIND_NOT_SET: break;
  }
  return Json::MakeObject();
}

}  // namespace

std::string_view RecordKind(const v1::EvidenceRecord& record) {
  switch (record.body_case()) {
    case v1::EvidenceRecord::kHello: return "hello";
    case v1::EvidenceRecord::kGap: return "gap";
    case v1::EvidenceRecord::kSignal:
      switch (record.signal().kind_case()) {
        case v1::Signal::kPatch: return "patch";
        case v1::Signal::kLogShipping: return "log_shipping";
        case v1::Signal::kAccessChange: return "access_change";
        case v1::Signal::kAccessSnapshot: return "access_snapshot";
        case v1::Signal::kCheck: return "check";
        case v1::Signal::kHeartbeat: return "heartbeat";
        case v1::Signal::kCollectorError: return "collector_error";
        case v1::Signal::KIND_NOT_SET: break;
      }
      break;
    case v1::EvidenceRecord::BODY_NOT_SET: break;
  }
  return "unknown";
}

Json RecordToJson(const v1::EvidenceRecord& record) {
  Json o = Json::MakeObject();
  o["host"] = record.host();
  o["index"] = record.index();
  o["instance_id"] = record.instance_id();
  o["seq"] = record.seq();
  o["observed_at"] = FormatRfc3339(FromProto(record.observed_at()));
  o["received_at"] = FormatRfc3339(FromProto(record.received_at()));
  o["origin"] = record.origin() == v1::ORIGIN_IMPORTED ? "imported" : "live";
  const std::string kind(RecordKind(record));
  o["kind"] = kind;
  switch (record.body_case()) {
    case v1::EvidenceRecord::kHello: o[kind] = HelloJson(record.hello()); break;
    case v1::EvidenceRecord::kGap: {
      Json g = Json::MakeObject();
      g["first_seq"] = record.gap().first_seq();
      g["last_seq"] = record.gap().last_seq();
      o[kind] = std::move(g);
      break;
    }
    case v1::EvidenceRecord::kSignal: o[kind] = SignalBody(record.signal()); break;
    case v1::EvidenceRecord::BODY_NOT_SET: break;
  }
  return o;
}

}  // namespace attest::evidence
