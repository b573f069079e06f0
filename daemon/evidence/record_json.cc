#include "daemon/evidence/record_json.h"

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/record_json_internal.h"

namespace attest::evidence {
namespace {

using internal::ObjectWriter;

std::string_view PackageManagerName(v1::PackageManager pm) {
  switch (pm) {
    case v1::PACKAGE_MANAGER_DPKG:
      return "dpkg";
    case v1::PACKAGE_MANAGER_RPM:
      return "rpm";
    case v1::PACKAGE_MANAGER_NOT_RECORDED:
      return "not_recorded";
    default:
      return "unspecified";
  }
}

std::string_view ProbeName(v1::ShipperProbe p) {
  switch (p) {
    case v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS:
      return "rsyslog_impstats";
    case v1::SHIPPER_PROBE_JOURNAL_UPLOAD:
      return "journal_upload";
    case v1::SHIPPER_PROBE_MARKER_FILE:
      return "marker_file";
    case v1::SHIPPER_PROBE_NOT_RECORDED:
      return "not_recorded";
    default:
      return "unspecified";
  }
}

std::string_view CheckStatusName(v1::CheckStatus s) {
  switch (s) {
    case v1::CHECK_STATUS_OK:
      return "ok";
    case v1::CHECK_STATUS_WARNING:
      return "warning";
    case v1::CHECK_STATUS_CRITICAL:
      return "critical";
    case v1::CHECK_STATUS_UNKNOWN:
      return "unknown";
    default:
      return "unspecified";
  }
}

void WritePatch(std::string* out, const v1::PatchState& p) {
  ObjectWriter w(out);
  w.Uint("installed_packages", p.installed_packages());
  w.String("kernel_latest", p.kernel_latest());
  w.String("kernel_running", p.kernel_running());
  w.String("os", p.os());
  w.String("package_manager", PackageManagerName(p.package_manager()));
  w.BeginArray("pending");
  for (const auto& u : p.pending()) {
    w.Next();
    ObjectWriter item(out);
    item.String("candidate_version", u.candidate_version());
    item.String("installed_version", u.installed_version());
    item.String("package", u.package());
    item.Bool("security", u.security());
    item.String("source", u.source());
    item.Close();
  }
  w.EndArray();
  w.Bool("reboot_required", p.reboot_required());
  w.Close();
}

void WriteLogShipping(std::string* out, const v1::LogShippingState& l) {
  ObjectWriter w(out);
  w.Bool("active", l.active());
  w.Uint("backlog", l.backlog());
  // Only when set, so records from before the field hash as they did.
  if (!l.error().empty()) w.String("error", l.error());
  if (l.has_last_delivery()) {
    w.Time("last_delivery", l.last_delivery());
  } else {
    w.Key("last_delivery");
    out->append("null");
  }
  w.String("probe", ProbeName(l.probe()));
  w.String("shipper", l.shipper());
  w.String("unit", l.unit());
  w.Close();
}

void WriteAccessChange(std::string* out, const v1::AccessChange& c) {
  ObjectWriter w(out);
  w.String("after", c.after());
  w.String("before", c.before());
  w.String("change", AccessChangeName(c.change()));
  w.String("diff", c.diff());
  w.String("id", c.id());
  w.String("subject", c.subject());
  w.Close();
}

void WriteAccessSnapshot(std::string* out, const v1::AccessSnapshot& s) {
  ObjectWriter w(out);
  w.BeginArray("groups");
  for (const auto& g : s.groups()) {
    w.Next();
    ObjectWriter item(out);
    item.Uint("gid", g.gid());
    item.StringArray("members", g.members());
    item.String("name", g.name());
    item.Close();
  }
  w.EndArray();
  w.BeginArray("keys");
  for (const auto& k : s.keys()) {
    w.Next();
    ObjectWriter item(out);
    item.String("comment", k.comment());
    item.String("fingerprint", k.fingerprint());
    item.String("type", k.type());
    item.String("user", k.user());
    item.Close();
  }
  w.EndArray();
  w.BeginArray("sudoers");
  for (const auto& e : s.sudoers()) {
    w.Next();
    ObjectWriter item(out);
    item.String("file", e.file());
    item.String("fingerprint", e.fingerprint());
    item.StringArray("rules", e.rules());
    item.Close();
  }
  w.EndArray();
  w.BeginArray("users");
  for (const auto& u : s.users()) {
    w.Next();
    ObjectWriter item(out);
    item.Uint("gid", u.gid());
    item.String("home", u.home());
    item.String("name", u.name());
    item.String("shell", u.shell());
    item.Uint("uid", u.uid());
    item.Close();
  }
  w.EndArray();
  w.Close();
}

void WriteHello(std::string* out, const v1::Hello& h) {
  ObjectWriter w(out);
  w.String("agent_version", h.agent_version());
  w.String("boot_id", h.boot_id());
  w.String("instance_id", h.instance_id());
  w.Key("labels");
  // Protobuf maps have no order: sort the keys.
  std::vector<const std::string*> keys;
  keys.reserve(h.labels_size());
  for (const auto& [k, v] : h.labels()) keys.push_back(&k);
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
  ObjectWriter labels(out);
  for (const std::string* k : keys) labels.String(*k, h.labels().at(*k));
  labels.Close();
  w.Close();
}

void WriteKindObject(std::string* out, const v1::EvidenceRecord& r) {
  switch (r.body_case()) {
    case v1::EvidenceRecord::kHello:
      WriteHello(out, r.hello());
      return;
    case v1::EvidenceRecord::kGap: {
      ObjectWriter w(out);
      w.Uint("first_seq", r.gap().first_seq());
      w.Uint("last_seq", r.gap().last_seq());
      w.Close();
      return;
    }
    case v1::EvidenceRecord::kSignal:
      break;
    case v1::EvidenceRecord::BODY_NOT_SET:
      out->append("{}");
      return;
  }
  const v1::Signal& s = r.signal();
  switch (s.kind_case()) {
    case v1::Signal::kPatch:
      WritePatch(out, s.patch());
      return;
    case v1::Signal::kLogShipping:
      WriteLogShipping(out, s.log_shipping());
      return;
    case v1::Signal::kAccessChange:
      WriteAccessChange(out, s.access_change());
      return;
    case v1::Signal::kAccessSnapshot:
      WriteAccessSnapshot(out, s.access_snapshot());
      return;
    case v1::Signal::kCheck: {
      ObjectWriter w(out);
      w.String("detail", s.check().detail());
      w.String("name", s.check().name());
      w.String("status", CheckStatusName(s.check().status()));
      w.Close();
      return;
    }
    case v1::Signal::kCollectorError: {
      ObjectWriter w(out);
      w.String("collector", s.collector_error().collector());
      w.String("error", s.collector_error().error());
      w.Close();
      return;
    }
    case v1::Signal::kTimeSync:
    case v1::Signal::kFirewall:
    case v1::Signal::kServices:
    case v1::Signal::kSshd:
    case v1::Signal::kBackup:
    case v1::Signal::kDiskEncryption:
    case v1::Signal::kMac:
      internal::WriteHostState(out, s);
      return;
    case v1::Signal::kHeartbeat:
    case v1::Signal::KIND_NOT_SET:
      out->append("{}");
      return;
  }
}

}  // namespace

std::string_view SignalKind(const v1::Signal& signal) {
  switch (signal.kind_case()) {
    case v1::Signal::kPatch:
      return "patch";
    case v1::Signal::kLogShipping:
      return "log_shipping";
    case v1::Signal::kAccessChange:
      return "access_change";
    case v1::Signal::kAccessSnapshot:
      return "access_snapshot";
    case v1::Signal::kCheck:
      return "check";
    case v1::Signal::kHeartbeat:
      return "heartbeat";
    case v1::Signal::kCollectorError:
      return "collector_error";
    case v1::Signal::kTimeSync:
      return "time_sync";
    case v1::Signal::kFirewall:
      return "firewall";
    case v1::Signal::kServices:
      return "services";
    case v1::Signal::kSshd:
      return "sshd";
    case v1::Signal::kBackup:
      return "backup";
    case v1::Signal::kDiskEncryption:
      return "disk_encryption";
    case v1::Signal::kMac:
      return "mac";
    case v1::Signal::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

std::string_view RecordKind(const v1::EvidenceRecord& record) {
  switch (record.body_case()) {
    case v1::EvidenceRecord::kHello:
      return "hello";
    case v1::EvidenceRecord::kGap:
      return "gap";
    case v1::EvidenceRecord::kSignal:
      return SignalKind(record.signal());
    case v1::EvidenceRecord::BODY_NOT_SET:
      break;
  }
  return "unknown";
}

namespace {

void AppendRecord(std::string* out, const v1::EvidenceRecord& r, bool with_links,
                  LinkSpans* spans) {
  const std::string_view kind = RecordKind(r);
  const size_t open = out->size();
  ObjectWriter w(out);
  bool kind_written = false;
  // The kind's object sits among the fixed keys wherever its name sorts.
  auto before = [&](std::string_view next_key) {
    if (!kind_written && kind < next_key) {
      w.Key(kind);
      WriteKindObject(out, r);
      kind_written = true;
    }
  };
  if (with_links) {
    before("hash");
    const size_t begin = out->size();
    w.Key("hash");  // hex has nothing to escape
    out->push_back('"');
    AppendHex(out, r.hash());
    out->push_back('"');
    if (spans != nullptr) {
      // First in the object: its separating comma is the one the next
      // member (there always is one: host) writes.
      spans->hash_begin = begin;
      spans->hash_end = out->size() + (begin == open + 1 ? 1 : 0);
    }
  }
  before("host");
  w.String("host", r.host());
  before("index");
  w.Uint("index", r.index());
  before("instance_id");
  w.String("instance_id", r.instance_id());
  before("kind");
  w.String("kind", kind);
  before("observed_at");
  w.Time("observed_at", r.observed_at());
  before("origin");
  w.String("origin", r.origin() == v1::ORIGIN_IMPORTED ? "imported" : "live");
  if (with_links) {
    before("prev_hash");
    const size_t begin = out->size();
    w.Key("prev_hash");  // hex has nothing to escape
    out->push_back('"');
    AppendHex(out, r.prev_hash());
    out->push_back('"');
    if (spans != nullptr) {  // never first: host comes before it
      spans->prev_begin = begin;
      spans->prev_end = out->size();
    }
  }
  before("received_at");
  w.Time("received_at", r.received_at());
  before("seq");
  w.Uint("seq", r.seq());
  before("\xff");
  w.Close();
}

}  // namespace

void AppendCanonicalRecord(std::string* out, const v1::EvidenceRecord& r, bool with_links) {
  AppendRecord(out, r, with_links, nullptr);
}

void AppendCanonicalRecordWithLinks(std::string* out, const v1::EvidenceRecord& r,
                                    LinkSpans* spans) {
  AppendRecord(out, r, true, spans);
}

std::string_view AccessChangeName(v1::AccessChangeKind k) {
  switch (k) {
    case v1::ACCESS_CHANGE_KIND_USER_ADDED:
      return "user_added";
    case v1::ACCESS_CHANGE_KIND_USER_REMOVED:
      return "user_removed";
    case v1::ACCESS_CHANGE_KIND_USER_MODIFIED:
      return "user_modified";
    case v1::ACCESS_CHANGE_KIND_GROUP_CHANGED:
      return "group_changed";
    case v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED:
      return "sudoers_changed";
    case v1::ACCESS_CHANGE_KIND_KEY_ADDED:
      return "key_added";
    case v1::ACCESS_CHANGE_KIND_KEY_REMOVED:
      return "key_removed";
    default:
      return "unspecified";
  }
}

}  // namespace attest::evidence
