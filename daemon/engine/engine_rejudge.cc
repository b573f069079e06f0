// Indexing new evidence into observations, and rejudging one host from a
// point in time: day records, facts, deviations and window aggregates.
#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/strings.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/host_rules.h"
#include "daemon/engine/observations.h"
#include "daemon/engine/records.h"
#include "daemon/engine/scan.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::engine {
namespace {

using DayControl = std::pair<uint32_t, std::string>;

// Adds a delta to one window-day aggregate (read, add, put in `batch`).
void AddToWindowDay(store::Store& store, store::WriteBatch* batch, const std::string& key,
                    const v1::StateSeconds& seconds, int hosts) {
  v1::WindowDay agg;
  if (auto cur = store.Get(store::Family::kRollup, key); cur.ok()) agg.ParseFromString(*cur);
  AddSeconds(agg.mutable_seconds(), seconds);
  agg.set_hosts(static_cast<uint32_t>(static_cast<int>(agg.hosts()) + hosts));
  batch->Put(store::Family::kRollup, key, agg.SerializeAsString());
}

// Contiguous FAIL intervals, merged whatever their cause.
std::vector<v1::DeviationRecord> FailRuns(const std::vector<v1::Interval>& intervals) {
  std::vector<v1::DeviationRecord> runs;
  for (const v1::Interval& iv : intervals) {
    if (iv.state() != v1::CONTROL_STATE_FAIL) continue;
    if (!runs.empty() && runs.back().end() == iv.start()) {
      runs.back().set_end(iv.end());
      continue;
    }
    v1::DeviationRecord& r = runs.emplace_back();
    r.set_start(iv.start());
    r.set_end(iv.end());
    r.set_cause(iv.cause());
    r.set_policy_version(iv.policy_version());
  }
  return runs;
}

// The judge looks ahead (judge.cc): a log shipper's next observation says
// whether it delivered since the one before, and a backup's later
// observations say when it last succeeded. So new observations (from
// `from` on, the earliest evidence not yet judged) can change the
// judgement before `from`, and before `begin`:
//   - a shipper's first observation from `begin` on, when new, back to the
//     shipper's observation before it (in `facts`), which may be days
//     earlier (a host that was silent);
//   - a backup's new observation that reports another last success than
//     the one before it that reported one (or than none, for the state in
//     `facts`), back to that success.
// The earliest such time, or kForever. `facts` are those at `begin`, and
// `observations` those from `begin` on, in time order.
Seconds LookAheadReach(const v1::JudgeFacts& facts, ObservationSpan observations, Seconds from) {
  Seconds reach = kForever;
  absl::flat_hash_set<std::string> shippers;               // seen from `begin` on
  absl::flat_hash_map<std::string, Seconds> last_success;  // by backup, the latest report
  for (const auto& [key, o] : facts.host()) {
    if (o.host().has_backup()) {
      last_success[o.host().backup().name()] = o.host().backup().last_success().seconds();
    }
  }
  for (const v1::Observation& o : observations) {
    if (o.has_log() && shippers.insert(o.log().shipper()).second && o.t() >= from) {
      if (auto p = facts.log_t().find(o.log().shipper()); p != facts.log_t().end()) {
        reach = std::min(reach, p->second);
      }
    }
    // Only reports of a success take part (as in the judge's history).
    if (o.has_host() && o.host().has_backup() && o.host().backup().has_last_success()) {
      const v1::BackupState& backup = o.host().backup();
      const Seconds success = backup.last_success().seconds();
      auto [before, first] = last_success.try_emplace(backup.name(), success);
      if (o.t() >= from && !first && before->second != success) reach = std::min(reach, success);
      before->second = success;
    }
  }
  return reach;
}

// Observations in the order of their keys.
bool StoredBefore(const v1::Observation& a, const v1::Observation& b) {
  return std::pair(a.t(), a.index()) < std::pair(b.t(), b.index());
}

}  // namespace

