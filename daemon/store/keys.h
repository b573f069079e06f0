// Key encodings. Integers are big-endian so that bytewise order is numeric
// order; string components end with a 0 byte (ids never contain one), so
// "host \0 index" keys of one host are contiguous and sorted by index.
#ifndef ATTEST_DAEMON_STORE_KEYS_H_
#define ATTEST_DAEMON_STORE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace attest::store {

void AppendBigEndian64(std::string* out, uint64_t v);
// Reads 8 bytes at `pos`; nullopt when `in` is too short.
std::optional<uint64_t> ReadBigEndian64(std::string_view in, size_t pos);

// evidence: host \0 index
std::string EvidenceKey(std::string_view host, uint64_t index);
// The prefix of all evidence keys of `host`.
std::string EvidencePrefix(std::string_view host);
// Index part of an evidence key; nullopt if the key is malformed.
std::optional<uint64_t> EvidenceKeyIndex(std::string_view key);

// The smallest key greater than every key starting with `prefix` ("" when
// there is none, i.e. scan to the end).
std::string PrefixEnd(std::string_view prefix);

}  // namespace attest::store

#endif  // ATTEST_DAEMON_STORE_KEYS_H_
