// User access reviews (docs/design.md, "Access reviews"): campaigns, their
// populations and decisions, and the confirmation of each revocation from
// the hosts' own access snapshots.
#include <algorithm>
#include <set>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/records.h"
#include "daemon/engine/review_population.h"
#include "daemon/engine/scan.h"
#include "daemon/ingest/validate.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::engine {
namespace {

// Bounds on what one call may ask (docs/bad-input.md, "Access reviews").
constexpr size_t kMaxDecisionsPerCall = 10000;
constexpr size_t kMaxReviewers = 64;
constexpr size_t kMaxSelectorLabels = 32;
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxReasonBytes = 1024;
constexpr absl::Duration kMaxDueAhead = absl::Hours(24 * 400);

// "admin:ana" -> "ana": the person behind a caller identity.
std::string_view PersonOf(std::string_view who) {
  const size_t colon = who.find(':');
  return colon == std::string_view::npos ? who : who.substr(colon + 1);
}

absl::Status CheckName(std::string_view value, std::string_view what) {
  if (value.empty()) return absl::InvalidArgumentError(StrCat(what, " is required"));
  if (value.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(StrCat(what, " is longer than ", kMaxNameBytes, " bytes"));
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(StrCat(what, " has a control character"));
    }
  }
  return absl::OkStatus();
}

// The privileged groups of the policy's access.review_performed controls
// (their union), or the default list when it has none.
std::vector<std::string> PrivilegedGroups(const Policy* policy) {
  std::set<std::string> groups;
  bool any = false;
  if (policy != nullptr) {
    for (const Control& c : policy->controls) {
      if (c.rule != Rule::kAccessReviewPerformed) continue;
      any = true;
      groups.insert(c.privileged_groups.begin(), c.privileged_groups.end());
    }
  }
  if (!any) {
    const Control defaults{};
    groups.insert(defaults.privileged_groups.begin(), defaults.privileged_groups.end());
  }
  return {groups.begin(), groups.end()};
}

void RecomputeCompleted(ReviewState& r) {
  if (r.decisions.size() < r.entries.size()) {
    r.completed = kForever;
    return;
  }
  Seconds last = r.campaign.started_at().seconds();
  for (const auto& [id, d] : r.decisions) last = std::max(last, d.decided_at().seconds());
  r.completed = last;
}

void FoldCampaign(EngineState& state, ReviewState review) {
  const std::string id = review.campaign.id();
  for (const auto& [host, h] : review.hosts) {
    auto& list = state.host_reviews[host];
    list.push_back(id);
    std::stable_sort(list.begin(), list.end(), [&](const std::string& a, const std::string& b) {
      const Seconds ta = a == id ? review.campaign.started_at().seconds()
                                 : state.reviews.at(a).campaign.started_at().seconds();
      const Seconds tb = b == id ? review.campaign.started_at().seconds()
                                 : state.reviews.at(b).campaign.started_at().seconds();
      return ta < tb;
    });
  }
  RecomputeCompleted(review);
  state.reviews[id] = std::move(review);
}

// The revocation-deadline of the policy in force (the first review control's).
absl::Duration RevokeWithin(const Policy* policy) {
  if (policy != nullptr) {
    for (const Control& c : policy->controls) {
      if (c.rule == Rule::kAccessReviewPerformed) return c.revoke_within;
    }
  }
  return absl::Hours(24 * 7);
}

}  // namespace

