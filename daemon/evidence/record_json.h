// EvidenceRecord -> the evidence interchange format (docs/evidence-format.md):
// one canonical JSON object per record, with `host`, `seq`, `observed_at`,
// `kind` and one object named after the kind. Written straight into a
// buffer in sorted-key order: this runs once per stored signal.
#ifndef ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_
#define ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_

#include <string>
#include <string_view>

#include "attest/v1/evidence.pb.h"

namespace attest::evidence {

// The kind name of a record: hello, patch, log_shipping, access_change,
// access_snapshot, check, heartbeat, collector_error or gap.
std::string_view RecordKind(const v1::EvidenceRecord& record);
// The same for one signal: patch, log_shipping, ... ("unknown" when unset).
std::string_view SignalKind(const v1::Signal& signal);

// The interchange name of an access change kind, e.g. "user_added".
std::string_view AccessChangeName(v1::AccessChangeKind kind);

// Appends the record's canonical JSON. Without links, this is exactly what
// the chain hash covers; with links, `prev_hash` and `hash` (hex) are
// included, as in an export.
void AppendCanonicalRecord(std::string* out, const v1::EvidenceRecord& record, bool with_links);

// Where the links went in a record appended with them: byte ranges of
// `out`, each a link member with the one comma that separates it, so that
// `out` without both ranges is the record without links, byte for byte
// (what the chain hash covers). Verify serializes a line once this way.
struct LinkSpans {
  size_t hash_begin = 0, hash_end = 0;
  size_t prev_begin = 0, prev_end = 0;
};
void AppendCanonicalRecordWithLinks(std::string* out, const v1::EvidenceRecord& record,
                                    LinkSpans* spans);

inline std::string CanonicalRecord(const v1::EvidenceRecord& record, bool with_links) {
  std::string out;
  AppendCanonicalRecord(&out, record, with_links);
  return out;
}

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_
