#include "daemon/evidence/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>

#include "common/files.h"
#include "common/strings.h"
#include "daemon/evidence/chain.h"

namespace attest::evidence {
namespace {

std::string Leaf(const v1::ChainHead& h) {
  std::string data(1, '\0');
  data += h.host();
  data.push_back('\0');
  for (int i = 7; i >= 0; --i) data.push_back(static_cast<char>((h.length() >> (8 * i)) & 0xff));
  data += h.hash();
  return Sha256(data);
}

std::string Tree(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return Sha256(std::string(1, '\x01') + Tree(leaves, begin, begin + k) +
                Tree(leaves, begin + k, end));
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
  return Tree(leaves, 0, leaves.size());
}

std::string CheckpointSignedBytes(const v1::Checkpoint& c) {
  return attest::StrCat("attest-checkpoint-v1\n", c.sequence(), "\n", c.created_at().seconds(),
                        "\n", c.heads_size(), "\n", HexEncode(c.root()), "\n");
}

SigningKey::SigningKey(void* pkey) : pkey_(pkey) {
  auto* k = static_cast<EVP_PKEY*>(pkey_);
  public_pem_ = PublicPem(k);
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
