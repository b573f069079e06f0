#include "daemon/store/keys.h"

namespace attest::store {

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::optional<uint64_t> ReadBigEndian64(std::string_view in, size_t pos) {
  if (pos + 8 > in.size()) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

std::string EvidencePrefix(std::string_view host) {
  std::string key(host);
  key.push_back('\0');
  return key;
}

std::string EvidenceKey(std::string_view host, uint64_t index) {
  std::string key = EvidencePrefix(host);
  AppendBigEndian64(&key, index);
  return key;
}

std::optional<uint64_t> EvidenceKeyIndex(std::string_view key) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return std::nullopt;
  return ReadBigEndian64(key, key.size() - 8);
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace attest::store