absl::Status Engine::LoadReviews() {
  std::map<std::string, ReviewState> loaded;
  absl::Status s = ScanPrefixMessages<v1::ReviewCampaign>(
      store_, store::Family::kReviews, keys::ReviewPrefix("campaign"),
      [&](v1::ReviewCampaign&& c) { loaded[c.id()].campaign = std::move(c); });
  if (!s.ok()) return s;
  for (auto& [loaded_id, loaded_review] : loaded) {
    // Named again: clang 14 cannot capture a structured binding.
    const std::string& id = loaded_id;
    ReviewState& r = loaded_review;
    s = ScanPrefixMessages<v1::ReviewHost>(store_, store::Family::kReviews,
                                           keys::ReviewKey("host", id), [&](v1::ReviewHost&& h) {
                                             const std::string host = h.host();
                                             r.hosts[host] = std::move(h);
                                           });
    if (!s.ok()) return s;
    s = ScanPrefixMessages<v1::ReviewEntry>(store_, store::Family::kReviews,
                                            keys::ReviewKey("entry", id), [&](v1::ReviewEntry&& e) {
                                              for (const std::string& h : e.hosts()) {
                                                r.host_entries[h].push_back(e.id());
                                              }
                                              const std::string eid = e.id();
                                              r.entries[eid] = std::move(e);
                                            });
    if (!s.ok()) return s;
    s = ScanPrefixMessages<v1::ReviewDecision>(store_, store::Family::kReviews,
                                               keys::ReviewKey("decision", id),
                                               [&](v1::ReviewDecision&& d) {
                                                 const std::string entry = d.entry();
                                                 r.decisions[entry] = std::move(d);
                                               });
    if (!s.ok()) return s;
    s = ScanPrefixMessages<v1::RevocationState>(store_, store::Family::kReviews,
                                                keys::ReviewKey("confirmed", id),
                                                [&](v1::RevocationState&& c) {
                                                  r.confirmed[{c.entry(), c.host()}] = std::move(c);
                                                });
    if (!s.ok()) return s;
  }
  std::vector<ReviewState> by_start;
  for (auto& [id, r] : loaded) by_start.push_back(std::move(r));
  std::stable_sort(by_start.begin(), by_start.end(), [](const auto& a, const auto& b) {
    return a.campaign.started_at().seconds() < b.campaign.started_at().seconds();
  });
  for (ReviewState& r : by_start) FoldCampaign(state_, std::move(r));
  return absl::OkStatus();
}

absl::Status Engine::FindAccessSnapshot(v1::EngineHost* eh) {
  const std::string prefix = keys::ObservationPrefix(eh->host());
  absl::Status s = ScanPrefixMessages<v1::Observation>(
      store_, store::Family::kObservations, prefix, [&](v1::Observation&& o) {
        if (o.has_access() && o.access().snapshot() && o.t() >= eh->access_snapshot_t()) {
          eh->set_access_snapshot_index(o.index());
          eh->set_access_snapshot_t(o.t());
        }
      });
  if (!s.ok()) return s;
  eh->set_access_snapshot_known(true);
  store::WriteBatch batch;
  batch.Put(store::Family::kEngineHosts, eh->host(), eh->SerializeAsString());
  return store_.Write(batch, {.sync = false});
}

