#include "daemon/engine/policy.h"

#include <set>

#include "absl/strings/numbers.h"
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
  std::string known;
  for (Rule r : kAllRules) {
    if (*name == RuleName(r)) return r;
    StrAppend(&known, known.empty() ? "" : ", ", RuleName(r));
  }
  return err.At(node, StrCat("rule: unknown rule \"", *name, "\" (known: ", known, ")"));
}

absl::StatusOr<bool> BoolAt(const YAML::Node& node, std::string_view where, const Errors& err) {
  auto text = Scalar(node, where, err);
  if (!text.ok()) return text.status();
  if (*text == "true") return true;
  if (*text == "false") return false;
  return err.At(node, StrCat(where, ": want true or false, got \"", *text, "\""));
}

// A list of 1-64 non-empty strings of at most 256 bytes each.
absl::StatusOr<std::vector<std::string>> StringsAt(const YAML::Node& node, std::string_view where,
                                                   const Errors& err) {
  if (!node.IsSequence() || node.size() == 0 || node.size() > 64) {
    return err.At(node, StrCat(where, ": a list of 1 to 64 values"));
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    auto v = Scalar(item, where, err);
    if (!v.ok()) return v.status();
    if (v->empty() || v->size() > 256)
      return err.At(item, StrCat(where, ": empty or over 256 bytes"));
    out.push_back(*v);
  }
  return out;
}

// "auditd" -> "auditd.service", as systemctl and the agent's --service read it.
std::string UnitName(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name + ".service" : name;
}

