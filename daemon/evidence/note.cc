#include "daemon/evidence/note.h"

#include <openssl/evp.h>

#include <charconv>

#include "common/strings.h"
#include "common/utf8.h"
#include "daemon/evidence/chain.h"

namespace attest::evidence::note {
namespace {

constexpr std::string_view kDash = "\xe2\x80\x94";  // U+2014 EM DASH

absl::Status Bad(std::string_view what) { return absl::InvalidArgumentError(std::string(what)); }

std::string Be32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}

uint32_t ReadBe32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

// A decimal with no leading zeroes ("0" alone is allowed).
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool HasSpace(std::string_view s) {
  // ASCII spaces, and the Unicode spaces that UTF-8 encodes from U+0085 on.
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return true;
    if (c == 0xc2 && i + 1 < s.size() &&
        (static_cast<unsigned char>(s[i + 1]) == 0x85 ||
         static_cast<unsigned char>(s[i + 1]) == 0xa0))
      return true;
    if (c == 0xe1 && s.substr(i, 3) == "\xe1\x9a\x80") return true;  // U+1680
    if (c == 0xe2 && i + 2 < s.size()) {
      const unsigned char b1 = s[i + 1], b2 = s[i + 2];
      if (b1 == 0x80 && (b2 <= 0x8a || b2 == 0xa8 || b2 == 0xa9 || b2 == 0xaf)) return true;
      if (b1 == 0x81 && b2 == 0x9f) return true;  // U+205F
    }
    if (c == 0xe3 && s.substr(i, 3) == "\xe3\x80\x80") return true;  // U+3000
  }
  return false;
}

}  // namespace

std::string Signature::Line() const {
  return StrCat(kDash, " ", name, " ", Base64Encode(Be32(key_id) + blob), "\n");
}

std::string Note::Format() const {
  std::string out = text;
  out += "\n";
  for (const Signature& s : signatures) out += s.Line();
  return out;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name) || HasSpace(name)) return false;
  for (char c : name) {
    if (c == '+' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

absl::StatusOr<Note> Parse(std::string_view text) {
  if (text.size() > kMaxNoteBytes)
    return Bad(StrCat("a note is at most ", kMaxNoteBytes, " bytes"));
  if (!IsValidUtf8(text)) return Bad("a note must be valid UTF-8");
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      return Bad("a note may hold no control character but newline");
    }
  }
  if (text.empty() || text.back() != '\n') return Bad("a note ends with a newline");
  const size_t split = text.rfind("\n\n");
  if (split == std::string_view::npos) return Bad("a note has a blank line before its signatures");
  Note note;
  note.text = std::string(text.substr(0, split + 1));
  std::string_view rest = text.substr(split + 2);
  if (rest.empty()) return Bad("a note has at least one signature");
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (line.substr(0, kDash.size() + 1) != StrCat(kDash, " ")) {
      return Bad("a signature line starts with U+2014 and a space");
    }
    line.remove_prefix(kDash.size() + 1);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return Bad("a signature line is: — <name> <base64>");
    Signature sig;
    sig.name = std::string(line.substr(0, space));
    if (!ValidKeyName(sig.name)) return Bad(StrCat("bad key name \"", sig.name, "\""));
    std::string blob;
    if (!Base64Decode(line.substr(space + 1), &blob) || blob.size() < 5) {
      return Bad(
          StrCat("the signature of ", sig.name, " is not base64 of a key id and a signature"));
    }
    sig.key_id = ReadBe32(blob);
    sig.blob = blob.substr(4);
    if (note.signatures.size() == kMaxSignatures) {
      return Bad(StrCat("a note has at most ", kMaxSignatures, " signatures"));
    }
    note.signatures.push_back(std::move(sig));
  }
  return note;
}

uint32_t KeyId(std::string_view name, uint8_t type, std::string_view public_key) {
  std::string data(name);
  data.push_back('\n');
  data.push_back(static_cast<char>(type));
  data.append(public_key);
  return ReadBe32(Sha256(data));
}

