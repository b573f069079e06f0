// EvidenceRecord <-> the evidence interchange format (docs/evidence-format.md):
// one JSON object per record, with `host`, `seq`, `observed_at`, `kind` and
// one object named after the kind.
#ifndef ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_
#define ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_

#include <string_view>

#include "attest/v1/evidence.pb.h"
#include "common/json.h"

namespace attest::evidence {

// The kind name of a record: hello, patch, log_shipping, access_change,
// access_snapshot, check, heartbeat, collector_error or gap.
std::string_view RecordKind(const v1::EvidenceRecord& record);

// The record as a JSON object, without `prev_hash` and `hash`: exactly the
// value whose canonical bytes the chain hash covers.
Json RecordToJson(const v1::EvidenceRecord& record);

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_RECORD_JSON_H_
