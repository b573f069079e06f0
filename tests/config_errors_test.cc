// attestd's and attest-agent's configuration errors, through the binaries:
// each run exits with the documented code (2 for bad configuration, 1 for a
// failure while starting) and says what is wrong, before it serves or
// connects to anything. Rows of docs/bad-input.md point here.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/support/fixture_pki.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

struct ConfigCase {
  std::string name;  // for the test's name
  std::string program;
  std::vector<std::string> args;  // {dir}, {ca}, {cert}, {key}, {other_key} are replaced
  int exit_code;
  std::string message;  // a part of stderr
};

class ConfigErrorsTest : public testing::TestWithParam<ConfigCase> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(FreshDir("config_errors"));
    pki_ = new FixturePki(*dir_ + "/pki");
    other_key_ = new std::string(pki_->Client("host", "someone-else").key);
    // Files that are not what they claim, and config files of each shape.
    std::ofstream(*dir_ + "/not-pem.txt") << "this is not a certificate\n";
    std::ofstream(*dir_ + "/syntax.yaml") << "listen: [\n";
    std::ofstream(*dir_ + "/list.yaml") << "- a\n- b\n";
    std::ofstream(*dir_ + "/multi.yaml") << "listen:\n  - 127.0.0.1:1\n  - 127.0.0.1:2\n";
    std::ofstream(*dir_ + "/map.yaml") << "listen:\n  a: b\n";
    std::ofstream(*dir_ + "/null.yaml") << "listen:\n";
    std::ofstream(*dir_ + "/listofmaps.yaml") << "label:\n  - {a: b}\n";
    std::ofstream(*dir_ + "/key.yaml") << "? [a, b]\n: c\n";
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
    delete other_key_;
  }
  static std::string* dir_;
  static FixturePki* pki_;
  static std::string* other_key_;
};

std::string* ConfigErrorsTest::dir_ = nullptr;
FixturePki* ConfigErrorsTest::pki_ = nullptr;
std::string* ConfigErrorsTest::other_key_ = nullptr;

TEST_P(ConfigErrorsTest, ExitsWithTheDocumentedCodeAndSaysWhatIsWrong) {
  const ConfigCase& c = GetParam();
  std::vector<std::string> argv = {BinaryPath(c.program)};
  for (const std::string& arg : c.args) {
    argv.push_back(absl::StrReplaceAll(arg, {{"{dir}", *dir_},
                                             {"{ca}", pki_->ca_file()},
                                             {"{cert}", pki_->server().cert},
                                             {"{key}", pki_->server().key},
                                             {"{other_key}", *other_key_}}));
  }
  const std::string run_dir = FreshDir("config_errors_" + c.name);
  std::string out, err;
  EXPECT_EQ(RunTool(argv, run_dir, &out, &err), c.exit_code) << err;
  EXPECT_NE(err.find(c.message), std::string::npos) << err;
}

// attestd: a loopback insecure base that would start, plus one mistake.
ConfigCase Attestd(std::string name, std::vector<std::string> extra, int code,
                   std::string message) {
  std::vector<std::string> args = {"--insecure", "--listen=127.0.0.1:0",
                                   "--data-dir={dir}/d-" + name};
  args.insert(args.end(), extra.begin(), extra.end());
  return {name, "attestd", args, code, message};
}

// attestd over TLS with the given files.
ConfigCase AttestdTls(std::string name, std::string ca, std::string cert, std::string key,
                      std::string message) {
  return {name,
          "attestd",
          {"--listen=127.0.0.1:0", "--data-dir={dir}/d-" + name, "--client-ca=" + ca,
           "--tls-cert=" + cert, "--tls-key=" + key},
          2,
          message};
}

// attest-agent toward a loopback port nothing listens on, plus one mistake.
ConfigCase Agent(std::string name, std::vector<std::string> extra, int code, std::string message,
                 bool insecure = true) {
  std::vector<std::string> args = {"--daemon=127.0.0.1:1", "--spool-dir={dir}/s-" + name};
  if (insecure) args.push_back("--insecure");
  args.insert(args.end(), extra.begin(), extra.end());
  return {name, "attest-agent", args, code, message};
}

std::string CaseName(const testing::TestParamInfo<ConfigCase>& param) { return param.param.name; }

std::vector<std::string> ManyLabels(int n) {
  std::vector<std::string> labels;
  for (int i = 0; i < n; ++i) labels.push_back("--label=k" + std::to_string(i) + "=v");
  return labels;
}