absl::Status Engine::IndexNewEvidence(v1::EngineHost* eh, int64_t* earliest,
                                      google::protobuf::Arena* arena, Indexed* indexed) {
  const std::string& host = eh->host();
  store::WriteBatch batch;
  int64_t prev_t = eh->last_record_t();
  uint64_t last_index = eh->indexed_through();
  int64_t enrolled = eh->enrolled();
  uint64_t quarantined = 0;
  uint64_t first_quarantined = 0;
  // A host first indexed here has every snapshot pass through below.
  if (eh->indexed_through() == 0) eh->set_access_snapshot_known(true);
  absl::Status s = ReadMessages<v1::EvidenceRecord>(
      store_, store::Family::kEvidence, store::EvidenceKey(host, eh->indexed_through() + 1),
      store::PrefixEnd(store::EvidencePrefix(host)), [&](const v1::EvidenceRecord& r) {
        v1::Observation own;
        v1::Observation& o = indexed != nullptr
                                 ? *google::protobuf::Arena::CreateMessage<v1::Observation>(arena)
                                 : own;
        last_index = r.index();
        if (Quarantined(r)) {
          if (quarantined++ == 0) first_quarantined = r.index();
          return;  // in the chain, never judged (engine_quarantine.cc)
        }
        if (ObservationFromRecord(r, prev_t > 0 ? prev_t : r.observed_at().seconds(), &o)) {
          batch.Put(store::Family::kObservations, keys::Observation(host, o.t(), o.index()),
                    o.SerializeAsString());
          if (o.has_access() && o.access().snapshot() && r.signal().has_access_snapshot()) {
            if (o.t() >= eh->access_snapshot_t()) {
              eh->set_access_snapshot_index(r.index());
              eh->set_access_snapshot_t(o.t());
            }
            NoteAccessSnapshot(host, o.t(), r.index(), r.signal().access_snapshot(), &batch);
          }
          if (o.has_access() && !o.access().snapshot()) {
            if (r.signal().has_access_change()) {
              NoteAccessChange(host, o.t(), r.index(), r.signal().access_change(), &batch);
            }
            batch.Put(store::Family::kObservations, keys::AccessChange(host, o.t(), o.index()),
                      o.SerializeAsString());
            // A change id names one host's change for good: a host that
            // reports an id another host reported first cannot take that
            // change's approvals (one host speaks only for itself).
            const std::string change = keys::ChangeHost(o.access().id());
            auto owner = store_.Get(store::Family::kApprovals, change);
            if (owner.ok() && *owner != host) {
              spdlog::warn(
                  "host {} reported access change {}, which host {} reported first; approvals "
                  "of {} stay with {}",
                  host, o.access().id(), *owner, o.access().id(), *owner);
            } else {
              batch.Put(store::Family::kApprovals, change, host);
            }
          }
          const int64_t t = o.what_case() == v1::Observation::kGapFrom ? o.gap_from() : o.t();
          *earliest = std::min(*earliest, t);
          if (enrolled == 0 || o.t() < enrolled) enrolled = o.t();
          if (indexed != nullptr) {
            if (o.has_access() && !o.access().snapshot()) indexed->changes.push_back(o);
            indexed->observations.push_back(&o);
          }
        }
        prev_t = r.observed_at().seconds();
      });
  if (!s.ok()) return s;
  if (last_index == eh->indexed_through()) return absl::OkStatus();
  if (quarantined > 0) {
    eh->set_quarantined(eh->quarantined() + quarantined);
    spdlog::warn(
        "host {}: {} evidence records from record {} on are dated before 2000-01-01 or more than "
        "{} after attestd received them (stored by an older attestd): kept in the chain, left "
        "out of judging (quarantined)",
        host, quarantined, first_quarantined, absl::FormatDuration(kMaxObservationLead));
  }
  if (eh->enrolled() != 0 && enrolled < eh->enrolled()) *earliest = std::min(*earliest, enrolled);
  eh->set_indexed_through(last_index);
  eh->set_last_record_t(prev_t);
  eh->set_enrolled(enrolled);
  if (*earliest < kForever) {
    eh->set_pending_from(eh->pending_from() == 0 ? *earliest
                                                 : std::min(eh->pending_from(), *earliest));
  }
  batch.Put(store::Family::kEngineHosts, host, eh->SerializeAsString());
  if (indexed != nullptr) {
    std::sort(
        indexed->observations.begin(), indexed->observations.end(),
        [](const v1::Observation* a, const v1::Observation* b) { return StoredBefore(*a, *b); });
    std::sort(indexed->changes.begin(), indexed->changes.end(), StoredBefore);
  }
  return store_.Write(std::move(batch), {.sync = false});
}

