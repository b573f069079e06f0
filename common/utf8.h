// UTF-8 validity for what the agent collects. proto3 string fields must be
// valid UTF-8: a signal holding a user name, a GECOS field or a check's
// output in Latin-1 serializes, but cannot be parsed again, so it would
// stick in the agent's spool and be refused by attestd. Such strings are
// repaired where they enter (the spool), visibly: each invalid byte becomes
// U+FFFD, as browsers and ICU do.
#ifndef ATTEST_COMMON_UTF8_H_
#define ATTEST_COMMON_UTF8_H_

#include <string>
#include <string_view>

namespace google::protobuf {
class Message;
}

namespace attest {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with every byte that does not start a well-formed sequence
// replaced by U+FFFD (EF BF BD); valid text is returned unchanged.
std::string RepairUtf8(std::string_view text);

// Repairs every string field of `message` and of the messages inside it
// (repeated fields and map values included; bytes fields are left alone).
// Returns how many fields were changed.
int RepairUtf8Fields(google::protobuf::Message* message);

}  // namespace attest

#endif  // ATTEST_COMMON_UTF8_H_
