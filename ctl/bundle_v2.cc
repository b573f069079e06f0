#include "ctl/bundle_v2.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/chain.h"
#include "google/protobuf/util/message_differencer.h"

namespace attest::ctl {
namespace {

std::string Labels(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) StrAppend(&out, out.size() > 1 ? "," : "", k, "=", v);
  return out + "}";
}

std::string Describe(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s >= 86400) return StrCat(s / 86400, "d", (s % 86400) / 3600, "h");
  if (s >= 3600) return StrCat(s / 3600, "h", (s % 3600) / 60, "m");
  return StrCat(s, "s");
}

}  // namespace

absl::Status BundleV2Check::Prepare(v1::BundleManifest& m, std::string_view states_text,
                                    std::string_view ledger_text, VerifyResult* out) {
  auto states = ParseStates(states_text);
  if (!states.ok()) return states.status();
  auto ledger = ParseLedger(ledger_text);
  if (!ledger.ok()) return ledger.status();
  const std::string& pem = options_.pubkey_pem.empty() ? m.public_key_pem() : options_.pubkey_pem;
  auto log = CheckLog(*states, pem, options_.witnesses, options_.known_checkpoints);
  if (!log.ok()) return log.status();
  out->origin = log->origin;
  out->checkpoint = log->size;
  for (const auto& [name, t] : log->cosigned_at) out->witnessed_by.push_back(name);
  if (options_.pubkey_pem.empty()) {
    out->warnings.push_back(
        "no --pubkey: the checkpoint was checked against the key inside the bundle, which "
        "proves nothing about who made it");
  }
  if (options_.witnesses.empty()) {
    out->warnings.push_back(
        "no --witness-key: only the operator's own signature was checked; whoever holds "
        "attestd's key (the company being audited) could have rewritten this history");
  }
  const State& final_state = states->back();
  if (final_state.format != "attest-state-v1") {
    return absl::DataLossError("the bundle's checkpoint was made before format 2");
  }
  // The ledger up to the head the checkpoint commits to, and no further.
  const std::string ledger_head = ledger->empty() ? evidence::GenesisHash() : ledger->back().hash();
  if (ledger->size() != final_state.ledger_length || ledger_head != final_state.ledger_head) {
    return absl::DataLossError(StrCat(
        "ledger.jsonl holds ", ledger->size(), " decisions, the signed checkpoint commits to ",
        final_state.ledger_length,
        final_state.ledger_length == ledger->size() ? " with another head: a decision was changed"
                                                    : ": decisions were added or removed"));
  }
  // The manifest's copy of the checkpoint and its host list must be the
  // signed state's.
  final_heads_ = final_state.heads;
  const v1::Checkpoint& mc = m.checkpoint();
  if (mc.sequence() != final_state.sequence ||
      static_cast<size_t>(mc.heads_size()) != final_heads_.size()) {
    return absl::DataLossError("manifest.json: its checkpoint is not the signed one");
  }
  for (const v1::ChainHead& h : mc.heads()) {
    auto it = final_heads_.find(h.host());
    if (it == final_heads_.end() || it->second.length != h.length() ||
        it->second.hash != h.hash()) {
      return absl::DataLossError(
          StrCat("manifest.json: the checkpoint's head of ", h.host(), " is not the signed one"));
    }
  }
  // The window as the ledger last defined it.
  const v1::WindowDef* window = nullptr;
  for (const v1::LedgerEntry& e : *ledger) {
    if (e.has_window() && e.window().id() == m.window().id()) window = &e.window();
  }
  if (window == nullptr) {
    return absl::DataLossError(StrCat("window ", m.window().id(), " is not in the ledger"));
  }
  // Compared as messages: a map's serialized order is not fixed.
  if (!google::protobuf::util::MessageDifferencer::Equals(*window, m.window())) {
    return absl::DataLossError(StrCat("manifest.json: window ", window->id(),
                                      " is not the one in the ledger (dates, scope or "
                                      "thresholds were changed)"));
  }
  window_ = *window;
  // The scope, from the signed heads' labels.
  for (const auto& [host, head] : final_heads_) {
    engine::Labels labels(head.labels.begin(), head.labels.end());
    if (engine::SelectorMatches(window_.scope(), labels)) in_scope_.insert(host);
  }
  std::set<std::string> listed;
  for (const v1::BundleHost& bh : m.hosts()) {
    listed.insert(bh.host());
    auto head = final_heads_.find(bh.host());
    if (head == final_heads_.end()) {
      return absl::DataLossError("host " + bh.host() + " is not in the checkpoint");
    }
    std::string hash;
    if (bh.last_index() != head->second.length || !HexDecode(bh.head(), &hash) ||
        hash != head->second.hash) {
      return absl::DataLossError(StrCat("manifest.json: host ", bh.host(),
                                        ": its head or last index is not the signed one"));
    }
  }
  for (const std::string& host : in_scope_) {
    if (!listed.count(host)) {
      return absl::DataLossError(
          StrCat("host ", host, " is in window ", window_.id(), "'s scope (its signed labels ",
                 Labels(final_heads_[host].labels), ") but the bundle leaves it out"));
    }
  }
  for (const std::string& host : listed) {
    if (!in_scope_.count(host)) {
      return absl::DataLossError(StrCat("host ", host, " is listed but its signed labels ",
                                        Labels(final_heads_[host].labels), " put it out of window ",
                                        window_.id(), "'s scope"));
    }
  }
  // Every decision, from the ledger only, for the replay.
  if (m.policy_versions_size() + m.approvals_size() + m.exceptions_size() + m.decommissions_size() >
      0) {
    return absl::DataLossError(
        "manifest.json lists decisions; in format 2 they are only in ledger.jsonl");
  }
  std::map<std::string, int> exception_at;
  for (const v1::LedgerEntry& e : *ledger) {
    if (e.has_policy_version()) {
      *m.add_policy_versions() = e.policy_version();
    } else if (e.has_approval()) {
      // An approval of a change on a host outside the bundle cannot touch
      // the window's hosts.
      if (in_scope_.count(e.approval().host())) *m.add_approvals() = e.approval();
    } else if (e.has_exception()) {
      const v1::Exception& x = e.exception();
      if (x.revokes().empty()) {
        exception_at[x.id()] = m.exceptions_size();
        *m.add_exceptions() = x;
      } else if (auto it = exception_at.find(x.revokes()); it != exception_at.end()) {
        *m.mutable_exceptions(it->second)->mutable_revoked_at() = x.revoked_at();
      } else {
        return absl::DataLossError(StrCat("ledger entry ", e.index(), " revokes exception ",
                                          x.revokes(), ", which no earlier entry made"));
      }
    } else if (e.has_decommission()) {
      if (in_scope_.count(e.decommission().host())) *m.add_decommissions() = e.decommission();
    }
  }
  // When each state's heads were committed, per host.
  for (size_t i = 0; i < states->size(); ++i) {
    const State& s = (*states)[i];
    if (!s.full) continue;
    for (const auto& [host, head] : s.heads) {
      if (!in_scope_.count(host)) continue;
      auto& c = commits_[host];
      if (c.empty() || head.length > c.back().first) {
        c.emplace_back(head.length, log->committed_at[i]);
      } else if (head.length < c.back().first) {
        return absl::DataLossError(StrCat("state ", s.sequence, ": the chain of ", host,
                                          " is shorter than in the state before"));
      }
    }
  }
  // A committed time later than a later state's: the earlier state's
  // cosignature is missing; the later one commits the records too.
  for (auto& [host, c] : commits_) {
    for (size_t i = c.size(); i-- > 1;) c[i - 1].second = std::min(c[i - 1].second, c[i].second);
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::OnRecord(const v1::EvidenceRecord& r, VerifyResult* out) {
  if (r.has_hello()) {
    auto& l = hello_labels_[r.host()];
    l = std::map<std::string, std::string>(r.hello().labels().begin(), r.hello().labels().end());
  }
  const absl::Time observed = FromProto(r.observed_at());
  if (observed < FromProto(window_.start()) || observed >= FromProto(window_.end())) {
    return absl::OkStatus();
  }
  ++out->in_window;
  const auto& c = commits_[r.host()];
  auto it = std::lower_bound(c.begin(), c.end(), r.index(),
                             [](const auto& e, uint64_t index) { return e.first < index; });
  if (it == c.end() || it->second == absl::InfiniteFuture()) {
    return absl::DataLossError(StrCat("host ", r.host(), " record ", r.index(),
                                      ": no checkpoint the trusted keys signed commits it"));
  }
  const absl::Duration late = it->second - observed;
  if (late > options_.late_after) {
    ++out->late;
    if (r.origin() == v1::ORIGIN_IMPORTED) ++out->late_imported;
  }
  if (late > out->max_late) {
    out->max_late = late;
    out->max_late_host = r.host();
    out->max_late_index = r.index();
  }
  const absl::Time deadline = FromProto(window_.end()) + options_.max_lateness;
  if (it->second > deadline && r.origin() != v1::ORIGIN_IMPORTED) {
    return absl::DataLossError(
        StrCat("host ", r.host(), " record ", r.index(), " (observed ", FormatRfc3339(observed),
               ") was first committed at ", FormatRfc3339(it->second), ", ",
               Describe(it->second - FromProto(window_.end())),
               " after the window ended (--max-lateness ", Describe(options_.max_lateness), ")"));
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::Finish() {
  for (const std::string& host : in_scope_) {
    const auto& signed_labels = final_heads_[host].labels;
    auto it = hello_labels_.find(host);
    const std::map<std::string, std::string> none;
    const auto& chain_labels = it == hello_labels_.end() ? none : it->second;
    if (chain_labels != signed_labels) {
      return absl::DataLossError(StrCat("host ", host, ": the signed state gives labels ",
                                        Labels(signed_labels), " but its last hello says ",
                                        Labels(chain_labels)));
    }
  }
  return absl::OkStatus();
}

}  // namespace attest::ctl
