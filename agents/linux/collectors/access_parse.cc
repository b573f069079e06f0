#include "agents/linux/collectors/access_parse.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "common/strings.h"

namespace attest::agent {
namespace {

// A uid or gid: decimal digits that fit in 32 bits (uid_t), else nullopt.
// glibc's nss_files skips a line whose id is empty or not a number; an
// out-of-range one it reads as (uid_t)-1, which no one can log in as.
std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  }
  return static_cast<uint32_t>(v);
}

void Skip(std::vector<SkippedLine>* skipped, size_t line, std::string reason) {
  if (skipped != nullptr) skipped->push_back(SkippedLine{line, std::move(reason)});
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (i + 1 < bytes.size()) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;  // unpadded, like OpenSSH fingerprints
}

// Decodes standard base64 (padding optional); false on a bad character.
bool DecodeBase64(std::string_view text, std::string* out) {
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=')
      break;
    else
      return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return !out->empty();
}

// Key types OpenSSH knows; used to say what is wrong with a line.
bool IsKeyType(std::string_view t) {
  static const std::set<std::string_view> kTypes = {"ssh-rsa",
                                                    "ssh-dss",
                                                    "ssh-ed25519",
                                                    "ecdsa-sha2-nistp256",
                                                    "ecdsa-sha2-nistp384",
                                                    "ecdsa-sha2-nistp521",
                                                    "sk-ssh-ed25519@openssh.com",
                                                    "sk-ecdsa-sha2-nistp256@openssh.com",
                                                    "ssh-ed448"};
  return kTypes.count(t) > 0 || t.find("-cert-v01@openssh.com") != std::string_view::npos;
}

// The type name a key blob starts with: an SSH string (RFC 4251 5), a
// 32-bit big-endian length then that many bytes. nullopt if it has none.
std::optional<std::string_view> BlobKeyType(std::string_view blob) {
  if (blob.size() < 4) return std::nullopt;
  const uint32_t length = (static_cast<uint32_t>(static_cast<unsigned char>(blob[0])) << 24) |
                          (static_cast<uint32_t>(static_cast<unsigned char>(blob[1])) << 16) |
                          (static_cast<uint32_t>(static_cast<unsigned char>(blob[2])) << 8) |
                          static_cast<uint32_t>(static_cast<unsigned char>(blob[3]));
  if (length == 0 || length > blob.size() - 4) return std::nullopt;
  return blob.substr(4, length);
}

// Whitespace-separated tokens; double quotes group (options may hold spaces).
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) ++i;
    const size_t start = i;
    bool quoted = false;
    while (i < line.size() && (quoted || !isspace(static_cast<unsigned char>(line[i])))) {
      if (line[i] == '"') quoted = !quoted;
      ++i;
    }
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string Describe(const v1::UserEntry& u) {
  return StrCat("uid=", u.uid(), " gid=", u.gid(), " home=", u.home(), " shell=", u.shell());
}

std::string DescribeGroup(const v1::GroupEntry& g) {
  std::vector<std::string> members(g.members().begin(), g.members().end());
  std::sort(members.begin(), members.end());
  std::string out = StrCat("gid=", g.gid(), " members=");
  for (size_t i = 0; i < members.size(); ++i) StrAppend(&out, i ? "," : "", members[i]);
  return out;
}

v1::AccessChange Change(v1::AccessChangeKind kind, std::string subject, std::string before,
                        std::string after, std::string diff, absl::Time at) {
  v1::AccessChange c;
  c.set_change(kind);
  c.set_subject(std::move(subject));
  c.set_before(std::move(before));
  c.set_after(std::move(after));
  c.set_diff(std::move(diff));
  const std::string identity = StrCat(static_cast<int>(kind), "\n", c.subject(), "\n", c.before(),
                                      "\n", c.after(), "\n", absl::ToUnixNanos(at));
  c.set_id(StrCat("chg-", HexEncode(Sha256(identity)).substr(0, 16)));
  return c;
}

}  // namespace

