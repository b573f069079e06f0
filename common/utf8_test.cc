#include "common/utf8.h"

#include <random>

#include "attest/v1/signal.pb.h"
#include "attest/v1/signal_wire_schema.h"
#include "gtest/gtest.h"

namespace attest {
namespace {

TEST(Utf8Test, WellFormedTextIsValidAndUnchanged) {
  for (std::string_view s : {"", "plain ascii", "Jos\xC3\xA9", "\xE2\x82\xAC 20",
                             "\xF0\x9F\x94\x92 locked", "\xEF\xBB\xBF", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(RepairUtf8(s), s);
  }
}

TEST(Utf8Test, EachBadByteBecomesOneReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{{"Jos\xE9", "Jos" + r},       // Latin-1
                                         {"\xC0\xAF", r + r},          // overlong '/'
                                         {"\xE0\x80\xAF", r + r + r},  // overlong, three bytes
                                         {"\xED\xA0\x80", r + r + r},  // a UTF-16 surrogate
                                         {"\xF4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
                                         {"\xE2\x82", r + r},         // cut short at the end
                                         {"\xE2\x82x", r + r + "x"},  // cut short in the middle
                                         {"a\x80z", "a" + r + "z"},   // a lone continuation byte
                                         {"\xFF\xFE", r + r}}) {
    EXPECT_FALSE(IsValidUtf8(c.in));
    EXPECT_EQ(RepairUtf8(c.in), c.out);
    EXPECT_TRUE(IsValidUtf8(RepairUtf8(c.in)));
  }
}

TEST(Utf8Test, RepairedTextIsAlwaysValid) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 16, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::string repaired = RepairUtf8(s);
    EXPECT_TRUE(IsValidUtf8(repaired));
    if (IsValidUtf8(s)) {
      EXPECT_EQ(repaired, s);
    }
  }
}

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The oracle: the same repair through reflection, over the parsed message.
int RepairByReflection(Message* m) {
  const auto& r = *m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(*m, &fields);
  int changed = 0;
  for (const FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r.FieldSize(*m, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        std::string v = f->is_repeated() ? r.GetRepeatedString(*m, f, i) : r.GetString(*m, f);
        if (IsValidUtf8(v)) continue;
        ++changed;
        v = RepairUtf8(v);
        f->is_repeated() ? r.SetRepeatedString(m, f, i, v) : r.SetString(m, f, v);
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        changed += RepairByReflection(f->is_repeated() ? r.MutableRepeatedMessage(m, f, i)
                                                       : r.MutableMessage(m, f));
      }
    }
  }
  return changed;
}

// Sets every string field below `m` to text that is not UTF-8 (repeated
// ones get a valid and an invalid value), bytes fields to raw bytes, and
// numbers to something non-zero, so the wire form has varints, fixed32 and
// fixed64 fields between the strings.
void Fill(Message* m, int depth, const FieldDescriptor* only_alternative = nullptr) {
  const auto& r = *m->GetReflection();
  const auto* d = m->GetDescriptor();
  for (int k = 0; k < d->field_count(); ++k) {
    const FieldDescriptor* f = d->field(k);
    if (f->real_containing_oneof() && only_alternative && f != only_alternative) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string bad = f->type() == FieldDescriptor::TYPE_BYTES ? "\xFF\x00" : "jos\xE9";
        if (f->is_repeated()) {
          r.AddString(m, f, "ok");
          r.AddString(m, f, bad);
        } else {
          r.SetString(m, f, bad);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 6) {
          Fill(f->is_repeated() ? r.AddMessage(m, f) : r.MutableMessage(m, f), depth + 1);
        }
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        f->is_repeated() ? r.AddInt64(m, f, -3) : r.SetInt64(m, f, -3);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        f->is_repeated() ? r.AddUInt64(m, f, 1ull << 40) : r.SetUInt64(m, f, 1ull << 40);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        f->is_repeated() ? r.AddInt32(m, f, -2) : r.SetInt32(m, f, -2);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        f->is_repeated() ? r.AddUInt32(m, f, 300) : r.SetUInt32(m, f, 300);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        f->is_repeated() ? r.AddDouble(m, f, 0.5) : r.SetDouble(m, f, 0.5);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        f->is_repeated() ? r.AddFloat(m, f, 0.25f) : r.SetFloat(m, f, 0.25f);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        f->is_repeated() ? r.AddBool(m, f, true) : r.SetBool(m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        f->is_repeated() ? r.AddEnumValue(m, f, 1) : r.SetEnumValue(m, f, 1);
        break;
    }
  }
}

