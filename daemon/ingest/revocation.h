// Revoked client certificates, from a CRL file signed by the client CA
// (attestd --crl; `attestctl pki revoke` writes one). TLS has already
// checked the chain; this refuses a certificate whose serial the CA has
// since revoked, on every agent stream and admin call. SIGHUP re-reads the
// file; a file that does not load leaves the last good list in force.
#ifndef ATTEST_DAEMON_INGEST_REVOCATION_H_
#define ATTEST_DAEMON_INGEST_REVOCATION_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::ingest {

// One loaded list: revoked serials (upper-case hex) and when.
struct RevokedSerials {
  std::map<std::string, absl::Time> serials;
  absl::Time next_update = absl::InfiniteFuture();
};

// Parses every PEM CRL in `crl_pem` and checks each is signed by the CA in
// `ca_pem` (and names it as issuer). InvalidArgument saying what is wrong.
absl::StatusOr<RevokedSerials> ParseCrl(std::string_view crl_pem, std::string_view ca_pem);

// A PEM certificate's serial as upper-case hex, as CRLs are matched ("" if
// it cannot be parsed).
std::string CertificateSerial(std::string_view cert_pem);

class Revocations {
 public:
  // No file: nothing is revoked.
  Revocations() = default;
  // Reads `crl_path` checked against the CA file `ca_path`.
  absl::Status Load(const std::string& crl_path, const std::string& ca_path);
  // UNAUTHENTICATED `certificate serial S was revoked at T` for a revoked
  // peer certificate (PEM), OK otherwise (or when it cannot be parsed: TLS
  // has accepted it, and identity parsing reports that case).
  absl::Status Check(std::string_view cert_pem) const;
  // The same for a serial as CertificateSerial gives it.
  absl::Status CheckSerial(const std::string& serial) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RevokedSerials> current_ = std::make_shared<RevokedSerials>();
};

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_REVOCATION_H_