std::vector<v1::UserEntry> ParsePasswd(std::string_view text, std::vector<SkippedLine>* skipped) {
  std::vector<v1::UserEntry> users;
  const auto lines = Split(text, "\n");
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    if (TrimWhitespace(line).empty() || line[0] == '#') continue;
    const auto f = Split(line, ":");
    if (f.size() < 7 || f[0].empty()) continue;
    const std::optional<uint32_t> uid = ParseId(f[2]), gid = ParseId(f[3]);
    if (!uid || !gid) {
      Skip(skipped, n + 1,
           StrCat("user ", f[0], ": ", !uid ? "uid" : "gid", " \"", !uid ? f[2] : f[3],
                  "\" is not a number from 0 to 4294967295"));
      continue;
    }
    v1::UserEntry u;
    u.set_name(std::string(f[0]));  // f[1], the password field, is never kept
    u.set_uid(*uid);
    u.set_gid(*gid);
    u.set_home(std::string(f[5]));
    u.set_shell(std::string(TrimWhitespace(f[6])));
    users.push_back(std::move(u));
  }
  return users;
}

std::vector<v1::GroupEntry> ParseGroup(std::string_view text, std::vector<SkippedLine>* skipped) {
  std::vector<v1::GroupEntry> groups;
  const auto lines = Split(text, "\n");
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    if (TrimWhitespace(line).empty() || line[0] == '#') continue;
    const auto f = Split(line, ":");
    if (f.size() < 4 || f[0].empty()) continue;
    const std::optional<uint32_t> gid = ParseId(f[2]);
    if (!gid) {
      Skip(skipped, n + 1,
           StrCat("group ", f[0], ": gid \"", f[2], "\" is not a number from 0 to 4294967295"));
      continue;
    }
    v1::GroupEntry g;
    g.set_name(std::string(f[0]));
    g.set_gid(*gid);
    for (std::string_view m : Split(TrimWhitespace(f[3]), ",")) {
      if (!TrimWhitespace(m).empty()) g.add_members(std::string(TrimWhitespace(m)));
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

std::vector<std::string> NormalizeSudoers(std::string_view text) {
  std::vector<std::string> rules;
  std::string pending;
  for (std::string_view raw : Split(text, "\n")) {
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.remove_suffix(1);
    pending.append(line);
    if (continues) {
      pending.push_back(' ');
      continue;
    }
    std::string_view logical = TrimWhitespace(pending);
    // '#' starts a comment, except for the #include/#includedir directives
    // and "#1000 ALL=..." (a user given by uid).
    if (!logical.empty() && logical[0] == '#' && logical.rfind("#include", 0) != 0 &&
        !(logical.size() > 1 && isdigit(static_cast<unsigned char>(logical[1])))) {
      logical = {};
    }
    std::string normalized;
    for (std::string_view token : Tokens(logical))
      StrAppend(&normalized, normalized.empty() ? "" : " ", token);
    if (!normalized.empty()) rules.push_back(std::move(normalized));
    pending.clear();
  }
  return rules;
}

std::optional<SudoersInclude> ParseSudoersInclude(std::string_view rule,
                                                  std::string_view including_file,
                                                  std::string_view host) {
  const size_t space = rule.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view directive = rule.substr(0, space);
  SudoersInclude include;
  if (directive == "#includedir" || directive == "@includedir") {
    include.directory = true;
  } else if (directive != "#include" && directive != "@include") {
    return std::nullopt;
  }
  std::string_view raw = TrimWhitespace(rule.substr(space + 1));
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"')
    raw = raw.substr(1, raw.size() - 2);
  std::string path;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      path.push_back(raw[++i]);
    } else if (raw[i] == '%' && i + 1 < raw.size() && (raw[i + 1] == 'h' || raw[i + 1] == '%')) {
      if (raw[++i] == 'h') {
        path.append(host);
      } else {
        path.push_back('%');
      }
    } else {
      path.push_back(raw[i]);
    }
  }
  if (path.empty()) return std::nullopt;
  if (path[0] != '/') {
    const size_t slash = including_file.rfind('/');
    const std::string_view dir = slash == std::string_view::npos
                                     ? std::string_view("/")
                                     : including_file.substr(0, slash + 1);
    path = StrCat(dir, path);
  }
  include.path = std::move(path);
  return include;
}

