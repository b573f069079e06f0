// A small certificate authority on OpenSSL: creates a CA and issues server,
// agent, admin and auditor certificates carrying the SPIFFE URI SANs that
// attestd expects. Used by `attestctl pki` and by the tests.
#ifndef ATTEST_CTL_PKI_H_
#define ATTEST_CTL_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::pki {

// A private key and its certificate, both PEM.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

struct CertSpec {
  std::string common_name;
  std::vector<std::string> uri_sans;  // e.g. spiffe://attest/host/web-1
  std::vector<std::string> dns_sans;  // e.g. localhost
  std::vector<std::string> ip_sans;   // e.g. 127.0.0.1
  bool server = false;                // extendedKeyUsage serverAuth
  bool client = false;                // extendedKeyUsage clientAuth
  absl::Time not_before;
  absl::Time not_after;
};

// A self-signed CA (ECDSA P-256).
absl::StatusOr<KeyAndCert> MakeCa(const std::string& common_name, absl::Time not_before,
                                  absl::Time not_after);
// A leaf certificate signed by `ca`.
absl::StatusOr<KeyAndCert> Issue(const KeyAndCert& ca, const CertSpec& spec);

// A certificate revocation list signed by `ca`: the entries of
// `existing_crl_pem` (empty for none) and `cert_pem`'s serial, revoked at
// `at`, valid until `next_update`. InvalidArgument for a certificate this CA
// did not issue.
absl::StatusOr<std::string> Revoke(const KeyAndCert& ca, const std::string& existing_crl_pem,
                                   const std::string& cert_pem, absl::Time at,
                                   absl::Time next_update);

// spiffe://<trust_domain>/<role>/<name>, role one of host, admin, auditor.
std::string SpiffeId(const std::string& trust_domain, const std::string& role,
                     const std::string& name);

}  // namespace attest::pki

#endif  // ATTEST_CTL_PKI_H_
