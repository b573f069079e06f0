#include "daemon/ingest/identity.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "daemon/ingest/validate.h"

namespace attest::ingest {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct NamesDeleter {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::vector<std::string> UriSans(X509* cert) {
  std::vector<std::string> uris;
  std::unique_ptr<GENERAL_NAMES, NamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      ASN1_STRING_length(uri));
  }
  return uris;
}

std::string CommonName(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     ASN1_STRING_length(data));
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kHost:
      return "host";
    case Role::kAdmin:
      return "admin";
    case Role::kAuditor:
      return "auditor";
  }
  return "unknown";
}

absl::StatusOr<PeerIdentity> IdentityFromCertificate(std::string_view pem,
                                                     std::string_view trust_domain) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Deleter> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::UnauthenticatedError("peer certificate cannot be parsed");

  const std::string prefix = attest::StrCat("spiffe://", trust_domain, "/");
  const std::vector<std::string> uris = UriSans(cert.get());
  bool saw_spiffe = false;
  for (const std::string& uri : uris) saw_spiffe = saw_spiffe || absl::StartsWith(uri, "spiffe://");
  if (saw_spiffe && uris.size() != 1) {
    // An X.509-SVID has exactly one URI SAN; with two, which one speaks?
    return absl::UnauthenticatedError(attest::StrCat(
        "certificate carries ", uris.size(), " URI SANs; a SPIFFE certificate has exactly one"));
  }
  if (saw_spiffe) {
    const std::string& uri = uris[0];
    std::vector<std::string> parts;
    if (absl::StartsWith(uri, prefix)) parts = absl::StrSplit(uri.substr(prefix.size()), '/');
    if (parts.size() == 2 && IsValidHostId(parts[1])) {
      if (parts[0] == "host") return PeerIdentity{Role::kHost, parts[1]};
      if (parts[0] == "admin") return PeerIdentity{Role::kAdmin, parts[1]};
      if (parts[0] == "auditor") return PeerIdentity{Role::kAuditor, parts[1]};
    }
    return absl::UnauthenticatedError(attest::StrCat("certificate has no SPIFFE id of the form ",
                                                     prefix, "{host,admin,auditor}/<name>"));
  }
  const std::string cn = CommonName(cert.get());
  if (IsValidHostId(cn)) return PeerIdentity{Role::kHost, cn};
  return absl::UnauthenticatedError(
      "certificate names no host: no SPIFFE URI SAN and no usable common name");
}

absl::StatusOr<PeerIdentity> IdentityFromAuthContext(const grpc::AuthContext* auth,
                                                     std::string_view trust_domain,
                                                     const Revocations* revoked) {
  if (auth == nullptr) return absl::UnauthenticatedError("no client certificate");
  auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("no client certificate");
  const std::string_view pem(pems[0].data(), pems[0].size());
  const std::string serial = CertificateSerial(pem);
  if (revoked != nullptr) {
    if (absl::Status s = revoked->CheckSerial(serial); !s.ok()) return s;
  }
  absl::StatusOr<PeerIdentity> peer = IdentityFromCertificate(pem, trust_domain);
  if (peer.ok()) peer->serial = serial;
  return peer;
}

}  // namespace attest::ingest
