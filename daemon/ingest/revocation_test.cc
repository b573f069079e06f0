#include "daemon/ingest/revocation.h"

#include <fstream>

#include "absl/time/clock.h"
#include "ctl/pki.h"
#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

pki::KeyAndCert Ca(const std::string& name) {
  auto ca = pki::MakeCa(name, absl::Now() - absl::Hours(1), absl::Now() + absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return *ca;
}

pki::KeyAndCert Leaf(const pki::KeyAndCert& ca, const std::string& host) {
  pki::CertSpec spec;
  spec.common_name = host;
  spec.client = true;
  spec.uri_sans = {pki::SpiffeId("attest", "host", host)};
  spec.not_before = absl::Now() - absl::Hours(1);
  spec.not_after = absl::Now() + absl::Hours(24);
  auto leaf = pki::Issue(ca, spec);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return *leaf;
}

TEST(RevocationTest, ARevokedSerialIsRefusedAndOthersPass) {
  const pki::KeyAndCert ca = Ca("ca");
  const pki::KeyAndCert a = Leaf(ca, "a"), b = Leaf(ca, "b"), c = Leaf(ca, "c");
  const absl::Time at = absl::FromUnixSeconds(1767225600);
  auto crl = pki::Revoke(ca, "", b.cert_pem, at, at + absl::Hours(24 * 30));
  ASSERT_TRUE(crl.ok()) << crl.status();
  // Revoking again adds to the list and keeps earlier entries with their dates.
  auto crl2 = pki::Revoke(ca, *crl, c.cert_pem, at + absl::Hours(1), at + absl::Hours(24 * 30));
  ASSERT_TRUE(crl2.ok()) << crl2.status();
  auto twice = pki::Revoke(ca, *crl2, c.cert_pem, at + absl::Hours(2), at + absl::Hours(24 * 30));
  ASSERT_TRUE(twice.ok());
  auto parsed = ParseCrl(*twice, ca.cert_pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->serials.size(), 2u);
  EXPECT_EQ(parsed->next_update, at + absl::Hours(24 * 30));

  const std::string dir = testing::TempDir();
  std::ofstream(dir + "/crl.pem") << *twice;
  std::ofstream(dir + "/ca.pem") << ca.cert_pem;
  Revocations revocations;
  EXPECT_TRUE(revocations.Check(b.cert_pem).ok()) << "nothing loaded, nothing revoked";
  ASSERT_TRUE(revocations.Load(dir + "/crl.pem", dir + "/ca.pem").ok());
  EXPECT_TRUE(revocations.Check(a.cert_pem).ok());
  const absl::Status refused = revocations.Check(b.cert_pem);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(refused.message().find("was revoked at 2026-01-01T00:00:00Z"), std::string::npos)
      << refused;
  EXPECT_NE(revocations.Check(c.cert_pem).message().find("was revoked at 2026-01-01T01:00:00Z"),
            std::string::npos)
      << "the first revocation's date stands";
}

TEST(RevocationTest, AListTheClientCaDidNotSignIsRefused) {
  const pki::KeyAndCert ca = Ca("ca"), other = Ca("other");
  const absl::Time now = absl::Now();
  auto foreign = pki::Revoke(other, "", Leaf(other, "x").cert_pem, now, now + absl::Hours(1));
  ASSERT_TRUE(foreign.ok());
  auto parsed = ParseCrl(*foreign, ca.cert_pem);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("issued by another CA"), std::string::npos)
      << parsed.status();
  // The CA's own name on a list another key signed.
  const pki::KeyAndCert same_name = Ca("ca");
  auto forged =
      pki::Revoke(same_name, "", Leaf(same_name, "y").cert_pem, now, now + absl::Hours(1));
  ASSERT_TRUE(forged.ok());
  parsed = ParseCrl(*forged, ca.cert_pem);
  EXPECT_NE(parsed.status().message().find("signature does not verify"), std::string::npos)
      << parsed.status();
  EXPECT_NE(ParseCrl("garbage", ca.cert_pem).status().message().find("no PEM X509 CRL"),
            std::string::npos);
  // pki refuses to revoke a certificate another CA issued.
  EXPECT_EQ(
      pki::Revoke(ca, "", Leaf(other, "z").cert_pem, now, now + absl::Hours(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attest::ingest
