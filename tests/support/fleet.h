// attestctl from the cross-process tests: one call, and a simulated fleet
// loaded into a daemon the way an operator would (simulate, import,
// approve).
#ifndef ATTEST_TESTS_SUPPORT_FLEET_H_
#define ATTEST_TESTS_SUPPORT_FLEET_H_

#include <string>
#include <vector>

namespace attest::testing_support {

// attestctl --daemon DAEMON ARGS...; its exit code, stdout in `out` and
// stderr in `err` (when given). Runs in `dir` (see RunTool).
int Attestctl(const std::string& daemon, const std::string& dir, std::vector<std::string> args,
              std::string* out = nullptr, std::string* err = nullptr);

// `attestctl simulate` of hosts x days from `start` (a UTC midnight, RFC
// 3339) into DIR/fleet.jsonl, imported into `daemon` with its approvals.
// "" when all of it worked, else what failed and what attestctl said.
std::string LoadSimulatedFleet(const std::string& daemon, const std::string& dir, int hosts,
                               int days, int seed, const std::string& start);

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_FLEET_H_
