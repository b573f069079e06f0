#include "daemon/engine/host_rules.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "daemon/evidence/record_json.h"

namespace attest::engine {
namespace {

constexpr uint32_t kStaUnsync = 0x0040;  // <sys/timex.h> STA_UNSYNC

HostVerdict Pass(std::string cause = "") { return {v1::CONTROL_STATE_PASS, std::move(cause)}; }
HostVerdict Fail(std::string cause) { return {v1::CONTROL_STATE_FAIL, std::move(cause)}; }
HostVerdict Unknown(std::string cause) { return {v1::CONTROL_STATE_NO_EVIDENCE, std::move(cause)}; }

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// "1.5ms", "250µs", "2s": an error or threshold in the unit that reads best.
std::string Micros(int64_t us) {
  if (us >= 1000000 && us % 1000000 == 0) return StrCat(us / 1000000, "s");
  if (us >= 1000 && us % 1000 == 0) return StrCat(us / 1000, "ms");
  if (us >= 1000) return StrCat(us / 1000, ".", (us % 1000) / 100, "ms");
  return StrCat(us, "µs");
}

HostVerdict TimeSynced(const Control& c, const v1::TimeSyncState& t) {
  std::vector<std::string> problems;
  if (!t.synchronized()) {
    problems.push_back(StrCat("the kernel reports its clock unsynchronised (status 0x",
                              absl::StrCat(absl::Hex(t.status())),
                              (t.status() & kStaUnsync) ? ", STA_UNSYNC" : "", ")"));
  } else {
    const int64_t max_us = absl::ToInt64Microseconds(c.max_estimated_error);
    if (t.est_error_us() > max_us) {
      problems.push_back(
          StrCat("estimated error ", Micros(t.est_error_us()), " over ", Micros(max_us)));
    }
  }
  if (c.require_daemon && t.daemons().empty()) {
    problems.push_back("no time-sync daemon running (chronyd, systemd-timesyncd, ntpd, ptp4l)");
  }
  if (!problems.empty()) return Fail(absl::StrJoin(problems, "; "));
  return Pass();
}

// The families an nftables or iptables family name filters: inet both.
bool Covers(const std::string& chain_family, std::string_view family) {
  if (chain_family == "inet") return true;
  return (family == "ipv4" && chain_family == "ip") || (family == "ipv6" && chain_family == "ip6");
}

HostVerdict FirewallEnabled(const Control& c, const v1::FirewallState& f) {
  const std::string source = f.source() == v1::FIREWALL_SOURCE_IPTABLES ? "iptables" : "nftables";
  std::vector<std::string> open;
  for (const std::string& family : c.families) {
    bool dropped = false;
    for (const auto& chain : f.chains()) {
      if (chain.hook() != "input" || !Covers(chain.family(), family)) continue;
      if (chain.policy() == "drop" || chain.ends_in_drop()) dropped = true;
    }
    if (!dropped) open.push_back(family == "ipv4" ? "IPv4" : "IPv6");
  }
  if (!open.empty()) {
    return Fail(StrCat("no ", absl::StrJoin(open, " or "), " input chain drops by default (",
                       source, ", ", f.rules(), " rules)"));
  }
  if (!c.rulesets.empty() && !Contains(c.rulesets, f.ruleset_sha256())) {
    return Fail(StrCat("ruleset ", f.ruleset_sha256(), " is not one the policy lists"));
  }
  return Pass();
}

HostVerdict ServicesRunning(const Control& c, const v1::ServicesState& s) {
  std::map<std::string, const v1::UnitState*> units;
  for (const auto& u : s.units()) units[u.unit()] = &u;
  std::vector<std::string> failing, unknown;
  for (const auto& [label, wanted] : c.required_services) {
    bool active = false;
    std::vector<std::string> states, unwatched;
    for (const std::string& unit : wanted) {
      auto it = units.find(unit);
      if (it == units.end()) {
        unwatched.push_back(unit);
        continue;
      }
      if (it->second->active_state() == "active") active = true;
      std::string state = it->second->active_state();
      if (it->second->load_state() == "not-found") state = "not installed";
      states.push_back(StrCat(unit, " ", state));
    }
    if (active) continue;
    if (!unwatched.empty()) {
      unknown.push_back(StrCat(label, ": ", absl::StrJoin(unwatched, ", "),
                               " not reported by the agent (add --service)"));
    } else {
      failing.push_back(StrCat(label, ": none active (", absl::StrJoin(states, ", "), ")"));
    }
  }
  if (!failing.empty()) return Fail(absl::StrJoin(failing, "; "));
  if (!unknown.empty()) return Unknown(absl::StrJoin(unknown, "; "));
  return Pass();
}

HostVerdict SshdPolicy(const Control& c, const v1::SshdState& s) {
  if (!s.installed()) return Pass("sshd is not installed");
  std::map<std::string, std::string> set;
  for (const auto& kv : s.settings()) set[kv.key()] = kv.value();
  std::vector<std::string> problems, missing;
  auto value = [&](const char* key) -> const std::string* {
    auto it = set.find(key);
    if (it == set.end()) {
      missing.push_back(key);
      return nullptr;
    }
    return &it->second;
  };
  if (const std::string* v = value("passwordauthentication"); v && *v != "no") {
    problems.push_back(StrCat("PasswordAuthentication ", *v));
  }
  if (const std::string* v = value("permitemptypasswords"); v && *v != "no") {
    problems.push_back(StrCat("PermitEmptyPasswords ", *v));
  }
  if (const std::string* v = value("permitrootlogin")) {
    const std::string normal = *v == "without-password" ? "prohibit-password" : *v;
    if (!Contains(c.permit_root_login, normal)) {
      problems.push_back(StrCat("PermitRootLogin ", *v,
                                " (allowed: ", absl::StrJoin(c.permit_root_login, ", "), ")"));
    }
  }
  if (c.require_mfa) {
    if (const std::string* v = value("authenticationmethods")) {
      // Each space-separated list is one way in; every way must be the key
      // and then keyboard-interactive (PAM's second factor).
      bool mfa = *v != "any" && !v->empty();
      for (std::string_view way : SplitWords(*v)) {
        std::vector<std::string_view> steps = Split(way, ",");
        const bool key = std::find(steps.begin(), steps.end(), "publickey") != steps.end();
        const bool second = std::any_of(steps.begin(), steps.end(), [](std::string_view m) {
          return m == "keyboard-interactive" || m.starts_with("keyboard-interactive:");
        });
        if (!key || !second) mfa = false;
      }
      if (!mfa)
        problems.push_back(
            StrCat("AuthenticationMethods ", *v, " asks for no second factor after the key"));
    }
    if (const std::string* v = value("kbdinteractiveauthentication"); v && *v != "yes") {
      problems.push_back(
          StrCat("KbdInteractiveAuthentication ", *v, " (the second factor needs it)"));
    }
    if (const std::string* v = value("usepam"); v && *v != "yes") {
      problems.push_back(StrCat("UsePAM ", *v, " (the second factor needs it)"));
    }
    // Required: an optional, sufficient or -auth module lets a login past it.
    const bool module =
        std::any_of(s.pam_auth_required().begin(), s.pam_auth_required().end(),
                    [&](const std::string& m) { return Contains(c.mfa_pam_modules, m); });
    if (!module) {
      problems.push_back(
          StrCat("no second-factor PAM module required in /etc/pam.d/sshd's auth stack (one of ",
                 absl::StrJoin(c.mfa_pam_modules, ", "), ")"));
    }
  }
  if (!problems.empty()) return Fail(absl::StrJoin(problems, "; "));
  if (!missing.empty())
    return Unknown(StrCat("sshd -T did not report ", absl::StrJoin(missing, ", ")));
  return Pass();
}

}  // namespace

std::string_view HostKind(Rule rule) {
  switch (rule) {
    case Rule::kHostTimeSynced:
      return "time_sync";
    case Rule::kHostFirewallEnabled:
      return "firewall";
    case Rule::kHostServicesRunning:
      return "services";
    case Rule::kHostSshdPolicy:
      return "sshd";
    case Rule::kHostBackupFresh:
      return "backup";
    default:
      return "";
  }
}

std::string HostFactKey(const v1::Signal& state) {
  if (state.has_backup()) return StrCat(kBackupFactPrefix, state.backup().name());
  return std::string(evidence::SignalKind(state));
}

HostVerdict JudgeHostState(const Control& c, const v1::Signal& state) {
  switch (c.rule) {
    case Rule::kHostTimeSynced:
      if (state.has_time_sync()) return TimeSynced(c, state.time_sync());
      break;
    case Rule::kHostFirewallEnabled:
      if (state.has_firewall()) return FirewallEnabled(c, state.firewall());
      break;
    case Rule::kHostServicesRunning:
      if (state.has_services()) return ServicesRunning(c, state.services());
      break;
    case Rule::kHostSshdPolicy:
      if (state.has_sshd()) return SshdPolicy(c, state.sshd());
      break;
    default:
      break;
  }
  return Unknown("no state of the rule's kind");
}

}  // namespace attest::engine
