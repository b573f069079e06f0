// `attestctl pki`, end to end: the certificates it issues verify with the
// openssl CLI and carry the SPIFFE SANs; attestd serves with its server
// certificate; an admin certificate may read, an auditor's may not write,
// and an agent's may not use the admin API. A second init reuses the CA.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>

#include "common/strings.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

// Exit code; `out` gets stdout and stderr together.
int Tool(const std::vector<std::string>& argv, const std::string& dir, std::string* out = nullptr) {
  std::string o, e;
  const int rc = RunTool(argv, dir, &o, &e);
  if (out != nullptr) *out = o + e;
  return rc;
}

int Mode(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

TEST(PkiE2eTest, IssuedCertificatesWorkWithAttestdAndCarryTheirRoles) {
  const std::string dir = FreshDir("pki_e2e");
  const std::string pki = dir + "/pki";
  const std::string ctl = BinaryPath("attestctl");
  std::string out;
  ASSERT_EQ(Tool({ctl, "pki", "init", "--pki-dir", pki, "--trust-domain", "corp"}, dir, &out), 0)
      << out;
  for (const auto& [sub, name] : std::vector<std::pair<std::string, std::string>>{
           {"issue-agent", "web-1"}, {"issue-admin", "ana"}, {"issue-auditor", "bob"}}) {
    ASSERT_EQ(Tool({ctl, "pki", sub, name, "--pki-dir", pki}, dir, &out), 0) << out;
  }
  for (const char* key :
       {"ca.key", "server/attestd.key", "agents/web-1.key", "admins/ana.key", "auditors/bob.key"}) {
    EXPECT_EQ(Mode(pki + "/" + key), 0600) << key;
  }
  // A second run changes nothing.
  const std::string ca = ReadAll(pki + "/ca.crt");
  const std::string agent = ReadAll(pki + "/agents/web-1.crt");
  EXPECT_EQ(Tool({ctl, "pki", "init", "--pki-dir", pki, "--trust-domain", "corp"}, dir, &out), 0);
  EXPECT_EQ(Tool({ctl, "pki", "issue-agent", "web-1", "--pki-dir", pki}, dir, &out), 0);
  EXPECT_EQ(ReadAll(pki + "/ca.crt"), ca);
  EXPECT_EQ(ReadAll(pki + "/agents/web-1.crt"), agent);
  // A different trust domain for the same CA is refused; so is a bad name.
  EXPECT_EQ(Tool({ctl, "pki", "init", "--pki-dir", pki, "--trust-domain", "other"}, dir, &out), 1);
  EXPECT_EQ(Tool({ctl, "pki", "issue-agent", "../x", "--pki-dir", pki}, dir, &out), 2);

  // openssl agrees: signed by the CA, with the roles attestd reads.
  for (const auto& [file, san] : std::vector<std::pair<std::string, std::string>>{
           {"agents/web-1.crt", "URI:spiffe://corp/host/web-1"},
           {"admins/ana.crt", "URI:spiffe://corp/admin/ana"},
           {"auditors/bob.crt", "URI:spiffe://corp/auditor/bob"},
           {"server/attestd.crt", "IP Address:127.0.0.1"}}) {
    ASSERT_EQ(Tool({"/usr/bin/openssl", "verify", "-CAfile", pki + "/ca.crt", pki + "/" + file},
                   dir, &out),
              0)
        << file << ": " << out;
    ASSERT_EQ(Tool({"/usr/bin/openssl", "x509", "-in", pki + "/" + file, "-noout", "-ext",
                    "subjectAltName"},
                   dir, &out),
              0);
    EXPECT_NE(out.find(san), std::string::npos) << file << ": " << out;
  }

  // attestd with its server certificate, and clients with theirs.
  const std::string ready = dir + "/ready";
  auto daemon = ChildProcess::Start(
      {BinaryPath("attestd"), "--listen", "127.0.0.1:0", "--data-dir", dir + "/data", "--tls-cert",
       pki + "/server/attestd.crt", "--tls-key", pki + "/server/attestd.key", "--client-ca",
       pki + "/ca.crt", "--trust-domain", "corp", "--ready-file", ready},
      dir + "/attestd.log");
  ASSERT_TRUE(daemon.ok());
  auto address = WaitForFile(ready, &*daemon, absl::Seconds(30));
  ASSERT_TRUE(address.ok()) << ReadAll(dir + "/attestd.log");
  const std::string addr = address->substr(0, address->find('\n'));
  auto as = [&](const std::string& who) {
    return std::vector<std::string>{ctl,
                                    "--daemon",
                                    addr,
                                    "--ca",
                                    pki + "/ca.crt",
                                    "--tls-cert",
                                    pki + "/" + who + ".crt",
                                    "--tls-key",
                                    pki + "/" + who + ".key"};
  };
  auto with = [](std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  EXPECT_EQ(Tool(with(as("admins/ana"), {"hosts"}), dir, &out), 0) << out;
  EXPECT_EQ(Tool(with(as("auditors/bob"), {"hosts"}), dir, &out), 0) << out;
  // An auditor reads but may not approve; an agent may not use the admin API.
  EXPECT_EQ(Tool(with(as("auditors/bob"),
                      {"approve", "--change", "c1", "--ticket", "T-1", "--approver", "bob"}),
                 dir, &out),
            1)
      << out;
  EXPECT_NE(out.find("may only read"), std::string::npos) << out;
  EXPECT_EQ(Tool(with(as("agents/web-1"), {"hosts"}), dir, &out), 1) << out;
  daemon->Signal(SIGTERM);
  EXPECT_EQ(*daemon->Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace attest::testing_support
