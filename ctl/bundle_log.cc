#include "ctl/bundle_log.h"

#include <algorithm>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/judge.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/merkle.h"

namespace attest::ctl {

const std::map<std::string, uint64_t>& WholeBundleBounds() {
  static const auto* bounds =
      new std::map<std::string, uint64_t>{{"states.jsonl", kMaxStatesBytes},
                                          {"ledger.jsonl", kMaxLedgerBytes},
                                          {"reviews.jsonl", kMaxReviewsBytes},
                                          {kCarriedEntry, kMaxCarriedBytes},
                                          {"manifest.json", kMaxManifestBytes}};
  return *bounds;
}
namespace {

namespace note = evidence::note;
namespace merkle = evidence::merkle;

absl::Status BadLine(std::string_view file, uint64_t line, std::string_view what) {
  return absl::DataLossError(StrCat(file, " line ", line, ": ", what));
}

// Splits text into lines (each must end with "\n").
absl::StatusOr<std::vector<std::string_view>> Lines(std::string_view text, std::string_view file) {
  std::vector<std::string_view> out;
  if (!text.empty() && text.back() != '\n') {
    return absl::DataLossError(StrCat(file, ": the last line is cut off"));
  }
  for (size_t start = 0, nl; start < text.size(); start = nl + 1) {
    nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

bool Hash32(const Json* j, std::string* out) {
  return j != nullptr && j->is_string() && HexDecode(j->as_string(), out) &&
         out->size() == evidence::kHashBytes;
}

}  // namespace

std::string StatesLine(const v1::Checkpoint& c, bool full) {
  Json line = Json::MakeObject();
  line["state"] = *Json::Parse(c.state_leaf().empty() ? evidence::StateLeaf(c) : c.state_leaf());
  if (full && !c.heads_root().empty()) {
    Json heads = Json::MakeArray();
    for (const v1::ChainHead& h : c.heads()) heads.push_back(*Json::Parse(evidence::HeadLeaf(h)));
    line["heads"] = std::move(heads);
    line["note"] = Json(c.note());
  }
  return line.Canonical();
}

absl::StatusOr<std::vector<State>> ParseStates(std::string_view text, bool note_without_heads) {
  auto lines = Lines(text, "states.jsonl");
  if (!lines.ok()) return lines.status();
  std::vector<State> out;
  uint64_t n = 0;
  for (std::string_view text_line : *lines) {
    ++n;
    auto bad = [&](std::string_view what) { return BadLine("states.jsonl", n, what); };
    auto j = Json::Parse(text_line);
    if (!j.ok()) return bad(View(j.status().message()));
    if (!j->is_object()) return bad("not a JSON object");
    for (const auto& [key, v] : j->as_object()) {
      if (key != "state" && key != "heads" && key != "note")
        return bad(StrCat(key, ": unknown field"));
    }
    const Json* sj = j->Find("state");
    if (sj == nullptr || !sj->is_object()) return bad("state: required");
    State s;
    s.leaf_hash = merkle::LeafHash(sj->Canonical());
    const Json* seq = sj->Find("sequence");
    const Json* created = sj->Find("created_at");
    const Json* format = sj->Find("format");
    const Json* hosts = sj->Find("hosts");
    if (seq == nullptr || !seq->is_int() || seq->as_uint() != n) {
      return bad(StrCat("state.sequence must be ", n));
    }
    s.sequence = n;
    if (created == nullptr || !created->is_string()) return bad("state.created_at: required");
    auto t = ParseRfc3339(created->as_string());
    if (!t.ok()) return bad(StrCat("state.created_at: ", t.status().message()));
    s.created_at = *t;
    if (format == nullptr || !format->is_string() ||
        (format->as_string() != "attest-state-v0" && format->as_string() != "attest-state-v1" &&
         format->as_string() != "attest-state-v2")) {
      return bad("state.format: attest-state-v0, attest-state-v1 or attest-state-v2");
    }
    s.format = format->as_string();
    const bool v2 = s.format == "attest-state-v2";
    if (hosts == nullptr || !hosts->is_int() || !hosts->as_uint())
      return bad("state.hosts: required");
    s.hosts = *hosts->as_uint();
    if (!Hash32(sj->Find("heads_root"), &s.heads_root))
      return bad("state.heads_root: 64 hex digits");
    if (s.format != "attest-state-v0") {
      const Json* ll = sj->Find("ledger_length");
      if (ll == nullptr || !ll->is_int() || !ll->as_uint())
        return bad("state.ledger_length: required");
      s.ledger_length = *ll->as_uint();
      if (!Hash32(sj->Find("ledger_head"), &s.ledger_head)) {
        return bad("state.ledger_head: 64 hex digits");
      }
    }
    const Json* heads = j->Find("heads");
    const Json* nj = j->Find("note");
    if (heads != nullptr && nj == nullptr) return bad("heads and note come together");
    if (nj != nullptr && heads == nullptr) {
      if (!note_without_heads) return bad("heads and note come together");
      if (!nj->is_string()) return bad("note: a string");
      s.note = nj->as_string();
      auto parsed = note::Parse(s.note);
      auto body = parsed.ok() ? note::ParseCheckpoint(parsed->text)
                              : absl::StatusOr<note::Checkpoint>(parsed.status());
      if (!body.ok()) return bad(StrCat("note: ", body.status().message()));
      if (body->size != n) return bad(StrCat("note: its tree size is ", body->size, ", not ", n));
    }
    if (heads != nullptr) {
      if (s.format == "attest-state-v0") return bad("a state before format 2 has no heads here");
      if (!heads->is_array() || !nj->is_string()) return bad("heads: a list; note: a string");
      s.full = true;
      s.note = nj->as_string();
      std::vector<std::string> leaves;
      std::string previous;
      for (const Json& h : heads->as_array()) {
        const Json* host = h.Find("host");
        const Json* length = h.Find("length");
        const Json* labels = h.Find("labels");
        StateHead head;
        if (host == nullptr || !host->is_string() || length == nullptr || !length->is_int() ||
            !length->as_uint() || !Hash32(h.Find("hash"), &head.hash) || labels == nullptr ||
            !labels->is_object() || h.as_object().size() != (v2 ? 6u : 4u)) {
          return bad(v2 ? "a head is {access_changes, access_changes_hash, hash, host, labels, "
                          "length}"
                        : "a head is {hash, host, labels, length}");
        }
        if (v2) {
          const Json* count = h.Find("access_changes");
          if (count == nullptr || !count->is_int() || !count->as_uint() ||
              !Hash32(h.Find("access_changes_hash"), &head.access_changes_hash)) {
            return bad(StrCat("head of ", host->as_string(),
                              ": access_changes is a count, access_changes_hash 64 hex digits"));
          }
          head.has_access = true;
          head.access_changes = *count->as_uint();
        }
        if (!leaves.empty() && !(previous < host->as_string())) {
          return bad(StrCat("heads out of host order at ", host->as_string()));
        }
        previous = host->as_string();
        head.length = *length->as_uint();
        for (const auto& [k, v] : labels->as_object()) {
          if (!v.is_string()) return bad("a head's labels are strings");
          head.labels[k] = v.as_string();
        }
        leaves.push_back(merkle::LeafHash(h.Canonical()));
        s.heads[previous] = std::move(head);
      }
      if (leaves.size() != s.hosts) return bad("the state's number of heads is not its hosts");
      if (merkle::Root(leaves, leaves.size()) != s.heads_root) {
        return bad("the heads do not match the state's heads root");
      }
      auto parsed = note::Parse(s.note);
      auto body = parsed.ok() ? note::ParseCheckpoint(parsed->text)
                              : absl::StatusOr<note::Checkpoint>(parsed.status());
      if (!body.ok()) return bad(StrCat("note: ", body.status().message()));
      if (body->size != n) return bad(StrCat("note: its tree size is ", body->size, ", not ", n));
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<v1::LedgerEntry>> ParseLedger(std::string_view text) {
  auto lines = Lines(text, "ledger.jsonl");
  if (!lines.ok()) return lines.status();
  std::vector<v1::LedgerEntry> out;
  std::string prev = evidence::GenesisHash();
  uint64_t n = 0;
  for (std::string_view line : *lines) {
    ++n;
    auto e = evidence::ParseLedgerLine(line);
    if (!e.ok()) return BadLine("ledger.jsonl", n, View(e.status().message()));
    if (e->index() != n) return BadLine("ledger.jsonl", n, StrCat("expected entry ", n));
    if (evidence::CanonicalLedgerEntry(*e, true) != line) {
      return BadLine("ledger.jsonl", n, "not in canonical form");
    }
    if (e->prev_hash() != prev) {
      return BadLine("ledger.jsonl", n, "prev_hash does not link to the entry before it");
    }
    if (evidence::LedgerHash(prev, *e) != e->hash()) {
      return BadLine("ledger.jsonl", n, "content does not match its hash");
    }
    prev = e->hash();
    out.push_back(std::move(*e));
  }
  return out;
}

bool LedgerNamesJudgement(const std::vector<v1::LedgerEntry>& ledger) {
  return std::any_of(ledger.begin(), ledger.end(), [](const v1::LedgerEntry& e) {
    return e.has_policy_version() && e.policy_version().judge() != 0;
  });
}

absl::StatusOr<std::string> CheckJudgements(const std::vector<v1::LedgerEntry>& ledger,
                                            std::string_view format, bool named) {
  std::string out;
  uint32_t current = 0;
  bool names = false;  // whether a version names its judgement
  for (const v1::LedgerEntry& e : ledger) {
    if (!e.has_policy_version()) continue;
    const v1::PolicyVersion& v = e.policy_version();
    names = names || v.judge() != 0;
    if (!named && v.judge() != 0) {
      return absl::DataLossError(
          StrCat("ledger entry ", e.index(), ": policy version ", v.version(), " names judgement ",
                 v.judge(), " in a bundle of format ", format, ", which is older than judgements"));
    }
    const uint32_t j = engine::JudgementOf(v.judge());
    if (j == current) continue;
    if (current != 0)
      StrAppend(&out, " until ", FormatRfc3339(FromProto(v.loaded_at())), ", then ");
    StrAppend(&out, j);
    current = j;
  }
  return names ? out : "";
}

absl::Status CheckLedgerCommitted(const std::vector<v1::LedgerEntry>& ledger, const State& state) {
  const std::string head = ledger.empty() ? evidence::GenesisHash() : ledger.back().hash();
  if (ledger.size() == state.ledger_length && head == state.ledger_head) return absl::OkStatus();
  return absl::DataLossError(
      StrCat("ledger.jsonl holds ", ledger.size(), " decisions, the signed checkpoint commits to ",
             state.ledger_length,
             state.ledger_length == ledger.size() ? " with another head: a decision was changed"
                                                  : ": decisions were added or removed"));
}

absl::StatusOr<LogCheck> CheckLog(const std::vector<State>& states,
                                  const std::string& log_pubkey_pem,
                                  const std::vector<note::VerifierKey>& witnesses,
                                  const std::vector<std::string>& known_checkpoints) {
  LogCheck out;
  if (states.empty() || states.back().note.empty()) {
    return absl::DataLossError("states.jsonl: the last state has no note");
  }
  auto n = note::Parse(states.back().note);
  if (!n.ok()) return absl::DataLossError(StrCat("the checkpoint note: ", n.status().message()));
  auto body = note::ParseCheckpoint(n->text);
  if (!body.ok()) return absl::DataLossError(StrCat("the checkpoint: ", body.status().message()));
  out.origin = body->origin;
  out.size = body->size;
  auto raw = evidence::RawPublicKey(log_pubkey_pem);
  if (!raw.ok()) return raw.status();
  note::VerifierKey log_key;
  log_key.name = body->origin;
  log_key.type = note::kEd25519;
  log_key.public_key = *raw;
  log_key.key_id = note::KeyId(log_key.name, log_key.type, log_key.public_key);
  if (absl::Status s = note::VerifySignature(*n, log_key); !s.ok()) {
    return absl::DataLossError(StrCat("checkpoint ", body->size, " of log ", body->origin,
                                      " is not signed by the given log key: ", s.message()));
  }
  for (const note::VerifierKey& w : witnesses) {
    uint64_t t = 0;
    if (absl::Status s = note::VerifySignature(*n, w, &t); !s.ok()) {
      return absl::DataLossError(StrCat(
          "checkpoint ", body->size, " carries no valid cosignature by witness ", w.name,
          s.code() == absl::StatusCode::kNotFound ? " (none at all)" : " (it does not verify)",
          ": the bundle's history is not the one that witness saw"));
    }
    out.cosigned_at[w.name] = t;
  }
  if (states.size() != body->size) {
    return absl::DataLossError(StrCat("states.jsonl has ", states.size(),
                                      " states, the signed checkpoint says ", body->size));
  }
  std::vector<std::string> leaves;
  leaves.reserve(states.size());
  for (const State& s : states) leaves.push_back(s.leaf_hash);
  if (merkle::Root(leaves, leaves.size()) != body->root) {
    return absl::DataLossError(
        "the states do not hash to the signed checkpoint's root: a state was changed, added or "
        "removed");
  }
  for (const std::string& known : known_checkpoints) {
    auto kn = note::Parse(known);
    auto kb =
        kn.ok() ? note::ParseCheckpoint(kn->text) : absl::StatusOr<note::Checkpoint>(kn.status());
    if (!kb.ok())
      return absl::InvalidArgumentError(StrCat("--known-checkpoint: ", kb.status().message()));
    if (kb->origin != body->origin) {
      return absl::InvalidArgumentError(StrCat("--known-checkpoint is of log ", kb->origin,
                                               ", the bundle of log ", body->origin));
    }
    if (!note::VerifySignature(*kn, log_key).ok()) {
      return absl::InvalidArgumentError(
          StrCat("--known-checkpoint of size ", kb->size, " is not signed by the given log key"));
    }
    if (kb->size > states.size()) {
      return absl::DataLossError(StrCat("the bundle ends at checkpoint ", states.size(),
                                        ", before the known checkpoint ", kb->size,
                                        ": ask for a bundle cut after it"));
    }
    if (merkle::Root(leaves, kb->size) != kb->root) {
      return absl::DataLossError(StrCat("the bundle's history differs from the known checkpoint ",
                                        kb->size, ": the log was rewritten or forked"));
    }
  }
  out.committed_at.reserve(states.size());
  for (const State& s : states) {
    if (witnesses.empty()) {
      out.committed_at.push_back(s.created_at);
      continue;
    }
    absl::Time latest = absl::InfinitePast();
    auto sn =
        !s.note.empty() ? note::Parse(s.note) : absl::StatusOr<note::Note>(absl::NotFoundError(""));
    for (const note::VerifierKey& w : witnesses) {
      uint64_t t = 0;
      if (!sn.ok() || !note::VerifySignature(*sn, w, &t).ok()) {
        latest = absl::InfiniteFuture();
        break;
      }
      latest = std::max(latest, absl::FromUnixSeconds(static_cast<int64_t>(t)));
    }
    // The note's text must be this state's checkpoint: its root is the
    // tree of the states up to it.
    if (latest != absl::InfiniteFuture() && !s.note.empty()) {
      auto sb = note::ParseCheckpoint(sn->text);
      if (!sb.ok() || sb->origin != body->origin || sb->root != merkle::Root(leaves, s.sequence)) {
        return absl::DataLossError(StrCat("the note of state ", s.sequence,
                                          " is not the checkpoint of the states up to it"));
      }
    }
    out.committed_at.push_back(latest);
  }
  return out;
}

}  // namespace attest::ctl
