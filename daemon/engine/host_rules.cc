#include "daemon/engine/host_rules.h"

#include <algorithm>
#include <map>
#include <set>
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

using Layers = google::protobuf::RepeatedPtrField<v1::BlockLayer>;

// Whether the layer at `i` and what it rests on keep data encrypted at rest:
// a dm-crypt layer does, and so does memory (ram); any other layer does when
// everything under it does, and a bottom layer (a disk, a partition's disk,
// a loop file) that is not dm-crypt does not. The names of the bottom layers
// left in the clear go to `clear`. Returns the index past i's subtree.
int Encrypted(const Layers& s, int i, bool* encrypted, std::vector<std::string>* clear) {
  const v1::BlockLayer& l = s[i];
  std::vector<std::string> below;
  bool children = false, all = true;
  int j = i + 1;
  while (j < s.size() && s[j].depth() > l.depth()) {
    bool e = false;
    j = Encrypted(s, j, &e, &below);
    children = true;
    all = all && e;
  }
  if (l.kind() == "crypt" || l.kind() == "ram") {
    *encrypted = true;
  } else if (children && all) {
    *encrypted = true;
  } else {
    *encrypted = false;
    if (!children) {
      clear->push_back(
          StrCat(l.name(), " (", l.kind(), l.detail().empty() ? "" : " ", l.detail(), ")"));
    } else {
      clear->insert(clear->end(), below.begin(), below.end());
    }
  }
  return j;
}

// The mount a path lies on: the deepest mount point that is the path or a
// parent directory of it.
const v1::Volume* Holding(const std::vector<const v1::Volume*>& mounts, std::string_view path) {
  const v1::Volume* best = nullptr;
  for (const v1::Volume* m : mounts) {
    const std::string& p = m->path();
    const bool holds = p == "/" || path == p ||
                       (path.starts_with(p) && path.size() > p.size() && path[p.size()] == '/');
    if (holds && (best == nullptr || p.size() > best->path().size())) best = m;
  }
  return best;
}

