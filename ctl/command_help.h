// attestctl's help: the command list and each command's synopsis and flags.
#ifndef ATTEST_CTL_COMMAND_HELP_H_
#define ATTEST_CTL_COMMAND_HELP_H_

#include <map>
#include <string>
#include <vector>

namespace attest::ctl {

// attestctl --help: every command, the output formats and the exit codes.
extern const char kCommands[];

// One command's --help: its synopsis and the flags it reads (the
// connection flags come with every command that talks to attestd).
struct CommandHelp {
  const char* synopsis;
  std::vector<std::string> flags;
  bool daemon = true;
};

// By command name.
const std::map<std::string, CommandHelp>& CommandHelps();

}  // namespace attest::ctl

#endif  // ATTEST_CTL_COMMAND_HELP_H_
