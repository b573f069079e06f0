// A small command-line parser shared by attestd, attest-agent and attestctl.
// Flags are `--name=value` or `--name value`; booleans are `--name` or
// `--name=false`. A YAML config file can supply the same settings under the
// flag names with '-' written as '_'; the command line wins over the file.
#ifndef ATTEST_COMMON_FLAGS_H_
#define ATTEST_COMMON_FLAGS_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace attest {

// Not thread-safe; used once at start-up. Bound variables must outlive it.
class FlagSet {
 public:
  FlagSet(std::string program, std::string synopsis);

  void String(const std::string& name, std::string* out, const std::string& help);
  void Bool(const std::string& name, bool* out, const std::string& help);
  void Int(const std::string& name, int64_t* out, const std::string& help);
  // May be given several times; each occurrence appends.
  void Repeated(const std::string& name, std::vector<std::string>* out, const std::string& help);

  // Parses argv[1..]. Non-flag arguments go to `positional` (if null, they are
  // an error). "--" ends flag parsing. Returns InvalidArgument naming the
  // offending flag. `--help` sets help_requested() and `--version`
  // version_requested(); both return OK.
  [[nodiscard]] absl::Status Parse(int argc, char** argv,
                                   std::vector<std::string>* positional = nullptr);

  // Parse() followed, unless --help or --version was given, by LoadConfigFile(*config_file)
  // when the command line named one: the one way all programs combine flags
  // with their config file (flags win).
  [[nodiscard]] absl::Status ParseWithConfig(int argc, char** argv, const std::string* config_file);

  // Applies settings from a YAML mapping file, skipping flags already given
  // on the command line. Unknown keys and bad values are errors naming the
  // file and line.
  [[nodiscard]] absl::Status LoadConfigFile(const std::string& path);

  bool help_requested() const { return help_requested_; }
  bool version_requested() const { return version_requested_; }
  // "PROGRAM VERSION", what --version prints.
  std::string VersionLine() const;
  // True when the flag was set on the command line or in the config file.
  bool IsSet(const std::string& name) const;
  // The names of the flags given on the command line, in name order.
  std::vector<std::string> GivenOnCommandLine() const;
  // The --help text.
  std::string Usage() const;
  // The same for one subcommand: its synopsis and only the flags named in
  // `only` (every flag when empty).
  std::string Usage(const std::string& synopsis, const std::vector<std::string>& only) const;

 private:
  struct Flag {
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool repeated = false;
    bool from_command_line = false;
    bool set = false;
    std::function<absl::Status(const std::string&)> apply;
  };
  [[nodiscard]] absl::Status Apply(const std::string& name, Flag& flag, const std::string& value);
  // LoadConfigFile's loop over a parsed mapping (throws YAML::Exception).
  [[nodiscard]] absl::Status ApplyConfig(const YAML::Node& root, const std::string& path);

  std::string program_;
  std::string synopsis_;
  std::map<std::string, Flag> flags_;
  bool help_requested_ = false;
  bool version_requested_ = false;
};

// --is-configured, for systemd's ExecCondition= in the packaged units: the
// program exits 1, naming what is missing, while its configuration is still
// the packaged one that lacks the settings only the operator can give
// (`parse_status` is FailedPrecondition), so systemd skips the start instead
// of failing it. Otherwise it exits 0 and the start itself runs, and reports
// any other problem (exit 2).
inline constexpr char kIsConfiguredHelp[] =
    "exit 0 if configured, 1 naming what is missing if not yet (for systemd's "
    "ExecCondition=); other errors are left for the start to report";
int IsConfiguredExit(const std::string& program, const absl::Status& parse_status);
// True when argv holds `flag` itself (before any "--").
bool ArgvHas(int argc, char** argv, const std::string& flag);

}  // namespace attest

#endif  // ATTEST_COMMON_FLAGS_H_