absl::StatusOr<v1::ReviewCampaign> Engine::StartReview(const v1::StartReviewRequest& request,
                                                       const std::string& recorded_by) {
  absl::StatusOr<v1::ReviewCampaign> result;
  RunOnThread([&] {
    const absl::Time now = clock_.Now();
    auto refuse = [&](absl::Status s) { result = std::move(s); };
    if (!ingest::IsValidHostId(request.id())) {
      return refuse(absl::InvalidArgumentError(
          "campaign id must be 1-253 characters of [A-Za-z0-9._-], not starting with . or -"));
    }
    if (auto it = state_.reviews.find(request.id()); it != state_.reviews.end()) {
      return refuse(absl::AlreadyExistsError(StrCat(
          "campaign \"", request.id(), "\" exists (started ",
          FormatRfc3339(FromProto(it->second.campaign.started_at())), "); ids are never reused")));
    }
    if (!state_.windows.count(request.window())) {
      return refuse(absl::NotFoundError(StrCat("no window \"", request.window(), "\"")));
    }
    if (!request.has_due() || FromProto(request.due()) <= now) {
      return refuse(absl::InvalidArgumentError("due must be after now"));
    }
    if (FromProto(request.due()) > now + kMaxDueAhead) {
      return refuse(absl::InvalidArgumentError("due must be within 400 days of now"));
    }
    if (request.reviewers_size() > static_cast<int>(kMaxReviewers)) {
      return refuse(absl::InvalidArgumentError(StrCat("at most ", kMaxReviewers, " reviewers")));
    }
    for (const std::string& r : request.reviewers()) {
      if (absl::Status s = CheckName(r, "reviewer"); !s.ok()) return refuse(s);
    }
    if (request.selector_size() > static_cast<int>(kMaxSelectorLabels)) {
      return refuse(
          absl::InvalidArgumentError(StrCat("at most ", kMaxSelectorLabels, " selector labels")));
    }
    for (const auto& [k, v] : request.selector()) {
      if (absl::Status s = CheckName(k, "selector label"); !s.ok()) return refuse(s);
      if (v.size() > kMaxNameBytes) {
        return refuse(absl::InvalidArgumentError(StrCat("selector value of ", k, " is too long")));
      }
    }
    const std::vector<std::string> groups = PrivilegedGroups(state_.current_policy());

    // The population: every in-scope host's latest access snapshot.
    std::vector<v1::EvidenceRecord> records;
    std::vector<PopulationHost> hosts;
    for (auto& [name, eh] : state_.hosts) {
      if (eh.enrolled() == 0 ||
          (eh.decommissioned() > 0 && eh.decommissioned() <= absl::ToUnixSeconds(now))) {
        continue;
      }
      if (!SelectorMatches(request.selector(), eh.labels())) continue;
      if (!eh.access_snapshot_known()) {
        if (absl::Status s = FindAccessSnapshot(&eh); !s.ok()) return refuse(s);
      }
      PopulationHost& h = hosts.emplace_back();
      h.host = name;
      if (eh.access_snapshot_index() == 0) continue;
      auto value = store_.Get(store::Family::kEvidence,
                              store::EvidenceKey(name, eh.access_snapshot_index()));
      if (!value.ok()) return refuse(value.status());
      v1::EvidenceRecord& r = records.emplace_back();
      if (!r.ParseFromString(*value) || !r.signal().has_access_snapshot()) {
        return refuse(absl::DataLossError(StrCat("host ", name, ": evidence record ",
                                                 eh.access_snapshot_index(),
                                                 " is not the access snapshot it was indexed as")));
      }
      h.snapshot_index = r.index();
      h.snapshot_t = eh.access_snapshot_t();
    }
    // `records` no longer grows: point each host at its snapshot.
    for (size_t i = 0, k = 0; i < hosts.size(); ++i) {
      if (hosts[i].snapshot_index != 0)
        hosts[i].snapshot = &records[k++].signal().access_snapshot();
    }
    Population population = BuildPopulation(std::move(hosts), groups);

    v1::ReviewCampaign c;
    c.set_id(request.id());
    c.set_window(request.window());
    *c.mutable_started_at() = ToProto(now);
    *c.mutable_due() = request.due();
    *c.mutable_selector() = request.selector();
    *c.mutable_reviewers() = request.reviewers();
    for (const std::string& g : groups) c.add_privileged_groups(g);
    c.set_hosts(static_cast<uint32_t>(population.hosts.size()));
    uint32_t without = 0;
    for (const v1::ReviewHost& h : population.hosts) without += h.snapshot_index() == 0;
    c.set_hosts_without_snapshot(without);
    c.set_entries(population.entries.size());
    c.set_population_sha256(PopulationSha256(population));
    c.set_recorded_by(recorded_by);

    store::WriteBatch batch;
    ReviewState review =
        StageReview(c, std::move(population.hosts), std::move(population.entries), &batch);
    v1::LedgerEntry entry;
    *entry.mutable_review_campaign() = c;
    if (absl::Status s = Record(now, std::move(entry), std::move(batch)); !s.ok()) return refuse(s);
    for (const auto& [host, h] : review.hosts) Mark(host, c.started_at().seconds());
    FoldCampaign(state_, std::move(review));
    spdlog::info(
        "access review {} started by {}: {} hosts ({} without an access snapshot), {} "
        "entries, due {}",
        c.id(), recorded_by, c.hosts(), without, c.entries(), FormatRfc3339(FromProto(c.due())));
    result = std::move(c);
  });
  return result;
}

