#include "daemon/ingest/revocation.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/files.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::ingest {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio MemBio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(serial, nullptr), &BN_free);
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return out;
}

absl::Time TimeOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<RevokedSerials> ParseCrl(std::string_view crl_pem, std::string_view ca_pem) {
  Bio ca_bio = MemBio(ca_pem);
  std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  if (!ca) return absl::InvalidArgumentError("the client CA is not a PEM certificate");
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
  RevokedSerials out;
  Bio bio = MemBio(crl_pem);
  int lists = 0;
  for (;;) {
    std::unique_ptr<X509_CRL, CrlFree> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) break;
    ++lists;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) != 0) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          StrCat("CRL ", lists, " is issued by another CA than the client CA"));
    }
    if (ca_key == nullptr || X509_CRL_verify(crl.get(), ca_key) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          StrCat("CRL ", lists, ": its signature does not verify with the client CA's key"));
    }
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
      out.next_update = std::min(out.next_update, TimeOf(next));
    }
    const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      const X509_REVOKED* e = sk_X509_REVOKED_value(entries, i);
      out.serials[SerialHex(X509_REVOKED_get0_serialNumber(e))] =
          TimeOf(X509_REVOKED_get0_revocationDate(e));
    }
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (lists == 0) return absl::InvalidArgumentError("no PEM X509 CRL in it");
  return out;
}

absl::Status Revocations::Load(const std::string& crl_path, const std::string& ca_path) {
  auto crl = ReadFileToString(crl_path);
  if (!crl.ok()) return crl.status();
  auto ca = ReadFileToString(ca_path);
  if (!ca.ok()) return ca.status();
  auto parsed = ParseCrl(*crl, *ca);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(StrCat(crl_path, ": ", parsed.status().message()));
  }
  std::lock_guard lock(mu_);
  current_ = std::make_shared<const RevokedSerials>(*std::move(parsed));
  return absl::OkStatus();
}

size_t Revocations::size() const {
  std::lock_guard lock(mu_);
  return current_->serials.size();
}

std::string CertificateSerial(std::string_view cert_pem) {
  Bio bio = MemBio(cert_pem);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert ? SerialHex(X509_get0_serialNumber(cert.get())) : "";
}

absl::Status Revocations::Check(std::string_view cert_pem) const {
  {
    std::lock_guard lock(mu_);
    if (current_->serials.empty()) return absl::OkStatus();
  }
  return CheckSerial(CertificateSerial(cert_pem));
}

absl::Status Revocations::CheckSerial(const std::string& serial) const {
  std::shared_ptr<const RevokedSerials> list;
  {
    std::lock_guard lock(mu_);
    list = current_;
  }
  if (serial.empty()) return absl::OkStatus();  // TLS accepted it; identity parsing reports it
  auto it = list->serials.find(serial);
  if (it == list->serials.end()) return absl::OkStatus();
  return absl::UnauthenticatedError(
      StrCat("certificate serial ", serial, " was revoked at ", FormatRfc3339(it->second)));
}

}  // namespace attest::ingest
