// Certificates for cross-process tests, written to a directory: a CA, a
// server certificate for 127.0.0.1/localhost, host/admin/auditor client
// certificates, and a foreign CA's host certificate.
#ifndef ATTEST_TESTS_SUPPORT_FIXTURE_PKI_H_
#define ATTEST_TESTS_SUPPORT_FIXTURE_PKI_H_

#include <string>

#include "ctl/pki.h"

namespace attest::testing_support {

struct CertFiles {
  std::string cert;
  std::string key;
};

class FixturePki {
 public:
  // Creates the CA and server certificate under `dir`.
  explicit FixturePki(std::string dir);

  const std::string& ca_file() const { return ca_file_; }
  const CertFiles& server() const { return server_; }
  const pki::KeyAndCert& ca() const { return ca_; }
  // A client certificate with SAN spiffe://attest/<role>/<name> (valid now,
  // or with the given validity), written once and cached by file name.
  CertFiles Client(const std::string& role, const std::string& name);
  CertFiles ClientWithValidity(const std::string& role, const std::string& name,
                               absl::Time not_before, absl::Time not_after);
  // A host certificate signed by an unrelated CA.
  CertFiles Foreign(const std::string& name);
  std::string ReadFile(const std::string& path) const;

 private:
  CertFiles Write(const std::string& stem, const pki::KeyAndCert& kc);
  std::string dir_;
  pki::KeyAndCert ca_;
  std::string ca_file_;
  CertFiles server_;
};

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_FIXTURE_PKI_H_
