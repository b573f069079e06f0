// attestctl's usage errors, through the binary: each exits 2 with a message
// naming what is wrong, before it talks to any daemon (none runs here; a
// command that got as far as connecting would exit 3 instead).
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

struct UsageCase {
  std::vector<std::string> args;  // "{dir}" is replaced by the case's own directory
  std::string message;            // a part of stderr
  int exit_code = 2;
  std::vector<std::pair<std::string, std::string>> files = {};  // written to {dir} first
};

class CtlUsageTest : public testing::TestWithParam<UsageCase> {};

TEST_P(CtlUsageTest, ExitsWithTheDocumentedCodeAndSaysWhatIsWrong) {
  const std::string dir = FreshDir("ctl_usage");
  for (const auto& [name, content] : GetParam().files) std::ofstream(dir + "/" + name) << content;
  std::vector<std::string> argv = {BinaryPath("attestctl")};
  for (const std::string& arg : GetParam().args) {
    argv.push_back(absl::StrReplaceAll(arg, {{"{dir}", dir}}));
  }
  std::string out, err;
  EXPECT_EQ(RunTool(argv, dir, &out, &err), GetParam().exit_code) << err;
  EXPECT_NE(err.find(absl::StrReplaceAll(GetParam().message, {{"{dir}", dir}})), std::string::npos)
      << err;
}

const std::string kT0 = "2026-01-01T00:00:00Z";
const std::string kT1 = "2026-02-01T00:00:00Z";

