// `attestctl pki`, end to end: the certificates it issues verify with the
// openssl CLI and carry the SPIFFE SANs; attestd serves with its server
// certificate; an admin certificate may read, an auditor's may not write,
// and an agent's may not use the admin API. A second init reuses the CA.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include "common/strings.h"
#include "daemon/ingest/test_signals.h"
#include "tests/support/daemon_harness.h"
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

// A certificate's serial as openssl prints it (upper-case hex), or "".
std::string SerialOf(const std::string& cert, const std::string& dir) {
  std::string out;
  if (Tool({"/usr/bin/openssl", "x509", "-in", cert, "-noout", "-serial"}, dir, &out) != 0) {
    return "";
  }
  out = out.substr(out.find('=') + 1);
  out.erase(out.find_last_not_of("\n") + 1);
  return out;
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
  // As README shows it: init makes the server certificate, so it takes --dns and --ip.
  ASSERT_EQ(Tool({ctl, "pki", "init", "--pki-dir", pki, "--trust-domain", "corp", "--dns",
                  "attestd.corp.example", "--ip", "192.0.2.7"},
                 dir, &out),
            0)
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
  for (const char* name : {".", "..", "-dash", ".hidden"}) {
    EXPECT_EQ(Tool({ctl, "pki", "issue-agent", name, "--pki-dir", pki}, dir, &out), 2) << name;
  }

  // openssl agrees: signed by the CA, with the roles attestd reads.
  for (const auto& [file, san] : std::vector<std::pair<std::string, std::string>>{
           {"agents/web-1.crt", "URI:spiffe://corp/host/web-1"},
           {"admins/ana.crt", "URI:spiffe://corp/admin/ana"},
           {"auditors/bob.crt", "URI:spiffe://corp/auditor/bob"},
           {"server/attestd.crt", "IP Address:127.0.0.1"},
           {"server/attestd.crt", "DNS:attestd.corp.example"},
           {"server/attestd.crt", "IP Address:192.0.2.7"}}) {
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
  EXPECT_NE(out.find("host certificate \"web-1\" cannot use the admin API"), std::string::npos)
      << out;
  // A write says the same: the agent is no reader that lacks a right.
  EXPECT_EQ(Tool(with(as("agents/web-1"),
                      {"approve", "--change", "c1", "--ticket", "T-1", "--approver", "x"}),
                 dir, &out),
            1)
      << out;
  EXPECT_NE(out.find("host certificate \"web-1\" cannot use the admin API"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("may only read"), std::string::npos) << out;
  daemon->Signal(SIGTERM);
  EXPECT_EQ(*daemon->Wait(absl::Seconds(30)), 0);
}

// A stream as the certificate in PKI/WHO.{crt,key}: true when its hello is
// welcomed; `status` gets the stream's end otherwise.
bool HelloAs(const std::string& addr, const std::string& pki, const std::string& who,
             grpc::Status* status) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(pki + "/ca.crt");
  ssl.pem_cert_chain = ReadAll(pki + "/" + who + ".crt");
  ssl.pem_private_key = ReadAll(pki + "/" + who + ".key");
  TestAgent agent(grpc::CreateChannel(addr, grpc::SslCredentials(ssl)), absl::Seconds(10));
  const bool welcomed = agent.Hello(testing_signals::Hello("", "inst-1"));
  *status = agent.Finish();
  return welcomed;
}

TEST(PkiE2eTest, ARevokedCertificateIsRefusedOnceTheCrlSaysSo) {
  const std::string dir = FreshDir("pki_crl");
  const std::string pki = dir + "/pki";
  const std::string ctl = BinaryPath("attestctl");
  std::string out;
  ASSERT_EQ(Tool({ctl, "pki", "init", "--pki-dir", pki}, dir, &out), 0) << out;
  for (const auto& [sub, name] :
       std::vector<std::pair<std::string, std::string>>{{"issue-agent", "web-1"},
                                                        {"issue-agent", "web-2"},
                                                        {"issue-agent", "web-3"},
                                                        {"issue-admin", "ana"},
                                                        {"issue-admin", "eve"}}) {
    ASSERT_EQ(Tool({ctl, "pki", sub, name, "--pki-dir", pki}, dir, &out), 0) << out;
  }
  ASSERT_EQ(Tool({ctl, "pki", "revoke", pki + "/agents/web-2.crt", "--pki-dir", pki}, dir, &out), 0)
      << out;
  // openssl reads the list as a CRL signed by the CA, naming web-2's serial.
  ASSERT_EQ(Tool({"/usr/bin/openssl", "crl", "-in", pki + "/crl.pem", "-CAfile", pki + "/ca.crt",
                  "-noout", "-text"},
                 dir, &out),
            0)
      << out;
  EXPECT_NE(out.find("verify OK"), std::string::npos) << out;
  const std::string serial = SerialOf(pki + "/agents/web-2.crt", dir);
  EXPECT_NE(out.find("Serial Number: " + serial), std::string::npos) << serial << "\n" << out;

  const std::string ready = dir + "/ready";
  auto daemon = ChildProcess::Start(
      {BinaryPath("attestd"), "--listen", "127.0.0.1:0", "--data-dir", dir + "/data", "--tls-cert",
       pki + "/server/attestd.crt", "--tls-key", pki + "/server/attestd.key", "--client-ca",
       pki + "/ca.crt", "--crl", pki + "/crl.pem", "--ready-file", ready},
      dir + "/attestd.log");
  ASSERT_TRUE(daemon.ok());
  auto address = WaitForFile(ready, &*daemon, absl::Seconds(30));
  ASSERT_TRUE(address.ok()) << ReadAll(dir + "/attestd.log");
  const std::string addr = address->substr(0, address->find('\n'));

  grpc::Status status;
  EXPECT_TRUE(HelloAs(addr, pki, "agents/web-1", &status)) << status.error_message();
  EXPECT_FALSE(HelloAs(addr, pki, "agents/web-2", &status));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("certificate serial " + serial + " was revoked at"),
            std::string::npos)
      << status.error_message();

  auto hosts_as = [&](const std::string& who, std::string* output) {
    return Tool({ctl, "--daemon", addr, "--ca", pki + "/ca.crt", "--tls-cert",
                 pki + "/" + who + ".crt", "--tls-key", pki + "/" + who + ".key", "hosts"},
                dir, output);
  };
  ASSERT_EQ(hosts_as("admins/eve", &out), 0) << out;
  // Revoking an admin takes effect at the SIGHUP that re-reads the list.
  ASSERT_EQ(Tool({ctl, "pki", "revoke", pki + "/admins/eve.crt", "--pki-dir", pki}, dir, &out), 0);
  daemon->Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] { return hosts_as("admins/eve", &out) == 1; })) << out;
  EXPECT_NE(out.find("was revoked at"), std::string::npos) << out;
  EXPECT_EQ(hosts_as("admins/ana", &out), 0) << out;
  EXPECT_FALSE(HelloAs(addr, pki, "agents/web-2", &status));  // still listed

  // A stream open when its certificate is revoked ends at the SIGHUP, not
  // when the agent happens to reconnect days later.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(pki + "/ca.crt");
  ssl.pem_cert_chain = ReadAll(pki + "/agents/web-3.crt");
  ssl.pem_private_key = ReadAll(pki + "/agents/web-3.key");
  TestAgent open_stream(grpc::CreateChannel(addr, grpc::SslCredentials(ssl)), absl::Seconds(60));
  ASSERT_TRUE(open_stream.Hello(testing_signals::Hello("", "inst-1")));
  uint64_t acked = 0;
  ASSERT_TRUE(open_stream.Send({testing_signals::Heartbeat(1, absl::Now())}, &acked));
  const std::string web3_serial = SerialOf(pki + "/agents/web-3.crt", dir);
  ASSERT_EQ(Tool({ctl, "pki", "revoke", pki + "/agents/web-3.crt", "--pki-dir", pki}, dir, &out),
            0);
  daemon->Signal(SIGHUP);
  const grpc::Status ended = open_stream.AwaitEnd();  // the test sends nothing more
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAUTHENTICATED) << ended.error_message();
  EXPECT_NE(ended.error_message().find("certificate serial " + web3_serial + " was revoked at"),
            std::string::npos)
      << ended.error_message();

  // A list that does not load leaves the last good one in force.
  std::ofstream(pki + "/crl.pem", std::ios::trunc) << "not a CRL\n";
  daemon->Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] {
    return ReadAll(dir + "/attestd.log").find("keeping the last good revocation list") !=
           std::string::npos;
  })) << ReadAll(dir + "/attestd.log");
  EXPECT_EQ(hosts_as("admins/eve", &out), 1) << out;
  EXPECT_TRUE(HelloAs(addr, pki, "agents/web-1", &status)) << status.error_message();
  daemon->Signal(SIGTERM);
  EXPECT_EQ(*daemon->Wait(absl::Seconds(30)), 0);

  // At start, a list that does not load stops attestd as bad configuration.
  std::string err;
  EXPECT_EQ(
      RunTool({BinaryPath("attestd"), "--listen", "127.0.0.1:0", "--data-dir", dir + "/data",
               "--tls-cert", pki + "/server/attestd.crt", "--tls-key", pki + "/server/attestd.key",
               "--client-ca", pki + "/ca.crt", "--crl", pki + "/crl.pem"},
              dir, &out, &err),
      2);
  EXPECT_NE(err.find("crl.pem: no PEM X509 CRL in it"), std::string::npos) << err;
}

}  // namespace
}  // namespace attest::testing_support
