#include "daemon/ingest/identity.h"

#include "ctl/pki.h"
#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

pki::KeyAndCert Leaf(const pki::CertSpec& spec) {
  static const pki::KeyAndCert ca = *pki::MakeCa("test CA", kNow, kNow + absl::Hours(24));
  return *pki::Issue(ca, spec);
}

pki::CertSpec Spec(std::string cn, std::vector<std::string> uris) {
  return pki::CertSpec{.common_name = std::move(cn),
                       .uri_sans = std::move(uris),
                       .client = true,
                       .not_before = kNow,
                       .not_after = kNow + absl::Hours(1)};
}

TEST(IdentityTest, SpiffeUriNamesTheRoleAndName) {
  auto host = IdentityFromCertificate(
      Leaf(Spec("ignored-cn", {pki::SpiffeId("attest", "host", "web-1")})).cert_pem, "attest");
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->role, Role::kHost);
  EXPECT_EQ(host->name, "web-1");
  auto admin = IdentityFromCertificate(
      Leaf(Spec("x", {pki::SpiffeId("attest", "admin", "ops")})).cert_pem, "attest");
  EXPECT_EQ(admin->role, Role::kAdmin);
  auto auditor = IdentityFromCertificate(
      Leaf(Spec("x", {pki::SpiffeId("attest", "auditor", "kpmg")})).cert_pem, "attest");
  EXPECT_EQ(auditor->role, Role::kAuditor);
}

TEST(IdentityTest, CommonNameIsTheFallback) {
  auto id = IdentityFromCertificate(Leaf(Spec("db-7", {})).cert_pem, "attest");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->role, Role::kHost);
  EXPECT_EQ(id->name, "db-7");
}

TEST(IdentityTest, ForeignTrustDomainAndJunkAreUnauthenticated) {
  auto foreign = IdentityFromCertificate(
      Leaf(Spec("web-1", {pki::SpiffeId("other", "host", "web-1")})).cert_pem, "attest");
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kUnauthenticated);
  auto bad_role = IdentityFromCertificate(
      Leaf(Spec("web-1", {pki::SpiffeId("attest", "root", "web-1")})).cert_pem, "attest");
  EXPECT_EQ(bad_role.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(IdentityFromCertificate("not a pem", "attest").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(IdentityFromCertificate(Leaf(Spec("has space", {})).cert_pem, "attest").ok());
}

}  // namespace
}  // namespace attest::ingest
