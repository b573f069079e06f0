#include "ctl/bundle_window.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_suffix.h"
#include "ctl/client.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/scan.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/note.h"

namespace attest::ctl {

std::vector<int64_t> ExistedBy(const std::vector<v1::Checkpoint>& leaves,
                               const std::vector<std::string>& witnesses) {
  constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> out(leaves.size());
  int64_t later = kUnknown;
  for (size_t i = leaves.size(); i-- > 0;) {
    int64_t cosigned = kUnknown;
    auto note = evidence::note::Parse(leaves[i].note());
    if (note.ok() && !witnesses.empty()) {
      int64_t latest = -1;
      for (const std::string& name : witnesses) {
        int64_t t = -1;
        for (const evidence::note::Signature& sig : note->signatures) {
          if (sig.name != name || sig.blob.size() != 8 + 64) continue;
          int64_t ts = 0;
          for (int b = 0; b < 8; ++b) ts = (ts << 8) | static_cast<uint8_t>(sig.blob[b]);
          t = std::max(t, ts);
        }
        if (t < 0) {  // this witness did not cosign the state
          latest = -1;
          break;
        }
        latest = std::max(latest, t);
      }
      if (latest >= 0) cosigned = latest;
    }
    later = std::min(later, cosigned);
    const int64_t created = leaves[i].created_at().seconds();
    // With witnesses and no cosignature by all of them from here on, the
    // state cannot start a host: an auditor with some of those witnesses'
    // keys would find it later than any time this could name.
    out[i] = later != kUnknown ? std::max(created, later) : witnesses.empty() ? created : kUnknown;
  }
  return out;
}

std::map<std::string, absl::Status> CheckStarts(const v1::BundleManifest& decisions,
                                                ReplayStore& records, const SummaryReplay& replay,
                                                const std::map<std::string, HostStart>& starts) {
  std::map<std::string, absl::Status> out;
  const int64_t window_start = decisions.window().start().seconds();
  std::vector<v1::PolicyVersion> versions(decisions.policy_versions().begin(),
                                          decisions.policy_versions().end());
  auto policies = ControlsInForce::From(versions, window_start);
  const SummaryReplay::Runs& runs = replay.RunsAtWindowStart();
  const std::map<std::string, int64_t> none;
  for (const auto& [host, x] : starts) {
    if (x.first_index <= 1) continue;
    absl::Status& s = out[host];
    if (!policies.ok()) {
      s = policies.status();
      continue;
    }
    SuffixObservations fold;
    if (s = ObserveStored(records.store(), host, &fold); !s.ok()) continue;
    const bool head_quarantined =
        std::binary_search(fold.quarantined().begin(), fold.quarantined().end(), x.first_index);
    const std::vector<v1::Observation> observations = fold.Take();
    const std::vector<engine::ReviewSpan> spans = replay.ReviewSpansOf(host);
    auto r = runs.find(host);
    s = SuffixStartAt({.created_at = x.signed_by, .head_index = x.first_index}, head_quarantined,
                      observations, *policies, spans, window_start,
                      r == runs.end() ? none : r->second);
    if (!s.ok()) {
      s = absl::DataLossError(StrCat(
          "host ", host, ": its records start at record ", x.first_index, " (its head in state ",
          x.sequence,
          "), from where they need not judge the window as its whole chain does: ", s.message()));
    }
  }
  return out;
}

absl::Status SnapshotsCovered(uint64_t first_index, uint64_t ledger_length,
                              const std::vector<CampaignSnapshot>& campaigns) {
  for (const CampaignSnapshot& c : campaigns) {
    if (c.snapshot_index > 0 && c.snapshot_index < first_index && c.ledger_index > ledger_length) {
      return absl::FailedPreconditionError(
          StrCat("review campaign ", c.campaign, " (ledger entry ", c.ledger_index,
                 ", after the state's ledger length ", ledger_length,
                 ") took the host's population from record ", c.snapshot_index,
                 ", before the host's first record ", first_index,
                 ": the bundle could not check that population against its snapshot"));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadSuffix(ReplayStore& whole, const std::string& host, const HostStart& start,
                        ReplayStore& into) {
  if (start.first_index > 1) into.SetLabels(host, start.labels);
  absl::Status s = engine::ScanMessages<v1::EvidenceRecord>(
      whole.store(), store::Family::kEvidence, store::EvidencePrefix(host),
      store::PrefixEnd(store::EvidencePrefix(host)), [&](v1::EvidenceRecord&& r) -> absl::Status {
        if (r.index() < start.first_index && !evidence::IsAccessChange(r)) {
          return absl::OkStatus();
        }
        return into.Add(r);
      });
  if (!s.ok()) return s;
  return into.EndHost(host);
}

namespace {

// A state a host's records may start at.
struct Candidate {
  int64_t existed = 0;
  int64_t created = 0;  // the state's created_at
  uint64_t sequence = 0;
  uint64_t ledger_length = 0;
  std::map<std::string, std::string> labels;
  // verify takes the earliest state with the head; one before
  // attest-state-v2 makes no access-change commitment to check against.
  bool commits = false;
};

// Replays the hosts of `starts`, each loaded from `whole` as verify loads
// it from where its records start (LoadSuffix), and hands the loaded store,
// the finished replay and its summary to `use`.
template <typename Use>
absl::Status ReplayFrom(const v1::BundleManifest& decisions, ReplayStore& whole,
                        const ReviewPopulations& populations,
                        const std::map<std::string, HostStart>& starts, Use&& use) {
  ReplayStore part;
  // In memory when the whole chains fit there, as any part of them then does.
  if (absl::Status s = part.Prepare(whole.scratch().empty() ? 0 : UINT64_MAX); !s.ok()) return s;
  // Only these hosts' approvals and decommissions: the engine refuses one
  // of a host it does not hold (decisions are already the window's scope).
  v1::BundleManifest these = decisions;
  auto other = [&](const auto& decision) { return starts.count(decision.host()) == 0; };
  auto* approvals = these.mutable_approvals();
  approvals->erase(std::remove_if(approvals->begin(), approvals->end(), other), approvals->end());
  auto* decommissions = these.mutable_decommissions();
  decommissions->erase(std::remove_if(decommissions->begin(), decommissions->end(), other),
                       decommissions->end());
  // Begun before the records are stored, as verify begins it: an engine
  // that found them at its start would judge every host once before the
  // policies are loaded.
  SummaryReplay replay(these, part, &populations);
  if (absl::Status s = replay.Begin(); !s.ok()) return s;
  for (const auto& [host, x] : starts) {
    if (absl::Status s = LoadSuffix(whole, host, x, part); !s.ok()) return s;
  }
  if (absl::Status s = part.Finish(); !s.ok()) return s;
  auto summary = replay.Finish();
  if (!summary.ok()) return summary.status();
  return use(part, replay, *summary);
}

// The check of a pick on the suffixes alone, as verify makes it: the hosts
// it refuses. When the suffixes do not give attestd's summary, every host
// starting after record 1, and `summary_differs` is set.
absl::StatusOr<std::vector<std::string>> Refused(const v1::BundleManifest& decisions,
                                                 ReplayStore& whole,
                                                 const ReviewPopulations& populations,
                                                 const std::map<std::string, HostStart>& starts,
                                                 bool* summary_differs) {
  std::vector<std::string> refused;
  absl::Status replayed = ReplayFrom(
      decisions, whole, populations, starts,
      [&](ReplayStore& suffixes, const SummaryReplay& replay, const v1::WindowSummary& summary) {
        if (absl::Status differ = CompareSummaries(decisions.summary(), summary); !differ.ok()) {
          fprintf(stderr, "export: window-sized: the suffixes do not give attestd's summary (%s)\n",
                  std::string(differ.message()).c_str());
          *summary_differs = true;
          for (const auto& [host, x] : starts) {
            if (x.first_index > 1) refused.push_back(host);
          }
          return absl::OkStatus();
        }
        for (const auto& [host, why] : CheckStarts(decisions, suffixes, replay, starts)) {
          if (why.ok()) continue;
          fprintf(stderr, "export: window-sized: %s\n", std::string(why.message()).c_str());
          refused.push_back(host);
        }
        return absl::OkStatus();
      });
  if (!replayed.ok()) return replayed;
  return refused;
}

// When the FAIL run of `control` on `host` in progress at `at` began, by
// attestd's timeline from `from` on: `from` when the run reaches back that
// far, `at` when none is in progress.
absl::StatusOr<int64_t> RunBegan(v1::AdminService::Stub& admin, const std::string& host,
                                 const std::string& control, int64_t from, int64_t at) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::TimelineRequest req;
  req.set_host(host);
  req.set_control(control);
  req.mutable_from()->set_seconds(from);
  req.mutable_to()->set_seconds(at);
  v1::TimelineResponse resp;
  if (grpc::Status s = admin.GetTimeline(&ctx, req, &resp); !s.ok()) {
    return absl::UnavailableError(s.error_message());
  }
  std::vector<v1::Interval> fail;
  for (const v1::Interval& i : resp.intervals()) {
    if (i.state() == v1::CONTROL_STATE_FAIL) fail.push_back(i);
  }
  std::sort(fail.begin(), fail.end(),
            [](const v1::Interval& a, const v1::Interval& b) { return a.start() < b.start(); });
  int64_t began = at;
  for (auto i = fail.rbegin(); i != fail.rend() && i->end() >= began && i->start() < began; ++i) {
    began = i->start();
  }
  return std::max(began, from);
}

}  // namespace

absl::StatusOr<std::map<std::string, HostStart>> PickWindowStarts(
    v1::AdminService::Stub& admin, const v1::BundleManifest& decisions, ReplayStore& whole,
    const ReviewPopulations& populations, const std::vector<v1::Checkpoint>& leaves,
    const std::vector<std::string>& witnesses,
    const std::map<std::string, std::vector<CampaignSnapshot>>& snapshots,
    std::span<const absl::Duration> replay_back, PickTally* tally) {
  const int64_t window_start = decisions.window().start().seconds();
  std::vector<v1::PolicyVersion> versions(decisions.policy_versions().begin(),
                                          decisions.policy_versions().end());
  auto policies = ControlsInForce::From(versions, window_start);
  if (!policies.ok()) return policies.status();

  // Each host's heads in the states made early enough to start from: per
  // head length, the earliest state with it (the smallest bound on when
  // the records up to it were observed).
  const std::vector<int64_t> existed = ExistedBy(leaves, witnesses);
  const int64_t lead = absl::ToInt64Seconds(engine::kMaxObservationLead);
  // Candidates: the states made at least 5 minutes before the window and
  // at most kMaxLookBack before it. Each try costs a pass over the host's
  // observations, and a host whose figures need older history (a security
  // update pending for months, a review overdue since enrolment) is
  // carried whole.
  uint64_t first_candidate = 0, last_candidate = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (existed[i] > window_start - lead) continue;
    if (leaves[i].created_at().seconds() < window_start - absl::ToInt64Seconds(kMaxLookBack)) {
      continue;
    }
    if (first_candidate == 0) first_candidate = leaves[i].sequence();
    last_candidate = leaves[i].sequence();
  }
  std::map<std::string, std::map<uint64_t, Candidate>> heads;
  std::vector<v1::Checkpoint> page;
  for (uint64_t from = std::max<uint64_t>(first_candidate, 1); from <= last_candidate; from += 16) {
    page.clear();
    const uint64_t to = std::min<uint64_t>(last_candidate, from + 15);
    if (absl::Status s = ListCheckpointRange(admin, from, to, false, 16, &page); !s.ok()) return s;
    for (const v1::Checkpoint& c : page) {
      for (const v1::ChainHead& h : c.heads()) {
        heads[h.host()].try_emplace(h.length(), Candidate{existed[c.sequence() - 1],
                                                          c.created_at().seconds(),
                                                          c.sequence(),
                                                          c.ledger_length(),
                                                          {h.labels().begin(), h.labels().end()},
                                                          c.state_version() == 2});
      }
    }
  }
  // Each host's states its records may start at: attest-state-v2 (verify
  // checks the carried access changes against its commitment) and none a
  // later review campaign took a population from before.
  const std::vector<CampaignSnapshot> no_campaigns;
  std::map<std::string, std::vector<std::pair<uint64_t, const Candidate*>>> usable;  // by length
  for (const auto& [host, by_length] : heads) {
    auto campaigns = snapshots.find(host);
    for (const auto& [length, at] : by_length) {
      if (!at.commits) continue;
      if (!SnapshotsCovered(length, at.ledger_length,
                            campaigns == snapshots.end() ? no_campaigns : campaigns->second)
               .ok()) {
        continue;
      }
      usable[host].emplace_back(length, &at);
    }
  }

  // The rule needs the runs in progress at the window's start and the
  // host's review campaigns as the whole chain judges them. Replaying
  // every whole chain for them costs what the store's age costs, so the
  // hosts are first replayed from a state `replay_back` before the window
  // (the earliest usable one made since), shortest first. When the rule
  // accepts that state on that replay's own runs and campaigns, that
  // replay judges the window as the whole chain does (the rule's claim, and
  // verify's check), so the pick, a state at or after it, is the one the
  // whole chain's runs give. A host it refuses goes on to the next, and
  // last to its whole chain.
  if (tally != nullptr) *tally = {.from_state = std::vector<size_t>(replay_back.size())};
  std::map<std::string, HostStart> out;
  std::set<std::string> pending;
  for (const std::string& host : whole.Hosts()) {
    out[host] = HostStart{};
    pending.insert(host);
  }
  // Picks `host`'s start from `store` (its records from `from` on, and its
  // earlier access changes) and `replay` of it.
  auto pick = [&](const std::string& host, uint64_t from, ReplayStore& store,
                  const SummaryReplay& replay) -> absl::Status {
    auto u = usable.find(host);
    std::vector<SuffixHead> candidates;
    if (u != usable.end()) {
      for (const auto& [length, at] : u->second) {
        if (length >= from) candidates.push_back({.created_at = at->existed, .head_index = length});
      }
    }
    SuffixObservations fold;
    if (absl::Status s = ObserveStored(store.store(), host, &fold); !s.ok()) return s;
    const std::vector<uint64_t> quarantined = fold.quarantined();
    const std::vector<v1::Observation> chain = fold.Take();
    const std::vector<engine::ReviewSpan> spans = replay.ReviewSpansOf(host);
    const SummaryReplay::Runs& runs = replay.RunsAtWindowStart();
    auto r = runs.find(host);
    absl::Status why;
    std::optional<SuffixHead> start =
        PickSuffixStart(chain, quarantined, std::move(candidates), *policies, spans, window_start,
                        r == runs.end() ? SummaryReplay::Runs::mapped_type{} : r->second, &why);
    if (!start) {
      // Said, so that an operator sees what keeps a host's history in.
      fprintf(stderr, "export: window-sized: %s is carried whole: %s\n", host.c_str(),
              why.ok() ? StrCat("no signed state in the ", absl::ToInt64Hours(kMaxLookBack) / 24,
                                " days before the window has its head")
                             .c_str()
                       : std::string(why.message()).c_str());
      return absl::OkStatus();
    }
    const Candidate& at = heads.at(host).at(start->head_index);
    out[host] = {.first_index = start->head_index,
                 .signed_by = at.existed,
                 .sequence = at.sequence,
                 .labels = at.labels};
    return absl::OkStatus();
  };
  // A host with a FAIL run in progress at the window's start needs its
  // history from before the run began (the rule's last condition). attestd's
  // summary names those runs but cuts them at the window's start; its
  // timeline gives when each began, within kMaxLookBack. A replay from a
  // state made after that is skipped, and a host whose run began before
  // kMaxLookBack goes to its whole chain at once. This only spares replays
  // that would refuse the host: what is picked is checked either way.
  std::map<std::string, int64_t> run_began;  // host -> the earliest history needed
  const int64_t look_from = window_start - absl::ToInt64Seconds(kMaxLookBack);
  // An unapproved access change fails its host for good, but the carried
  // access changes fix that run however long ago it began: no hint.
  // Other runs need history from before they began too: what the rule
  // reads of the time before (a patch state's pending packages back to the
  // SLA, a review's cadence, an observation's freshness).
  std::set<std::string> from_carried;
  std::map<std::string, int64_t> reads_back;  // control id -> seconds
  for (const engine::Control* c : policies->controls()) {
    if (c->rule == engine::Rule::kAccessChangeApproved) from_carried.insert(c->id);
    absl::Duration back =
        c->freshness == absl::InfiniteDuration() ? absl::ZeroDuration() : c->freshness;
    if (c->rule == engine::Rule::kPatchSecuritySla) {
      back += std::max(c->security_max_age, c->reboot_grace);
    }
    if (c->rule == engine::Rule::kAccessReviewPerformed) back += c->review_cadence;
    int64_t& most = reads_back[c->id];
    most = std::max(most, absl::ToInt64Seconds(back));
  }
  for (const v1::ControlSummary& c : decisions.summary().controls()) {
    if (from_carried.count(c.id()) > 0) continue;
    for (const v1::DeviationSummary& d : c.deviations()) {
      if (d.start().seconds() > window_start) continue;
      auto began = RunBegan(admin, d.host(), c.id(), look_from, window_start);
      if (!began.ok()) continue;  // no hint: the replays decide
      const int64_t needed = *began - reads_back[c.id()];
      auto [at, fresh] = run_began.try_emplace(d.host(), needed);
      if (!fresh) at->second = std::min(at->second, needed);
    }
  }
  for (size_t tier = 0; tier < replay_back.size() && !pending.empty(); ++tier) {
    const int64_t since = window_start - absl::ToInt64Seconds(replay_back[tier]);
    std::map<std::string, HostStart> bases;
    for (const std::string& host : pending) {
      auto began = run_began.find(host);
      if (began != run_began.end() && began->second <= since) continue;
      auto u = usable.find(host);
      if (u == usable.end()) continue;
      for (const auto& [length, at] : u->second) {  // the earliest first
        if (at->created < since || at->existed > window_start - lead) continue;
        bases[host] = {.first_index = length,
                       .signed_by = at->existed,
                       .sequence = at->sequence,
                       .labels = at->labels};
        break;
      }
    }
    if (bases.empty()) continue;
    absl::Status replayed = ReplayFrom(
        decisions, whole, populations, bases,
        [&](ReplayStore& part, const SummaryReplay& replay,
            const v1::WindowSummary&) -> absl::Status {
          for (const auto& [host, accepted] : CheckStarts(decisions, part, replay, bases)) {
            if (!accepted.ok()) continue;
            if (absl::Status s = pick(host, bases.at(host).first_index, part, replay); !s.ok()) {
              return s;
            }
            pending.erase(host);
            if (tally != nullptr) ++tally->from_state[tier];
          }
          return absl::OkStatus();
        });
    if (!replayed.ok()) return replayed;
  }
  if (!pending.empty()) {
    std::map<std::string, HostStart> wholes;
    for (const std::string& host : pending) wholes[host] = HostStart{};
    absl::Status replayed =
        ReplayFrom(decisions, whole, populations, wholes,
                   [&](ReplayStore& part, const SummaryReplay& replay,
                       const v1::WindowSummary&) -> absl::Status {
                     for (const std::string& host : pending) {
                       if (absl::Status s = pick(host, 1, part, replay); !s.ok()) return s;
                     }
                     return absl::OkStatus();
                   });
    if (!replayed.ok()) return replayed;
    if (tally != nullptr) tally->whole_chains = pending.size();
  }
  // The pick was made with the runs and review campaigns of a longer
  // replay; verify has only the suffixes'. Check it as verify will, and
  // carry whole every host that check refuses (a revocation confirmed
  // before a host's first record, say), until none is.
  for (;;) {
    if (std::none_of(out.begin(), out.end(),
                     [](const auto& e) { return e.second.first_index > 1; }))
      break;  // every host whole: nothing to check
    bool summary_differs = false;
    auto refused = Refused(decisions, whole, populations, out, &summary_differs);
    if (!refused.ok()) return refused.status();
    if (summary_differs) {
      // Said the way a whole bundle's verify would say it, when the whole
      // chains do not give attestd's summary either.
      auto summary = ReplaySummary(decisions, whole, &populations);
      if (!summary.ok()) return summary.status();
      if (absl::Status s = CompareSummaries(decisions.summary(), *summary); !s.ok()) {
        return absl::DataLossError(StrCat("the whole chains do not give attestd's summary (",
                                          s.message(), "); a window-sized bundle needs them to"));
      }
    }
    if (refused->empty()) break;
    for (const std::string& host : *refused) out[host] = HostStart{};
  }
  return out;
}

}  // namespace attest::ctl