absl::StatusOr<std::vector<v1::ReviewDecision>> Engine::DecideReview(
    std::vector<v1::ReviewDecision> decisions, const std::string& recorded_by) {
  absl::StatusOr<std::vector<v1::ReviewDecision>> result;
  RunOnThread([&] {
    const absl::Time now = clock_.Now();
    if (decisions.empty()) {
      result = absl::InvalidArgumentError("no decisions");
      return;
    }
    if (decisions.size() > kMaxDecisionsPerCall) {
      result = absl::InvalidArgumentError(
          StrCat(decisions.size(), " decisions in one call; at most ", kMaxDecisionsPerCall));
      return;
    }
    const std::string_view caller = PersonOf(recorded_by);
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < decisions.size(); ++i) {
      v1::ReviewDecision& d = decisions[i];
      auto refuse = [&](absl::StatusCode code, std::string_view why) {
        result = absl::Status(code, StrCat("decision ", i + 1, ": ", why));
      };
      auto it = state_.reviews.find(d.campaign());
      if (it == state_.reviews.end()) {
        return refuse(absl::StatusCode::kNotFound, StrCat("no campaign \"", d.campaign(), "\""));
      }
      const ReviewState& r = it->second;
      if (r.completed < kForever) {
        return refuse(absl::StatusCode::kFailedPrecondition,
                      StrCat("campaign ", d.campaign(), " was completed at ",
                             FormatRfc3339(absl::FromUnixSeconds(r.completed)),
                             " and takes no more decisions"));
      }
      auto e = r.entries.find(d.entry());
      if (e == r.entries.end()) {
        return refuse(absl::StatusCode::kNotFound,
                      StrCat("campaign ", d.campaign(), " has no entry \"", d.entry(), "\""));
      }
      if (d.outcome() != v1::REVIEW_OUTCOME_KEEP && d.outcome() != v1::REVIEW_OUTCOME_REVOKE) {
        return refuse(absl::StatusCode::kInvalidArgument, "the outcome must be keep or revoke");
      }
      if (absl::Status s = CheckName(d.reviewer(), "reviewer"); !s.ok()) {
        return refuse(s.code(), View(s.message()));
      }
      if (d.reason().size() > kMaxReasonBytes) {
        return refuse(absl::StatusCode::kInvalidArgument,
                      StrCat("the reason is longer than ", kMaxReasonBytes, " bytes"));
      }
      if (d.has_decided_at() || !d.recorded_by().empty()) {
        return refuse(absl::StatusCode::kInvalidArgument,
                      "decided_at and recorded_by are set by attestd");
      }
      const auto& allowed = r.campaign.reviewers();
      if (!allowed.empty() &&
          std::find(allowed.begin(), allowed.end(), d.reviewer()) == allowed.end()) {
        return refuse(
            absl::StatusCode::kPermissionDenied,
            StrCat("\"", d.reviewer(), "\" is not a reviewer of campaign ", d.campaign()));
      }
      for (std::string_view who : {std::string_view(d.reviewer()), caller}) {
        if (EntryBelongsTo(e->second, who)) {
          return refuse(absl::StatusCode::kPermissionDenied,
                        StrCat("entry ", d.entry(), " (", DescribeEntry(e->second), ") is ", who,
                               "'s own access; another reviewer must decide it"));
        }
      }
      if (auto done = r.decisions.find(d.entry()); done != r.decisions.end()) {
        return refuse(absl::StatusCode::kAlreadyExists,
                      StrCat("entry ", d.entry(), " was decided by ", done->second.reviewer(),
                             " at ", FormatRfc3339(FromProto(done->second.decided_at()))));
      }
      if (!seen.insert({d.campaign(), d.entry()}).second) {
        return refuse(absl::StatusCode::kAlreadyExists,
                      StrCat("entry ", d.entry(), " is decided twice in this call"));
      }
      *d.mutable_decided_at() = ToProto(now);
      d.set_recorded_by(recorded_by);
    }

    store::WriteBatch batch;
    std::vector<v1::LedgerEntry> entries;
    for (const v1::ReviewDecision& d : decisions) {
      batch.Put(store::Family::kReviews, keys::ReviewKey("decision", d.campaign(), d.entry()),
                d.SerializeAsString());
      *entries.emplace_back().mutable_review_decision() = d;
    }
    if (absl::Status s = RecordAll(now, std::move(entries), std::move(batch)); !s.ok()) {
      result = s;
      return;
    }
    ApplyDecisions(decisions);
    result = std::move(decisions);
  });
  return result;
}