absl::Status Engine::ProcessHost(const std::string& host, int64_t from) {
  v1::EngineHost& eh = state_.hosts[host];
  eh.set_host(host);
  // A host's observations, on an arena: their parts are neither allocated
  // nor freed one by one (a tenth of verify's CPU went to that), and they
  // lie side by side for the judge's passes.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 64 << 10;
  arena_options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(arena_options);
  std::optional<Indexed> indexed;
  if (eh.indexed_through() == 0) indexed.emplace();
  int64_t earliest = kForever;
  if (absl::Status s = IndexNewEvidence(&eh, &earliest, &arena, indexed ? &*indexed : nullptr);
      !s.ok()) {
    return s;
  }
  // The earliest evidence indexed and not yet judged (kept across a crash).
  const int64_t evidence_from = eh.pending_from() > 0 ? eh.pending_from() : kForever;
  from = std::min(from, evidence_from);

  // Labels decide window membership; when they change, the host leaves
  // the old windows' aggregates and is judged again into the new ones.
  v1::HostState hs;
  if (auto value = store_.Get(store::Family::kHosts, host); value.ok()) {
    if (!hs.ParseFromString(*value)) return absl::DataLossError("host state is corrupt");
  }
  std::map<std::string, std::string> now_labels(hs.labels().begin(), hs.labels().end());
  std::map<std::string, std::string> old_labels(eh.labels().begin(), eh.labels().end());
  if (now_labels != old_labels) {
    store::WriteBatch batch;
    for (const auto& [id, window] : state_.windows) {
      if (!SelectorMatches(window.scope(), eh.labels())) continue;
      const int64_t start = window.start().seconds();
      const int64_t end = window.end().seconds();
      // Subtract every day record of this host from the window.
      std::map<std::tuple<std::string, uint32_t>, std::pair<v1::StateSeconds, int>> delta;
      absl::Status s =
          ScanMessages<v1::HostDay>(store_, store::Family::kTimeline, keys::Str(host),
                                    store::PrefixEnd(keys::Str(host)), [&](v1::HostDay&& d) {
                                      v1::StateSeconds c = Clip(d, start, end);
                                      if (Total(c) == 0) return;
                                      auto& [secs, hosts] = delta[{d.control(), d.day()}];
                                      AddSeconds(&secs, c, -1);
                                      hosts -= 1;
                                    });
      if (!s.ok()) return s;
      for (const auto& [k, v] : delta) {
        AddToWindowDay(store_, &batch, keys::WindowDay(id, std::get<0>(k), std::get<1>(k)), v.first,
                       v.second);
      }
    }
    // Drop the day records: the rejudge below adds them back under the
    // new labels.
    absl::Status s =
        store_.Scan(store::Family::kTimeline, keys::Str(host), store::PrefixEnd(keys::Str(host)),
                    [&](std::string_view key, std::string_view) {
                      batch.Delete(store::Family::kTimeline, std::string(key));
                      return true;
                    });
    if (!s.ok()) return s;
    *eh.mutable_labels() = hs.labels();
    batch.Put(store::Family::kEngineHosts, host, eh.SerializeAsString());
    if (s = store_.Write(batch, {.sync = false}); !s.ok()) return s;
    state_.views[host].day_records.clear();
    from = 0;
  }
  if (from >= kForever || eh.enrolled() == 0) return absl::OkStatus();
  return Rejudge(host, from, evidence_from, &arena, indexed ? &*indexed : nullptr);
}

absl::StatusOr<bool> Engine::FactsAt(const std::string& host, uint32_t day, v1::JudgeFacts* facts) {
  auto last = store_.Last(store::Family::kFacts, keys::Facts(host, 0), keys::Facts(host, day + 1));
  if (absl::IsNotFound(last.status())) return false;
  if (!last.ok()) return last.status();
  if (!facts->ParseFromString(last->second)) return absl::DataLossError("judge facts are corrupt");
  return true;
}

