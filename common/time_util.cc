#include "common/time_util.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace attest {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rem = nanos % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rem));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(
        attest::StrCat("not an RFC 3339 time: \"", text, "\" (", err, ")"));
  }
  return t;
}

absl::StatusOr<absl::Duration> ParseHumanDuration(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && absl::ascii_isspace(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && absl::ascii_isspace(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) return absl::InvalidArgumentError("empty duration");
  absl::Duration total;
  const std::string original(rest);
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
    if (digits == 0 || digits > 12) {
      return absl::InvalidArgumentError(
          attest::StrCat("bad duration \"", original, "\": want e.g. 15m, 2h, 14d"));
    }
    const int64_t n = std::stoll(std::string(rest.substr(0, digits)));
    rest.remove_prefix(digits);
    size_t unit_len = 0;
    while (unit_len < rest.size() && absl::ascii_isalpha(rest[unit_len])) ++unit_len;
    const std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    if (unit == "ms") total += absl::Milliseconds(n);
    else if (unit == "s") total += absl::Seconds(n);
    else if (unit == "m") total += absl::Minutes(n);
    else if (unit == "h") total += absl::Hours(n);
    else if (unit == "d") total += absl::Hours(24 * n);
    else if (unit == "w") total += absl::Hours(24 * 7 * n);
    else {
      return absl::InvalidArgumentError(attest::StrCat(
          "bad duration \"", original, "\": unknown unit \"", unit, "\" (use ms, s, m, h, d, w)"));
    }
  }
  return total;
}

}  // namespace attest
