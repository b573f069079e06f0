// UTF-8 validity for what the agent collects. proto3 string fields must be
// valid UTF-8: a signal holding a user name, a GECOS field or a check's
// output in Latin-1 serializes, but cannot be parsed again, so it would
// stick in the agent's spool and be refused by attestd. Such strings are
// repaired where they enter (the spool), visibly: each invalid byte becomes
// U+FFFD, as browsers and ICU do.
#ifndef ATTEST_COMMON_UTF8_H_
#define ATTEST_COMMON_UTF8_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace attest {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with every byte that does not start a well-formed sequence
// replaced by U+FFFD (EF BF BD); valid text is returned unchanged.
std::string RepairUtf8(std::string_view text);

// Where the UTF-8 strings sit in a message's wire form. proto/wire_schema_gen
// writes one for attest.v1.Signal (attest/v1/signal_wire_schema.h) from the
// descriptors at build time, so the agent repairs signals without
// descriptors or reflection at run time.
struct WireField {
  enum Kind : uint8_t { kString, kMessage };
  uint32_t number;
  Kind kind;
  uint16_t message;  // kMessage: index into WireSchema::messages
};
struct WireMessage {
  uint32_t first;  // its fields: WireSchema::fields[first, first + count), by number
  uint32_t count;
};
struct WireSchema {
  std::span<const WireMessage> messages;  // messages[0] is the root type
  std::span<const WireField> fields;
};

// Repairs every string field in `wire`, a serialized message of the schema's
// root type, and in the messages inside it (repeated fields and map entries
// included; bytes and unknown fields are copied as they are). Returns how
// many strings were changed; when that is more than 0, *out holds the
// repaired wire form. Malformed wire data (or nesting deeper than 64) is
// InvalidArgument.
absl::StatusOr<int> RepairUtf8Wire(std::string_view wire, const WireSchema& schema,
                                   std::string* out);

}  // namespace attest

#endif  // ATTEST_COMMON_UTF8_H_
