// Running external programs for collectors: never through a shell, always
// with a timeout, LANG=C/LC_ALL=C so output parses the same everywhere, and
// a bounded amount of output kept.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_COMMAND_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::agent {

struct CommandResult {
  int exit_code = -1;  // the program's exit status
  std::string stdout_text;
  std::string stderr_text;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (an absolute path or a name looked up in a fixed PATH).
  // NotFound when the program does not exist, DeadlineExceeded when it ran
  // past `timeout` (it is then killed), Internal when it died by a signal.
  // A non-zero exit is not an error: callers read exit_code.
  // `env`: KEY=VALUE pairs added to the fixed environment (a backup
  // tool's repository settings); never logged.
  virtual absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                            absl::Duration timeout,
                                            const std::vector<std::string>& env) const = 0;
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    absl::Duration timeout) const {
    return Run(argv, timeout, {});
  }
};

// The real runner (posix_spawn, pipes, poll).
class ProcessRunner : public CommandRunner {
 public:
  using CommandRunner::Run;
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv, absl::Duration timeout,
                                    const std::vector<std::string>& env) const override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_COMMAND_H_
