// attestctl's usage errors, through the binary: each exits 2 with a message
// naming what is wrong, before it talks to any daemon (none runs here; a
// command that got as far as connecting would exit 3 instead).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

struct UsageCase {
  std::vector<std::string> args;
  std::string message;  // a part of stderr
};

class CtlUsageTest : public testing::TestWithParam<UsageCase> {};

TEST_P(CtlUsageTest, ExitsTwoAndSaysWhatIsWrong) {
  const std::string dir = FreshDir("ctl_usage");
  std::vector<std::string> argv = {BinaryPath("attestctl")};
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  std::string out, err;
  EXPECT_EQ(RunTool(argv, dir, &out, &err), 2) << err;
  EXPECT_NE(err.find(GetParam().message), std::string::npos) << err;
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
        UsageCase{{"sample", "--window", "w", "--n", "0"}, "sample: --window ID --control C --n N"},
        UsageCase{{"approve", "--change", "x"}, "approve: --change ID --ticket T --approver A"},
        UsageCase{
            {"except", "create", "--control", "c", "--host", "h", "--selector", "a=b", "--start",
             kT0, "--end", kT1, "--reason", "r", "--approver", "a", "--ticket", "t"},
            "except create: --control C (--host H | --selector k=v)"}));

}  // namespace
}  // namespace attest::testing_support
