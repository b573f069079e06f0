// On-disk framing of spool records, kept apart from file handling so it can
// be tested with strings and fuzzed:
//   [u32 little-endian payload length][u32 little-endian CRC32C of payload][payload]
// The payload is a serialized attest.v1.Signal (which carries its seq).
#ifndef ATTEST_AGENTS_LINUX_SPOOL_RECORD_CODEC_H_
#define ATTEST_AGENTS_LINUX_SPOOL_RECORD_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attest/v1/signal.pb.h"

namespace attest::agent {

inline constexpr size_t kRecordHeaderBytes = 8;
inline constexpr uint32_t kMaxRecordBytes = 16 << 20;

// CRC-32C (Castagnoli), as used by iSCSI, ext4 and RocksDB.
uint32_t Crc32c(std::string_view data);

// Appends one framed record.
void EncodeRecord(const v1::Signal& signal, std::string* out);

struct DecodeResult {
  std::vector<v1::Signal> signals;
  // Bytes of `data` that hold whole, valid records. Anything after is a torn
  // tail (crash mid-write) or corruption.
  size_t valid_bytes = 0;
  bool corrupt = false;  // a bad length, CRC or payload stopped decoding
};

// Decodes records from the start of `data` until the end or the first bad
// record. Never reads outside `data`.
DecodeResult DecodeRecords(std::string_view data);

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_SPOOL_RECORD_CODEC_H_
