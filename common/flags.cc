#include "common/flags.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "absl/strings/str_replace.h"
#include "common/strings.h"
#include "common/version.h"
#include "yaml-cpp/yaml.h"

namespace attest {

FlagSet::FlagSet(std::string program, std::string synopsis)
    : program_(std::move(program)), synopsis_(std::move(synopsis)) {}

void FlagSet::String(const std::string& name, std::string* out, const std::string& help) {
  flags_[name] = Flag{
      .help = help, .default_text = out->empty() ? "" : *out, .apply = [out](const std::string& v) {
        *out = v;
        return absl::OkStatus();
      }};
}

void FlagSet::Bool(const std::string& name, bool* out, const std::string& help) {
  flags_[name] = Flag{
      .help = help,
      .default_text = *out ? "true" : "",
      .is_bool = true,
      .apply = [out](const std::string& v) {
        if (v == "true" || v == "1" || v == "yes") {
          *out = true;
        } else if (v == "false" || v == "0" || v == "no") {
          *out = false;
        } else {
          return absl::InvalidArgumentError(attest::StrCat("want true or false, got \"", v, "\""));
        }
        return absl::OkStatus();
      }};
}

void FlagSet::Int(const std::string& name, int64_t* out, const std::string& help) {
  flags_[name] = Flag{
      .help = help, .default_text = std::to_string(*out), .apply = [out](const std::string& v) {
        int64_t parsed = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
        if (ec != std::errc() || end != v.data() + v.size()) {
          return absl::InvalidArgumentError(attest::StrCat("want an integer, got \"", v, "\""));
        }
        *out = parsed;
        return absl::OkStatus();
      }};
}

void FlagSet::Repeated(const std::string& name, std::vector<std::string>* out,
                       const std::string& help) {
  flags_[name] = Flag{.help = help, .repeated = true, .apply = [out](const std::string& v) {
                        out->push_back(v);
                        return absl::OkStatus();
                      }};
}

absl::Status FlagSet::Apply(const std::string& name, Flag& flag, const std::string& value) {
  absl::Status s = flag.apply(value);
  if (!s.ok()) return absl::InvalidArgumentError(attest::StrCat("--", name, ": ", s.message()));
  flag.set = true;
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(int argc, char** argv, std::vector<std::string>* positional) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) {
        if (positional == nullptr) {
          return absl::InvalidArgumentError(
              attest::StrCat("unexpected argument \"", argv[i], "\""));
        }
        positional->push_back(argv[i]);
      }
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg == "--version") {
      version_requested_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      if (positional == nullptr) {
        return absl::InvalidArgumentError(attest::StrCat("unexpected argument \"", arg, "\""));
      }
      positional->push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(attest::StrCat("unknown flag --", name, " (see --help)"));
    }
    Flag& flag = it->second;
    if (!has_value) {
      if (flag.is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(attest::StrCat("--", name, " needs a value"));
      }
    }
    if (absl::Status s = Apply(name, flag, value); !s.ok()) return s;
    flag.from_command_line = true;
  }
  return absl::OkStatus();
}

absl::Status FlagSet::ParseWithConfig(int argc, char** argv, const std::string* config_file) {
  if (absl::Status s = Parse(argc, argv); !s.ok()) return s;
  if (help_requested_ || version_requested_ || config_file->empty()) return absl::OkStatus();
  return LoadConfigFile(*config_file);
}

absl::Status FlagSet::LoadConfigFile(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::InvalidArgumentError(attest::StrCat(path, ": cannot read config file"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(attest::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        attest::StrCat(path, ": config must be a mapping of settings"));
  }
  // yaml-cpp throws on a key or list item that is not a plain value (a
  // list of mappings, a mapping as key): refused with its line, like the rest.
  try {
    return ApplyConfig(root, path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        attest::StrCat(path, ":", e.mark.line + 1, ": ", e.msg, " (want key: value or a list)"));
  }
}

absl::Status FlagSet::ApplyConfig(const YAML::Node& root, const std::string& path) {
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const std::string name = absl::StrReplaceAll(key, {{"_", "-"}});
    const int line = entry.first.Mark().line + 1;
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(
          attest::StrCat(path, ":", line, ": unknown setting \"", key, "\""));
    }
    Flag& flag = it->second;
    std::vector<std::string> values;
    if (entry.second.IsSequence()) {
      if (!flag.repeated) {
        return absl::InvalidArgumentError(
            attest::StrCat(path, ":", line, ": \"", key, "\" takes one value, not a list"));
      }
      for (const auto& v : entry.second) values.push_back(v.as<std::string>());
    } else if (entry.second.IsScalar()) {
      values.push_back(entry.second.as<std::string>());
    } else {
      return absl::InvalidArgumentError(
          attest::StrCat(path, ":", line, ": \"", key, "\" must be a value or a list"));
    }
    // The file's shape is checked even where the command line wins, so a
    // broken file is found now rather than when the flag is dropped.
    if (flag.from_command_line) continue;
    for (const auto& v : values) {
      if (absl::Status s = Apply(name, flag, v); !s.ok()) {
        return absl::InvalidArgumentError(attest::StrCat(path, ":", line, ": ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

bool FlagSet::IsSet(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

std::vector<std::string> FlagSet::GivenOnCommandLine() const {
  std::vector<std::string> names;
  for (const auto& [name, flag] : flags_) {
    if (flag.from_command_line) names.push_back(name);
  }
  return names;
}

std::string FlagSet::Usage() const { return Usage(synopsis_, {}); }

int IsConfiguredExit(const std::string& program, const absl::Status& parse_status) {
  if (absl::IsFailedPrecondition(parse_status)) {
    fprintf(stderr, "%s: not configured yet: %s\n", program.c_str(),
            std::string(parse_status.message()).c_str());
    return 1;
  }
  return 0;
}

bool ArgvHas(int argc, char** argv, const std::string& flag) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == std::string("--")) return false;
    if (argv[i] == flag) return true;
  }
  return false;
}

std::string FlagSet::VersionLine() const { return attest::StrCat(program_, " ", kVersion, "\n"); }

std::string FlagSet::Usage(const std::string& synopsis,
                           const std::vector<std::string>& only) const {
  std::string out = attest::StrCat("Usage: ", program_, " ", synopsis, "\n\nFlags:\n");
  for (const auto& [name, flag] : flags_) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::string left = attest::StrCat("  --", name, flag.is_bool ? "" : " VALUE");
    if (left.size() < 28) left.resize(28, ' ');
    std::string help = flag.help;  // continuation lines line up under the first
    for (size_t at = help.find('\n'); at != std::string::npos; at = help.find('\n', at + 30)) {
      help.insert(at + 1, 29, ' ');
    }
    attest::StrAppend(&out, left, " ", help);
    if (flag.repeated) attest::StrAppend(&out, " (repeatable)");
    if (!flag.default_text.empty()) attest::StrAppend(&out, " [default: ", flag.default_text, "]");
    attest::StrAppend(&out, "\n");
  }
  attest::StrAppend(&out, "  --help                       print this help\n");
  attest::StrAppend(&out, "  --version                    print the version and exit\n");
  return out;
}

}  // namespace attest