INSTANTIATE_TEST_SUITE_P(
    Cases, CtlUsageTest,
    testing::Values(
        UsageCase{{}, "Usage: attestctl COMMAND"},
        UsageCase{{"frobnicate"}, "unknown command \"frobnicate\""},
        UsageCase{{"--bogus", "hosts"}, "unknown flag --bogus"},
        UsageCase{{"hosts", "--format", "xml"}, "--format must be table, json, csv"},
        UsageCase{{"--daemon", "10.1.2.3:7000", "hosts"},
                  "is not loopback: give --tls-cert, --tls-key and --ca"},
        UsageCase{{"--daemon", "127.0.0.1:1", "--tls-cert", "/nonexistent.crt", "--tls-key",
                   "/nonexistent.key", "--ca", "/nonexistent.ca", "hosts"},
                  "cannot read /nonexistent.crt"},
        UsageCase{{"timeline", "--control", "c"}, "timeline: --host H --control C required"},
        UsageCase{{"timeline", "--host", "h", "--control", "c", "--start", "yesterday"},
                  "--start: not an RFC 3339 time: \"yesterday\""},
        UsageCase{{"windows", "create", "w", "--start", kT0, "--end", "nope"},
                  "--end: not an RFC 3339 time: \"nope\""},
        UsageCase{{"report"}, "report: --window ID is required"},
        UsageCase{{"report", "--window", "w", "--format", "html"},
                  "report --format html needs --out FILE"},
        UsageCase{{"import", "/nonexistent.jsonl"}, "import: cannot open /nonexistent.jsonl"},
        UsageCase{{"verify", "/nonexistent.tar"}, "cannot read /nonexistent.tar"},
        UsageCase{{"verify", "/nonexistent.tar", "--pubkey", "{dir}/key.pem"},
                  "cannot read /nonexistent.tar",
                  2,
                  {{"key.pem",
                    "-----BEGIN PUBLIC "
                    "KEY-----\nMCowBQYDK2VwAyEAhQKIdV9xgcyMctQ2OVDK7DSfqIA2ES8/"
                    "o5gjTM45vF8=\n-----END PUBLIC KEY-----\n"}}},
        UsageCase{{"verify", "/nonexistent.tar", "--pubkey", "{dir}/nokey.pem"},
                  "cannot read {dir}/nokey.pem"},
        UsageCase{{"verify", "/nonexistent.tar", "--witness-key", "not-a-key"},
                  "--witness-key not-a-key: a verifier key is <name>+<8 hex digits>+<base64 key>"},
        UsageCase{{"verify", "/nonexistent.tar", "--witness-key",
                   "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"},
                  "not a witness's key (type 0x04, as attest-witness init prints)"},
        UsageCase{{"verify", "/nonexistent.tar", "--known-checkpoint", "{dir}/known.txt"},
                  "--known-checkpoint {dir}/known.txt: not a signed checkpoint: a note has a blank "
                  "line before its signatures",
                  2,
                  {{"known.txt", "just some text\n"}}},
        UsageCase{{"verify", "/nonexistent.tar", "--known-checkpoint", "{dir}/absent.txt"},
                  "cannot read {dir}/absent.txt"},
        UsageCase{{"verify", "/nonexistent.tar", "--max-lateness", "soon"},
                  "--max-lateness: a duration, e.g. 14d"},
        UsageCase{{"verify", "/nonexistent.tar", "--memory-mib", "-1"},
                  "--memory-mib: 0 to 1048576"},
        UsageCase{{"verify", "/nonexistent.tar", "--memory-mib", "1048577"},
                  "--memory-mib: 0 to 1048576"},
        UsageCase{{"verify", "/nonexistent.tar", "--pubkey", "/dev/zero"},
                  "/dev/zero is larger than 1048576 bytes"},
        UsageCase{{"verify", "/nonexistent.tar", "--known-checkpoint", "/dev/zero"},
                  "/dev/zero is larger than 1048576 bytes"},
        UsageCase{{"export", "--window", "w", "--out", "x.tar", "--witness-wait", "-1s"},
                  "--witness-wait: a duration, e.g. 60s"},
        UsageCase{
            {"export", "--window", "w", "--out", "x.tar", "--sample", "1", "--late-after", "later"},
            "--late-after: a duration, e.g. 26h"},
        UsageCase{{"export", "--window", "w", "--out", "x.tar", "--late-after", "30h"},
                  "--late-after is for sampled bundles (--sample K)"},
        UsageCase{{"verify", "/nonexistent.tar", "--pubkey", "{dir}/key.pem"},
                  "key.pem: not an Ed25519 public key (PEM)",
                  2,
                  {{"key.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}},
        UsageCase{{"sample", "--window", "w", "--n", "3"},
                  "sample: --window ID --control C [--n N]"},
        UsageCase{{"sample", "--window", "w", "--control", "c", "--n", "0"},
                  "sample: --n must be from 1 to 4294967295 (leave it out for the audit "
                  "guidance size)"},
        UsageCase{{"sample", "--window", "w", "--control", "c", "--n", "-1"},
                  "sample: --n must be from 1 to 4294967295"},
        UsageCase{{"sample", "--window", "w", "--control", "c", "--n", "4294967296"},
                  "sample: --n must be from 1 to 4294967295"},
        UsageCase{{"approve", "--change", "x"}, "approve: --change ID --ticket T --approver A"},
        UsageCase{
            {"except", "create", "--control", "c", "--host", "h", "--selector", "a=b", "--start",
             kT0, "--end", kT1, "--reason", "r", "--approver", "a", "--ticket", "t"},
            "except create: --control C (--host H | --selector k=v)"},
        UsageCase{{"--daemon", "127.0.0.1:1", "--daemon", "127.0.0.1:2", "hosts"},
                  "only report takes more than one --daemon"},
        UsageCase{{"windows", "create", "w", "--start", kT0},
                  "windows create ID --start T --end T"},
        UsageCase{{"except", "revoke"}, "except revoke: --id ID --reason R are required"},
        UsageCase{{"simulate"}, "simulate: --hosts N --days D --seed S --out FILE.jsonl"},
        UsageCase{{"simulate", "--hosts", "0", "--days", "1", "--out", "{dir}/s.jsonl"},
                  "simulate: --hosts N --days D"},
        UsageCase{{"simulate", "--hosts", "1", "--days", "1", "--out", "/proc/attest/s.jsonl"},
                  "simulate: cannot write /proc/attest/s.jsonl"},
        UsageCase{{"export", "--window", "w"}, "attestctl export --window ID --out BUNDLE.tar"},
        UsageCase{{"except", "create", "--control", "c", "--selector", "ab", "--start", kT0,
                   "--end", kT1, "--reason", "r", "--approver", "a", "--ticket", "t"},
                  "--selector takes key=value"},
        UsageCase{{"except", "create", "--control", "c", "--selector", "=b", "--start", kT0,
                   "--end", kT1, "--reason", "r", "--approver", "a", "--ticket", "t"},
                  "--selector takes key=value"},
        UsageCase{{"windows", "create", "w", "--start", kT0, "--end", kT1, "--coverage", "most"},
                  "--effectiveness/--coverage take fractions, --max-deviation a duration"},
        UsageCase{
            {"windows", "create", "w", "--start", kT0, "--end", kT1, "--max-deviation", "forever"},
            "--effectiveness/--coverage take fractions, --max-deviation a duration"},
        UsageCase{{"approve", "--from-file", "/nonexistent.jsonl"},
                  "approve: cannot open /nonexistent.jsonl"},
        UsageCase{{"approve", "--from-file", "{dir}/a.jsonl"},
                  "a.jsonl: each line needs change_id, ticket, approver",
                  2,
                  {{"a.jsonl", "not json\n"}}},
        UsageCase{{"approve", "--from-file", "{dir}/a.jsonl"},
                  "a.jsonl: each line needs change_id, ticket, approver",
                  2,
                  {{"a.jsonl", R"({"change_id":"c","ticket":"t"})"}}},
        UsageCase{
            {"approve", "--from-file", "{dir}/a.jsonl"},
            "--at: not an RFC 3339 time: \"yesterday\"",
            2,
            {{"a.jsonl", R"({"change_id":"c","ticket":"t","approver":"a","at":"yesterday"})"}}},
        UsageCase{{"approve", "--change", "c", "--ticket", "T-\xe9", "--approver", "a"},
                  "argument 5 is not valid UTF-8"},
        UsageCase{
            {"approve", "--from-file", "{dir}/a.jsonl"},
            "\"at\" must be an RFC 3339 string",
            2,
            {{"a.jsonl", R"({"change_id":"c","ticket":"t","approver":"a","at":1767225600})"}}},
        UsageCase{{"approve", "--from-file", "{dir}/a.jsonl"},
                  "a.jsonl: a line is not valid UTF-8",
                  2,
                  {{"a.jsonl", "{\"change_id\":\"c\",\"ticket\":\"T-\xe9\",\"approver\":\"a\"}"}}},
        UsageCase{{"approve", "--from-file", "{dir}/a.jsonl"},
                  "a.jsonl: a line is longer than 1048576 bytes",
                  2,
                  {{"a.jsonl", std::string((1 << 20) + 1, ' ') + "\n"}}},
        UsageCase{{"hosts", "frob"}, "usage: attestctl hosts [list] | show HOST"},
        UsageCase{{"windows", "frob"}, "usage: attestctl windows [list] | create ID"},
        UsageCase{{"except", "frob"}, "usage: attestctl except create|revoke|list"},
        UsageCase{{"except", "list", "extra"}, "usage: attestctl except create|revoke|list"},
        // A flag the command does not read is refused, not ignored.
        UsageCase{{"status", "--window", "q4"},
                  "status does not take --window (see attestctl status --help)"},
        UsageCase{{"evidence", "web-1", "--format", "json"}, "evidence does not take --format"},
        // A flag only a sibling subcommand reads (fixed: it was ignored).
        UsageCase{{"hosts", "list", "--at", "2026-01-01T00:00:00Z"},
                  "hosts list does not take --at (see attestctl hosts --help)"},
        UsageCase{{"hosts", "decommission", "web-1", "--format", "json"},
                  "hosts decommission does not take --format"},
        UsageCase{{"except", "list", "--reason", "r"}, "except list does not take --reason"},
        UsageCase{{"except", "revoke", "--id", "EX-1", "--reason", "r", "--control", "c"},
                  "except revoke does not take --control"},
        UsageCase{{"windows", "--start", "2026-01-01T00:00:00Z"}, "windows does not take --start"},
        UsageCase{{"pki", "issue-agent", "h", "--dns", "x.example", "--pki-dir", "{dir}/pki"},
                  "pki issue-agent does not take --dns"},
        UsageCase{{"pki", "revoke", "x.crt", "--trust-domain", "corp", "--pki-dir", "{dir}/pki"},
                  "pki revoke does not take --trust-domain"},
        UsageCase{{"verify", "/nonexistent.tar", "--format", "json"},
                  "verify does not take --format"},
        UsageCase{{"evidence"}, "usage: attestctl evidence HOST"},
        UsageCase{{"import"}, "usage: attestctl import FILE.jsonl"},
        UsageCase{{"pki"}, "usage: attestctl pki init"},
        UsageCase{{"pki", "issue-agent", "h", "--pki-dir", "{dir}/pki", "--valid-days", "0"},
                  "pki: --valid-days must be 1..3650"},
        UsageCase{{"pki", "init", "--pki-dir", "{dir}/pki", "--trust-domain", "bad domain"},
                  "--trust-domain bad domain: not a valid name"},
        UsageCase{{"pki", "issue-agent", "bad/name", "--pki-dir", "{dir}/pki"},
                  "pki: bad/name is not a valid name"},
        UsageCase{{"pki", "issue-agent", "h", "--pki-dir", "{dir}/none"}, "no CA in", 1},
        UsageCase{{"pki", "issue-agent", "h", "--pki-dir", "{dir}"},
                  "holds half a CA (ca.key missing)",
                  1,
                  {{"ca.crt", "-----BEGIN CERTIFICATE-----\n"}}},
        UsageCase{{"pki", "init", "--pki-dir", "{dir}"},
                  "holds half a CA (ca.crt missing)",
                  1,
                  {{"ca.key", "-----BEGIN PRIVATE KEY-----\n"}}}));

}  // namespace
}  // namespace attest::testing_support
