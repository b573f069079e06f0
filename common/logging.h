// Process-wide logging setup over spdlog.
#ifndef ATTEST_COMMON_LOGGING_H_
#define ATTEST_COMMON_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace attest {

// Configures the default spdlog logger to write to stderr.
// `format` is "text" or "json" (one JSON object per line with ts, level,
// logger and msg); `level` is trace|debug|info|warn|error. Returns
// InvalidArgument for other values.
[[nodiscard]] absl::Status InitLogging(const std::string& program, const std::string& format,
                                       const std::string& level);

}  // namespace attest

#endif  // ATTEST_COMMON_LOGGING_H_
