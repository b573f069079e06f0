#include "daemon/evidence/ledger_json.h"

#include <charconv>
#include <cmath>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace attest::evidence {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsTimestamp(const google::protobuf::Descriptor* d) {
  return d->full_name() == "google.protobuf.Timestamp";
}

std::string Fraction(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, ec == std::errc() ? end : buf);
}

Json Scalar(const Message& m, const Reflection& r, const FieldDescriptor* f, int i);

Json ToJson(const Message& m) {
  Json out = Json::MakeObject();
  const Reflection& r = *m.GetReflection();
  const google::protobuf::Descriptor& d = *m.GetDescriptor();
  if (IsTimestamp(&d)) {
    const auto& ts = static_cast<const google::protobuf::Timestamp&>(m);
    return Json(FormatRfc3339(FromProto(ts)));
  }
  for (int k = 0; k < d.field_count(); ++k) {
    const FieldDescriptor* f = d.field(k);
    if (f->is_map()) {
      if (r.FieldSize(m, f) == 0) continue;
      Json object = Json::MakeObject();
      const FieldDescriptor* key = f->message_type()->map_key();
      const FieldDescriptor* value = f->message_type()->map_value();
      for (int i = 0; i < r.FieldSize(m, f); ++i) {
        const Message& entry = r.GetRepeatedMessage(m, f, i);
        const Reflection& er = *entry.GetReflection();
        object[er.GetString(entry, key)] = Json(er.GetString(entry, value));
      }
      out[f->name()] = std::move(object);
    } else if (f->is_repeated()) {
      if (r.FieldSize(m, f) == 0) continue;
      Json array = Json::MakeArray();
      for (int i = 0; i < r.FieldSize(m, f); ++i) array.push_back(Scalar(m, r, f, i));
      out[f->name()] = std::move(array);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r.HasField(m, f)) out[f->name()] = ToJson(r.GetMessage(m, f));
    } else if (r.HasField(m, f)) {  // proto3 scalars: set means not default
      out[f->name()] = Scalar(m, r, f, -1);
    }
  }
  return out;
}

