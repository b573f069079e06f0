#include "agents/linux/collectors/mac.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {
namespace {

constexpr std::string_view kSecurityFs = "/sys/kernel/security";
constexpr std::string_view kPolicyProfiles = "/sys/kernel/security/apparmor/policy/profiles";

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// policy/profiles/<dir>/{name,mode}, and a profile's children (hats) in
// its own profiles/ directory, depth first, at most `budget` profiles.
absl::Status WalkPolicy(const RootFs& root, const std::string& dir, int depth,
                        std::vector<AppArmorProfile>* out) {
  auto entries = root.ListDir(dir);
  if (!entries.ok()) return entries.status();
  for (const std::string& e : *entries) {
    if (out->size() >= kMaxAppArmorProfiles) return absl::OkStatus();
    const std::string p = StrCat(dir, "/", e);
    auto name = root.ReadFile(p + "/name", 8192);
    auto mode = root.ReadFile(p + "/mode", 256);
    // A profile replaced between the listing and the read is gone: skip
    // it. Any other error could hide a complaining profile.
    if (absl::IsNotFound(name.status()) || absl::IsNotFound(mode.status())) continue;
    if (!name.ok()) return name.status();
    if (!mode.ok()) return mode.status();
    out->emplace_back(std::string(TrimWhitespace(*name)), std::string(TrimWhitespace(*mode)));
    if (depth < 8 && root.Exists(p + "/profiles")) {
      if (absl::Status s = WalkPolicy(root, p + "/profiles", depth + 1, out); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<AppArmorProfile>> ParseAppArmorProfiles(std::string_view text) {
  std::vector<AppArmorProfile> out;
  int line_no = 0;
  for (std::string_view line : Split(text, "\n")) {
    ++line_no;
    line = TrimWhitespace(line);
    if (line.empty()) continue;
    const size_t open = line.rfind(" (");
    if (open == std::string_view::npos || open == 0 || !line.ends_with(")")) {
      return absl::InvalidArgumentError(
          StrCat("apparmor profiles line ", line_no, ": not \"NAME (MODE)\""));
    }
    out.emplace_back(std::string(line.substr(0, open)),
                     std::string(line.substr(open + 2, line.size() - open - 3)));
    if (out.size() >= kMaxAppArmorProfiles) break;
  }
  return out;
}

v1::MacState MacFrom(std::string_view lsm, const std::vector<AppArmorProfile>& profiles,
                     std::string_view selinux_enforce, std::string_view selinux_config) {
  v1::MacState s;
  for (std::string_view m : Split(TrimWhitespace(lsm), ",")) {
    if (!TrimWhitespace(m).empty()) s.add_lsms(std::string(TrimWhitespace(m)));
  }
  if (Contains(s.lsms(), "apparmor")) {
    // Complaining profiles are named first: they are what a policy that
    // allows no complain mode fails on.
    std::vector<std::string> complain, other;
    for (const auto& [name, mode] : profiles) {
      if (mode == "enforce" || mode == "kill") {
        s.set_apparmor_enforce(s.apparmor_enforce() + 1);
      } else if (mode == "complain") {
        s.set_apparmor_complain(s.apparmor_complain() + 1);
        complain.push_back(StrCat(name, " (", mode, ")"));
      } else {
        s.set_apparmor_other(s.apparmor_other() + 1);
        other.push_back(StrCat(name, " (", mode, ")"));
      }
    }
    std::sort(complain.begin(), complain.end());
    std::sort(other.begin(), other.end());
    complain.insert(complain.end(), other.begin(), other.end());
    if (complain.size() > kMaxNotEnforcingNames) complain.resize(kMaxNotEnforcingNames);
    for (std::string& n : complain) s.add_apparmor_not_enforcing(std::move(n));
  }
  if (Contains(s.lsms(), "selinux")) {
    const std::string_view e = TrimWhitespace(selinux_enforce);
    s.set_selinux_mode(e == "1" ? "enforcing" : e == "0" ? "permissive" : "disabled");
    for (std::string_view line : Split(selinux_config, "\n")) {
      line = TrimWhitespace(line);
      if (line.starts_with("SELINUXTYPE=")) {
        s.set_selinux_policy(std::string(TrimWhitespace(line.substr(12))).substr(0, 64));
      }
    }
  }
  return s;
}

absl::StatusOr<std::vector<v1::Signal>> MacCollector::Collect(const CollectContext& ctx) {
  auto lsm = ctx.root.ReadFile(StrCat(kSecurityFs, "/lsm"), 4096);
  if (!lsm.ok()) {
    return absl::Status(
        lsm.status().code(),
        StrCat(lsm.status().message(), " (is securityfs mounted at /sys/kernel/security?)"));
  }
  std::vector<AppArmorProfile> profiles;
  const bool apparmor = Contains(MacFrom(*lsm, {}, "", "").lsms(), "apparmor");
  if (apparmor) {
    auto text = ctx.root.ReadFile(StrCat(kSecurityFs, "/apparmor/profiles"), 16 << 20);
    if (text.ok()) {
      auto parsed = ParseAppArmorProfiles(*text);
      if (!parsed.ok()) return parsed.status();
      profiles = std::move(*parsed);
    } else if (absl::IsPermissionDenied(text.status())) {
      // Only uid or gid 0 may open the list; the per-profile files are
      // world-readable.
      if (absl::Status s = WalkPolicy(ctx.root, std::string(kPolicyProfiles), 0, &profiles);
          !s.ok()) {
        return s;
      }
    } else {
      return text.status();
    }
  }
  std::string enforce, config;
  const bool selinux = Contains(MacFrom(*lsm, {}, "", "").lsms(), "selinux");
  if (selinux) {
    // selinuxfs always has an enforce file; without a loaded policy (the
    // config's SELINUX=disabled) its class directory is empty.
    if (auto dir = ctx.root.ListDir("/sys/fs/selinux"); !dir.ok()) {
      return absl::Status(dir.status().code(),
                          StrCat(dir.status().message(),
                                 " (SELinux is active: is selinuxfs mounted at /sys/fs/selinux?)"));
    }
    auto classes = ctx.root.ListDir("/sys/fs/selinux/class");
    if (!classes.ok() && !absl::IsNotFound(classes.status())) return classes.status();
    if (classes.ok() && !classes->empty()) {
      auto e = ctx.root.ReadFile("/sys/fs/selinux/enforce", 64);
      if (!e.ok()) return e.status();
      enforce = *e;
    }
    if (auto c = ctx.root.ReadFile("/etc/selinux/config", 1 << 16); c.ok()) config = *c;
  }
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  *s.mutable_mac() = MacFrom(*lsm, profiles, enforce, config);
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