size_t PathDepth(std::string_view path) {
  return path == "/" ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

bool Under(const std::vector<std::string>& roots, std::string_view path) {
  return std::any_of(roots.begin(), roots.end(), [&](const std::string& r) {
    return path == r || r == "/" ||
           (path.starts_with(r) && path.size() > r.size() && path[r.size()] == '/');
  });
}

HostVerdict DiskEncrypted(const Control& c, const v1::DiskEncryptionState& s) {
  std::vector<const v1::Volume*> mounts, wanted;
  for (const v1::Volume& v : s.volumes()) {
    if (!v.swap()) mounts.push_back(&v);
  }
  auto want = [&](const v1::Volume* v) {
    if (std::find(wanted.begin(), wanted.end(), v) == wanted.end()) wanted.push_back(v);
  };
  // Mounts not on a block device past the agent's bound come after the
  // last one reported, in its order (depth of mount point, then path).
  std::pair<size_t, std::string_view> last_other{0, ""};
  for (const v1::Volume* m : mounts) {
    if (m->stack().empty()) {
      last_other = std::max(last_other,
                            std::pair<size_t, std::string_view>{PathDepth(m->path()), m->path()});
    }
  }
  // Whether a mount past the bound could hold `path` below `holder`.
  auto maybe_omitted = [&](std::string_view path, std::string_view holder) {
    for (size_t i = holder.size() + 1; i <= path.size(); ++i) {
      if (i < path.size() && path[i] != '/') continue;
      const std::string_view prefix = path.substr(0, i);
      if (std::pair<size_t, std::string_view>{PathDepth(prefix), prefix} > last_other) {
        return true;
      }
    }
    return false;
  };
  const uint32_t other_omitted = s.mounts_omitted() - s.block_mounts_omitted();
  std::vector<std::string> unreported, unsure;
  for (const std::string& path : c.encrypted_mounts) {
    const v1::Volume* holder = Holding(mounts, path);
    if (holder == nullptr) {
      unreported.push_back(path);
      continue;
    }
    // Every mount at the holder's point (one mounted over another leaves
    // the lower one mounted), and every mount on a block device below the
    // path but the exempt ones.
    for (const v1::Volume* m : mounts) {
      if (m->path() == holder->path()) want(m);
    }
    for (const v1::Volume* m : mounts) {
      if (!m->stack().empty() && Under({path}, m->path()) && !Under(c.exempt_mounts, m->path())) {
        want(m);
      }
    }
    if (other_omitted > 0 && holder->path() != path && maybe_omitted(path, holder->path())) {
      unsure.push_back(path);
    }
  }
  if (c.encrypted_swap) {
    for (const v1::Volume& v : s.volumes()) {
      if (v.swap()) want(&v);
    }
  }
  std::vector<std::string> problems, exempt;
  std::set<std::string> types;
  int encrypted = 0;
  for (const v1::Volume* v : wanted) {
    const std::string what = StrCat(v->swap() ? "swap " : "", v->path());
    if (!v->swap() && Contains(c.exempt_fstypes, v->fstype())) {
      exempt.push_back(StrCat(what, " (", v->fstype(), ")"));
      continue;
    }
    if (!v->swap() && v->read_only() && c.exempt_read_only) {
      exempt.push_back(StrCat(what, " (read-only)"));
      continue;
    }
    if (v->stack().empty()) {
      problems.push_back(StrCat(what, " (", v->fstype(), " from ", v->source(),
                                ") is not on a local block device, so not on dm-crypt"));
      continue;
    }
    bool ok = false;
    std::vector<std::string> clear;
    Encrypted(v->stack(), 0, &ok, &clear);
    if (!ok) {
      problems.push_back(StrCat(what, " (", v->fstype(), " on ", v->source(),
                                "): no dm-crypt layer above ", absl::StrJoin(clear, ", ")));
      continue;
    }
    ++encrypted;
    for (const v1::BlockLayer& l : v->stack()) {
      if (l.kind() == "crypt") types.insert(l.detail());
    }
  }
  if (!problems.empty()) return Fail(absl::StrJoin(problems, "; "));
  if (s.block_mounts_omitted() > 0) {
    return Unknown(StrCat(s.block_mounts_omitted(),
                          " mounts on block devices past the agent's bound were not reported"));
  }
  if (!unsure.empty()) {
    return Unknown(StrCat("the mount holding ", absl::StrJoin(unsure, ", "), " may be among the ",
                          other_omitted, " mounts past the agent's bound"));
  }
  if (!unreported.empty()) {
    return Unknown(StrCat("no mount holding ", absl::StrJoin(unreported, ", "), " was reported"));
  }
  std::string cause = StrCat(encrypted, encrypted == 1 ? " volume" : " volumes", " on dm-crypt");
  if (!types.empty()) StrAppend(&cause, " (", absl::StrJoin(types, ", "), ")");
  if (!exempt.empty()) StrAppend(&cause, "; exempt: ", absl::StrJoin(exempt, ", "));
  return Pass(std::move(cause));
}

HostVerdict MacEnforcing(const Control& c, const v1::MacState& s) {
  const auto active = [&](std::string_view m) {
    return std::find(s.lsms().begin(), s.lsms().end(), m) != s.lsms().end();
  };
  std::string apparmor, selinux;  // why each does not count; "" when it does
  if (!active("apparmor")) {
    apparmor = "AppArmor is not active";
  } else if (s.apparmor_enforce() < c.min_enforced_profiles) {
    apparmor = StrCat("AppArmor enforces ", s.apparmor_enforce(), " profiles (at least ",
                      c.min_enforced_profiles, " wanted)");
  } else if (!c.allow_complain && s.apparmor_complain() > 0) {
    // Complaining profiles are named first (at most 32 names in all).
    std::vector<std::string> named;
    for (const std::string& n : s.apparmor_not_enforcing()) {
      if (n.ends_with(" (complain)")) named.push_back(n);
    }
    apparmor = StrCat("AppArmor has ", s.apparmor_complain(), " profiles in complain mode (",
                      absl::StrJoin(named, ", "), ")");
  }
  if (!active("selinux")) {
    selinux = "SELinux is not active";
  } else if (s.selinux_mode() != "enforcing") {
    selinux = StrCat("SELinux is ", s.selinux_mode());
  }
  const std::string lsms = StrCat("active LSMs: ", absl::StrJoin(s.lsms(), ","));
  const uint64_t not_enforcing = uint64_t{s.apparmor_complain()} + s.apparmor_other();
  const std::string apparmor_ok =
      StrCat("AppArmor enforcing ", s.apparmor_enforce(), " profiles",
             not_enforcing > 0 ? StrCat(", ", not_enforcing, " not enforcing") : "");
  const std::string selinux_ok = StrCat("SELinux enforcing", s.selinux_policy().empty() ? "" : " (",
                                        s.selinux_policy(), s.selinux_policy().empty() ? "" : ")");
  if (c.mac == "apparmor") {
    return apparmor.empty() ? Pass(apparmor_ok) : Fail(StrCat(apparmor, " (", lsms, ")"));
  }
  if (c.mac == "selinux") {
    return selinux.empty() ? Pass(selinux_ok) : Fail(StrCat(selinux, " (", lsms, ")"));
  }
  if (apparmor.empty()) return Pass(apparmor_ok);
  if (selinux.empty()) return Pass(selinux_ok);
  return Fail(StrCat(apparmor, "; ", selinux, " (", lsms, ")"));
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
    case Rule::kHostDiskEncrypted:
      return "disk_encryption";
    case Rule::kHostMacEnforcing:
      return "mac";
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
    case Rule::kHostDiskEncrypted:
      if (state.has_disk_encryption()) return DiskEncrypted(c, state.disk_encryption());
      break;
    case Rule::kHostMacEnforcing:
      if (state.has_mac()) return MacEnforcing(c, state.mac());
      break;
    default:
      break;
  }
  return Unknown("no state of the rule's kind");
}

}  // namespace attest::engine
