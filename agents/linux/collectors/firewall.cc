#include "agents/linux/collectors/firewall.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {
namespace {

// Base chains reported at most (a host has a handful; the rest are counted
// in `rules` and the fingerprint).
constexpr int kMaxChains = 256;

// EVP_sha256() as the access collector uses it: SHA256() would fetch the
// algorithm from OpenSSL 3's provider store, ~2 MiB more resident memory.
std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

// The ruleset without what changes when the same rules are loaded again:
// handles, counter values, comments, nft's own version.
Json Stable(const Json& v) {
  if (v.is_array()) {
    Json out = Json::MakeArray();
    for (const Json& item : v.as_array()) {
      if (item.is_object() && item.Find("metainfo") != nullptr) continue;
      out.push_back(Stable(item));
    }
    return out;
  }
  if (!v.is_object()) return v;
  Json out = Json::MakeObject();
  for (const auto& [key, value] : v.as_object()) {
    if (key == "handle" || key == "comment") continue;
    if (key == "counter" && value.is_object()) {
      out[key] = Json::MakeObject();
      continue;
    }
    out[key] = Stable(value);
  }
  return out;
}

const std::string* StringAt(const Json& object, std::string_view key) {
  const Json* v = object.Find(key);
  return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
}

// A rule that drops or rejects whatever reaches it: only counters and logs
// before a drop or reject verdict, no match.
bool UnconditionalDrop(const Json& rule) {
  const Json* expr = rule.Find("expr");
  if (expr == nullptr || !expr->is_array() || expr->as_array().empty()) return false;
  const auto& statements = expr->as_array();
  for (size_t i = 0; i < statements.size(); ++i) {
    const Json& s = statements[i];
    if (!s.is_object() || s.as_object().size() != 1) return false;
    const std::string& key = s.as_object().begin()->first;
    const bool last = i + 1 == statements.size();
    if (last) return key == "drop" || key == "reject";
    if (key != "counter" && key != "log") return false;
  }
  return false;
}

using ChainKey = std::tuple<std::string, std::string, std::string>;  // family, table, chain

}  // namespace

absl::StatusOr<v1::FirewallState> ParseNftRuleset(std::string_view text) {
  auto json = Json::Parse(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(StrCat("nft -j list ruleset: ", json.status().message()));
  }
  const Json* items = json->is_object() ? json->Find("nftables") : nullptr;
  if (items == nullptr || !items->is_array()) {
    return absl::InvalidArgumentError("nft -j list ruleset: no \"nftables\" array");
  }
  v1::FirewallState state;
  state.set_source(v1::FIREWALL_SOURCE_NFTABLES);
  std::map<ChainKey, int> base;  // -> index in state.chains
  std::map<ChainKey, bool> last_drops;
  std::set<std::pair<std::string, std::string>> dormant_tables;  // family, table
  for (const Json& item : items->as_array()) {
    if (!item.is_object())
      return absl::InvalidArgumentError("nft -j list ruleset: an item is not an object");
    if (const Json* t = item.Find("table"); t != nullptr && t->is_object()) {
      // A dormant table filters nothing: its chains are not reported.
      const Json* flags = t->Find("flags");
      const std::string* family = StringAt(*t, "family");
      const std::string* name = StringAt(*t, "name");
      bool dormant = false;
      if (flags != nullptr && flags->is_string()) dormant = flags->as_string() == "dormant";
      if (flags != nullptr && flags->is_array()) {
        for (const Json& f : flags->as_array())
          dormant |= f.is_string() && f.as_string() == "dormant";
      }
      if (dormant && family != nullptr && name != nullptr) dormant_tables.insert({*family, *name});
    } else if (const Json* chain = item.Find("chain"); chain != nullptr && chain->is_object()) {
      const std::string* family = StringAt(*chain, "family");
      const std::string* table = StringAt(*chain, "table");
      const std::string* name = StringAt(*chain, "name");
      if (family == nullptr || table == nullptr || name == nullptr) {
        return absl::InvalidArgumentError(
            "nft -j list ruleset: a chain without family, table or name");
      }
      const std::string* hook = StringAt(*chain, "hook");
      if (hook == nullptr || state.chains_size() >= kMaxChains) continue;  // a regular chain
      if (dormant_tables.count({*family, *table})) continue;
      v1::FirewallChain* c = state.add_chains();
      c->set_family(*family);
      c->set_table(*table);
      c->set_name(*name);
      c->set_hook(*hook);
      if (const Json* prio = chain->Find("prio"); prio != nullptr && prio->as_int()) {
        c->set_priority(
            static_cast<int32_t>(std::clamp<int64_t>(*prio->as_int(), INT32_MIN, INT32_MAX)));
      }
      const std::string* policy = StringAt(*chain, "policy");
      c->set_policy(policy != nullptr ? *policy : "accept");  // nft's default
      base[{*family, *table, *name}] = state.chains_size() - 1;
    } else if (const Json* rule = item.Find("rule"); rule != nullptr && rule->is_object()) {
      const std::string* family = StringAt(*rule, "family");
      const std::string* table = StringAt(*rule, "table");
      const std::string* chain_name = StringAt(*rule, "chain");
      if (family == nullptr || table == nullptr || chain_name == nullptr) {
        return absl::InvalidArgumentError(
            "nft -j list ruleset: a rule without family, table or chain");
      }
      state.set_rules(state.rules() + 1);
      const ChainKey key{*family, *table, *chain_name};
      last_drops[key] = UnconditionalDrop(*rule);
      if (auto it = base.find(key); it != base.end()) {
        v1::FirewallChain* c = state.mutable_chains(it->second);
        c->set_rules(c->rules() + 1);
      }
    }
  }
  for (const auto& [key, index] : base) {
    auto it = last_drops.find(key);
    state.mutable_chains(index)->set_ends_in_drop(it != last_drops.end() && it->second);
  }
  state.set_ruleset_sha256(Sha256Hex(Stable(*items).Canonical()));
  return state;
}

