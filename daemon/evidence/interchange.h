// The evidence interchange format (docs/evidence-format.md) read back: one
// JSON Lines record -> the hello or signal it carries. attestctl import
// parses with this; attestd then validates, deduplicates and chains the
// result like live ingest. Chain fields (index, hashes, received_at,
// origin) are ignored, so an export can be imported elsewhere.
#ifndef ATTEST_DAEMON_EVIDENCE_INTERCHANGE_H_
#define ATTEST_DAEMON_EVIDENCE_INTERCHANGE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "common/json.h"
#include "common/json_view.h"

namespace attest::evidence {

// InvalidArgument naming the field for anything malformed: bad JSON, a
// missing or mistyped field, an unknown kind or enum name, a bad time.
// Gap records are refused: attestd makes those itself.
absl::StatusOr<v1::ImportRecord> ParseInterchangeLine(std::string_view line);
// The same for a line already parsed (attestctl verify parses each once).
absl::StatusOr<v1::ImportRecord> ParseInterchangeJson(const Json& record);
// The same into `out`, which may live on an arena (verify's records do);
// on an error, `out` holds part of the record and is to be dropped. Also
// for a line read as a JsonView (verify's fast path): where both
// Json::Parse and JsonDoc::Parse read a line, the results are the same.
absl::Status ParseInterchangeJson(const Json& record, v1::ImportRecord* out);
absl::Status ParseInterchangeJson(const JsonView& record, v1::ImportRecord* out);

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_INTERCHANGE_H_
