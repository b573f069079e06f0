// A small JSON value with a canonical serialization: object keys sorted
// bytewise, no insignificant whitespace, integers only (no floats, so the
// bytes are exactly reproducible), strings escaped minimally. The evidence
// hash chain covers these bytes, so this form is part of the evidence
// format (docs/evidence-format.md) and must never change.
#ifndef ATTEST_COMMON_JSON_H_
#define ATTEST_COMMON_JSON_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace attest {

class Json {
 public:
  using Object = std::map<std::string, Json, std::less<>>;
  using Array = std::vector<Json>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}               // NOLINT: implicit by design
  Json(bool b) : value_(b) {}                             // NOLINT
  Json(int64_t i) : value_(i) {}                          // NOLINT
  Json(uint64_t u) : value_(u) {}                         // NOLINT
  Json(int i) : value_(static_cast<int64_t>(i)) {}        // NOLINT
  Json(unsigned u) : value_(static_cast<uint64_t>(u)) {}  // NOLINT
  Json(std::string s) : value_(std::move(s)) {}           // NOLINT
  Json(std::string_view s) : value_(std::string(s)) {}    // NOLINT
  Json(const char* s) : value_(std::string(s)) {}         // NOLINT
  // Reports only (ratios such as effectiveness): written in the shortest
  // form that reads back exactly. Evidence never holds floats, and Parse
  // refuses them.
  Json(double d) : value_(d) {}             // NOLINT
  Json(Array a) : value_(std::move(a)) {}   // NOLINT
  Json(Object o) : value_(std::move(o)) {}  // NOLINT

  static Json MakeObject() { return Json(Object{}); }
  static Json MakeArray() { return Json(Array{}); }

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const {
    return std::holds_alternative<int64_t>(value_) || std::holds_alternative<uint64_t>(value_);
  }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }

  // Accessors; calling the wrong one on a value of another type aborts.
  bool as_bool() const { return std::get<bool>(value_); }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  const Array& as_array() const { return std::get<Array>(value_); }
  Array& as_array() { return std::get<Array>(value_); }
  const Object& as_object() const { return std::get<Object>(value_); }
  Object& as_object() { return std::get<Object>(value_); }
  // The integer value if it fits in the target type.
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;

  // Object member access; the value must be an object.
  Json& operator[](std::string_view key);
  // nullptr when absent or when this is not an object.
  const Json* Find(std::string_view key) const;
  void push_back(Json v) { as_array().push_back(std::move(v)); }

  // Canonical serialization (see the file comment).
  std::string Canonical() const;
  void AppendCanonical(std::string* out) const;

  // Parses one JSON text. Floats, duplicate keys, invalid UTF-8 escapes and
  // nesting deeper than 64 are rejected with InvalidArgument naming the
  // byte offset.
  static absl::StatusOr<Json> Parse(std::string_view text);
  // The same, accepting fractional numbers: for reports (attestctl's JSON
  // output), never for evidence.
  static absl::StatusOr<Json> ParseReport(std::string_view text);
  double as_double() const { return std::get<double>(value_); }

  friend bool operator==(const Json& a, const Json& b) { return a.value_ == b.value_; }

 private:
  std::variant<std::nullptr_t, bool, int64_t, uint64_t, std::string, Array, Object, double> value_;
};

// Appends `s` as a JSON string literal (with quotes).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace attest

#endif  // ATTEST_COMMON_JSON_H_
