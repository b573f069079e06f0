// What interchange.cc and interchange_host.cc share: typed field access on
// a line's JSON, and the server-control kinds' parsers. Not evidence's API.
#ifndef ATTEST_DAEMON_EVIDENCE_INTERCHANGE_INTERNAL_H_
#define ATTEST_DAEMON_EVIDENCE_INTERCHANGE_INTERNAL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "attest/v1/signal.pb.h"
#include "common/json.h"
#include "common/json_view.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::evidence::internal {

inline absl::Status Bad(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(attest::StrCat(field, ": ", what));
}

// Typed field access on one JSON object; errors name "kind.field". It
// remembers which keys were asked for, so that a key nobody asks for (a
// typo such as `pending_updates`) is refused instead of silently dropping
// what it carried.
//
// J is the parsed line's type: Json, or JsonView on verify's fast path
// (common/json_view.h). Both read a canonical line the same way.
template <typename J>
class BasicFields {
 public:
  BasicFields(const J& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  // The value of `key` (nullptr when absent), counted as known.
  const J* Find(std::string_view key) const {
    const J* value = object_.Find(key);
    if (value != nullptr) found_.push_back(value);
    return value;
  }
  // Refuses the first key that no accessor asked for. (The values found
  // are kept rather than the keys asked: an object has a dozen keys at
  // most, and a set of strings per object was much of a line's parse.)
  absl::Status NoOtherKeys() const {
    for (const auto& [key, value] : object_.as_object()) {
      if (std::find(found_.begin(), found_.end(), &value) == found_.end()) {
        return Bad(Name(key), "unknown field");
      }
    }
    return absl::OkStatus();
  }

  absl::Status String(std::string_view key, std::string* out, bool required = false) const {
    const J* v = Find(key);
    if (v == nullptr || v->is_null())
      return required ? Bad(Name(key), "required") : absl::OkStatus();
    if (!v->is_string()) return Bad(Name(key), "must be a string");
    *out = v->as_string();
    return absl::OkStatus();
  }
  absl::Status Bool(std::string_view key, bool* out) const {
    const J* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_bool()) return Bad(Name(key), "must be true or false");
    *out = v->as_bool();
    return absl::OkStatus();
  }
  template <typename Int>
  absl::Status Uint(std::string_view key, Int* out) const {
    const J* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    auto u = v->is_int() ? v->as_uint() : std::nullopt;
    if (!u || *u > std::numeric_limits<Int>::max()) {
      return Bad(Name(key), "must be a non-negative integer in range");
    }
    *out = static_cast<Int>(*u);
    return absl::OkStatus();
  }
  absl::Status Int(std::string_view key, int64_t* out) const {
    const J* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    auto i = v->is_int() ? v->as_int() : std::nullopt;
    if (!i) return Bad(Name(key), "must be an integer in range");
    *out = *i;
    return absl::OkStatus();
  }
  absl::Status Time(std::string_view key, google::protobuf::Timestamp* out, bool* present) const {
    const J* v = Find(key);
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
    const J* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_array()) return Bad(Name(key), "must be a list of strings");
    for (const J& e : v->as_array()) {
      if (!e.is_string()) return Bad(Name(key), "must be a list of strings");
      out->Add(std::string(e.as_string()));
    }
    return absl::OkStatus();
  }
  // Each element of a list of objects.
  template <typename Each>  // absl::Status(const BasicFields&)
  absl::Status Objects(std::string_view key, const Each& each) const {
    const J* v = Find(key);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    if (!v->is_array()) return Bad(Name(key), "must be a list of objects");
    for (const J& e : v->as_array()) {
      if (!e.is_object()) return Bad(Name(key), "must be a list of objects");
      const BasicFields item(e, Name(key));
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
      const J* value = Find(key);
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
  const J& object_;
  std::string prefix_;
  mutable absl::InlinedVector<const J*, 16> found_;
};
using Fields = BasicFields<Json>;

#define ATTEST_CONCAT_(a, b) a##b
#define ATTEST_CONCAT(a, b) ATTEST_CONCAT_(a, b)
#define RETURN_IF_ERROR_(var, expr)                       \
  do {                                                    \
    if (absl::Status var = (expr); !var.ok()) return var; \
  } while (0)
#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_(ATTEST_CONCAT(status_, __COUNTER__), expr)

// time_sync, firewall, services, sshd, backup, disk_encryption, mac.
bool IsHostKind(std::string_view kind);
// Parses the state of a kind IsHostKind accepts into `s` (J: Json or
// JsonView).
template <typename J>
absl::Status ParseHostState(std::string_view kind, const BasicFields<J>& f, v1::Signal* s);

}  // namespace attest::evidence::internal

#endif  // ATTEST_DAEMON_EVIDENCE_INTERCHANGE_INTERNAL_H_
