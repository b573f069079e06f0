// C2SP signed notes (c2sp.org/signed-note), checkpoints
// (c2sp.org/tlog-checkpoint) and Ed25519 cosignatures
// (c2sp.org/tlog-cosignature), as docs/bundle.md describes them byte by
// byte.
#ifndef ATTEST_DAEMON_EVIDENCE_NOTE_H_
#define ATTEST_DAEMON_EVIDENCE_NOTE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace attest::evidence::note {

// Bounds on what is parsed: a note of at most 64 KiB with at most 64
// signatures (the spec asks verifiers to accept at least 16), a
// checkpoint of at most 16 extension lines.
inline constexpr size_t kMaxNoteBytes = 64 << 10;
inline constexpr size_t kMaxSignatures = 64;
inline constexpr size_t kMaxExtensionLines = 16;

inline constexpr uint8_t kEd25519 = 0x01;        // a note signature
inline constexpr uint8_t kCosignatureV1 = 0x04;  // an Ed25519 cosignature/v1

struct Signature {
  std::string name;
  uint32_t key_id = 0;
  std::string blob;          // after the key id: 64 bytes, or 8 + 64 for a cosignature
  std::string Line() const;  // "— name base64(key id || blob)\n"
};

struct Note {
  std::string text;  // ends in "\n"
  std::vector<Signature> signatures;
  std::string Format() const;  // text, "\n", the signature lines
};

// Splits a signed note; InvalidArgument names what is wrong (not UTF-8,
// a control character, no blank line, a malformed signature line, too
// big). Signatures are not verified here.
absl::StatusOr<Note> Parse(std::string_view text);

// SHA-256(name || "\n" || type || public key)[:4], big-endian.
uint32_t KeyId(std::string_view name, uint8_t type, std::string_view public_key);

// A key name: non-empty, valid UTF-8, no spaces, no "+", no control
// characters.
bool ValidKeyName(std::string_view name);

// A verifier key, "<name>+<key id, 8 hex>+base64(type || public key)".
struct VerifierKey {
  std::string name;
  uint8_t type = 0;
  uint32_t key_id = 0;
  std::string public_key;  // 32 bytes for Ed25519
  std::string Format() const;
};
absl::StatusOr<VerifierKey> ParseVerifierKey(std::string_view text);

// The checkpoint body (the note text).
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root;  // 32 bytes
  std::vector<std::string> extensions;
  std::string Format() const;
};
absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text);

// The message an Ed25519 cosignature/v1 signs:
// "cosignature/v1\ntime <t>\n" followed by the checkpoint's note text.
std::string CosignedMessage(uint64_t time, std::string_view checkpoint_text);

// Ed25519 over `message` with a raw 32-byte public key.
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

// Verifies the signature of `note` by `key`, when one with the key's name
// and id is present. NotFound: none is; DataLoss: one is and it does not
// verify (for a cosignature, its time is returned in *time).
absl::Status VerifySignature(const Note& note, const VerifierKey& key, uint64_t* time = nullptr);

}  // namespace attest::evidence::note

#endif  // ATTEST_DAEMON_EVIDENCE_NOTE_H_