TEST(Utf8Test, MessageFieldsAreRepairedOnTheWireAndTheMessageParsesAgain) {
  v1::Signal snapshot;
  auto* user = snapshot.mutable_access_snapshot()->add_users();
  user->set_name("jos\xE9");
  user->set_shell("/bin/bash");
  snapshot.mutable_access_snapshot()->add_users()->set_name("ok");
  snapshot.set_seq(7);
  std::string out = "untouched";
  auto changed = RepairUtf8Wire(snapshot.SerializeAsString(), v1::kSignalWireSchema, &out);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 1);
  v1::Signal parsed;
  ASSERT_TRUE(parsed.ParseFromString(out));
  EXPECT_EQ(parsed.access_snapshot().users(0).name(), "jos\xEF\xBF\xBD");
  EXPECT_EQ(parsed.access_snapshot().users(0).shell(), "/bin/bash");
  EXPECT_EQ(parsed.access_snapshot().users(1).name(), "ok");
  EXPECT_EQ(parsed.seq(), 7u);

  out = "untouched";
  changed = RepairUtf8Wire(parsed.SerializeAsString(), v1::kSignalWireSchema, &out);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, 0);
  EXPECT_EQ(out, "untouched");
}

// Every string field of every kind of signal, at every depth, map entries
// included: the wire repair agrees with reflection, so the generated schema
// misses none of them, and it leaves bytes fields alone.
TEST(Utf8Test, TheWireRepairMatchesReflectionForEverySignalKind) {
  const auto* d = v1::Signal::descriptor();
  int kinds = 0, total_changes = 0;
  for (int k = 0; k < d->field_count(); ++k) {
    if (!d->field(k)->real_containing_oneof()) continue;
    ++kinds;
    v1::Signal signal;
    Fill(&signal, 0, d->field(k));
    const std::string wire = signal.SerializeAsString();
    v1::Signal expected = signal;
    const int expected_changes = RepairByReflection(&expected);
    total_changes += expected_changes;

    std::string out;
    auto changed = RepairUtf8Wire(wire, v1::kSignalWireSchema, &out);
    ASSERT_TRUE(changed.ok()) << d->field(k)->name() << ": " << changed.status();
    EXPECT_EQ(*changed, expected_changes) << d->field(k)->name();
    v1::Signal parsed;
    ASSERT_TRUE(parsed.ParseFromString(*changed > 0 ? out : wire)) << d->field(k)->name();
    EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString()) << d->field(k)->name();
  }
  EXPECT_GE(kinds, 14);
  EXPECT_GE(total_changes, 50);  // the fill reached the strings
}

TEST(Utf8Test, MalformedWireDataIsAnErrorAndNothingIsWritten) {
  v1::Signal signal;
  signal.mutable_check()->set_detail("caf\xE9");
  const std::string wire = signal.SerializeAsString();
  for (const std::string& bad :
       {wire.substr(0, wire.size() - 1), std::string("\x80"),
        std::string("\x0A\x05"
                    "ab"),
        std::string("\x0B"), std::string("\x00", 1), std::string("\x09\x01\x02")}) {
    std::string out = "untouched";
    const auto changed = RepairUtf8Wire(bad, v1::kSignalWireSchema, &out);
    EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(out, "untouched");
  }
}

}  // namespace
}  // namespace attest
