#include "daemon/config.h"

#include "gtest/gtest.h"

namespace attest::daemon {
namespace {

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "attestd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(ConfigTest, InsecureOnlyOnLoopback) {
  EXPECT_TRUE(Parse({"--insecure", "--listen=127.0.0.1:7443"}).ok());
  EXPECT_TRUE(Parse({"--insecure", "--listen=[::1]:7443"}).ok());
  EXPECT_TRUE(Parse({"--insecure", "--listen=localhost:1"}).ok());
  auto s = Parse({"--insecure", "--listen=0.0.0.0:7443"});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("loopback"), std::string::npos);
  EXPECT_FALSE(Parse({"--insecure", "--listen=10.1.2.3:7443"}).ok());
}

TEST(ConfigTest, TlsNeedsAllThreeFiles) {
  EXPECT_FALSE(Parse({"--tls-cert=a.pem", "--tls-key=b.pem"}).ok());
  EXPECT_TRUE(Parse({"--tls-cert=a", "--tls-key=b", "--client-ca=c"}).ok());
}

TEST(ConfigTest, HelpAndUnknownFlags) {
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->help);
  EXPECT_NE(help->usage.find("--data-dir"), std::string::npos);
  EXPECT_FALSE(Parse({"--bogus"}).ok());
}

}  // namespace
}  // namespace attest::daemon
