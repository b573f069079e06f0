// Conversions between absl::Time, protobuf Timestamps and RFC 3339 text.
#ifndef ATTEST_COMMON_TIME_UTIL_H_
#define ATTEST_COMMON_TIME_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace attest {

google::protobuf::Timestamp ToProto(absl::Time t);
// An unset Timestamp (0 seconds, 0 nanos) maps to the Unix epoch.
absl::Time FromProto(const google::protobuf::Timestamp& ts);

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
