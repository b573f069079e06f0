#include "common/names.h"

namespace attest {

bool IsValidHostId(std::string_view id) {
  // A leading '.' or '-' would make ".", ".." or "-flag": a path or an
  // option, not a name (attestctl pki refuses the same).
  if (id.empty() || id.size() > 253 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckLabel(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxLabelKeyBytes) {
    return absl::InvalidArgumentError("keys are 1-63 bytes");
  }
  if (value.size() > kMaxLabelValueBytes) {
    return absl::InvalidArgumentError("values are at most 256 bytes");
  }
  return absl::OkStatus();
}

}  // namespace attest
