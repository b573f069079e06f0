// Fakes of the environment for collector tests: a command runner that
// replays recorded output, and the fixture tree path.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_join.h"
#include "agents/linux/collectors/command.h"

namespace attest::agent {

inline std::string FixturePath(const std::string& relative) {
  return std::string(ATTEST_SOURCE_DIR) + "/tests/fixtures/" + relative;
}

inline std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replays recorded command output, keyed by the joined argv. Records every
// command it was asked to run; unknown commands are NotFound.
class ReplayRunner : public CommandRunner {
 public:
  void Add(std::vector<std::string> argv, CommandResult result) {
    results_[absl::StrJoin(argv, " ")] = std::move(result);
  }
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    absl::Duration) const override {
    const std::string key = absl::StrJoin(argv, " ");
    calls_.push_back(key);
    auto it = results_.find(key);
    if (it == results_.end()) return absl::NotFoundError(key + ": not recorded");
    return it->second;
  }
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  std::map<std::string, CommandResult> results_;
  mutable std::vector<std::string> calls_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_
