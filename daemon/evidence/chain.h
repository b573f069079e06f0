// The per-host evidence hash chain (DESIGN.md "Evidence integrity"):
//   hash(n) = SHA-256(hash(n-1) || canonical JSON of record n)
// with hash(0) = 32 zero bytes. Hashes are raw 32-byte strings here and
// lowercase hex in exported JSON.
#ifndef ATTEST_DAEMON_EVIDENCE_CHAIN_H_
#define ATTEST_DAEMON_EVIDENCE_CHAIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "attest/v1/evidence.pb.h"

namespace attest::evidence {

inline constexpr size_t kHashBytes = 32;

// The hash that precedes the first record of every chain.
const std::string& GenesisHash();

// SHA-256 of `data`, as 32 raw bytes.
std::string Sha256(std::string_view data);

// Computes the link of `record` after `prev_hash` from the record's content
// (ignoring its own prev_hash/hash fields).
std::string ChainHash(std::string_view prev_hash, const v1::EvidenceRecord& record);

// Fills record->prev_hash and record->hash.
void LinkRecord(std::string_view prev_hash, v1::EvidenceRecord* record);

// The access-change commitment (docs/bundle.md, "Checkpoints"): a record
// is an access change when its signal is one; acc(0) = GenesisHash(),
// acc(n) = SHA-256(acc(n-1) || hash of the n-th access-change record).
bool IsAccessChange(const v1::EvidenceRecord& record);
std::string FoldAccessChange(std::string_view acc, std::string_view record_hash);
// True when `state`'s commitment covers its whole chain.
bool AccessCommitmentCurrent(const v1::HostState& state);

// Checks that `records` (one host, in order, starting at index 1) form an
// unbroken chain: consecutive indexes, matching prev_hash links and correct
// hashes. DataLoss names the first bad record.
[[nodiscard]] absl::Status VerifyChain(const std::vector<v1::EvidenceRecord>& records);

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_CHAIN_H_
