#include "daemon/engine/policy.h"

#include <set>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "yaml-cpp/yaml.h"

namespace attest::engine {
namespace {

// Builds "FILE:LINE: message" errors for one document.
class Errors {
 public:
  explicit Errors(std::string_view file) : file_(file) {}
  absl::Status At(const YAML::Node& node, std::string_view what) const {
    const int line = node.Mark().is_null() ? 0 : node.Mark().line + 1;
    return absl::InvalidArgumentError(StrCat(file_, ":", line, ": ", what));
  }

 private:
  std::string file_;
};

absl::Status CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                       std::string_view where, const Errors& err) {
  if (!map.IsMap()) return err.At(map, StrCat(where, ": must be a mapping"));
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) return err.At(kv.first, StrCat(where, ": unknown key \"", key, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node, std::string_view where,
                                   const Errors& err) {
  if (!node.IsScalar()) return err.At(node, StrCat(where, ": must be a single value"));
  return node.as<std::string>();
}

absl::StatusOr<absl::Duration> DurationAt(const YAML::Node& node, std::string_view where,
                                          const Errors& err) {
  auto text = Scalar(node, where, err);
  if (!text.ok()) return text.status();
  auto d = ParseHumanDuration(*text);
  if (!d.ok()) return err.At(node, StrCat(where, ": ", d.status().message()));
  return *d;
}

absl::StatusOr<double> Fraction(const YAML::Node& node, std::string_view where, const Errors& err) {
  auto text = Scalar(node, where, err);
  if (!text.ok()) return text.status();
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !(v >= 0 && v <= 1)) {  // NaN fails too
    return err.At(node, StrCat(where, ": want a number from 0 to 1, got \"", *text, "\""));
  }
  return v;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, const Errors& err) {
  auto name = Scalar(node, "rule", err);
  if (!name.ok()) return name.status();
  for (Rule r : {Rule::kPatchSecuritySla, Rule::kLogsShippingContinuity,
                 Rule::kAccessChangeApproved, Rule::kAgentReporting, Rule::kCheckPass}) {
    if (*name == RuleName(r)) return r;
  }
  return err.At(node, StrCat("rule: unknown rule \"", *name,
                             "\" (known: patch.security_sla, logs.shipping_continuity, "
                             "access.change_approved, agent.reporting, check.pass)"));
}

absl::Status ParseParams(const YAML::Node& params, const YAML::Node& control_node,
                         const std::string& where, Control& c, const Errors& err) {
  std::set<std::string> allowed;
  std::vector<std::string> required;
  switch (c.rule) {
    case Rule::kPatchSecuritySla:
      allowed = {"security_max_age", "reboot_grace"};
      required = {"security_max_age"};
      break;
    case Rule::kLogsShippingContinuity:
      allowed = {"max_gap", "shipper"};
      required = {"max_gap"};
      break;
    case Rule::kAccessChangeApproved:
      allowed = {"approval_window"};
      required = {"approval_window"};
      break;
    case Rule::kAgentReporting:
      break;
    case Rule::kCheckPass:
      allowed = {"check"};
      required = {"check"};
      break;
  }
  if (params) {
    if (absl::Status s = CheckKeys(params, allowed, where + ".params", err); !s.ok()) return s;
  }
  for (const auto& key : required) {
    if (!params || !params[key]) {
      return err.At(params ? params : control_node,
                    StrCat(where, ".params.", key, ": required by rule ", RuleName(c.rule)));
    }
  }
  if (!params) return absl::OkStatus();
  auto duration = [&](const char* key, absl::Duration* out) -> absl::Status {
    if (!params[key]) return absl::OkStatus();
    auto d = DurationAt(params[key], StrCat(where, ".params.", key), err);
    if (!d.ok()) return d.status();
    *out = *d;
    return absl::OkStatus();
  };
  if (absl::Status s = duration("security_max_age", &c.security_max_age); !s.ok()) return s;
  if (absl::Status s = duration("reboot_grace", &c.reboot_grace); !s.ok()) return s;
  if (absl::Status s = duration("max_gap", &c.max_gap); !s.ok()) return s;
  if (absl::Status s = duration("approval_window", &c.approval_window); !s.ok()) return s;
  for (const char* key : {"shipper", "check"}) {
    if (!params[key]) continue;
    auto v = Scalar(params[key], StrCat(where, ".params.", key), err);
    if (!v.ok()) return v.status();
    (std::string_view(key) == "shipper" ? c.shipper : c.check) = *v;
  }
  return absl::OkStatus();
}

absl::StatusOr<Control> ParseControl(const YAML::Node& node, const std::string& where,
                                     const Errors& err) {
  if (absl::Status s = CheckKeys(
          node, {"id", "title", "tsc", "rule", "params", "freshness", "grace"}, where, err);
      !s.ok()) {
    return s;
  }
  Control c;
  if (!node["id"]) return err.At(node, where + ".id: required");
  auto id = Scalar(node["id"], where + ".id", err);
  if (!id.ok()) return id.status();
  if (!ValidId(*id)) {
    return err.At(node["id"], StrCat(where, ".id: \"", *id, "\" must be 1-64 of [A-Za-z0-9._-]"));
  }
  c.id = *id;
  if (node["title"]) {
    auto title = Scalar(node["title"], where + ".title", err);
    if (!title.ok()) return title.status();
    c.title = *title;
  }
  if (!node["tsc"] || !node["tsc"].IsSequence() || node["tsc"].size() == 0) {
    return err.At(node["tsc"] ? node["tsc"] : node, where + ".tsc: a non-empty list, e.g. [CC7.1]");
  }
  for (const auto& t : node["tsc"]) {
    auto v = Scalar(t, where + ".tsc", err);
    if (!v.ok()) return v.status();
    c.tsc.push_back(*v);
  }
  if (!node["rule"]) return err.At(node, where + ".rule: required");
  auto rule = ParseRule(node["rule"], err);
  if (!rule.ok()) return rule.status();
  c.rule = *rule;
  if (absl::Status s = ParseParams(node["params"], node, where, c, err); !s.ok()) return s;
  if (node["freshness"]) {
    auto f = DurationAt(node["freshness"], where + ".freshness", err);
    if (!f.ok()) return f.status();
    if (*f <= absl::ZeroDuration())
      return err.At(node["freshness"], where + ".freshness: must be > 0");
    c.freshness = *f;
  } else if (c.rule != Rule::kAccessChangeApproved) {
    return err.At(node, StrCat(where, ".freshness: required by rule ", RuleName(c.rule),
                               " (how old evidence may be before it counts as none)"));
  }
  if (node["grace"]) {
    auto g = DurationAt(node["grace"], where + ".grace", err);
    if (!g.ok()) return g.status();
    c.grace = *g;
  }
  return c;
}

absl::StatusOr<Window> ParseWindow(const YAML::Node& node, const std::string& where,
                                   const Errors& err) {
  if (absl::Status s = CheckKeys(node, {"id", "start", "end", "scope", "thresholds"}, where, err);
      !s.ok()) {
    return s;
  }
  Window w;
  for (const char* key : {"id", "start", "end"}) {
    if (!node[key]) return err.At(node, StrCat(where, ".", key, ": required"));
  }
  auto id = Scalar(node["id"], where + ".id", err);
  if (!id.ok()) return id.status();
  if (!ValidId(*id))
    return err.At(node["id"], StrCat(where, ".id: \"", *id, "\" is not a valid id"));
  w.id = *id;
  for (const char* key : {"start", "end"}) {
    auto text = Scalar(node[key], StrCat(where, ".", key), err);
    if (!text.ok()) return text.status();
    auto t = ParseRfc3339(*text);
    if (!t.ok()) return err.At(node[key], StrCat(where, ".", key, ": ", t.status().message()));
    (std::string_view(key) == "start" ? w.start : w.end) = *t;
  }
  if (w.end <= w.start) return err.At(node["end"], where + ".end: must be after start");
  if (node["scope"]) {
    if (!node["scope"].IsMap()) return err.At(node["scope"], where + ".scope: a mapping of labels");
    for (const auto& kv : node["scope"]) {
      auto v = Scalar(kv.second, where + ".scope", err);
      if (!v.ok()) return v.status();
      w.scope[kv.first.as<std::string>()] = *v;
    }
  }
  if (const YAML::Node t = node["thresholds"]) {
    if (absl::Status s = CheckKeys(t, {"effectiveness", "coverage", "max_deviation"},
                                   where + ".thresholds", err);
        !s.ok()) {
      return s;
    }
    for (const char* key : {"effectiveness", "coverage"}) {
      if (!t[key]) continue;
      auto v = Fraction(t[key], StrCat(where, ".thresholds.", key), err);
      if (!v.ok()) return v.status();
      (std::string_view(key) == "effectiveness" ? w.thresholds.effectiveness
                                                : w.thresholds.coverage) = *v;
    }
    if (t["max_deviation"]) {
      auto d = DurationAt(t["max_deviation"], where + ".thresholds.max_deviation", err);
      if (!d.ok()) return d.status();
      w.thresholds.max_deviation = *d;
    }
  }
  return w;
}

}  // namespace

