// The agent's spool record decoder: never reads outside its input, and
// what it calls valid re-encodes to exactly those bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agents/linux/spool/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const attest::agent::DecodeResult r = attest::agent::DecodeRecords(bytes);
  if (r.valid_bytes > size) __builtin_trap();
  std::string again;
  for (const auto& s : r.signals) attest::agent::EncodeRecord(s, &again);
  if (again.size() != r.valid_bytes) __builtin_trap();
  return 0;
}