INSTANTIATE_TEST_SUITE_P(
    Attestd, ConfigErrorsTest,
    testing::Values(
        Attestd("positional", {"extra"}, 2, "unexpected argument \"extra\""),
        Attestd("message_bytes", {"--max-message-bytes=10"}, 2,
                "--max-message-bytes must be >= 1024"),
        Attestd("max_streams", {"--max-streams=0"}, 2, "--max-streams >= 1"),
        Attestd("min_free", {"--min-free-disk-mib=-1"}, 2, "--min-free-disk-mib >= 0"),
        Attestd("judge_delay", {"--judge-delay=soon"}, 2, "--judge-delay: bad duration \"soon\""),
        Attestd("metrics_refresh", {"--metrics-refresh=0s"}, 2,
                "--metrics-refresh: a positive duration"),
        Attestd("alert_evaluate", {"--alert-evaluate=-5s"}, 2, "--alert-evaluate:"),
        Attestd("alertmanager_url", {"--alertmanager-url=ftp://am:9093"}, 2,
                "only http[s]://HOST[:PORT][/PATH] is supported"),
        Attestd("alertmanager_cert_without_key",
                {"--alertmanager-url=https://am:9093", "--alertmanager-cert={cert}"}, 2,
                "--alertmanager-cert and --alertmanager-key go together"),
        Attestd("alertmanager_ca_without_https",
                {"--alertmanager-url=http://am:9093", "--alertmanager-ca={ca}"}, 2,
                "apply to https:// Alertmanager URLs, and --alertmanager-url has none"),
        Attestd("alertmanager_ca_not_pem",
                {"--alertmanager-url=https://am:9093", "--alertmanager-ca={dir}/not-pem.txt"}, 2,
                "not-pem.txt: not a PEM certificate"),
        Attestd("alertmanager_key_mismatch",
                {"--alertmanager-url=https://am:9093", "--alertmanager-cert={cert}",
                 "--alertmanager-key={other_key}"},
                2, "not the private key of the certificate in"),
        Attestd("log_level", {"--log-level=loud"}, 2,
                "--log-level: want trace, debug, info, warn or error, got \"loud\""),
        Attestd("log_format", {"--log-format=xml"}, 2, "--log-format: want text or json"),
        Attestd("config_syntax", {"--config={dir}/syntax.yaml"}, 2, "syntax.yaml:2:"),
        Attestd("config_not_mapping", {"--config={dir}/list.yaml"}, 2,
                "list.yaml: config must be a mapping of settings"),
        Attestd("config_list", {"--config={dir}/multi.yaml"}, 2,
                "multi.yaml:1: \"listen\" takes one value, not a list"),
        Attestd("config_mapping", {"--config={dir}/map.yaml"}, 2,
                "map.yaml:1: \"listen\" must be a value or a list"),
        Attestd("config_null", {"--config={dir}/null.yaml"}, 2,
                "null.yaml:1: \"listen\" must be a value or a list"),
        Attestd("config_key", {"--config={dir}/key.yaml"}, 2, "key.yaml:1:"),
        Attestd("crl_insecure", {"--crl={dir}/not-pem.txt"}, 2,
                "--crl needs TLS: there are no certificates with --insecure"),
        Attestd("metrics_listen", {"--metrics-listen=192.0.2.1:9464"}, 1,
                "cannot serve metrics on 192.0.2.1:9464"),
        AttestdTls("cert_not_pem", "{ca}", "{dir}/not-pem.txt", "{key}",
                   "not-pem.txt: not a PEM certificate"),
        AttestdTls("ca_not_pem", "{dir}/not-pem.txt", "{cert}", "{key}",
                   "not-pem.txt: not a PEM certificate"),
        AttestdTls("key_not_pem", "{ca}", "{cert}", "{dir}/not-pem.txt",
                   "not-pem.txt: not a PEM private key"),
        AttestdTls("key_mismatch", "{ca}", "{cert}", "{other_key}",
                   "not the private key of the certificate in"),
        AttestdTls("tls_missing", "{ca}", "{dir}/missing.crt", "{key}", "missing.crt"),
        ConfigCase{"crl_not_pem",
                   "attestd",
                   {"--listen=127.0.0.1:0", "--data-dir={dir}/d-crl_not_pem", "--client-ca={ca}",
                    "--tls-cert={cert}", "--tls-key={key}", "--crl={dir}/not-pem.txt"},
                   2,
                   "not-pem.txt"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Agent, ConfigErrorsTest,
    testing::Values(
        Agent("max_backoff", {"--max-backoff=10ms"}, 2,
              "--max-backoff: want a duration of at least 100ms"),
        Agent("snapshot_interval", {"--snapshot-interval=often"}, 2,
              "--snapshot-interval: bad duration \"often\""),
        Agent("snapshot_interval_short", {"--snapshot-interval=0s"}, 2,
              "--snapshot-interval: want a duration of at least 1s"),
        Agent("check_timeout", {"--check-timeout=-1s"}, 2, "--check-timeout: bad duration"),
        Agent("check_timeout_zero", {"--check-timeout=0s"}, 2,
              "--check-timeout: want a duration of at least 1s"),
        Agent("label_key", {"--label=" + std::string(64, 'k') + "=v"}, 2, "keys are 1-63 bytes"),
        Agent("label_value", {"--label=k=" + std::string(257, 'v')}, 2,
              "values are at most 256 bytes"),
        Agent("too_many_labels", ManyLabels(65), 2, "--label: at most 64 labels"),
        Agent("host_id", {"--host-id=web/01"}, 2,
              "--host-id \"web/01\": want 1-253 characters of [A-Za-z0-9._-]"),
        Agent("shipper_twice",
              {"--shipper=name=s,probe=marker_file,path=/var/lib/a",
               "--shipper=name=s,probe=marker_file,path=/var/lib/b"},
              2, "--shipper: the name \"s\" is used twice"),
        Agent("config_list_of_maps", {"--config={dir}/listofmaps.yaml"}, 2, "listofmaps.yaml:2:"),
        Agent("tls_missing",
              {"--tls-cert=/nonexistent.crt", "--tls-key=/nonexistent.key", "--ca={ca}"}, 2,
              "cannot read /nonexistent.crt", /*insecure=*/false),
        Agent("tls_key_mismatch", {"--tls-cert={cert}", "--tls-key={other_key}", "--ca={ca}"}, 2,
              "not the private key of the certificate in", /*insecure=*/false),
        ConfigCase{"spool_unusable",
                   "attest-agent",
                   {"--daemon=127.0.0.1:1", "--insecure", "--spool-dir=/proc/attest-spool"},
                   1,
                   "cannot open spool"}),
    CaseName);

}  // namespace
}  // namespace attest::testing_support