bool SudoIncludesFileNamed(std::string_view name) {
  return !name.empty() && name.back() != '~' && name.find('.') == std::string_view::npos;
}

std::string Sha256Fingerprint(std::string_view data) { return "SHA256:" + Base64(Sha256(data)); }

std::vector<v1::KeyEntry> ParseAuthorizedKeys(std::string_view text, const std::string& user,
                                              std::vector<SkippedLine>* skipped) {
  std::vector<v1::KeyEntry> keys;
  const auto lines = Split(text, "\n");
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = TrimWhitespace(lines[n]);
    if (line.empty() || line[0] == '#') continue;
    const auto tokens = Tokens(line);
    std::string why;  // of the first candidate that failed, if none is a key
    bool found = false;
    for (size_t i = 0; i + 1 < tokens.size() && !found; ++i) {
      std::string blob;
      if (!DecodeBase64(tokens[i + 1], &blob)) {
        if (IsKeyType(tokens[i]) && why.empty()) {
          why = StrCat(tokens[i], " key that is not valid base64");
        }
        continue;
      }
      // A key blob starts with its own type name (RFC 4253 6.6); sshd
      // refuses a line whose blob is of another type than the line says.
      const std::optional<std::string_view> blob_type = BlobKeyType(blob);
      if (blob_type != tokens[i]) {
        if (IsKeyType(tokens[i]) && why.empty()) {
          why = StrCat(tokens[i], " key whose blob is ",
                       blob_type ? StrCat("of type ", *blob_type) : std::string("not a key"));
        }
        continue;
      }
      v1::KeyEntry k;
      k.set_user(user);
      k.set_type(std::string(tokens[i]));
      k.set_fingerprint(Sha256Fingerprint(blob));
      std::string comment;
      for (size_t j = i + 2; j < tokens.size(); ++j)
        StrAppend(&comment, comment.empty() ? "" : " ", tokens[j]);
      k.set_comment(comment);
      keys.push_back(std::move(k));
      found = true;
    }
    if (!found) Skip(skipped, n + 1, why.empty() ? "no key type and key that sshd can read" : why);
  }
  return keys;
}

