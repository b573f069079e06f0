// LedgerEntry <-> its JSON line (docs/evidence-format.md, "The decision
// ledger"). The form is the same canonical JSON as evidence records (sorted
// keys, no whitespace, minimal escaping, integers only), produced from the
// decision's fields by one rule:
//   * a field at its default (0, "", false, unset, empty list or map) is
//     left out;
//   * integers are JSON integers, strings strings, booleans booleans;
//   * a timestamp is an RFC 3339 UTC string (fraction only when non-zero);
//   * a fraction (a window threshold) is a decimal string, the shortest
//     that reads back to the same IEEE 754 double, e.g. "0.95";
//   * a nested message is an object, a list an array, a map of strings an
//     object.
#ifndef ATTEST_DAEMON_EVIDENCE_LEDGER_JSON_H_
#define ATTEST_DAEMON_EVIDENCE_LEDGER_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "common/json.h"

namespace attest::evidence {

// "policy_version", "window", "approval", "exception", "decommission",
// "sample", "review_campaign" or "review_decision"; "" when no decision is
// set.
std::string_view DecisionKind(const v1::LedgerEntry& entry);

// Any message in the same canonical form (an access review's population
// lines, docs/evidence-format.md).
std::string CanonicalMessage(const google::protobuf::Message& message);

// The reverse, for a JSON object already parsed; InvalidArgument names the
// field under `path`. The caller checks canonical form by writing back.
absl::Status ParseCanonicalMessage(const Json& json, google::protobuf::Message* message,
                                   std::string_view path);

// The entry's canonical JSON; without links exactly the bytes its hash
// covers, with links a ledger.jsonl line (without the newline).
std::string CanonicalLedgerEntry(const v1::LedgerEntry& entry, bool with_links);

// hash = SHA-256(prev_hash || CanonicalLedgerEntry(entry, false)).
std::string LedgerHash(std::string_view prev_hash, const v1::LedgerEntry& entry);

// Parses one ledger.jsonl line (links required). InvalidArgument names the
// field. The caller checks that the line is canonical by writing the entry
// back and comparing.
absl::StatusOr<v1::LedgerEntry> ParseLedgerLine(std::string_view line);

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_LEDGER_JSON_H_
