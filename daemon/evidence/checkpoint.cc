#include "daemon/evidence/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/merkle.h"

namespace attest::evidence {
namespace {

// Format 1's binary head leaf (hashed with its 0x00 prefix by merkle::LeafHash).
std::string Leaf(const v1::ChainHead& h) {
  std::string data = h.host();
  data.push_back('\0');
  for (int i = 7; i >= 0; --i) data.push_back(static_cast<char>((h.length() >> (8 * i)) & 0xff));
  data += h.hash();
  return merkle::LeafHash(data);
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string PublicPem(EVP_PKEY* pkey) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), pkey);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::unique_ptr<EVP_PKEY, PkeyDeleter> ReadPublic(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key && EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) key.reset();
  return key;
}

std::string KeyIdOf(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pkey, &der);
  std::string id =
      HexEncode(Sha256(std::string_view(reinterpret_cast<char*>(der), n))).substr(0, 16);
  OPENSSL_free(der);
  return id;
}

}  // namespace

std::string MerkleRoot(const google::protobuf::RepeatedPtrField<v1::ChainHead>& heads) {
  if (heads.empty()) return Sha256("");
  std::vector<std::string> leaves;
  leaves.reserve(heads.size());
  for (const v1::ChainHead& h : heads) leaves.push_back(Leaf(h));
  return merkle::Root(leaves, leaves.size());
}

std::string HeadLeaf(const v1::ChainHead& h) {
  Json j = Json::MakeObject();
  j["hash"] = Json(HexEncode(h.hash()));
  j["host"] = Json(h.host());
  Json labels = Json::MakeObject();
  for (const auto& [k, v] : h.labels()) labels[k] = Json(v);
  j["labels"] = std::move(labels);
  j["length"] = Json(h.length());
  if (!h.access_changes_hash().empty()) {
    j["access_changes"] = Json(h.access_changes());
    j["access_changes_hash"] = Json(HexEncode(h.access_changes_hash()));
  }
  return j.Canonical();
}

std::string HeadsRoot(const google::protobuf::RepeatedPtrField<v1::ChainHead>& heads) {
  std::vector<std::string> leaves;
  leaves.reserve(heads.size());
  for (const v1::ChainHead& h : heads) leaves.push_back(merkle::LeafHash(HeadLeaf(h)));
  return merkle::Root(leaves, leaves.size());
}

std::string StateLeaf(const v1::Checkpoint& c) {
  Json j = Json::MakeObject();
  j["created_at"] = Json(FormatRfc3339(FromProto(c.created_at())));
  j["hosts"] = Json(static_cast<uint64_t>(c.heads_size()));
  j["sequence"] = Json(c.sequence());
  if (c.heads_root().empty()) {
    j["format"] = Json("attest-state-v0");
    j["heads_root"] = Json(HexEncode(c.root()));
  } else {
    j["format"] = Json(c.state_version() == 2 ? "attest-state-v2" : "attest-state-v1");
    j["heads_root"] = Json(HexEncode(c.heads_root()));
    j["ledger_head"] = Json(HexEncode(c.ledger_head()));
    j["ledger_length"] = Json(c.ledger_length());
  }
  return j.Canonical();
}

std::string CheckpointSignedBytes(const v1::Checkpoint& c) {
  return attest::StrCat("attest-checkpoint-v1\n", c.sequence(), "\n", c.created_at().seconds(),
                        "\n", c.heads_size(), "\n", HexEncode(c.root()), "\n");
}

SigningKey::SigningKey(void* pkey) : pkey_(pkey) {
  auto* k = static_cast<EVP_PKEY*>(pkey_);
  public_pem_ = PublicPem(k);
  raw_public_.resize(32);
  size_t len = raw_public_.size();
  EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(raw_public_.data()), &len);
  raw_public_.resize(len);
  key_id_ = KeyIdOf(k);
}

SigningKey::~SigningKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::LoadOrCreate(const std::string& path) {
  if (auto pem = ReadFileToString(path); pem.ok()) {
    std::unique_ptr<BIO, BioDeleter> bio(
        BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      return absl::DataLossError(attest::StrCat(path, ": not an Ed25519 private key"));
    }
    return std::unique_ptr<SigningKey>(new SigningKey(key));
  }
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool ok =
      ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return absl::InternalError("cannot generate an Ed25519 key");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  if (absl::Status s =
          WriteFileAtomically(path, std::string_view(data, static_cast<size_t>(n)), 0600);
      !s.ok()) {
    EVP_PKEY_free(key);
    return absl::UnavailableError(attest::StrCat("cannot write the signing key: ", s.message()));
  }
  return std::unique_ptr<SigningKey>(new SigningKey(key));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_));
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  sig.resize(len);
  return sig;
}

absl::StatusOr<std::string> KeyId(std::string_view public_pem) {
  auto key = ReadPublic(public_pem);
  if (!key) return absl::InvalidArgumentError("not an Ed25519 public key (PEM)");
  return KeyIdOf(key.get());
}

absl::StatusOr<std::string> RawPublicKey(std::string_view public_pem) {
  auto key = ReadPublic(public_pem);
  if (!key) return absl::InvalidArgumentError("not an Ed25519 public key (PEM)");
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) !=
          1 ||
      len != 32) {
    return absl::InvalidArgumentError("not an Ed25519 public key (PEM)");
  }
  return raw;
}

void SignCheckpoint(const SigningKey& key, v1::Checkpoint* c) {
  c->set_root(MerkleRoot(c->heads()));
  c->set_key_id(key.key_id());
  c->set_signature(key.Sign(CheckpointSignedBytes(*c)));
}

absl::Status VerifyCheckpoint(const v1::Checkpoint& c, std::string_view public_pem) {
  for (int i = 1; i < c.heads_size(); ++i) {
    if (!(c.heads(i - 1).host() < c.heads(i).host())) {
      return absl::DataLossError(attest::StrCat("checkpoint ", c.sequence(),
                                                ": heads out of order at ", c.heads(i).host()));
    }
  }
  if (MerkleRoot(c.heads()) != c.root()) {
    return absl::DataLossError(attest::StrCat("checkpoint ", c.sequence(),
                                              ": the Merkle root does not match the chain heads"));
  }
  auto key = ReadPublic(public_pem);
  if (!key) return absl::InvalidArgumentError("not an Ed25519 public key (PEM)");
  if (KeyIdOf(key.get()) != c.key_id()) {
    return absl::DataLossError(attest::StrCat("checkpoint ", c.sequence(), " was signed with key ",
                                              c.key_id(), ", not ", KeyIdOf(key.get())));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const std::string msg = CheckpointSignedBytes(c);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(c.signature().data()),
                       c.signature().size(), reinterpret_cast<const unsigned char*>(msg.data()),
                       msg.size()) != 1) {
    return absl::DataLossError(
        attest::StrCat("checkpoint ", c.sequence(), ": the signature does not verify"));
  }
  return absl::OkStatus();
}

}  // namespace attest::evidence
