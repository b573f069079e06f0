#include "agents/linux/collectors/patch_parse.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace attest::agent {
namespace {

std::vector<std::string_view> Lines(std::string_view text) { return Split(text, "\n"); }

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// Name of an RPM "name.arch" token.
std::string StripArch(std::string_view name_arch) {
  const size_t dot = name_arch.rfind('.');
  return std::string(dot == std::string_view::npos ? name_arch : name_arch.substr(0, dot));
}

int Order(char c) {
  if (isdigit(static_cast<unsigned char>(c))) return 0;
  if (isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c != '\0') return c + 256;
  return 0;
}

int CompareFragment(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !isdigit(static_cast<unsigned char>(b[j])))) {
      const int ac = i < a.size() ? Order(a[i]) : 0;
      const int bc = j < b.size() ? Order(b[j]) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && isdigit(static_cast<unsigned char>(a[i])) && j < b.size() &&
           isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct DebVersion {
  long epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

DebVersion SplitVersion(std::string_view v) {
  DebVersion out;
  if (const size_t colon = v.find(':'); colon != std::string_view::npos) {
    out.epoch = std::strtol(std::string(v.substr(0, colon)).c_str(), nullptr, 10);
    v.remove_prefix(colon + 1);
  }
  if (const size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    out.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  out.upstream = v;
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : Lines(text)) {
    line = TrimWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view value = TrimWhitespace(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[std::string(TrimWhitespace(line.substr(0, eq)))] = std::string(value);
  }
  return out;
}

absl::StatusOr<std::vector<DpkgPackage>> ParseDpkgStatus(std::string_view text) {
  std::vector<DpkgPackage> out;
  DpkgPackage current;
  size_t stanza_line = 0;  // 1-based line where `current` began; 0 between stanzas
  bool has_status = false;
  const auto corrupt = [](size_t line, std::string_view what) {
    return absl::DataLossError(StrCat("line ", line, ": ", what));
  };
  // The checks dpkg itself makes of its status database before using it.
  const auto flush = [&]() -> absl::Status {
    if (stanza_line == 0) return absl::OkStatus();
    if (current.name.empty()) return corrupt(stanza_line, "a stanza without a Package field");
    if (!has_status) {
      return corrupt(stanza_line, StrCat("package ", current.name, " has no Status field"));
    }
    if (current.installed && current.version.empty()) {
      return corrupt(stanza_line, StrCat("installed package ", current.name, " has no Version"));
    }
    out.push_back(std::move(current));
    current = DpkgPackage();
    stanza_line = 0;
    has_status = false;
    return absl::OkStatus();
  };
  if (!text.empty() && text.back() != '\n') {
    return corrupt(Lines(text).size(), "the file ends inside a line (cut short?)");
  }
  const auto lines = Lines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    if (TrimWhitespace(line).empty()) {
      if (absl::Status s = flush(); !s.ok()) return s;
      continue;
    }
    if (stanza_line == 0) stanza_line = n + 1;
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a field
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return corrupt(n + 1, "a field name not followed by a colon");
    }
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = TrimWhitespace(line.substr(colon + 1));
    if (key == "Package") {
      current.name = std::string(value);
    } else if (key == "Version") {
      current.version = std::string(value);
    } else if (key == "Architecture") {
      current.architecture = std::string(value);
    } else if (key == "Status") {
      const auto words = Fields(value);
      if (words.size() != 3) return corrupt(n + 1, "a Status that is not three words");
      has_status = true;
      current.installed = words[2] == "installed";
    }
  }
  if (absl::Status s = flush(); !s.ok()) return s;
  return out;
}

std::vector<v1::PendingUpdate> ParseAptSimulate(std::string_view text) {
  std::vector<v1::PendingUpdate> out;
  for (std::string_view line : Lines(text)) {
    if (line.substr(0, 5) != "Inst ") continue;
    line.remove_prefix(5);
    const size_t name_end = line.find(' ');
    // "Inst  [..." names no package: not an update line (found by fuzzing).
    if (name_end == 0 || name_end == std::string_view::npos) continue;
    v1::PendingUpdate u;
    u.set_package(std::string(line.substr(0, name_end)));
    std::string_view rest = line.substr(name_end + 1);
    if (!rest.empty() && rest[0] == '[') {  // installed version (absent for new packages)
      const size_t close = rest.find(']');
      if (close == std::string_view::npos) continue;
      u.set_installed_version(std::string(rest.substr(1, close - 1)));
      rest = TrimWhitespace(rest.substr(close + 1));
    }
    if (rest.empty() || rest[0] != '(') continue;
    const size_t close = rest.find(')');
    if (close == std::string_view::npos) continue;
    std::string_view inner = rest.substr(1, close - 1);  // "cand Origin:rel/suite, ... [arch]"
    if (const size_t arch = inner.rfind(" ["); arch != std::string_view::npos) {
      inner = inner.substr(0, arch);
    }
    const size_t space = inner.find(' ');
    if (space == 0 || inner.empty()) continue;  // no candidate version
    u.set_candidate_version(std::string(inner.substr(0, space)));
    std::string_view origins = space == std::string_view::npos ? "" : inner.substr(space + 1);
    u.set_source(std::string(origins));
    for (std::string_view origin : Split(origins, ", ")) {
      const size_t slash = origin.rfind('/');
      const std::string_view suite =
          slash == std::string_view::npos ? origin : origin.substr(slash + 1);
      if (suite.size() >= 9 && suite.substr(suite.size() - 9) == "-security") u.set_security(true);
      if (origin.find("-Security:") != std::string_view::npos) u.set_security(true);
    }
    out.push_back(std::move(u));
  }
  return out;
}

int CompareDebianVersions(std::string_view a, std::string_view b) {
  const DebVersion va = SplitVersion(a), vb = SplitVersion(b);
  if (va.epoch != vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  if (int c = CompareFragment(va.upstream, vb.upstream); c != 0) return c;
  return CompareFragment(va.revision, vb.revision);
}

std::string NewestDebianKernel(const std::vector<DpkgPackage>& packages) {
  std::string newest;
  for (const auto& p : packages) {
    if (!p.installed || p.name.rfind("linux-image-", 0) != 0) continue;
    const std::string version = p.name.substr(12);
    if (version.empty() || !isdigit(static_cast<unsigned char>(version[0])))
      continue;  // metapackages
    if (newest.empty() || CompareDebianVersions(version, newest) > 0) newest = version;
  }
  return newest;
}

std::map<std::string, std::string> ParseRpmQuery(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : Lines(text)) {
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0) continue;
    std::string_view evr = TrimWhitespace(line.substr(tab + 1));
    if (evr.substr(0, 2) == "0:") evr.remove_prefix(2);
    out[std::string(line.substr(0, tab))] = std::string(evr);
  }
  return out;
}

