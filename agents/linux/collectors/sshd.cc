#include "agents/linux/collectors/sshd.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {

namespace {
constexpr size_t kMaxSettingBytes = 4096;  // attestd's bound on a setting's value
}  // namespace

const std::vector<std::string_view>& SshdKeywords() {
  static const std::vector<std::string_view> kKeywords = {
      "allowgroups",
      "allowusers",
      "authenticationmethods",
      "denygroups",
      "denyusers",
      "kbdinteractiveauthentication",
      "logingracetime",
      "maxauthtries",
      "passwordauthentication",
      "permitemptypasswords",
      "permitrootlogin",
      "pubkeyauthentication",
      "usepam",
      "x11forwarding",
  };
  return kKeywords;
}

absl::StatusOr<std::vector<v1::SshdSetting>> ParseSshdT(std::string_view text) {
  const auto& keep = SshdKeywords();
  std::map<std::string, std::string> values;
  bool saw_port = false;
  for (std::string_view line : Split(text, "\n")) {
    line = TrimWhitespace(line);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    const std::string_view key = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? "" : TrimWhitespace(line.substr(space + 1));
    if (key == "port") saw_port = true;
    if (std::find(keep.begin(), keep.end(), key) == keep.end()) continue;
    std::string& v = values[std::string(key)];
    if (!v.empty()) v += ' ';
    v += std::string(value.substr(0, 1024));
    // A keyword on many lines (allowusers) stays within attestd's bound.
    if (v.size() > kMaxSettingBytes) v.resize(kMaxSettingBytes);
  }
  if (!saw_port)
    return absl::InvalidArgumentError("sshd -T printed no \"port\" line: not sshd's output");
  std::vector<v1::SshdSetting> out;
  for (auto& [key, value] : values) {
    v1::SshdSetting& s = out.emplace_back();
    s.set_key(key);
    s.set_value(value);
  }
  return out;
}

std::vector<PamAuthLine> ParsePamAuth(std::string_view text) {
  std::vector<PamAuthLine> out;
  for (std::string_view line : Split(text, "\n")) {
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = TrimWhitespace(line);
    if (line.empty()) continue;
    std::vector<std::string_view> f = SplitWords(line);
    if (f[0] == "@include") {
      if (f.size() >= 2) out.push_back({"", std::string(f[1])});
      continue;
    }
    if (f[0] != "auth" && f[0] != "-auth") continue;
    if (f.size() < 3) continue;
    size_t next = 1;
    // A bracketed control ("[success=1 default=ignore]") may hold spaces.
    if (f[1].front() == '[') {
      while (next < f.size() && f[next].back() != ']') ++next;
    }
    ++next;  // past the control
    if (next >= f.size()) continue;
    if (f[1] == "include" || f[1] == "substack") {
      out.push_back({"", std::string(f[2])});
      continue;
    }
    std::string_view module = f[next];
    if (const size_t slash = module.rfind('/'); slash != std::string_view::npos) {
      module = module.substr(slash + 1);
    }
    const bool required = f[0] == "auth" && (f[1] == "required" || f[1] == "requisite");
    out.push_back({std::string(module), "", required});
  }
  return out;
}

namespace {

// Follows includes through `root`'s /etc/pam.d, depth-first, each file once.
void CollectPamModules(const RootFs& root, const std::string& service, int depth,
                       std::set<std::string>& seen_files, std::vector<std::string>& modules,
                       std::vector<std::string>& required) {
  if (depth > 8 || !seen_files.insert(service).second) return;
  const std::string path = service.starts_with("/") ? service : "/etc/pam.d/" + service;
  auto text = root.ReadFile(path, 1 << 20);
  if (!text.ok()) return;  // as PAM does: a missing include is skipped
  for (const PamAuthLine& line : ParsePamAuth(*text)) {
    if (!line.include.empty()) {
      CollectPamModules(root, line.include, depth + 1, seen_files, modules, required);
      continue;
    }
    if (std::find(modules.begin(), modules.end(), line.module) == modules.end()) {
      modules.push_back(line.module);
    }
    if (line.required &&
        std::find(required.begin(), required.end(), line.module) == required.end()) {
      required.push_back(line.module);
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<v1::Signal>> SshdCollector::Collect(const CollectContext& ctx) {
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  v1::SshdState& state = *s.mutable_sshd();
  const bool installed = ctx.root.Exists("/usr/sbin/sshd") || ctx.root.Exists("/usr/bin/sshd");
  state.set_installed(installed);
  if (!installed) return std::vector<v1::Signal>{std::move(s)};
  auto result = ctx.commands.Run({"sshd", "-T", "-f", ctx.root.Path(config_)}, absl::Seconds(10));
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        StrCat("sshd -T: ", result.status().message(),
                               " (sshd is installed on the host; the agent must run where it can "
                               "run it)"));
  }
  if (result->exit_code != 0) {
    return absl::UnavailableError(StrCat("sshd -T -f ", config_, " exited ", result->exit_code,
                                         ": ",
                                         TrimWhitespace(result->stderr_text.substr(0, 1000))));
  }
  auto settings = ParseSshdT(result->stdout_text);
  if (!settings.ok()) return settings.status();
  for (auto& setting : *settings) *state.add_settings() = std::move(setting);
  std::set<std::string> seen;
  std::vector<std::string> modules, required;
  CollectPamModules(ctx.root, "sshd", 0, seen, modules, required);
  for (auto& m : modules) state.add_pam_auth_modules(std::move(m));
  for (auto& m : required) state.add_pam_auth_required(std::move(m));
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
