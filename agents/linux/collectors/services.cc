#include "agents/linux/collectors/services.h"

#include <map>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {

absl::StatusOr<std::string> NormalizeUnitName(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return absl::InvalidArgumentError(
        StrCat("unit name \"", name, "\" is empty or over 255 bytes"));
  }
  for (char c : name) {
    if (c == '/' || absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          StrCat("unit name \"", name, "\" has '/', a space or a control character"));
    }
  }
  const size_t dot = name.rfind('.');
  std::string unit =
      dot == std::string_view::npos || dot == 0 ? StrCat(name, ".service") : std::string(name);
  if (unit.size() > 255) {  // attestd's bound on a unit's name is 256 bytes
    return absl::InvalidArgumentError(StrCat("unit name \"", name, "\" is over 255 bytes"));
  }
  return unit;
}

absl::StatusOr<v1::ServicesState> ParseSystemctlShow(std::string_view text,
                                                     const std::vector<std::string>& units) {
  std::vector<std::map<std::string, std::string>> blocks(1);
  for (std::string_view line : Split(text, "\n")) {
    if (TrimWhitespace(line).empty()) {
      if (!blocks.back().empty()) blocks.emplace_back();
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("systemctl show: unexpected line \"", line.substr(0, 80), "\""));
    }
    blocks.back()[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  if (blocks.back().empty()) blocks.pop_back();
  if (blocks.size() != units.size()) {
    return absl::InvalidArgumentError(StrCat("systemctl show: ", blocks.size(),
                                             " units in its output, ", units.size(), " asked"));
  }
  v1::ServicesState state;
  for (size_t i = 0; i < units.size(); ++i) {
    auto& b = blocks[i];
    if (b["Id"] != units[i]) {
      // A unit known under an alias prints its real Id: keep the name asked.
      if (b["Id"].empty()) {
        return absl::InvalidArgumentError(StrCat("systemctl show: no Id for ", units[i]));
      }
    }
    v1::UnitState* u = state.add_units();
    u->set_unit(units[i]);
    u->set_active_state(b["ActiveState"]);
    u->set_sub_state(b["SubState"]);
    u->set_load_state(b["LoadState"]);
  }
  return state;
}

absl::StatusOr<std::vector<v1::Signal>> ServicesCollector::Collect(const CollectContext& ctx) {
  std::vector<std::string> argv = {"systemctl", "show",
                                   "--property=Id,LoadState,ActiveState,SubState", "--"};
  argv.insert(argv.end(), units_.begin(), units_.end());
  auto result = ctx.commands.Run(argv, absl::Seconds(10));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::UnavailableError(StrCat("systemctl show exited ", result->exit_code, ": ",
                                         TrimWhitespace(result->stderr_text.substr(0, 1000))));
  }
  auto state = ParseSystemctlShow(result->stdout_text, units_);
  if (!state.ok()) return state.status();
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  *s.mutable_services() = std::move(*state);
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