// Field `f` of `m` (element `i` when repeated, else -1).
Json Scalar(const Message& m, const Reflection& r, const FieldDescriptor* f, int i) {
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return Json(rep ? r.GetRepeatedString(m, f, i) : r.GetString(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return Json(rep ? r.GetRepeatedBool(m, f, i) : r.GetBool(m, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return Json(static_cast<int64_t>(rep ? r.GetRepeatedInt32(m, f, i) : r.GetInt32(m, f)));
    case FieldDescriptor::CPPTYPE_INT64:
      return Json(static_cast<int64_t>(rep ? r.GetRepeatedInt64(m, f, i) : r.GetInt64(m, f)));
    case FieldDescriptor::CPPTYPE_UINT32:
      return Json(static_cast<uint64_t>(rep ? r.GetRepeatedUInt32(m, f, i) : r.GetUInt32(m, f)));
    case FieldDescriptor::CPPTYPE_UINT64:
      return Json(static_cast<uint64_t>(rep ? r.GetRepeatedUInt64(m, f, i) : r.GetUInt64(m, f)));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Json(Fraction(rep ? r.GetRepeatedDouble(m, f, i) : r.GetDouble(m, f)));
    case FieldDescriptor::CPPTYPE_ENUM:
      return Json(rep ? r.GetRepeatedEnum(m, f, i)->name() : r.GetEnum(m, f)->name());
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ToJson(rep ? r.GetRepeatedMessage(m, f, i) : r.GetMessage(m, f));
    default:
      return Json();  // no float fields in decisions
  }
}

absl::Status Bad(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(path, ": ", what));
}

absl::Status FromJson(const Json& j, Message* m, const std::string& path);

absl::Status ScalarFromJson(const Json& j, Message* m, const FieldDescriptor* f,
                            const std::string& path) {
  const Reflection& r = *m->GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (!j.is_string()) return Bad(path, "must be a string");
      rep ? r.AddString(m, f, j.as_string()) : r.SetString(m, f, j.as_string());
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!j.is_bool()) return Bad(path, "must be true or false");
      rep ? r.AddBool(m, f, j.as_bool()) : r.SetBool(m, f, j.as_bool());
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      const std::optional<int64_t> got = j.is_int() ? j.as_int() : std::nullopt;
      const bool narrow = f->cpp_type() == FieldDescriptor::CPPTYPE_INT32;
      const int64_t v = got.value_or(0);
      if (!got.has_value() || (narrow && (v < INT32_MIN || v > INT32_MAX)))
        return Bad(path, "must be an integer in range");
      if (narrow) {
        rep ? r.AddInt32(m, f, static_cast<int32_t>(v)) : r.SetInt32(m, f, static_cast<int32_t>(v));
      } else {
        rep ? r.AddInt64(m, f, v) : r.SetInt64(m, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      const std::optional<uint64_t> got = j.is_int() ? j.as_uint() : std::nullopt;
      const bool narrow = f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
      const uint64_t v = got.value_or(0);
      if (!got.has_value() || (narrow && v > UINT32_MAX))
        return Bad(path, "must be a non-negative integer in range");
      if (narrow) {
        rep ? r.AddUInt32(m, f, static_cast<uint32_t>(v))
            : r.SetUInt32(m, f, static_cast<uint32_t>(v));
      } else {
        rep ? r.AddUInt64(m, f, v) : r.SetUInt64(m, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      if (!j.is_string()) return Bad(path, "must be a decimal string");
      const std::string& s = j.as_string();
      double d = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d))
        return Bad(path, "must be a decimal string");
      rep ? r.AddDouble(m, f, d) : r.SetDouble(m, f, d);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (!j.is_string()) return Bad(path, "must be a string");
      const auto* v = f->enum_type()->FindValueByName(j.as_string());
      if (v == nullptr) return Bad(path, StrCat("unknown value \"", j.as_string(), "\""));
      rep ? r.AddEnum(m, f, v) : r.SetEnum(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return FromJson(j, rep ? r.AddMessage(m, f) : r.MutableMessage(m, f), path);
    default:
      return Bad(path, "unsupported field");
  }
}

absl::Status FromJson(const Json& j, Message* m, const std::string& path) {
  if (IsTimestamp(m->GetDescriptor())) {
    if (!j.is_string()) return Bad(path, "must be an RFC 3339 string");
    auto t = ParseRfc3339(j.as_string());
    if (!t.ok()) return Bad(path, View(t.status().message()));
    *static_cast<google::protobuf::Timestamp*>(m) = ToProto(*t);
    return absl::OkStatus();
  }
  if (!j.is_object()) return Bad(path, "must be an object");
  const Reflection& r = *m->GetReflection();
  for (const auto& [key, value] : j.as_object()) {
    const std::string at = path.empty() ? key : StrCat(path, ".", key);
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(key);
    if (f == nullptr) return Bad(at, "unknown field");
    if (f->is_map()) {
      if (!value.is_object()) return Bad(at, "must be an object of strings");
      for (const auto& [k, v] : value.as_object()) {
        if (!v.is_string()) return Bad(StrCat(at, ".", k), "must be a string");
        Message* entry = r.AddMessage(m, f);
        entry->GetReflection()->SetString(entry, f->message_type()->map_key(), k);
        entry->GetReflection()->SetString(entry, f->message_type()->map_value(), v.as_string());
      }
    } else if (f->is_repeated()) {
      if (!value.is_array()) return Bad(at, "must be a list");
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        if (absl::Status s = ScalarFromJson(value.as_array()[i], m, f, StrCat(at, "[", i, "]"));
            !s.ok())
          return s;
      }
    } else if (absl::Status s = ScalarFromJson(value, m, f, at); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

const Message* Decision(const v1::LedgerEntry& e) {
  switch (e.decision_case()) {
    case v1::LedgerEntry::kPolicyVersion:
      return &e.policy_version();
    case v1::LedgerEntry::kWindow:
      return &e.window();
    case v1::LedgerEntry::kApproval:
      return &e.approval();
    case v1::LedgerEntry::kException:
      return &e.exception();
    case v1::LedgerEntry::kDecommission:
      return &e.decommission();
    case v1::LedgerEntry::kSample:
      return &e.sample();
    case v1::LedgerEntry::kReviewCampaign:
      return &e.review_campaign();
    case v1::LedgerEntry::kReviewDecision:
      return &e.review_decision();
    default:
      return nullptr;
  }
}

}  // namespace

std::string_view DecisionKind(const v1::LedgerEntry& e) {
  const Message* d = Decision(e);
  if (d == nullptr) return "";
  return e.GetDescriptor()->FindFieldByNumber(e.decision_case())->name();
}

std::string CanonicalMessage(const google::protobuf::Message& message) {
  return ToJson(message).Canonical();
}

absl::Status ParseCanonicalMessage(const Json& json, google::protobuf::Message* message,
                                   std::string_view path) {
  return FromJson(json, message, std::string(path));
}

std::string CanonicalLedgerEntry(const v1::LedgerEntry& e, bool with_links) {
  Json j = Json::MakeObject();
  j["index"] = Json(e.index());
  j["recorded_at"] = Json(FormatRfc3339(FromProto(e.recorded_at())));
  if (e.has_backfilled_at()) j["backfilled_at"] = Json(FormatRfc3339(FromProto(e.backfilled_at())));
  if (const Message* d = Decision(e); d != nullptr) {
    j["kind"] = Json(DecisionKind(e));
    j[DecisionKind(e)] = ToJson(*d);
  }
  if (with_links) {
    j["prev_hash"] = Json(HexEncode(e.prev_hash()));
    j["hash"] = Json(HexEncode(e.hash()));
  }
  return j.Canonical();
}

std::string LedgerHash(std::string_view prev_hash, const v1::LedgerEntry& e) {
  std::string data(prev_hash);
  data += CanonicalLedgerEntry(e, /*with_links=*/false);
  return Sha256(data);
}

absl::StatusOr<v1::LedgerEntry> ParseLedgerLine(std::string_view line) {
  auto j = Json::Parse(line);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return Bad("entry", "must be a JSON object");
  v1::LedgerEntry e;
  const Json* kind = j->Find("kind");
  if (kind == nullptr || !kind->is_string()) return Bad("kind", "required");
  const FieldDescriptor* decision = e.GetDescriptor()->FindFieldByName(kind->as_string());
  if (decision == nullptr || decision->containing_oneof() == nullptr) {
    return Bad("kind", StrCat("unknown decision \"", kind->as_string(), "\""));
  }
  for (const auto& [key, value] : j->as_object()) {
    if (key == "kind") continue;
    if (key == "index") {
      auto v = value.is_int() ? value.as_uint() : std::nullopt;
      if (!v || *v == 0) return Bad("index", "must be a positive integer");
      e.set_index(*v);
    } else if (key == "recorded_at" || key == "backfilled_at") {
      if (absl::Status s = FromJson(
              value, key == "recorded_at" ? e.mutable_recorded_at() : e.mutable_backfilled_at(),
              key);
          !s.ok())
        return s;
    } else if (key == "prev_hash" || key == "hash") {
      std::string bytes;
      if (!value.is_string() || !HexDecode(value.as_string(), &bytes) || bytes.size() != kHashBytes)
        return Bad(key, "must be 64 lowercase hex digits");
      key == "hash" ? e.set_hash(bytes) : e.set_prev_hash(bytes);
    } else if (key == kind->as_string()) {
      Message* m = e.GetReflection()->MutableMessage(&e, decision);
      if (absl::Status s = FromJson(value, m, key); !s.ok()) return s;
    } else {
      return Bad(key, "unknown field");
    }
  }
  if (e.index() == 0) return Bad("index", "required");
  if (!e.has_recorded_at()) return Bad("recorded_at", "required");
  if (e.decision_case() == v1::LedgerEntry::DECISION_NOT_SET)
    return Bad(kind->as_string(), "required");
  if (e.hash().empty() || e.prev_hash().empty())
    return Bad("hash", "prev_hash and hash are required");
  return e;
}

}  // namespace attest::evidence
