// The evidence interchange parser (attestctl import): any line either
// parses or is refused with a reason; a parsed line round-trips through
// the canonical JSON the parser itself accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json.h"
#include "daemon/evidence/interchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto record = attest::evidence::ParseInterchangeLine(line);
  if (!record.ok() && record.status().message().empty()) __builtin_trap();
  // The JSON layer on its own, both strict and for reports.
  auto strict = attest::Json::Parse(line);
  if (strict.ok()) {
    auto again = attest::Json::Parse(strict->Canonical());
    if (!again.ok() || again->Canonical() != strict->Canonical()) __builtin_trap();
  }
  (void)attest::Json::ParseReport(line);
  return 0;
}
