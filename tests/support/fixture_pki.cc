#include "tests/support/fixture_pki.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/strings.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

pki::KeyAndCert Must(absl::StatusOr<pki::KeyAndCert> kc) {
  if (!kc.ok()) abort();
  return *std::move(kc);
}

}  // namespace

FixturePki::FixturePki(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  const absl::Time now = absl::Now();
  ca_ = Must(pki::MakeCa("attest test CA", now - absl::Hours(1), now + absl::Hours(48)));
  ca_file_ = dir_ + "/ca.pem";
  std::ofstream(ca_file_) << ca_.cert_pem;
  server_ = Write("server", Must(pki::Issue(ca_, {.common_name = "attestd",
                                                  .dns_sans = {"localhost"},
                                                  .ip_sans = {"127.0.0.1"},
                                                  .server = true,
                                                  .not_before = now - absl::Hours(1),
                                                  .not_after = now + absl::Hours(48)})));
}

CertFiles FixturePki::Write(const std::string& stem, const pki::KeyAndCert& kc) {
  CertFiles files{dir_ + "/" + stem + ".crt", dir_ + "/" + stem + ".key"};
  std::ofstream(files.cert) << kc.cert_pem;
  std::ofstream(files.key) << kc.key_pem;
  return files;
}

CertFiles FixturePki::Client(const std::string& role, const std::string& name) {
  const std::string stem = StrCat(role, "-", name);
  if (std::filesystem::exists(dir_ + "/" + stem + ".crt")) {
    return CertFiles{dir_ + "/" + stem + ".crt", dir_ + "/" + stem + ".key"};
  }
  const absl::Time now = absl::Now();
  return ClientWithValidity(role, name, now - absl::Hours(1), now + absl::Hours(48));
}

CertFiles FixturePki::ClientWithValidity(const std::string& role, const std::string& name,
                                         absl::Time not_before, absl::Time not_after) {
  const std::string stem = StrCat(role, "-", name, "-", absl::ToUnixSeconds(not_after));
  auto kc = Must(pki::Issue(ca_, {.common_name = name,
                                  .uri_sans = {pki::SpiffeId("attest", role, name)},
                                  .client = true,
                                  .not_before = not_before,
                                  .not_after = not_after}));
  CertFiles files = Write(stem, kc);
  // Also under the plain name, so Client() finds it.
  if (not_after > absl::Now()) {
    std::filesystem::copy_file(files.cert, dir_ + "/" + role + "-" + name + ".crt",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(files.key, dir_ + "/" + role + "-" + name + ".key",
                               std::filesystem::copy_options::overwrite_existing);
  }
  return files;
}

CertFiles FixturePki::Foreign(const std::string& name) {
  const absl::Time now = absl::Now();
  auto other = Must(pki::MakeCa("someone else's CA", now - absl::Hours(1), now + absl::Hours(48)));
  return Write("foreign-" + name,
               Must(pki::Issue(other, {.common_name = name,
                                       .uri_sans = {pki::SpiffeId("attest", "host", name)},
                                       .client = true,
                                       .not_before = now - absl::Hours(1),
                                       .not_after = now + absl::Hours(48)})));
}

std::string FixturePki::ReadFile(const std::string& path) const { return ReadAll(path); }

}  // namespace attest::testing_support