std::vector<v1::PendingUpdate> ParseDnfCheckUpdate(std::string_view text) {
  std::vector<v1::PendingUpdate> out;
  for (std::string_view line : Lines(text)) {
    // Under "Obsoleting Packages", an indented line names the installed
    // package being replaced, not an update.
    if (!line.empty() && isspace(static_cast<unsigned char>(line[0]))) continue;
    const auto fields = Fields(line);
    // "Obsoleting Packages" and headers have other shapes; package lines
    // have exactly three fields and a dotted name.arch first.
    if (fields.size() != 3 || fields[0].find('.') == std::string_view::npos) continue;
    if (!isdigit(static_cast<unsigned char>(fields[1][0]))) continue;
    v1::PendingUpdate u;
    u.set_package(StripArch(fields[0]));
    u.set_candidate_version(std::string(fields[1]));
    u.set_source(std::string(fields[2]));
    out.push_back(std::move(u));
  }
  return out;
}

std::set<std::string> ParseDnfSecurityNames(std::string_view text) {
  std::set<std::string> out;
  for (std::string_view line : Lines(text)) {
    const auto fields = Fields(line);
    if (fields.size() != 3 || fields[1].find("Sec.") == std::string_view::npos) continue;
    // nevra: name-[epoch:]version-release.arch; strip .arch, -release, -version.
    std::string_view nevra = fields[2];
    const size_t dot = nevra.rfind('.');
    if (dot != std::string_view::npos) nevra = nevra.substr(0, dot);
    for (int dashes = 0; dashes < 2; ++dashes) {
      const size_t dash = nevra.rfind('-');
      if (dash == std::string_view::npos) break;
      nevra = nevra.substr(0, dash);
    }
    out.insert(std::string(nevra));
  }
  return out;
}

}  // namespace attest::agent
