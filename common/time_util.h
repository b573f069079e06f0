// Conversions between absl::Time, protobuf Timestamps and RFC 3339 text.
#ifndef ATTEST_COMMON_TIME_UTIL_H_
#define ATTEST_COMMON_TIME_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace attest {

// Unix seconds and the nanoseconds within that second (always 0..999999999).
std::pair<int64_t, int64_t> UnixSecondsAndNanos(absl::Time t);

// Inline, so that each program builds them against the Timestamp it links:
// protobuf's full runtime, or the lite one attest-agent uses
// (proto/CMakeLists.txt). attest_common itself links neither.
inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const auto [seconds, nanos] = UnixSecondsAndNanos(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(nanos));
  return ts;
}
// An unset Timestamp (0 seconds, 0 nanos) maps to the Unix epoch.
inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// RFC 3339 in UTC with a "Z" suffix, e.g. "2026-01-01T00:00:00Z". Fractional
// seconds are printed only when non-zero (up to nanoseconds).
std::string FormatRfc3339(absl::Time t);
void AppendRfc3339(std::string* out, absl::Time t);
// Parses RFC 3339 with any offset; returns InvalidArgument on bad input.
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text);

// Parses durations written like "15m", "2h", "14d", "90s", "500ms", "1h30m".
// "d" is 24 hours. Returns InvalidArgument for anything else.
absl::StatusOr<absl::Duration> ParseHumanDuration(std::string_view text);

}  // namespace attest

#endif  // ATTEST_COMMON_TIME_UTIL_H_
