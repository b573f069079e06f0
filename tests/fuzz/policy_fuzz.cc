// The policy YAML loader (attestd --policy, SIGHUP): any text is either a
// policy or refused with FILE:LINE: what is wrong.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/engine/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = attest::engine::ParsePolicy(text, "fuzz.yaml");
  if (!policy.ok() && policy.status().message().find("fuzz.yaml") == std::string_view::npos) {
    __builtin_trap();  // a refusal must name the file
  }
  return 0;
}