void Engine::MarkKnown(const std::string& host, int64_t from) {
  // A replayed bundle holds only some of a campaign's hosts.
  if (state_.hosts.count(host)) Mark(host, from);
}

ReviewState Engine::StageReview(const v1::ReviewCampaign& c, std::vector<v1::ReviewHost> hosts,
                                std::vector<v1::ReviewEntry> entries, store::WriteBatch* batch) {
  batch->Put(store::Family::kReviews, keys::ReviewKey("campaign", c.id()), c.SerializeAsString());
  ReviewState review;
  review.campaign = c;
  for (v1::ReviewHost& h : hosts) {
    batch->Put(store::Family::kReviews, keys::ReviewKey("host", c.id(), h.host()),
               h.SerializeAsString());
    const std::string name = h.host();
    review.hosts[name] = std::move(h);
  }
  for (v1::ReviewEntry& e : entries) {
    batch->Put(store::Family::kReviews, keys::ReviewKey("entry", c.id(), e.id()),
               e.SerializeAsString());
    for (const std::string& h : e.hosts()) review.host_entries[h].push_back(e.id());
    const std::string id = e.id();
    review.entries[id] = std::move(e);
  }
  return review;
}

void Engine::ApplyDecisions(const std::vector<v1::ReviewDecision>& decisions) {
  std::set<std::string> touched;
  for (const v1::ReviewDecision& d : decisions) {
    ReviewState& r = state_.reviews.at(d.campaign());
    r.decisions[d.entry()] = d;
    touched.insert(d.campaign());
    for (const std::string& h : r.entries.at(d.entry()).hosts())
      MarkKnown(h, d.decided_at().seconds());
  }
  for (const std::string& id : touched) {
    ReviewState& r = state_.reviews.at(id);
    RecomputeCompleted(r);
    if (r.completed == kForever) continue;
    spdlog::info("access review {} completed", id);
    for (const auto& [host, h] : r.hosts) MarkKnown(host, r.completed);
  }
  ConfirmFromIndexed(decisions);
}

absl::Status Engine::RestoreReview(const v1::ReviewCampaign& campaign,
                                   std::vector<v1::ReviewHost> hosts,
                                   std::vector<v1::ReviewEntry> entries) {
  absl::Status result;
  RunOnThread([&] {
    if (state_.reviews.count(campaign.id())) {
      result = absl::AlreadyExistsError(StrCat("campaign \"", campaign.id(), "\" twice"));
      return;
    }
    store::WriteBatch batch;
    ReviewState review = StageReview(campaign, std::move(hosts), std::move(entries), &batch);
    if (result = store_.Write(batch, {.sync = false}); !result.ok()) return;
    for (const auto& [host, h] : review.hosts) MarkKnown(host, campaign.started_at().seconds());
    FoldCampaign(state_, std::move(review));
  });
  return result;
}

absl::Status Engine::RestoreReviewDecisions(const std::vector<v1::ReviewDecision>& decisions) {
  absl::Status result;
  RunOnThread([&] {
    store::WriteBatch batch;
    for (const v1::ReviewDecision& d : decisions) {
      auto it = state_.reviews.find(d.campaign());
      if (it == state_.reviews.end() || !it->second.entries.count(d.entry())) {
        result = absl::DataLossError(StrCat("a decision on entry ", d.entry(), " of campaign ",
                                            d.campaign(), ", which no campaign has"));
        return;
      }
      batch.Put(store::Family::kReviews, keys::ReviewKey("decision", d.campaign(), d.entry()),
                d.SerializeAsString());
    }
    if (result = store_.Write(batch, {.sync = false}); !result.ok()) return;
    ApplyDecisions(decisions);
  });
  return result;
}

