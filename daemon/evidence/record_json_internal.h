// What record_json.cc and record_json_host.cc share: the canonical object
// writer, and the server-control kinds' objects. Not evidence's API.
#ifndef ATTEST_DAEMON_EVIDENCE_RECORD_JSON_INTERNAL_H_
#define ATTEST_DAEMON_EVIDENCE_RECORD_JSON_INTERNAL_H_

#include <string>
#include <string_view>

#include "attest/v1/signal.pb.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::evidence::internal {

// Writes one JSON object. Callers give keys in ascending byte order (the
// canonical order); record_json_test.cc proves every kind round-trips
// through Json::Parse(...).Canonical() unchanged.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_->push_back(':');
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
  }
  void Uint(std::string_view key, uint64_t value) {
    Key(key);
    StrAppend(out_, value);
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    StrAppend(out_, value);
  }
  void Time(std::string_view key, const google::protobuf::Timestamp& ts) {
    Key(key);
    out_->push_back('"');
    AppendRfc3339(out_, FromProto(ts));
    out_->push_back('"');
  }
  void StringArray(std::string_view key, const google::protobuf::RepeatedPtrField<std::string>& v) {
    Key(key);
    out_->push_back('[');
    for (int i = 0; i < v.size(); ++i) {
      if (i > 0) out_->push_back(',');
      AppendJsonString(out_, v[i]);
    }
    out_->push_back(']');
  }
  // Starts an array of objects under `key`; call Next() before each element.
  void BeginArray(std::string_view key) {
    Key(key);
    out_->push_back('[');
    first_in_array_ = true;
  }
  void Next() {
    if (!first_in_array_) out_->push_back(',');
    first_in_array_ = false;
  }
  void EndArray() { out_->push_back(']'); }
  void Close() { out_->push_back('}'); }
  std::string* out() { return out_; }

 private:
  std::string* out_;
  bool first_ = true;
  bool first_in_array_ = true;
};

// The kind object of a server-control state (time_sync, firewall,
// services, sshd, backup, disk_encryption, mac).
void WriteHostState(std::string* out, const v1::Signal& s);

}  // namespace attest::evidence::internal

#endif  // ATTEST_DAEMON_EVIDENCE_RECORD_JSON_INTERNAL_H_
