#include "daemon/engine/review_population.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/login_shell.h"
#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"

namespace attest::engine {
namespace {

bool StartsWithWord(std::string_view line, std::string_view word) {
  return line.starts_with(word) &&
         (line.size() == word.size() || line[word.size()] == ' ' || line[word.size()] == ':' ||
          line[word.size()] == '@' || line[word.size()] == '!' || line[word.size()] == '>');
}

// Lines that grant nothing themselves: Defaults (settings) and includes
// (the included files are entries of their own).
bool GrantsNothing(std::string_view rule) {
  return StartsWithWord(rule, "Defaults") || rule.starts_with("#include") ||
         rule.starts_with("@include");
}

// Who a sudoers line names: a User_Alias's members, or a user spec's users.
std::string_view SudoersUsers(std::string_view rule) {
  if (StartsWithWord(rule, "User_Alias")) {
    const size_t eq = rule.find('=');
    return eq == std::string_view::npos ? std::string_view() : rule.substr(eq + 1);
  }
  if (StartsWithWord(rule, "Runas_Alias") || StartsWithWord(rule, "Host_Alias") ||
      StartsWithWord(rule, "Cmnd_Alias") || StartsWithWord(rule, "Cmd_Alias")) {
    return {};
  }
  const size_t space = rule.find(' ');
  return rule.substr(0, space);
}

v1::ReviewEntry Entry(std::string kind, std::string user, std::string detail, std::string note) {
  v1::ReviewEntry e;
  e.set_id(ReviewEntryId(kind, user, detail));
  e.set_kind(std::move(kind));
  e.set_user(std::move(user));
  e.set_detail(std::move(detail));
  e.set_note(std::move(note));
  return e;
}

}  // namespace

std::string ReviewEntryId(std::string_view kind, std::string_view user, std::string_view detail) {
  std::string data(kind);
  data.push_back('\0');
  data.append(user);
  data.push_back('\0');
  data.append(detail);
  return "e" + HexEncode(evidence::Sha256(data)).substr(0, 12);
}

std::vector<v1::ReviewEntry> AccessEntries(const v1::AccessSnapshot& s,
                                           const std::vector<std::string>& privileged_groups) {
  std::map<std::string, v1::ReviewEntry> by_id;
  auto add = [&](v1::ReviewEntry e) { by_id.try_emplace(e.id(), std::move(e)); };
  std::map<uint32_t, std::vector<std::string>> login_by_gid;
  std::set<std::string> login_users;
  for (const v1::UserEntry& u : s.users()) {
    if (!IsLoginShell(u.shell())) continue;
    login_users.insert(u.name());
    login_by_gid[u.gid()].push_back(u.name());
    add(Entry("user", u.name(), "login shell", u.shell()));
  }
  const std::set<std::string> privileged(privileged_groups.begin(), privileged_groups.end());
  for (const v1::GroupEntry& g : s.groups()) {
    if (!privileged.count(g.name())) continue;
    for (const std::string& m : g.members()) add(Entry("group", m, g.name(), ""));
    if (auto it = login_by_gid.find(g.gid()); it != login_by_gid.end()) {
      for (const std::string& m : it->second) add(Entry("group", m, g.name(), "primary group"));
    }
  }
  for (const v1::SudoersEntry& f : s.sudoers()) {
    for (const std::string& rule : f.rules()) {
      if (GrantsNothing(rule)) continue;
      add(Entry("sudoers", std::string(TrimWhitespace(SudoersUsers(rule))), rule, f.file()));
    }
  }
  for (const v1::KeyEntry& k : s.keys()) {
    if (!login_users.count(k.user())) continue;
    add(Entry("key", k.user(), StrCat(k.type(), " ", k.fingerprint()), k.comment()));
  }
  std::vector<v1::ReviewEntry> out;
  out.reserve(by_id.size());
  for (auto& [id, e] : by_id) out.push_back(std::move(e));
  return out;
}

bool SnapshotHolds(const v1::AccessSnapshot& snapshot,
                   const std::vector<std::string>& privileged_groups, std::string_view id) {
  for (const v1::ReviewEntry& e : AccessEntries(snapshot, privileged_groups)) {
    if (e.id() == id) return true;
  }
  return false;
}

Population BuildPopulation(std::vector<PopulationHost> hosts,
                           const std::vector<std::string>& privileged_groups) {
  std::sort(hosts.begin(), hosts.end(),
            [](const PopulationHost& a, const PopulationHost& b) { return a.host < b.host; });
  Population p;
  std::map<std::string, v1::ReviewEntry> entries;
  for (const PopulationHost& h : hosts) {
    v1::ReviewHost& rh = p.hosts.emplace_back();
    rh.set_host(h.host);
    if (h.snapshot == nullptr) continue;
    rh.set_snapshot_index(h.snapshot_index);
    rh.mutable_snapshot_observed_at()->set_seconds(h.snapshot_t);
    for (v1::ReviewEntry& e : AccessEntries(*h.snapshot, privileged_groups)) {
      auto [it, added] = entries.try_emplace(e.id(), std::move(e));
      it->second.add_hosts(h.host);  // hosts arrive sorted
    }
  }
  p.entries.reserve(entries.size());
  for (auto& [id, e] : entries) p.entries.push_back(std::move(e));
  return p;
}

std::string PopulationSha256(const Population& population) {
  std::string lines;
  for (const v1::ReviewHost& h : population.hosts) {
    lines += evidence::CanonicalMessage(h);
    lines.push_back('\n');
  }
  for (const v1::ReviewEntry& e : population.entries) {
    lines += evidence::CanonicalMessage(e);
    lines.push_back('\n');
  }
  return HexEncode(evidence::Sha256(lines));
}

bool ChangeRemoves(const v1::ReviewEntry& entry, const v1::AccessChange& change) {
  if (entry.kind() == "sudoers" || change.subject() != entry.user()) return false;
  if (change.change() == v1::ACCESS_CHANGE_KIND_USER_REMOVED) return true;
  return change.change() == v1::ACCESS_CHANGE_KIND_KEY_REMOVED && entry.kind() == "key" &&
         !change.before().empty() && entry.detail().ends_with(" " + change.before());
}

std::string DescribeEntry(const v1::ReviewEntry& e) {
  if (e.kind() == "user") return StrCat("user ", e.user());
  if (e.kind() == "group") return StrCat("member ", e.user(), " of group ", e.detail());
  if (e.kind() == "key") return StrCat("key of ", e.user(), " ", e.detail());
  return StrCat("sudoers line \"", e.detail(), "\"");
}

bool EntryBelongsTo(const v1::ReviewEntry& entry, std::string_view who) {
  if (who.empty()) return false;
  if (entry.kind() != "sudoers") return entry.user() == who;
  for (std::string_view u : Split(entry.user(), ",")) {
    if (TrimWhitespace(u) == who) return true;
  }
  return false;
}

}  // namespace attest::engine