absl::Status ParseHostParams(const YAML::Node& params, const std::string& where, Control& c,
                             const Errors& err) {
  const auto at = [&](const char* key) { return StrCat(where, ".params.", key); };
  if (params["max_age"]) {
    auto d = DurationAt(params["max_age"], at("max_age"), err);
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration())
      return err.At(params["max_age"], at("max_age") + ": must be > 0");
    c.backup_max_age = *d;
  }
  if (params["backup"]) {
    auto v = Scalar(params["backup"], at("backup"), err);
    if (!v.ok()) return v.status();
    c.backup = *v;
  }
  if (params["max_estimated_error"]) {
    auto d = DurationAt(params["max_estimated_error"], at("max_estimated_error"), err);
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration())
      return err.At(params["max_estimated_error"], at("max_estimated_error") + ": must be > 0");
    c.max_estimated_error = *d;
  }
  for (const auto& [key, out] : {std::pair<const char*, bool*>{"require_daemon", &c.require_daemon},
                                 {"require_mfa", &c.require_mfa},
                                 {"swap", &c.encrypted_swap},
                                 {"exempt_read_only", &c.exempt_read_only},
                                 {"allow_complain", &c.allow_complain}}) {
    if (!params[key]) continue;
    auto b = BoolAt(params[key], at(key), err);
    if (!b.ok()) return b.status();
    *out = *b;
  }
  if (params["families"]) {
    auto v = StringsAt(params["families"], at("families"), err);
    if (!v.ok()) return v.status();
    for (const std::string& f : *v) {
      if (f != "ipv4" && f != "ipv6") {
        return err.At(params["families"],
                      StrCat(at("families"), ": \"", f, "\" is not ipv4 or ipv6"));
      }
    }
    c.families = *v;
  }
  if (params["rulesets"]) {
    auto v = StringsAt(params["rulesets"], at("rulesets"), err);
    if (!v.ok()) return v.status();
    for (const std::string& r : *v) {
      if (!r.starts_with("sha256:") || r.size() != 7 + 64 ||
          r.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
        return err.At(params["rulesets"],
                      StrCat(at("rulesets"), ": \"", r, "\" is not sha256:<64 lowercase hex>"));
      }
    }
    c.rulesets = *v;
  }
  if (params["required"]) {
    const YAML::Node req = params["required"];
    if (!req.IsMap() || req.size() == 0 || req.size() > 64) {
      return err.At(req, at("required") + ": a mapping of 1 to 64 labels to lists of units");
    }
    for (const auto& kv : req) {
      const std::string label = kv.first.as<std::string>();
      if (!ValidId(label)) {
        return err.At(kv.first, StrCat(at("required"), ": label \"", label,
                                       "\" must be 1-64 of [A-Za-z0-9._-]"));
      }
      auto units = StringsAt(kv.second, StrCat(at("required"), ".", label), err);
      if (!units.ok()) return units.status();
      for (std::string& u : *units) {
        if (u.find_first_of("/ \t") != std::string::npos) {
          return err.At(kv.second,
                        StrCat(at("required"), ".", label, ": \"", u, "\" is not a unit name"));
        }
        u = UnitName(u);
      }
      c.required_services[label] = *units;
    }
  }
  for (const auto& [key, out] : {std::pair<const char*, std::vector<std::string>*>{
                                     "permit_root_login", &c.permit_root_login},
                                 {"mfa_pam_modules", &c.mfa_pam_modules}}) {
    if (!params[key]) continue;
    auto v = StringsAt(params[key], at(key), err);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  for (const auto& [key, out] :
       {std::pair<const char*, std::vector<std::string>*>{"mounts", &c.encrypted_mounts},
        {"exempt_mounts", &c.exempt_mounts}}) {
    if (!params[key]) continue;
    auto v = StringsAt(params[key], at(key), err);
    if (!v.ok()) return v.status();
    for (std::string& p : *v) {
      if (p[0] != '/' || p.find("/../") != std::string::npos || p.ends_with("/..") ||
          (p.size() > 1 && p.back() == '/')) {
        return err.At(params[key], StrCat(at(key), ": \"", p,
                                          "\" is not an absolute path without a trailing /"));
      }
    }
    *out = *v;
  }
  if (params["exempt_fstypes"]) {
    auto v = StringsAt(params["exempt_fstypes"], at("exempt_fstypes"), err);
    if (!v.ok()) return v.status();
    c.exempt_fstypes = *v;
  }
  if (params["require"]) {
    auto v = Scalar(params["require"], at("require"), err);
    if (!v.ok()) return v.status();
    if (*v != "any" && *v != "apparmor" && *v != "selinux") {
      return err.At(params["require"],
                    StrCat(at("require"), ": \"", *v, "\" is not any, apparmor or selinux"));
    }
    c.mac = *v;
  }
  if (params["min_enforced_profiles"]) {
    auto v = Scalar(params["min_enforced_profiles"], at("min_enforced_profiles"), err);
    if (!v.ok()) return v.status();
    int64_t n = -1;
    if (!absl::SimpleAtoi(*v, &n) || n < 0 || n > 100000) {
      return err.At(params["min_enforced_profiles"],
                    StrCat(at("min_enforced_profiles"), ": want a whole number 0-100000"));
    }
    c.min_enforced_profiles = n;
  }
  for (std::string& v : c.permit_root_login) {
    if (v == "without-password") v = "prohibit-password";
    if (v != "yes" && v != "no" && v != "prohibit-password" && v != "forced-commands-only") {
      return err.At(params["permit_root_login"],
                    StrCat(at("permit_root_login"), ": \"", v,
                           "\" is not yes, no, prohibit-password or forced-commands-only"));
    }
  }
  return absl::OkStatus();
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
    case Rule::kHostTimeSynced:
      allowed = {"max_estimated_error", "require_daemon"};
      break;
    case Rule::kHostFirewallEnabled:
      allowed = {"families", "rulesets"};
      break;
    case Rule::kHostServicesRunning:
      allowed = {"required"};
      required = {"required"};
      break;
    case Rule::kHostSshdPolicy:
      allowed = {"permit_root_login", "require_mfa", "mfa_pam_modules"};
      break;
    case Rule::kHostBackupFresh:
      allowed = {"max_age", "backup"};
      required = {"max_age"};
      break;
    case Rule::kHostDiskEncrypted:
      allowed = {"mounts", "swap", "exempt_mounts", "exempt_fstypes", "exempt_read_only"};
      break;
    case Rule::kHostMacEnforcing:
      allowed = {"require", "min_enforced_profiles", "allow_complain"};
      break;
    case Rule::kAccessReviewPerformed:
      allowed = {"cadence", "due_grace", "revoke_within", "privileged_groups"};
      required = {"cadence", "revoke_within"};
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
  if (absl::Status s = duration("cadence", &c.review_cadence); !s.ok()) return s;
  if (absl::Status s = duration("due_grace", &c.due_grace); !s.ok()) return s;
  if (absl::Status s = duration("revoke_within", &c.revoke_within); !s.ok()) return s;
  if (c.rule == Rule::kAccessReviewPerformed && c.review_cadence <= absl::ZeroDuration()) {
    return err.At(params["cadence"], StrCat(where, ".params.cadence: must be > 0"));
  }
  if (params["privileged_groups"]) {
    auto v =
        StringsAt(params["privileged_groups"], StrCat(where, ".params.privileged_groups"), err);
    if (!v.ok()) return v.status();
    c.privileged_groups = *v;
  }
  for (const char* key : {"shipper", "check"}) {
    if (!params[key]) continue;
    auto v = Scalar(params[key], StrCat(where, ".params.", key), err);
    if (!v.ok()) return v.status();
    (std::string_view(key) == "shipper" ? c.shipper : c.check) = *v;
  }
  return ParseHostParams(params, where, c, err);
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
  } else if (c.rule != Rule::kAccessChangeApproved && c.rule != Rule::kAccessReviewPerformed) {
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
    case Rule::kHostTimeSynced:
      return "host.time_synced";
    case Rule::kHostFirewallEnabled:
      return "host.firewall_enabled";
    case Rule::kHostServicesRunning:
      return "host.services_running";
    case Rule::kHostSshdPolicy:
      return "host.sshd_policy";
    case Rule::kHostBackupFresh:
      return "host.backup_fresh";
    case Rule::kHostDiskEncrypted:
      return "host.disk_encrypted";
    case Rule::kHostMacEnforcing:
      return "host.mac_enforcing";
    case Rule::kAccessReviewPerformed:
      return "access.review_performed";
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
