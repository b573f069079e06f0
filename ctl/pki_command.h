// `attestctl pki`: a small certificate authority for fleets without their own
// PKI. Files live in one directory (--pki-dir):
//   ca.crt ca.key trust-domain          the CA, and the SPIFFE trust domain
//   server/NAME.{crt,key}               attestd server certificates
//   agents/HOST.{crt,key}               spiffe://TD/host/HOST
//   admins/NAME.{crt,key}               spiffe://TD/admin/NAME
//   auditors/NAME.{crt,key}             spiffe://TD/auditor/NAME
// Keys are written with mode 0600 and never overwritten: issuing an
// identity that exists reuses it, so a second run changes nothing.
#ifndef ATTEST_CTL_PKI_COMMAND_H_
#define ATTEST_CTL_PKI_COMMAND_H_

#include <string>
#include <vector>

namespace attest::ctl {

struct PkiFlags {
  std::string dir = "pki";
  std::string trust_domain = "attest";
  std::vector<std::string> dns;  // server: extra DNS names (localhost is always in)
  std::vector<std::string> ip;   // server: extra IP addresses (127.0.0.1 is always in)
  int64_t days = 365;            // leaf validity
};

// args: {"pki", SUB, [NAME]}. Returns an exit code (0 ok, 1 failure, 2 usage).
int PkiCommand(const std::vector<std::string>& args, const PkiFlags& flags);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_PKI_COMMAND_H_
