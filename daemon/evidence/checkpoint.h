// Checkpoints (docs/bundle.md, "Checkpoints"): a Merkle tree over
// every host's chain head, signed with the daemon's Ed25519 key.
//
// Tree (RFC 6962 shape): leaf = SHA-256(0x00 || host || 0x00 || be64(length)
// || head hash), node = SHA-256(0x01 || left || right), a list of n > 1
// leaves splits at the largest power of two below n; no leaves: SHA-256("").
// Signed bytes: "attest-checkpoint-v1\n<sequence>\n<created_at unix s>\n
// <number of heads>\n<root hex>\n".
#ifndef ATTEST_DAEMON_EVIDENCE_CHECKPOINT_H_
#define ATTEST_DAEMON_EVIDENCE_CHECKPOINT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/evidence.pb.h"

namespace attest::evidence {

std::string MerkleRoot(const google::protobuf::RepeatedPtrField<v1::ChainHead>& heads);
std::string CheckpointSignedBytes(const v1::Checkpoint& checkpoint);

// Format 2 (docs/bundle.md): a head leaf is the canonical JSON
// {"hash":hex,"host":...,"labels":{...},"length":n}, from attest-state-v2
// with "access_changes":n,"access_changes_hash":hex; the heads root is the
// RFC 6962 root over them in host order.
std::string HeadLeaf(const v1::ChainHead& head);
std::string HeadsRoot(const google::protobuf::RepeatedPtrField<v1::ChainHead>& heads);
// The state leaf of a checkpoint: canonical JSON of its sequence, time,
// heads root, number of heads and ledger head ("attest-state-v1", or
// "attest-state-v2" when state_version is 2: its heads carry the
// access-change commitment); for a
// checkpoint made before format 2, its sequence, time, v1 root and number
// of heads ("attest-state-v0").
std::string StateLeaf(const v1::Checkpoint& checkpoint);

// An Ed25519 private key.
class SigningKey {
 public:
  // Loads the PEM key at `path`, or creates one there (mode 0600, written
  // atomically) when there is none.
  static absl::StatusOr<std::unique_ptr<SigningKey>> LoadOrCreate(const std::string& path);
  ~SigningKey();

  std::string Sign(std::string_view message) const;
  const std::string& public_key_pem() const { return public_pem_; }
  const std::string& raw_public_key() const { return raw_public_; }  // 32 bytes
  const std::string& key_id() const { return key_id_; }

 private:
  explicit SigningKey(void* pkey);
  void* pkey_;  // EVP_PKEY*
  std::string public_pem_;
  std::string raw_public_;
  std::string key_id_;
};

// "sha256 of the DER public key", first 16 hex digits; InvalidArgument for
// a PEM that is not an Ed25519 public key.
absl::StatusOr<std::string> KeyId(std::string_view public_pem);

// The raw 32-byte key of an Ed25519 public key (PEM); InvalidArgument for
// anything else.
absl::StatusOr<std::string> RawPublicKey(std::string_view public_pem);

// Fills root, key_id and signature of `checkpoint` (sequence, created_at
// and heads set, heads sorted by host).
void SignCheckpoint(const SigningKey& key, v1::Checkpoint* checkpoint);

// Recomputes the root from the heads and checks the signature against
// `public_pem`. DataLoss says which part is wrong.
absl::Status VerifyCheckpoint(const v1::Checkpoint& checkpoint, std::string_view public_pem);

}  // namespace attest::evidence

#endif  // ATTEST_DAEMON_EVIDENCE_CHECKPOINT_H_
