// The rules for names that travel in a hello: host ids, instance ids and
// labels. attestd refuses a hello that breaks them; the agent checks its own
// configuration against the same rules, so a bad --label or --host-id stops
// it at start instead of making every hello fail.
#ifndef ATTEST_COMMON_NAMES_H_
#define ATTEST_COMMON_NAMES_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace attest {

inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxLabelKeyBytes = 63;
inline constexpr size_t kMaxLabelValueBytes = 256;

// 1-253 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
bool IsValidHostId(std::string_view id);

// INVALID_ARGUMENT naming what is wrong with one label ("keys are 1-63
// bytes", "values are at most 256 bytes"), without a field prefix.
absl::Status CheckLabel(std::string_view key, std::string_view value);

}  // namespace attest

#endif  // ATTEST_COMMON_NAMES_H_
