// Confirming revocations from the hosts' own evidence (docs/design.md,
// "Access reviews"), and the campaigns as the judge reads them.
#include <map>
#include <set>

#include "common/strings.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/review_population.h"
#include "daemon/engine/scan.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::engine {

std::vector<ReviewSpan> Engine::ReviewSpans(const std::string& host) const {
  std::vector<ReviewSpan> out;
  auto it = state_.host_reviews.find(host);
  if (it == state_.host_reviews.end()) return out;
  for (const std::string& id : it->second) {
    const ReviewState& r = state_.reviews.at(id);
    ReviewSpan& span = out.emplace_back();
    span.campaign = id;
    span.start = r.campaign.started_at().seconds();
    span.due = r.campaign.due().seconds();
    span.has_snapshot = r.hosts.at(host).snapshot_index() != 0;
    span.completed = r.completed;
    span.host_decided = span.start;
    auto entries = r.host_entries.find(host);
    if (entries == r.host_entries.end()) continue;
    span.host_entries = entries->second.size();
    for (const std::string& e : entries->second) {
      auto d = r.decisions.find(e);
      if (d == r.decisions.end()) {
        span.host_decided = kForever;
        continue;
      }
      const Seconds decided = d->second.decided_at().seconds();
      if (span.host_decided < kForever) span.host_decided = std::max(span.host_decided, decided);
      if (d->second.outcome() != v1::REVIEW_OUTCOME_REVOKE) continue;
      ReviewRevocation& x = span.revocations.emplace_back();
      x.entry = DescribeEntry(r.entries.at(e));
      x.decided = decided;
      if (auto c = r.confirmed.find({e, host}); c != r.confirmed.end()) {
        x.confirmed = c->second.confirmed_at().seconds();
      }
    }
  }
  return out;
}

void Engine::NoteRemovals(
    const std::string& host, int64_t t, uint64_t index,
    const std::function<bool(const ReviewState&, const std::string&)>& removed,
    store::WriteBatch* batch) {
  auto it = state_.host_reviews.find(host);
  if (it == state_.host_reviews.end()) return;
  for (const std::string& id : it->second) {
    ReviewState& r = state_.reviews.at(id);
    auto entries = r.host_entries.find(host);
    if (entries == r.host_entries.end()) continue;
    for (const std::string& e : entries->second) {
      auto d = r.decisions.find(e);
      if (d == r.decisions.end() || d->second.outcome() != v1::REVIEW_OUTCOME_REVOKE ||
          t < d->second.decided_at().seconds()) {
        continue;
      }
      auto c = r.confirmed.find({e, host});
      if (c != r.confirmed.end() && c->second.confirmed_at().seconds() <= t) continue;
      if (!removed(r, e)) continue;
      v1::RevocationState state;
      state.set_entry(e);
      state.set_host(host);
      *state.mutable_decided_at() = d->second.decided_at();
      state.mutable_confirmed_at()->set_seconds(t);
      state.set_confirmed_by_index(index);
      batch->Put(store::Family::kReviews, keys::ReviewKey("confirmed", id, e, host),
                 state.SerializeAsString());
      r.confirmed[{e, host}] = std::move(state);
    }
  }
}

void Engine::NoteAccessSnapshot(const std::string& host, int64_t t, uint64_t index,
                                const v1::AccessSnapshot& snapshot, store::WriteBatch* batch) {
  // The snapshot's entries, computed once per campaign's groups when needed.
  std::map<std::string, std::set<std::string>> held;  // campaign -> entry ids
  NoteRemovals(
      host, t, index,
      [&](const ReviewState& r, const std::string& e) {
        auto [it, added] = held.try_emplace(r.campaign.id());
        if (added) {
          for (const v1::ReviewEntry& x :
               AccessEntries(snapshot, {r.campaign.privileged_groups().begin(),
                                        r.campaign.privileged_groups().end()})) {
            it->second.insert(x.id());
          }
        }
        return it->second.count(e) == 0;
      },
      batch);
}

void Engine::NoteAccessChange(const std::string& host, int64_t t, uint64_t index,
                              const v1::AccessChange& change, store::WriteBatch* batch) {
  NoteRemovals(
      host, t, index,
      [&](const ReviewState& r, const std::string& e) {
        return ChangeRemoves(r.entries.at(e), change);
      },
      batch);
}

void Engine::ConfirmFromIndexed(const std::vector<v1::ReviewDecision>& decisions) {
  // A snapshot already indexed at or after the decision (a host clock a
  // little ahead) is looked at now; later ones as they are indexed.
  store::WriteBatch confirmations;
  for (const v1::ReviewDecision& d : decisions) {
    if (d.outcome() != v1::REVIEW_OUTCOME_REVOKE) continue;
    for (const std::string& h : state_.reviews.at(d.campaign()).entries.at(d.entry()).hosts()) {
      const std::string begin = keys::Observation(h, d.decided_at().seconds(), 0);
      absl::Status s = ScanMessages<v1::Observation>(
          store_, store::Family::kObservations, begin, store::PrefixEnd(keys::ObservationPrefix(h)),
          [&](v1::Observation&& o) {
            if (!o.has_access()) return;
            auto value = store_.Get(store::Family::kEvidence, store::EvidenceKey(h, o.index()));
            v1::EvidenceRecord rec;
            if (!value.ok() || !rec.ParseFromString(*value)) return;
            if (rec.signal().has_access_snapshot()) {
              NoteAccessSnapshot(h, o.t(), o.index(), rec.signal().access_snapshot(),
                                 &confirmations);
            } else if (rec.signal().has_access_change()) {
              NoteAccessChange(h, o.t(), o.index(), rec.signal().access_change(), &confirmations);
            }
          });
      if (!s.ok()) spdlog::warn("access review: reading {}'s snapshots: {}", h, s.ToString());
    }
  }
  if (!confirmations.empty()) {
    if (absl::Status s = store_.Write(confirmations, {.sync = false}); !s.ok()) {
      spdlog::warn("access review: storing confirmations: {}", s.ToString());
    }
  }
}

}  // namespace attest::engine
