// Who is on the other end of a TLS connection. Identity comes from the
// verified client certificate, never from a payload:
//   SAN URI spiffe://<trust-domain>/host/<id>      an agent on host <id>
//   SAN URI spiffe://<trust-domain>/admin/<name>   an administrator
//   SAN URI spiffe://<trust-domain>/auditor/<name> an auditor (read-only)
// A certificate without a spiffe URI SAN is a host named by its CN.
#ifndef ATTEST_DAEMON_INGEST_IDENTITY_H_
#define ATTEST_DAEMON_INGEST_IDENTITY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/ingest/revocation.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace attest::ingest {

enum class Role { kHost, kAdmin, kAuditor };

struct PeerIdentity {
  Role role;
  std::string name;  // host id for kHost, person or service name otherwise
  // The certificate's serial as CRLs name it (upper-case hex), so that a
  // long-lived stream can be checked again when the revocation list changes.
  std::string serial;
};

std::string_view RoleName(Role role);

// Parses the peer's PEM certificate (already verified by TLS against the
// client CA). Unauthenticated when it names no usable identity, or a SPIFFE
// id of another trust domain.
absl::StatusOr<PeerIdentity> IdentityFromCertificate(std::string_view pem,
                                                     std::string_view trust_domain);

// The identity of a gRPC peer from its verified certificate;
// Unauthenticated when the connection carries none, or (with `revoked`) when
// the certificate has been revoked.
absl::StatusOr<PeerIdentity> IdentityFromAuthContext(const grpc::AuthContext* auth,
                                                     std::string_view trust_domain,
                                                     const Revocations* revoked = nullptr);

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_IDENTITY_H_
