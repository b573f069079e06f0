// String concatenation that accepts std::string_view and absl::string_view
// alike. Debian's abseil is built with its own absl::string_view (not an
// alias of std::string_view), so absl::StrCat cannot take std::string_view.
#ifndef ATTEST_COMMON_STRINGS_H_
#define ATTEST_COMMON_STRINGS_H_

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace attest {
namespace strings_internal {

inline void Append(std::string* out, std::string_view s) { out->append(s); }
inline void Append(std::string* out, const std::string& s) { out->append(s); }
inline void Append(std::string* out, const char* s) { out->append(s); }
inline void Append(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }
inline void Append(std::string* out, char c) { out->push_back(c); }
inline void Append(std::string* out, bool b) { out->append(b ? "true" : "false"); }
template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void Append(std::string* out, T v) {
  out->append(std::to_string(v));
}
void Append(std::string* out, double v);

}  // namespace strings_internal

// Concatenates strings, string views of either kind, characters and numbers.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(&out, args), ...);
  return out;
}

// Appends to `out` like StrCat.
template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::Append(out, args), ...);
}

// Splits `text` at every `separator` (empty pieces kept). The views point
// into `text`.
std::vector<std::string_view> Split(std::string_view text, std::string_view separator);

// `s` without leading and trailing ASCII whitespace.
std::string_view TrimWhitespace(std::string_view s);

// The words of `text`: the pieces between runs of ASCII whitespace, none
// empty. The views point into `text`.
std::vector<std::string_view> SplitWords(std::string_view text);

// ASCII letters in lower case.
std::string AsciiLower(std::string_view s);

// Lowercase hex of raw bytes.
std::string HexEncode(std::string_view bytes);
// The same, appended to `out` (no string of its own: hot paths); `bytes`
// must not point into `out`.
void AppendHex(std::string* out, std::string_view bytes);
// Lowercase hex -> bytes; false (out unspecified) for anything else,
// uppercase digits included.
bool HexDecode(std::string_view hex, std::string* out);

// Standard base64 (RFC 4648 section 4) with padding.
std::string Base64Encode(std::string_view bytes);
// Strict inverse of Base64Encode: the standard alphabet, padding required,
// unused bits zero, nothing else (no whitespace). False otherwise.
bool Base64Decode(std::string_view text, std::string* out);

// A std::string_view of an absl::string_view (e.g. absl::Status::message()).
inline std::string_view View(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace attest

#endif  // ATTEST_COMMON_STRINGS_H_