namespace {

// One family's iptables-save output into `state`: base chains of every
// table (":CHAIN POLICY [p:b]" where POLICY is not "-"), rules ("-A").
absl::Status ParseIptablesFamily(std::string_view text, std::string_view family,
                                 v1::FirewallState& state, std::string& stable) {
  std::string table;
  std::map<std::string, int> base;  // chain -> index, for the current table
  std::map<std::string, bool> last_drop;
  auto finish_table = [&] {
    for (const auto& [chain, index] : base) {
      auto it = last_drop.find(chain);
      state.mutable_chains(index)->set_ends_in_drop(it != last_drop.end() && it->second);
    }
    base.clear();
    last_drop.clear();
  };
  int line_no = 0;
  for (std::string_view line : Split(text, "\n")) {
    ++line_no;
    line = TrimWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(StrCat(family == "ip" ? "iptables-save" : "ip6tables-save",
                                               " line ", line_no, ": ", why));
    };
    if (line[0] == '*') {
      finish_table();
      table = std::string(line.substr(1));
      stable += StrCat(family, " *", table, "\n");
    } else if (line == "COMMIT") {
      finish_table();
      table.clear();
    } else if (line[0] == ':') {
      if (table.empty()) return bad("a chain outside a table");
      std::vector<std::string_view> f = SplitWords(line.substr(1));
      if (f.size() < 2) return bad("a chain line without a policy");
      stable += StrCat(":", f[0], " ", f[1], "\n");                    // without the counters
      if (f[1] == "-" || state.chains_size() >= kMaxChains) continue;  // a user chain
      std::string hook = AsciiLower(f[0]);
      v1::FirewallChain* c = state.add_chains();
      c->set_family(std::string(family));
      c->set_table(table);
      c->set_name(std::string(f[0]));
      c->set_hook(hook);
      c->set_policy(AsciiLower(f[1]));
      base[std::string(f[0])] = state.chains_size() - 1;
    } else if (line.substr(0, 3) == "-A ") {
      if (table.empty()) return bad("a rule outside a table");
      std::vector<std::string_view> f = SplitWords(line.substr(3));
      if (f.empty()) return bad("a rule without a chain");
      const std::string chain(f[0]);
      stable += StrCat(line, "\n");
      state.set_rules(state.rules() + 1);
      // "-A INPUT -j DROP" (or REJECT with its options): nothing to match.
      const bool drop = f.size() >= 3 && f[1] == "-j" && (f[2] == "DROP" || f[2] == "REJECT") &&
                        (f.size() == 3 || f[2] == "REJECT");
      last_drop[chain] = drop;
      if (auto it = base.find(chain); it != base.end()) {
        v1::FirewallChain* c = state.mutable_chains(it->second);
        c->set_rules(c->rules() + 1);
      }
    } else {
      return bad(StrCat("unexpected \"", line.substr(0, 40), "\""));
    }
  }
  finish_table();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::FirewallState> ParseIptablesSave(std::string_view ipv4, std::string_view ipv6) {
  v1::FirewallState state;
  state.set_source(v1::FIREWALL_SOURCE_IPTABLES);
  std::string stable;
  if (absl::Status s = ParseIptablesFamily(ipv4, "ip", state, stable); !s.ok()) return s;
  if (absl::Status s = ParseIptablesFamily(ipv6, "ip6", state, stable); !s.ok()) return s;
  state.set_ruleset_sha256(Sha256Hex(stable));
  return state;
}

namespace {

// Runs one listing program; its failure says what it needs.
absl::StatusOr<std::string> List(const CollectContext& ctx, const std::vector<std::string>& argv) {
  auto result = ctx.commands.Run(argv, absl::Seconds(30));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    std::string err(TrimWhitespace(result->stderr_text.substr(0, 1000)));
    const bool denied = err.find("Operation not permitted") != std::string::npos ||
                        err.find("Permission denied") != std::string::npos;
    const std::string what =
        StrCat(argv[0], " exited ", result->exit_code, ": ", err,
               denied ? " (attest-agent needs CAP_NET_ADMIN to list the ruleset)" : "");
    return denied ? absl::PermissionDeniedError(what) : absl::UnavailableError(what);
  }
  return std::move(result->stdout_text);
}

}  // namespace

absl::StatusOr<std::vector<v1::Signal>> FirewallCollector::Collect(const CollectContext& ctx) {
  absl::StatusOr<v1::FirewallState> state;
  auto nft = List(ctx, {"nft", "-j", "list", "ruleset"});
  if (nft.ok()) {
    state = ParseNftRuleset(*nft);
  } else if (absl::IsNotFound(nft.status())) {
    auto v4 = List(ctx, {"iptables-save"});
    if (absl::IsNotFound(v4.status())) {
      return absl::NotFoundError(
          "neither nft nor iptables-save is installed: no packet filter to read");
    }
    if (!v4.ok()) return v4.status();
    auto v6 = List(ctx, {"ip6tables-save"});
    if (!v6.ok() && !absl::IsNotFound(v6.status())) return v6.status();
    state = ParseIptablesSave(*v4, v6.ok() ? *v6 : "");
  } else {
    return nft.status();
  }
  if (!state.ok()) return state.status();
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  *s.mutable_firewall() = std::move(*state);
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