std::vector<v1::AccessChange> DiffSnapshots(const v1::AccessSnapshot& before,
                                            const v1::AccessSnapshot& after, absl::Time at) {
  std::vector<v1::AccessChange> changes;
  std::map<std::string, const v1::UserEntry*> old_users, new_users;
  for (const auto& u : before.users()) old_users[u.name()] = &u;
  for (const auto& u : after.users()) new_users[u.name()] = &u;
  for (const auto& [name, u] : new_users) {
    auto it = old_users.find(name);
    if (it == old_users.end()) {
      changes.push_back(Change(v1::ACCESS_CHANGE_KIND_USER_ADDED, name, "", Describe(*u),
                               StrCat("+", name, " ", Describe(*u)), at));
    } else if (Describe(*it->second) != Describe(*u)) {
      changes.push_back(Change(
          v1::ACCESS_CHANGE_KIND_USER_MODIFIED, name, Describe(*it->second), Describe(*u),
          StrCat("-", name, " ", Describe(*it->second), "\n+", name, " ", Describe(*u)), at));
    }
  }
  for (const auto& [name, u] : old_users) {
    if (!new_users.count(name)) {
      changes.push_back(Change(v1::ACCESS_CHANGE_KIND_USER_REMOVED, name, Describe(*u), "",
                               StrCat("-", name, " ", Describe(*u)), at));
    }
  }

  std::map<std::string, const v1::GroupEntry*> old_groups, new_groups;
  for (const auto& g : before.groups()) old_groups[g.name()] = &g;
  for (const auto& g : after.groups()) new_groups[g.name()] = &g;
  std::set<std::string> group_names;
  for (const auto& [n, g] : old_groups) group_names.insert(n);
  for (const auto& [n, g] : new_groups) group_names.insert(n);
  for (const auto& name : group_names) {
    const auto* was = old_groups.count(name) ? old_groups[name] : nullptr;
    const auto* now = new_groups.count(name) ? new_groups[name] : nullptr;
    const std::string b = was ? DescribeGroup(*was) : "";
    const std::string a = now ? DescribeGroup(*now) : "";
    if (a == b) continue;
    std::set<std::string> bm, am;
    if (was) bm.insert(was->members().begin(), was->members().end());
    if (now) am.insert(now->members().begin(), now->members().end());
    std::string diff;
    if (!was) StrAppend(&diff, "+group ", name, "\n");
    if (!now) StrAppend(&diff, "-group ", name, "\n");
    for (const auto& m : am) {
      if (!bm.count(m)) StrAppend(&diff, "+", m, "\n");
    }
    for (const auto& m : bm) {
      if (!am.count(m)) StrAppend(&diff, "-", m, "\n");
    }
    changes.push_back(Change(v1::ACCESS_CHANGE_KIND_GROUP_CHANGED, name, b, a, diff, at));
  }

  std::map<std::string, const v1::SudoersEntry*> old_sudo, new_sudo;
  for (const auto& e : before.sudoers()) old_sudo[e.file()] = &e;
  for (const auto& e : after.sudoers()) new_sudo[e.file()] = &e;
  std::set<std::string> files;
  for (const auto& [f, e] : old_sudo) files.insert(f);
  for (const auto& [f, e] : new_sudo) files.insert(f);
  for (const auto& file : files) {
    const auto* was = old_sudo.count(file) ? old_sudo[file] : nullptr;
    const auto* now = new_sudo.count(file) ? new_sudo[file] : nullptr;
    const std::string b = was ? was->fingerprint() : "";
    const std::string a = now ? now->fingerprint() : "";
    if (a == b) continue;
    std::set<std::string> br, ar;
    if (was) br.insert(was->rules().begin(), was->rules().end());
    if (now) ar.insert(now->rules().begin(), now->rules().end());
    std::string diff;
    for (const auto& r : br) {
      if (!ar.count(r)) StrAppend(&diff, "-", r, "\n");
    }
    for (const auto& r : ar) {
      if (!br.count(r)) StrAppend(&diff, "+", r, "\n");
    }
    changes.push_back(Change(v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED, file, b, a, diff, at));
  }

  std::map<std::pair<std::string, std::string>, const v1::KeyEntry*> old_keys, new_keys;
  for (const auto& k : before.keys()) old_keys[{k.user(), k.fingerprint()}] = &k;
  for (const auto& k : after.keys()) new_keys[{k.user(), k.fingerprint()}] = &k;
  for (const auto& [id, k] : new_keys) {
    if (!old_keys.count(id)) {
      changes.push_back(Change(v1::ACCESS_CHANGE_KIND_KEY_ADDED, k->user(), "", k->fingerprint(),
                               StrCat("+", k->type(), " ", k->fingerprint(), " ", k->comment()),
                               at));
    }
  }
  for (const auto& [id, k] : old_keys) {
    if (!new_keys.count(id)) {
      changes.push_back(Change(v1::ACCESS_CHANGE_KIND_KEY_REMOVED, k->user(), k->fingerprint(), "",
                               StrCat("-", k->type(), " ", k->fingerprint(), " ", k->comment()),
                               at));
    }
  }
  return changes;
}

}  // namespace attest::agent
