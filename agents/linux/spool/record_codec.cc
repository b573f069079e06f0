#include "agents/linux/spool/record_codec.h"

#include <array>

namespace attest::agent {
namespace {

std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(std::string_view in, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeTable();
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

void EncodeRecord(const v1::Signal& signal, std::string* out) {
  const std::string payload = signal.SerializeAsString();
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc32c(payload));
  out->append(payload);
}

DecodeResult DecodeRecords(std::string_view data) {
  DecodeResult result;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < kRecordHeaderBytes) {
      result.corrupt = true;  // torn header
      break;
    }
    const uint32_t length = GetU32(data, pos);
    const uint32_t crc = GetU32(data, pos + 4);
    if (length == 0 || length > kMaxRecordBytes ||
        length > data.size() - pos - kRecordHeaderBytes) {
      result.corrupt = true;
      break;
    }
    const std::string_view payload = data.substr(pos + kRecordHeaderBytes, length);
    v1::Signal signal;
    if (Crc32c(payload) != crc ||
        !signal.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      result.corrupt = true;
      break;
    }
    result.signals.push_back(std::move(signal));
    pos += kRecordHeaderBytes + length;
    result.valid_bytes = pos;
  }
  return result;
}

}  // namespace attest::agent