v1::ReviewStatus ReviewStatusOf(const ReviewState& r, const Policy* policy, absl::Time now) {
  v1::ReviewStatus st;
  *st.mutable_campaign() = r.campaign;
  st.set_decided(r.decisions.size());
  st.set_open(r.entries.size() - r.decisions.size());
  st.set_overdue(st.open() > 0 && now > FromProto(r.campaign.due()));
  if (r.completed < kForever) st.mutable_completed_at()->set_seconds(r.completed);
  const Seconds within = ToSeconds(RevokeWithin(policy));
  const Seconds now_s = absl::ToUnixSeconds(now);
  for (const auto& [id, d] : r.decisions) {
    if (d.outcome() == v1::REVIEW_OUTCOME_KEEP) {
      st.set_kept(st.kept() + 1);
      continue;
    }
    st.set_revoked(st.revoked() + 1);
    const Seconds deadline = d.decided_at().seconds() + within;
    for (const std::string& h : r.entries.at(id).hosts()) {
      st.set_revocations(st.revocations() + 1);
      auto c = r.confirmed.find({id, h});
      if (c != r.confirmed.end()) {
        st.set_revocations_confirmed(st.revocations_confirmed() + 1);
        if (c->second.confirmed_at().seconds() >= deadline) {
          st.set_revocations_late(st.revocations_late() + 1);
        }
      } else if (now_s >= deadline) {
        st.set_revocations_late(st.revocations_late() + 1);
        st.set_revocations_overdue(st.revocations_overdue() + 1);
      }
    }
  }
  return st;
}

std::vector<v1::ReviewStatus> Engine::Reviews() {
  std::vector<v1::ReviewStatus> out;
  RunOnThread([&] {
    const absl::Time now = clock_.Now();
    std::vector<const ReviewState*> by_start;
    for (const auto& [id, r] : state_.reviews) by_start.push_back(&r);
    std::stable_sort(by_start.begin(), by_start.end(), [](const auto* a, const auto* b) {
      return a->campaign.started_at().seconds() < b->campaign.started_at().seconds();
    });
    for (const ReviewState* r : by_start)
      out.push_back(ReviewStatusOf(*r, state_.current_policy(), now));
  });
  return out;
}

absl::StatusOr<v1::ReviewDetail> Engine::Review(const std::string& id) {
  absl::StatusOr<v1::ReviewDetail> result;
  RunOnThread([&] {
    auto it = state_.reviews.find(id);
    if (it == state_.reviews.end()) {
      result = absl::NotFoundError(StrCat("no campaign \"", id, "\""));
      return;
    }
    const ReviewState& r = it->second;
    v1::ReviewDetail d;
    *d.mutable_status() = ReviewStatusOf(r, state_.current_policy(), clock_.Now());
    for (const auto& [h, host] : r.hosts) *d.add_hosts() = host;
    for (const auto& [e, entry] : r.entries) *d.add_entries() = entry;
    for (const auto& [e, decision] : r.decisions) *d.add_decisions() = decision;
    const Seconds within = ToSeconds(RevokeWithin(state_.current_policy()));
    for (const auto& [e, decision] : r.decisions) {
      if (decision.outcome() != v1::REVIEW_OUTCOME_REVOKE) continue;
      for (const std::string& h : r.entries.at(e).hosts()) {
        v1::RevocationState* x = d.add_revocations();
        if (auto c = r.confirmed.find({e, h}); c != r.confirmed.end()) *x = c->second;
        x->set_entry(e);
        x->set_host(h);
        *x->mutable_decided_at() = decision.decided_at();
        x->mutable_deadline()->set_seconds(decision.decided_at().seconds() + within);
      }
    }
    result = std::move(d);
  });
  return result;
}

}  // namespace attest::engine
