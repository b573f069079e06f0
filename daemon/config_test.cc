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
  // Missing TLS is the packaged, not-yet-configured state (--is-configured
  // exits 1 for it); a wrong setting is a bad configuration.
  EXPECT_EQ(Parse({"--tls-cert=a.pem", "--tls-key=b.pem"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Parse({}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      Parse({"--tls-cert=a", "--tls-key=b", "--client-ca=c", "--judge-delay=x"}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Parse({"--tls-cert=a", "--tls-key=b", "--client-ca=c"}).ok());
}

TEST(ConfigTest, WitnessesAndTheLogOriginAreChecked) {
  const std::string w = "witness.test/w1+a33ac8bf+BDC/ysXSgGD6he3165jTMmsvg+caDaPtWTD+eZ0hAcLd";
  EXPECT_TRUE(Parse({"--insecure", "--witness=https://w.example:7380," + w,
                     "--log-origin=attest.example/prod", "--witness-retry-max=1m"})
                  .ok());
  struct Case {
    std::vector<std::string> args;
    std::string why;
  } cases[] = {
      {{"--insecure", "--witness=https://w.example:7380"}, "a witness is URL,VKEY"},
      {{"--insecure", "--witness=ftp://w.example," + w}, "only http[s]"},
      {{"--insecure", "--witness=https://w.example,garbage"}, "a verifier key is"},
      {{"--insecure",
        "--witness=https://w.example,PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
        "LDE4izWy10TW"},
       "type 0x04"},
      {{"--insecure", "--log-origin=has space"}, "--log-origin"},
      {{"--insecure", "--log-origin=a+b"}, "--log-origin"},
      {{"--insecure", "--witness-retry-max=0s"}, "--witness-retry-max"},
  };
  for (const Case& c : cases) {
    auto s = Parse(c.args);
    ASSERT_FALSE(s.ok()) << c.args.back();
    EXPECT_NE(std::string(s.status().message()).find(c.why), std::string::npos) << s.status();
  }
}

TEST(ConfigTest, HelpAndUnknownFlags) {
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->help);
  EXPECT_NE(help->usage.find("--data-dir"), std::string::npos);
  EXPECT_FALSE(Parse({"--bogus"}).ok());
}

TEST(ConfigTest, StreamBoundsAreChecked) {
  auto ok = Parse(
      {"--insecure", "--hello-timeout=5s", "--max-evidence-age=400d", "--max-streams-per-host=2"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->config.hello_timeout, "5s");
  EXPECT_EQ(ok->config.max_evidence_age, "400d");
  EXPECT_EQ(ok->config.max_streams_per_host, 2);
  auto defaults = Parse({"--insecure"});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.hello_timeout, "30s");
  EXPECT_EQ(defaults->config.max_evidence_age, "0s");
  EXPECT_EQ(defaults->config.max_streams_per_host, 4);
  for (const auto& [flag, message] : std::vector<std::pair<std::string, std::string>>{
           {"--hello-timeout=0s", "--hello-timeout: a positive duration"},
           {"--hello-timeout=soon", "--hello-timeout: a positive duration"},
           {"--max-evidence-age=old", "--max-evidence-age: a duration"},
           {"--max-streams-per-host=0", "--max-streams-per-host must be >= 1"}}) {
    auto s = Parse({"--insecure", flag});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_NE(s.status().message().find(message), std::string::npos) << s.status();
  }
}

}  // namespace
}  // namespace attest::daemon
