#include "ctl/pki.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_join.h"
#include "common/strings.h"

namespace attest::pki {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using Cert = std::unique_ptr<X509, X509Deleter>;

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(attest::StrCat("openssl: ", what));
}

Pkey NewKey() { return Pkey(EVP_EC_gen("P-256")); }

std::string KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

std::string CertPem(X509* cert) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

absl::StatusOr<Pkey> ParseKey(const std::string& pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("cannot parse the CA key");
  return key;
}

absl::StatusOr<Cert> ParseCert(const std::string& pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return OpenSslError("cannot parse the CA certificate");
  return cert;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` with a random serial and the given validity.
absl::StatusOr<Cert> NewCert(EVP_PKEY* key, const std::string& cn, absl::Time not_before,
                             absl::Time not_after) {
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("attest"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

}  // namespace

std::string SpiffeId(const std::string& trust_domain, const std::string& role,
                     const std::string& name) {
  return attest::StrCat("spiffe://", trust_domain, "/", role, "/", name);
}

absl::StatusOr<KeyAndCert> MakeCa(const std::string& common_name, absl::Time not_before,
                                  absl::Time not_after) {
  Pkey key = NewKey();
  if (!key) return OpenSslError("key generation");
  auto cert = NewCert(key.get(), common_name, not_before, not_after);
  if (!cert.ok()) return cert.status();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get()));
  if (!AddExtension(cert->get(), cert->get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExtension(cert->get(), cert->get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !AddExtension(cert->get(), cert->get(), NID_subject_key_identifier, "hash")) {
    return OpenSslError("CA extensions");
  }
  if (X509_sign(cert->get(), key.get(), EVP_sha256()) == 0) return OpenSslError("sign CA");
  return KeyAndCert{KeyPem(key.get()), CertPem(cert->get())};
}

absl::StatusOr<KeyAndCert> Issue(const KeyAndCert& ca, const CertSpec& spec) {
  auto ca_key = ParseKey(ca.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  auto ca_cert = ParseCert(ca.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  Pkey key = NewKey();
  if (!key) return OpenSslError("key generation");
  auto cert = NewCert(key.get(), spec.common_name, spec.not_before, spec.not_after);
  if (!cert.ok()) return cert.status();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(ca_cert->get()));
  std::vector<std::string> sans;
  for (const auto& u : spec.uri_sans) sans.push_back("URI:" + u);
  for (const auto& d : spec.dns_sans) sans.push_back("DNS:" + d);
  for (const auto& ip : spec.ip_sans) sans.push_back("IP:" + ip);
  std::vector<std::string> usages;
  if (spec.server) usages.push_back("serverAuth");
  if (spec.client) usages.push_back("clientAuth");
  bool ok = AddExtension(cert->get(), ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") &&
            AddExtension(cert->get(), ca_cert->get(), NID_key_usage,
                         "critical,digitalSignature,keyEncipherment") &&
            AddExtension(cert->get(), ca_cert->get(), NID_authority_key_identifier, "keyid");
  if (ok && !sans.empty()) {
    ok = AddExtension(cert->get(), ca_cert->get(), NID_subject_alt_name, absl::StrJoin(sans, ","));
  }
  if (ok && !usages.empty()) {
    ok = AddExtension(cert->get(), ca_cert->get(), NID_ext_key_usage, absl::StrJoin(usages, ","));
  }
  if (!ok) return OpenSslError("certificate extensions");
  if (X509_sign(cert->get(), ca_key->get(), EVP_sha256()) == 0) return OpenSslError("sign");
  return KeyAndCert{KeyPem(key.get()), CertPem(cert->get())};
}

absl::StatusOr<std::string> Revoke(const KeyAndCert& ca, const std::string& existing_crl_pem,
                                   const std::string& cert_pem, absl::Time at,
                                   absl::Time next_update) {
  auto ca_key = ParseKey(ca.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  auto ca_cert = ParseCert(ca.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  std::unique_ptr<BIO, BioDeleter> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("not a PEM certificate");
  if (X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_cert->get())) != 0) {
    return absl::InvalidArgumentError("the certificate was not issued by this CA");
  }
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), &X509_CRL_free);
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert->get())) != 1) {
    return OpenSslError("new CRL");
  }
  auto add = [&](const ASN1_INTEGER* serial, const ASN1_TIME* when) {
    X509_REVOKED* r = X509_REVOKED_new();
    if (r == nullptr) return false;
    if (X509_REVOKED_set_serialNumber(r, const_cast<ASN1_INTEGER*>(serial)) != 1 ||
        X509_REVOKED_set_revocationDate(r, const_cast<ASN1_TIME*>(when)) != 1 ||
        X509_CRL_add0_revoked(crl.get(), r) != 1) {
      X509_REVOKED_free(r);
      return false;
    }
    return true;
  };
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  bool listed = false;
  if (!existing_crl_pem.empty()) {
    // The entries of the current list carry over, each with its own date.
    std::unique_ptr<BIO, BioDeleter> bio(
        BIO_new_mem_buf(existing_crl_pem.data(), static_cast<int>(existing_crl_pem.size())));
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> old(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr), &X509_CRL_free);
    if (!old) return absl::InvalidArgumentError("the existing CRL is not a PEM CRL");
    const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(old.get());
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      const X509_REVOKED* e = sk_X509_REVOKED_value(entries, i);
      listed = listed || ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(e), serial) == 0;
      if (!add(X509_REVOKED_get0_serialNumber(e), X509_REVOKED_get0_revocationDate(e))) {
        return OpenSslError("copy a CRL entry");
      }
    }
  }
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> when(
      ASN1_TIME_set(nullptr, absl::ToTimeT(at)), &ASN1_TIME_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(
      ASN1_TIME_set(nullptr, absl::ToTimeT(next_update)), &ASN1_TIME_free);
  if (!when || !next) return OpenSslError("CRL times");
  if (!listed && !add(serial, when.get())) return OpenSslError("add the CRL entry");
  if (X509_CRL_set1_lastUpdate(crl.get(), when.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1 || X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), ca_key->get(), EVP_sha256()) == 0) {
    return OpenSslError("sign the CRL");
  }
  std::unique_ptr<BIO, BioDeleter> out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(out.get(), crl.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, len);
}

}  // namespace attest::pki
