#include "ctl/bundle_v2.h"

#include <algorithm>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_window.h"
#include "daemon/engine/records.h"
#include "daemon/engine/review_population.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"
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

absl::Status DecisionsFromLedger(const std::vector<v1::LedgerEntry>& ledger,
                                 const std::set<std::string>& in_scope, v1::BundleManifest* m) {
  std::map<std::string, int> exception_at;
  for (const v1::LedgerEntry& e : ledger) {
    if (e.has_policy_version()) {
      *m->add_policy_versions() = e.policy_version();
    } else if (e.has_approval()) {
      // An approval of a change on a host outside the bundle cannot touch
      // the window's hosts.
      if (in_scope.count(e.approval().host())) *m->add_approvals() = e.approval();
    } else if (e.has_exception()) {
      const v1::Exception& x = e.exception();
      if (x.revokes().empty()) {
        exception_at[x.id()] = m->exceptions_size();
        *m->add_exceptions() = x;
      } else if (auto it = exception_at.find(x.revokes()); it != exception_at.end()) {
        *m->mutable_exceptions(it->second)->mutable_revoked_at() = x.revoked_at();
      } else {
        return absl::DataLossError(StrCat("ledger entry ", e.index(), " revokes exception ",
                                          x.revokes(), ", which no earlier entry made"));
      }
    } else if (e.has_decommission()) {
      if (in_scope.count(e.decommission().host())) *m->add_decommissions() = e.decommission();
    } else if (e.has_review_campaign()) {
      *m->add_review_campaigns() = e.review_campaign();
    } else if (e.has_review_decision()) {
      *m->add_review_decisions() = e.review_decision();
    }
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::Prepare(v1::BundleManifest& m, std::string_view states_text,
                                    std::string_view ledger_text, std::string_view reviews_text,
                                    std::string_view carried_text, VerifyResult* out) {
  auto states = ParseStates(states_text);
  if (!states.ok()) return states.status();
  auto ledger = ParseLedger(ledger_text);
  if (!ledger.ok()) return ledger.status();
  auto judgements = CheckJudgements(*ledger, m.format(), m.format() == kBundleFormatV6);
  if (!judgements.ok()) return judgements.status();
  out->judgements = *std::move(judgements);
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
  if (final_state.format == "attest-state-v0") {
    return absl::DataLossError("the bundle's checkpoint was made before format 2");
  }
  // The ledger up to the head the checkpoint commits to, and no further.
  if (absl::Status s = CheckLedgerCommitted(*ledger, final_state); !s.ok()) return s;
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
    if (!listed.insert(bh.host()).second) {
      return absl::DataLossError(StrCat("manifest.json lists host ", bh.host(), " twice"));
    }
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
  if (m.policy_versions_size() + m.approvals_size() + m.exceptions_size() + m.decommissions_size() +
          m.review_campaigns_size() + m.review_decisions_size() >
      0) {
    return absl::DataLossError(
        "manifest.json lists decisions; in format 2 they are only in ledger.jsonl");
  }
  if (absl::Status s = PrepareSuffixes(m, *states, *log, carried_text, out); !s.ok()) return s;
  if (absl::Status s = DecisionsFromLedger(*ledger, in_scope_, &m); !s.ok()) return s;
  if (absl::Status s = PrepareReviews(m, *ledger, reviews_text); !s.ok()) return s;
  if (snapshots_before_suffix_ > 0) {
    out->warnings.push_back(StrCat(
        snapshots_before_suffix_,
        " access snapshots that review campaigns took their populations from lie before the "
        "records this window-sized bundle carries: those populations were checked against the "
        "ledger's digest only, not against the snapshots"));
  }
  // When each state's heads were committed, per host.
  for (size_t i = 0; i < states->size(); ++i) {
    const State& s = (*states)[i];
    if (!s.full) continue;
    for (const auto& [host, head] : s.heads) {
      if (!in_scope_.count(host)) continue;
      if (head.has_access) {
        access_[host].points.push_back(
            {head.length, s.sequence, head.access_changes, head.access_changes_hash});
      }
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

absl::Status BundleV2Check::PrepareReviews(v1::BundleManifest& m,
                                           const std::vector<v1::LedgerEntry>& ledger,
                                           std::string_view text) {
  // The populations, line by line: {"campaign":C,"host":{...}} or
  // {"campaign":C,"entry":{...}}, canonical, hosts then entries per campaign.
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return absl::DataLossError(StrCat("reviews.jsonl line ", line_no, ": no final newline"));
    }
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    auto bad = [&](std::string_view why) {
      return absl::DataLossError(StrCat("reviews.jsonl line ", line_no, ": ", why));
    };
    auto j = Json::Parse(line);
    if (!j.ok() || !j->is_object()) return bad("not a JSON object");
    const Json* campaign = j->Find("campaign");
    const Json* host = j->Find("host");
    const Json* entry = j->Find("entry");
    if (campaign == nullptr || !campaign->is_string() || (host == nullptr) == (entry == nullptr) ||
        j->as_object().size() != 2) {
      return bad("want {\"campaign\", and \"host\" or \"entry\"}");
    }
    ReviewPopulation& p = reviews_[campaign->as_string()];
    std::string canonical;
    if (host != nullptr) {
      if (!p.entries.empty()) return bad("a host line after the campaign's entry lines");
      v1::ReviewHost& h = p.hosts.emplace_back();
      if (absl::Status s = evidence::ParseCanonicalMessage(*host, &h, "host"); !s.ok()) {
        return bad(View(s.message()));
      }
      if (p.hosts.size() > 1 && p.hosts[p.hosts.size() - 2].host() >= h.host()) {
        return bad("hosts out of order");
      }
      canonical = evidence::CanonicalMessage(h);
    } else {
      v1::ReviewEntry& e = p.entries.emplace_back();
      if (absl::Status s = evidence::ParseCanonicalMessage(*entry, &e, "entry"); !s.ok()) {
        return bad(View(s.message()));
      }
      if (p.entries.size() > 1 && p.entries[p.entries.size() - 2].id() >= e.id()) {
        return bad("entries out of order");
      }
      canonical = evidence::CanonicalMessage(e);
    }
    Json back = Json::MakeObject();
    back["campaign"] = *campaign;
    back[host != nullptr ? "host" : "entry"] = *Json::Parse(canonical);
    if (back.Canonical() != line) return bad("not canonical JSON");
  }
  // Every campaign in the ledger, with the population its digest names;
  // and no population of a campaign the ledger lacks.
  std::set<std::string> in_ledger;
  std::map<std::string, uint64_t> campaign_index;  // its ledger entry
  for (const v1::LedgerEntry& e : ledger) {
    if (e.has_review_campaign()) {
      const v1::ReviewCampaign& c = e.review_campaign();
      in_ledger.insert(c.id());
      campaign_index[c.id()] = e.index();
      auto it = reviews_.find(c.id());
      if (it == reviews_.end()) {
        return absl::DataLossError(StrCat("ledger entry ", e.index(), " starts review campaign ",
                                          c.id(), ", whose population reviews.jsonl lacks"));
      }
      const std::string digest = engine::PopulationSha256({it->second.hosts, it->second.entries});
      if (digest != c.population_sha256()) {
        return absl::DataLossError(StrCat(
            "review campaign ", c.id(), ": the population in reviews.jsonl has sha256 ", digest,
            ", but ledger entry ", e.index(), " commits to ", c.population_sha256()));
      }
      review_groups_[c.id()] = {c.privileged_groups().begin(), c.privileged_groups().end()};
    } else if (e.has_review_decision()) {
      const v1::ReviewDecision& d = e.review_decision();
      auto it = reviews_.find(d.campaign());
      if (!in_ledger.count(d.campaign()) || it == reviews_.end() ||
          std::none_of(it->second.entries.begin(), it->second.entries.end(),
                       [&](const v1::ReviewEntry& x) { return x.id() == d.entry(); })) {
        return absl::DataLossError(StrCat("ledger entry ", e.index(), " decides entry ", d.entry(),
                                          " of campaign ", d.campaign(),
                                          ", which no earlier campaign lists"));
      }
    }
  }
  for (const auto& [id, p] : reviews_) {
    if (!in_ledger.count(id)) {
      return absl::DataLossError(
          StrCat("reviews.jsonl holds campaign ", id, ", which the ledger does not start"));
    }
    // Each in-scope host's entries are rechecked against its snapshot.
    for (const v1::ReviewHost& h : p.hosts) {
      if (auto sx = suffixes_.find(h.host()); sx != suffixes_.end() && h.snapshot_index() > 0 &&
                                              h.snapshot_index() < sx->second.first_index) {
        // Before the host's first record: checked only when the campaign
        // was recorded by S (docs/bundle.md, "Review snapshots").
        if (absl::Status st = SnapshotsCovered(sx->second.first_index, sx->second.ledger_length,
                                               {{id, campaign_index[id], h.snapshot_index()}});
            !st.ok()) {
          return absl::DataLossError(StrCat("host ", h.host(), ": ", st.message()));
        }
        ++snapshots_before_suffix_;
        continue;
      }
      if (in_scope_.count(h.host()) && h.snapshot_index() > 0) {
        review_snapshots_[h.host()].emplace_back(id, h.snapshot_index());
        ++review_snapshots_left_;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::CheckReviewSnapshot(const v1::EvidenceRecord& r,
                                                const std::string& campaign) {
  const ReviewPopulation& p = reviews_.at(campaign);
  auto fail = [&](std::string_view why) {
    return absl::DataLossError(StrCat("review campaign ", campaign, ", host ", r.host(),
                                      ": record ", r.index(), " ", why));
  };
  if (!r.has_signal() || !r.signal().has_access_snapshot()) {
    return fail("is not the access snapshot the population says it was taken from");
  }
  for (const v1::ReviewHost& h : p.hosts) {
    if (h.host() == r.host() &&
        h.snapshot_observed_at().seconds() != r.signal().observed_at().seconds()) {
      return fail("was observed at another time than the population says");
    }
  }
  // The privileged groups are the campaign's, as its ledger entry has them.
  const std::vector<std::string>& groups = review_groups_.at(campaign);
  std::set<std::string> held;
  for (const v1::ReviewEntry& e : engine::AccessEntries(r.signal().access_snapshot(), groups)) {
    held.insert(e.id());
  }
  std::set<std::string> listed;
  for (const v1::ReviewEntry& e : p.entries) {
    if (std::binary_search(e.hosts().begin(), e.hosts().end(), r.host())) listed.insert(e.id());
  }
  if (held != listed) {
    return fail(StrCat("holds ", held.size(), " access entries but the population lists ",
                       listed.size(), " for the host: it was not taken from this snapshot"));
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::CheckAccessCommitment(const v1::EvidenceRecord& r,
                                                  std::string_view hash, VerifyResult* out) {
  if (evidence::IsAccessChange(r)) ++out->access_changes;
  auto it = access_.find(r.host());
  if (it == access_.end()) return absl::OkStatus();
  AccessFold& f = it->second;
  if (f.acc.empty()) f.acc = evidence::GenesisHash();
  // A window-sized bundle's records skip from the carried access changes
  // to the host's first record: a head between them commits to the fold so
  // far.
  if (absl::Status s = CheckAccessPoints(f, r, r.index(), out); !s.ok()) return s;
  if (evidence::IsAccessChange(r)) {
    ++f.count;
    f.acc = evidence::FoldAccessChange(f.acc, hash);
  }
  return CheckAccessPoints(f, r, r.index() + 1, out);
}

absl::Status BundleV2Check::CheckAccessPoints(AccessFold& f, const v1::EvidenceRecord& r,
                                              uint64_t below, VerifyResult* out) {
  for (; f.next < f.points.size() && f.points[f.next].length < below; ++f.next) {
    const AccessPoint& p = f.points[f.next];
    ++out->access_heads;
    if (p.count != f.count || p.hash != f.acc) {
      return absl::DataLossError(
          StrCat("state ", p.sequence, " commits to ", p.count, " access changes of host ",
                 r.host(), " up to record ", p.length, " (hash ", HexEncode(p.hash).substr(0, 16),
                 "), its chain holds ", f.count, " (hash ", HexEncode(f.acc).substr(0, 16),
                 "): attestd's access-change commitment is false"));
    }
  }
  return absl::OkStatus();
}

absl::Status BundleV2Check::OnRecord(const v1::EvidenceRecord& r, std::string_view hash,
                                     VerifyResult* out) {
  if (absl::Status s = CheckAccessCommitment(r, hash, out); !s.ok()) return s;
  if (auto it = review_snapshots_.find(r.host()); it != review_snapshots_.end()) {
    for (const auto& [campaign, index] : it->second) {
      if (index != r.index()) continue;
      if (absl::Status s = CheckReviewSnapshot(r, campaign); !s.ok()) return s;
      --review_snapshots_left_;
    }
  }
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
  for (const auto& [host, f] : access_) {
    if (f.next < f.points.size()) {
      return absl::DataLossError(StrCat(
          "state ", f.points[f.next].sequence, " commits to the access changes of host ", host,
          " up to record ", f.points[f.next].length, ", which records.jsonl does not reach"));
    }
  }
  if (review_snapshots_left_ > 0) {
    return absl::DataLossError(StrCat(review_snapshots_left_,
                                      " access snapshots that review campaigns took their "
                                      "populations from are not in records.jsonl"));
  }
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
