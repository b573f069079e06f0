#include "common/utf8.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

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

bool RepairString(const google::protobuf::Reflection& r, google::protobuf::Message* m,
                  const google::protobuf::FieldDescriptor* f, int index) {
  std::string scratch;
  const std::string& value = index < 0 ? r.GetStringReference(*m, f, &scratch)
                                       : r.GetRepeatedStringReference(*m, f, index, &scratch);
  if (IsValidUtf8(value)) return false;
  std::string repaired = RepairUtf8(value);
  if (index < 0) {
    r.SetString(m, f, std::move(repaired));
  } else {
    r.SetRepeatedString(m, f, index, std::move(repaired));
  }
  return true;
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

int RepairUtf8Fields(google::protobuf::Message* message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& r = *message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(*message, &fields);
  int changed = 0;
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r.FieldSize(*message, f); ++i)
          changed += RepairString(r, message, f, i);
      } else {
        changed += RepairString(r, message, f, -1);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Map entries are messages too: their string keys and values are
      // repaired like any other field.
      if (f->is_repeated()) {
        for (int i = 0; i < r.FieldSize(*message, f); ++i) {
          changed += RepairUtf8Fields(r.MutableRepeatedMessage(message, f, i));
        }
      } else {
        changed += RepairUtf8Fields(r.MutableMessage(message, f));
      }
    }
  }
  return changed;
}

}  // namespace attest