std::string VerifierKey::Format() const {
  char hex[9];
  snprintf(hex, sizeof(hex), "%08x", key_id);
  return StrCat(name, "+", hex, "+",
                Base64Encode(std::string(1, static_cast<char>(type)) + public_key));
}

absl::StatusOr<VerifierKey> ParseVerifierKey(std::string_view text) {
  const size_t a = text.find('+');
  const size_t b = a == std::string_view::npos ? a : text.find('+', a + 1);
  // The name has no "+", nor the id; base64 may.
  if (b == std::string_view::npos) {
    return Bad("a verifier key is <name>+<8 hex digits>+<base64 key>");
  }
  VerifierKey key;
  key.name = std::string(text.substr(0, a));
  if (!ValidKeyName(key.name)) return Bad(StrCat("bad key name \"", key.name, "\""));
  std::string id, material;
  if (b - a - 1 != 8 || !HexDecode(text.substr(a + 1, 8), &id)) {
    return Bad("a verifier key's id is 8 lowercase hex digits");
  }
  if (!Base64Decode(text.substr(b + 1), &material) || material.size() != 33) {
    return Bad("a verifier key's key is base64 of a type byte and a 32-byte Ed25519 key");
  }
  key.type = static_cast<uint8_t>(material[0]);
  if (key.type != kEd25519 && key.type != kCosignatureV1) {
    return Bad("a verifier key's type must be 0x01 (Ed25519) or 0x04 (Ed25519 cosignature/v1)");
  }
  key.public_key = material.substr(1);
  key.key_id = ReadBe32(id);
  if (KeyId(key.name, key.type, key.public_key) != key.key_id) {
    return Bad("a verifier key's id does not match its name and key");
  }
  return key;
}

std::string Checkpoint::Format() const {
  std::string out = StrCat(origin, "\n", size, "\n", Base64Encode(root), "\n");
  for (const std::string& e : extensions) StrAppend(&out, e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') return Bad("a checkpoint ends with a newline");
  std::vector<std::string_view> lines = Split(text.substr(0, text.size() - 1), "\n");
  if (lines.size() < 3) return Bad("a checkpoint has an origin, a size and a root hash line");
  if (lines.size() > 3 + kMaxExtensionLines) {
    return Bad(StrCat("a checkpoint has at most ", kMaxExtensionLines, " extension lines"));
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return Bad("a checkpoint's origin is not empty");
  if (!ParseDecimal(lines[1], &c.size)) {
    return Bad("a checkpoint's size is a decimal with no leading zeroes");
  }
  if (!Base64Decode(lines[2], &c.root) || c.root.size() != kHashBytes) {
    return Bad("a checkpoint's root hash is base64 of 32 bytes");
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Bad("a checkpoint's extension lines are not empty");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

std::string CosignedMessage(uint64_t time, std::string_view checkpoint_text) {
  return StrCat("cosignature/v1\ntime ", time, "\n", checkpoint_text);
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), 32);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), 64,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

absl::Status VerifySignature(const Note& note, const VerifierKey& key, uint64_t* time) {
  bool found = false;
  for (const Signature& s : note.signatures) {
    if (s.name != key.name || s.key_id != key.key_id) continue;
    found = true;
    if (key.type == kEd25519) {
      if (Ed25519Verify(key.public_key, note.text, s.blob)) return absl::OkStatus();
    } else if (s.blob.size() == 72) {
      uint64_t t = 0;
      for (int i = 0; i < 8; ++i) t = (t << 8) | static_cast<unsigned char>(s.blob[i]);
      if (t < (uint64_t{1} << 63) &&
          Ed25519Verify(key.public_key, CosignedMessage(t, note.text), s.blob.substr(8))) {
        if (time != nullptr) *time = t;
        return absl::OkStatus();
      }
    }
  }
  if (!found) return absl::NotFoundError(StrCat("no signature by ", key.name));
  return absl::DataLossError(StrCat("the signature by ", key.name, " does not verify"));
}

}  // namespace attest::evidence::note