absl::Status Engine::Rejudge(const std::string& host, int64_t from, int64_t evidence_from,
                             google::protobuf::Arena* arena, const Indexed* indexed) {
  v1::EngineHost& eh = state_.hosts[host];
  const uint32_t today = DayOf(absl::ToUnixSeconds(clock_.Now()));
  from = std::max(from, eh.enrolled());
  uint32_t first_day = DayOf(from);
  v1::JudgeFacts facts;
  // The host's observations from `begin` on.
  std::vector<const v1::Observation*> parsed;
  ObservationSpan observations;
  Seconds begin = 0;
  absl::Status s;
  // From the day of `from`, or earlier where the judge's look-ahead
  // reaches (LookAheadReach); each step goes back at least a day.
  for (;;) {
    facts.Clear();
    if (first_day > DayOf(eh.enrolled())) {
      absl::StatusOr<bool> found = FactsAt(host, first_day, &facts);
      if (!found.ok()) return found.status();
      if (!*found) first_day = DayOf(eh.enrolled());  // never judged that far: from the start
    }
    begin = static_cast<Seconds>(first_day) * kDaySeconds;
    if (indexed != nullptr) {
      const auto& all = indexed->observations;
      const auto first = std::partition_point(
          all.begin(), all.end(), [&](const v1::Observation* o) { return o->t() < begin; });
      observations = ObservationSpan(std::span<const v1::Observation* const>(all))
                         .subspan(first - all.begin());
    } else {
      parsed.clear();
      arena->Reset();
      s = ParseMessagesOnto(store_, store::Family::kObservations, keys::Observation(host, begin, 0),
                            store::PrefixEnd(keys::ObservationPrefix(host)), arena, &parsed);
      if (!s.ok()) return s;
      observations = ObservationSpan(std::span<const v1::Observation* const>(parsed));
    }
    const Seconds reach =
        std::max(LookAheadReach(facts, observations, evidence_from), eh.enrolled());
    if (reach >= begin) break;
    first_day = DayOf(reach);
  }
  std::vector<v1::Observation> read_changes;
  if (indexed == nullptr) {
    s = ScanMessages<v1::Observation>(
        store_, store::Family::kObservations, keys::AccessChangePrefix(host),
        store::PrefixEnd(keys::AccessChangePrefix(host)),
        [&](v1::Observation&& o) { read_changes.push_back(std::move(o)); });
    if (!s.ok()) return s;
  }
  const std::vector<v1::Observation>& changes =
      indexed != nullptr ? indexed->changes : read_changes;
  const uint32_t last_day =
      std::max(today, observations.empty() ? today : DayOf(observations.back().t()));
  const Seconds end = static_cast<Seconds>(last_day + 1) * kDaySeconds;

  // Judge every control.
  std::map<DayControl, v1::HostDay> days;
  std::map<std::string, std::vector<v1::Interval>> judged;
  static const ApprovalsByChange kNoApprovals;
  auto approvals = state_.approvals.find(host);
  const std::vector<ReviewSpan> reviews = ReviewSpans(host);
  for (const std::string& control : state_.ControlIds()) {
    JudgeInput in;
    in.facts = &facts;
    in.observations = observations;
    in.access_changes = changes;
    in.from = begin;
    in.to = end;
    in.scope_start = eh.enrolled();
    in.scope_end = eh.decommissioned() > 0 ? eh.decommissioned() : kForever;
    in.segments = state_.Segments(control);
    for (const auto& [id, x] : state_.exceptions) {
      if (auto span = ExceptionFor(x, host, eh.labels(), control)) in.exceptions.push_back(*span);
    }
    in.approvals = approvals == state_.approvals.end() ? &kNoApprovals : &approvals->second;
    in.reviews = reviews;
    std::vector<v1::Interval>& intervals = judged[control] = JudgeControl(in);
    for (const v1::Interval& iv : intervals) {
      for (Seconds a = iv.start(); a < iv.end();) {
        const Seconds day_end = DayStart(a) + kDaySeconds;
        const Seconds b = std::min(iv.end(), day_end);
        v1::HostDay& d = days[{DayOf(a), control}];
        v1::Interval* piece = d.add_intervals();
        *piece = iv;
        piece->set_start(a);
        piece->set_end(b);
        AddSeconds(d.mutable_seconds(), iv.state(), b - a);
        a = b;
      }
    }
  }

  store::WriteBatch batch;
  // Facts at the start of each following day where they changed (FactsAt
  // reads the last one at or before a day): one copy per day with evidence,
  // never one per day of the span, which a host chooses.
  {
    s = store_.Scan(store::Family::kFacts, keys::Facts(host, first_day + 1),
                    store::PrefixEnd(keys::Str(host)), [&](std::string_view key, std::string_view) {
                      batch.Delete(store::Family::kFacts, std::string(key));
                      return true;
                    });
    if (!s.ok()) return s;
    size_t i = 0;
    for (uint32_t day = first_day + 1; day <= last_day + 1; ++day) {
      const Seconds day_start = static_cast<Seconds>(day) * kDaySeconds;
      const size_t day_begin = i;
      while (i < observations.size() && observations[i].t() < day_start) ++i;
      if (i > day_begin) {
        AdvanceFactsThrough(&facts, observations.subspan(day_begin, i - day_begin));
        batch.Put(store::Family::kFacts, keys::Facts(host, day), facts.SerializeAsString());
      }
    }
  }

  // Day records: replace everything from first_day on.
  std::map<DayControl, v1::HostDay> old_days;
  s = ScanMessages<v1::HostDay>(store_, store::Family::kTimeline,
                                keys::HostDayFrom(host, first_day),
                                store::PrefixEnd(keys::Str(host)), [&](v1::HostDay&& d) {
                                  old_days[{d.day(), d.control()}] = std::move(d);
                                });
  if (!s.ok()) return s;
  for (const auto& [k, d] : old_days) {
    if (!days.count(k))
      batch.Delete(store::Family::kTimeline, keys::HostDay(host, k.first, k.second));
  }
  for (auto& [k, d] : days) {
    d.set_host(host);
    d.set_control(k.second);
    d.set_day(k.first);
    batch.Put(store::Family::kTimeline, keys::HostDay(host, k.first, k.second),
              d.SerializeAsString());
  }

  // Window aggregates: add the difference.
  for (const auto& [id, window] : state_.windows) {
    if (!SelectorMatches(window.scope(), eh.labels())) continue;
    const Seconds ws = window.start().seconds();
    const Seconds we = window.end().seconds();
    std::map<DayControl, std::pair<v1::StateSeconds, int>> delta;
    auto account = [&](const std::map<DayControl, v1::HostDay>& m, int sign) {
      for (const auto& [k, d] : m) {
        const Seconds ds = static_cast<Seconds>(k.first) * kDaySeconds;
        if (ds + kDaySeconds <= ws || ds >= we) continue;
        v1::StateSeconds c = Clip(d, ws, we);
        if (Total(c) == 0) continue;
        auto& [secs, hosts] = delta[k];
        AddSeconds(&secs, c, sign);
        hosts += sign;
      }
    };
    account(old_days, -1);
    account(days, +1);
    for (const auto& [k, v] : delta) {
      const v1::StateSeconds& d = v.first;
      if (d.pass() == 0 && d.fail() == 0 && d.no_evidence() == 0 && d.excepted() == 0 &&
          v.second == 0) {
        continue;  // the day did not change for this window
      }
      AddToWindowDay(store_, &batch, keys::WindowDay(id, k.second, k.first), d, v.second);
    }
  }

  // Deviations: keep those that ended before `begin`, cut the one that
  // spans it, and continue it if the new judgement still fails at `begin`.
  std::map<std::string, std::vector<v1::DeviationRecord>> new_runs;
  for (const auto& [judged_control, intervals] : judged) {
    // A named copy: clang 14 cannot capture a structured binding.
    const std::string& control = judged_control;
    std::vector<v1::DeviationRecord> runs = FailRuns(intervals);
    std::optional<v1::DeviationRecord> spanning;
    const std::string prefix = keys::DeviationHostPrefix(control, host);
    s = ScanMessages<v1::DeviationRecord>(store_, store::Family::kDeviations, prefix,
                                          store::PrefixEnd(prefix), [&](v1::DeviationRecord&& d) {
                                            if (d.end() < begin) return;
                                            batch.Delete(store::Family::kDeviations,
                                                         keys::Deviation(control, host, d.start()));
                                            if (d.start() < begin) spanning = std::move(d);
                                          });
    if (!s.ok()) return s;
    if (spanning) {
      if (!runs.empty() && runs.front().start() == begin) {
        runs.front().set_start(spanning->start());
        runs.front().set_cause(spanning->cause());
        runs.front().set_policy_version(spanning->policy_version());
      } else {
        spanning->set_end(begin);
        runs.insert(runs.begin(), *spanning);
      }
    }
    for (v1::DeviationRecord& r : runs) {
      r.set_control(control);
      r.set_host(host);
      batch.Put(store::Family::kDeviations, keys::Deviation(control, host, r.start()),
                r.SerializeAsString());
    }
    new_runs[control] = std::move(runs);
  }

  eh.set_judged_through_day(last_day);
  eh.set_pending_from(0);
  batch.Put(store::Family::kEngineHosts, host, eh.SerializeAsString());
  if (s = store_.Write(std::move(batch), {.sync = false}); !s.ok()) return s;

  // The same changes to the host's view, now that they are stored.
  HostView& view = state_.views[host];
  view.day = last_day;
  view.patch = facts.patch();  // facts now include every observation
  view.day_records.clear();
  for (auto& [k, d] : days) {
    if (k.first == last_day) view.day_records.push_back(std::move(d));
  }
  for (auto& [control, runs] : new_runs) {
    std::vector<DeviationRun>& list = view.deviations[control];
    std::erase_if(list, [&](const DeviationRun& r) { return r.end >= begin; });
    for (v1::DeviationRecord& r : runs) {
      list.push_back({r.start(), r.end(), std::move(*r.mutable_cause())});
    }
  }
  return absl::OkStatus();
}

}  // namespace attest::engine
