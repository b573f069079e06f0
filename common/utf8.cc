#include "common/utf8.h"

#include <algorithm>

#include "absl/status/status.h"

namespace attest {
namespace {

// Length of the well-formed sequence starting at text[i], or 0.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

bool ReadVarint(std::string_view in, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(in[(*pos)++]);
    *value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

constexpr int kMaxWireDepth = 64;

absl::Status Malformed(const char* what) {
  return absl::InvalidArgumentError(std::string("malformed wire data: ") + what);
}

// Copies `in` (one message of type `type`) to *out, repairing its strings,
// and counts them in *changed. With out == nullptr it only counts.
absl::Status RepairMessage(std::string_view in, const WireSchema& schema, size_t type, int depth,
                           std::string* out, int* changed) {
  if (depth > kMaxWireDepth) return Malformed("nested too deep");
  if (type >= schema.messages.size()) return Malformed("schema has no such message");
  const WireMessage& m = schema.messages[type];
  const auto fields = schema.fields.subspan(m.first, m.count);
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t start = pos;
    uint64_t tag, n;
    if (!ReadVarint(in, &pos, &tag) || (tag >> 3) == 0) return Malformed("bad tag");
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(in, &pos, &n)) return Malformed("bad varint");
        break;
      case 1:
      case 5: {
        const size_t width = (tag & 7) == 1 ? 8 : 4;
        if (in.size() - pos < width) return Malformed("truncated fixed field");
        pos += width;
        break;
      }
      case 2: {
        const size_t tag_end = pos;
        if (!ReadVarint(in, &pos, &n) || n > in.size() - pos) return Malformed("bad length");
        const std::string_view payload = in.substr(pos, n);
        pos += n;
        const uint64_t number = tag >> 3;
        const auto f =
            std::lower_bound(fields.begin(), fields.end(), number,
                             [](const WireField& field, uint64_t k) { return field.number < k; });
        if (f == fields.end() || f->number != number) break;  // bytes, packed or unknown
        std::string body;
        if (f->kind == WireField::kString) {
          if (IsValidUtf8(payload)) break;
          ++*changed;
          if (out == nullptr) continue;
          body = RepairUtf8(payload);
        } else {
          if (auto s = RepairMessage(payload, schema, f->message, depth + 1,
                                     out == nullptr ? nullptr : &body, changed);
              !s.ok()) {
            return s;
          }
          if (out == nullptr) continue;
        }
        out->append(in.substr(start, tag_end - start));
        AppendVarint(out, body.size());
        out->append(body);
        continue;
      }
      default:
        return Malformed("unsupported wire type");  // groups do not exist in proto3
    }
    if (out != nullptr) out->append(in.substr(start, pos - start));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string RepairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

absl::StatusOr<int> RepairUtf8Wire(std::string_view wire, const WireSchema& schema,
                                   std::string* out) {
  // A first pass only looks: almost every signal is valid, and needs no copy.
  int invalid = 0;
  if (auto s = RepairMessage(wire, schema, 0, 0, nullptr, &invalid); !s.ok()) return s;
  if (invalid == 0) return 0;
  std::string repaired;
  repaired.reserve(wire.size() + 2 * static_cast<size_t>(invalid));
  int changed = 0;
  if (auto s = RepairMessage(wire, schema, 0, 0, &repaired, &changed); !s.ok()) return s;
  *out = std::move(repaired);
  return changed;
}

}  // namespace attest