std::string_view RuleName(Rule rule) {
  switch (rule) {
    case Rule::kPatchSecuritySla:
      return "patch.security_sla";
    case Rule::kLogsShippingContinuity:
      return "logs.shipping_continuity";
    case Rule::kAccessChangeApproved:
      return "access.change_approved";
    case Rule::kAgentReporting:
      return "agent.reporting";
    case Rule::kCheckPass:
      return "check.pass";
  }
  return "unknown";
}

namespace {
absl::StatusOr<Policy> ParsePolicyNode(const YAML::Node& root, std::string_view text,
                                       const Errors& err);
}  // namespace

absl::StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view file) {
  const Errors err(file);
  // yaml-cpp throws on anything it cannot convert (a key that is a list, a
  // value of the wrong shape): every such case is a refusal naming the
  // line, never an exception out of attestd (a SIGHUP must not kill it).
  try {
    return ParsePolicyNode(YAML::Load(std::string(text)), text, err);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
}

namespace {

absl::StatusOr<Policy> ParsePolicyNode(const YAML::Node& root, std::string_view text,
                                       const Errors& err) {
  if (!root.IsMap()) return err.At(root, "a policy is a mapping with controls and windows");
  if (absl::Status s = CheckKeys(root, {"controls", "windows"}, "policy", err); !s.ok()) return s;
  if (!root["controls"] || !root["controls"].IsSequence() || root["controls"].size() == 0) {
    return err.At(root, "controls: a non-empty list");
  }
  Policy policy;
  std::set<std::string> ids;
  for (size_t i = 0; i < root["controls"].size(); ++i) {
    const YAML::Node node = root["controls"][i];
    auto c = ParseControl(node, StrCat("controls[", i, "]"), err);
    if (!c.ok()) return c.status();
    if (!ids.insert(c->id).second) {
      return err.At(node["id"], StrCat("controls[", i, "].id: \"", c->id, "\" is used twice"));
    }
    policy.controls.push_back(*std::move(c));
  }
  std::set<std::string> window_ids;
  if (const YAML::Node windows = root["windows"]) {
    if (!windows.IsSequence()) return err.At(windows, "windows: a list");
    for (size_t i = 0; i < windows.size(); ++i) {
      auto w = ParseWindow(windows[i], StrCat("windows[", i, "]"), err);
      if (!w.ok()) return w.status();
      if (!window_ids.insert(w->id).second) {
        return err.At(windows[i]["id"],
                      StrCat("windows[", i, "].id: \"", w->id, "\" is used twice"));
      }
      policy.windows.push_back(*std::move(w));
    }
  }
  policy.source = std::string(text);
  policy.version = StrCat("sha256:", HexEncode(evidence::Sha256(text)).substr(0, 16));
  return policy;
}

}  // namespace

}  // namespace attest::engine
