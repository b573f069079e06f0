#include "tests/support/fleet.h"

#include "common/strings.h"
#include "tests/support/process.h"

namespace attest::testing_support {

int Attestctl(const std::string& daemon, const std::string& dir, std::vector<std::string> args,
              std::string* out, std::string* err) {
  args.insert(args.begin(), {BinaryPath("attestctl"), "--daemon", daemon});
  return RunTool(args, dir, out, err);
}

std::string LoadSimulatedFleet(const std::string& daemon, const std::string& dir, int hosts,
                               int days, int seed, const std::string& start) {
  const std::string sim = dir + "/fleet.jsonl";
  std::string out, err;
  if (RunTool(
          {BinaryPath("attestctl"), "simulate", "--hosts", std::to_string(hosts), "--days",
           std::to_string(days), "--seed", std::to_string(seed), "--start", start, "--out", sim},
          dir, &out, &err) != 0) {
    return StrCat("simulate: ", out, err);
  }
  if (Attestctl(daemon, dir, {"import", sim}, &out, &err) != 0) return StrCat("import: ", out, err);
  if (Attestctl(daemon, dir, {"approve", "--from-file", sim + ".approvals"}, &out, &err) != 0) {
    return StrCat("approve: ", out, err);
  }
  return "";
}

}  // namespace attest::testing_support
