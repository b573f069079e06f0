// The control engine: turns stored evidence into judged timelines, per-day
// rollups, deviations and per-window daily aggregates, and keeps them up to
// date as evidence (live, late, or imported), approvals, exceptions,
// decommissions and policy versions arrive.
//
// One thread ("attest-engine") does all of it, so the engine's state needs
// no locks; public methods post work to that thread and wait. Ingest only
// says "this host has new evidence" (NotifyEvidence); the engine reads the
// records from the store itself, so it never sees wire messages.
//
// Recomputation is per host and starts at the UTC day of the earliest
// affected time: the judge resumes from the facts stored for that day's
// start, so a late backfill costs the days it touches, not the host's
// whole history. Everything one rejudge writes (day records, facts,
// deviations, window aggregates, bookkeeping) goes in one atomic batch.
#ifndef ATTEST_DAEMON_ENGINE_ENGINE_H_
#define ATTEST_DAEMON_ENGINE_ENGINE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.pb.h"
#include "attest/v1/engine.pb.h"
#include "common/clock.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/policy.h"
#include "daemon/evidence/ledger.h"
#include "daemon/store/store.h"
#include "google/protobuf/arena.h"

namespace attest::engine {

// The times the engine judges an observation at: from 2000-01-01 to
// kMaxObservationLead after attestd received its record. Ingest and import
// refuse anything else (daemon/ingest/validate.h); records outside that an
// older attestd stored are quarantined (EngineHost.quarantined).
inline constexpr int64_t kEarliestObservation = 946684800;  // 2000-01-01
inline constexpr absl::Duration kMaxObservationLead = absl::Minutes(5);

// Whether the engine leaves record `r` out of judging (quarantine).
inline bool Quarantined(const v1::EvidenceRecord& r) {
  const int64_t observed = r.observed_at().seconds();
  return observed < kEarliestObservation ||
         observed > r.received_at().seconds() + absl::ToInt64Seconds(kMaxObservationLead);
}

struct EngineOptions {
  // New evidence for a host is judged at most this long after it arrives;
  // a busy host is rejudged once per delay, not once per batch. Reads
  // (summaries, samples, timelines) judge everything pending first.
  absl::Duration judge_delay = absl::Seconds(5);
  // Where every decision is also recorded (attestd's ledger, committed in
  // its checkpoints); null: decisions are stored without one (replays).
  evidence::Ledger* ledger = nullptr;
};

// A loaded policy version and its parsed form.
struct LoadedPolicy {
  v1::PolicyVersion record;
  Policy policy;
};

// A deviation as a summary lists it; its control and host are the keys it
// is filed under.
struct DeviationRun {
  int64_t start = 0;
  int64_t end = 0;
  std::string cause;
};

// What summaries read of one host without touching the store, so that a
// summary of a large fleet costs memory reads: the host's day records of
// its last judged day (the day in progress, for a host that is up to date)
// its deviations, and its latest patch facts. Each rejudge updates it
// after its batch is written, so it always equals the store.
struct HostView {
  uint32_t day = 0;                                             // the day of `day_records`
  std::vector<v1::HostDay> day_records;                         // one per control
  std::map<std::string, std::vector<DeviationRun>> deviations;  // control -> by start
  v1::JudgeFacts::PatchFacts patch;                             // after the host's last observation
};

// An access review campaign with its population, decisions and the
// confirmed revocations (engine_reviews.cc).
struct ReviewState {
  v1::ReviewCampaign campaign;
  std::map<std::string, v1::ReviewHost> hosts;                   // by host
  std::map<std::string, v1::ReviewEntry> entries;                // by id
  std::map<std::string, v1::ReviewDecision> decisions;           // by entry
  std::map<std::string, std::vector<std::string>> host_entries;  // host -> entry ids
  // (entry, host) -> the first snapshot at or after the revoke without it.
  std::map<std::pair<std::string, std::string>, v1::RevocationState> confirmed;
  int64_t completed = INT64_MAX / 4;  // the last decision's time, once every entry has one
};

// The engine's in-memory view of the store's records. Owned by the engine
// thread; the windows module reads it from that thread.
struct EngineState {
  std::vector<LoadedPolicy> policies;  // by loaded_at
  std::map<std::string, v1::WindowDef> windows;
  std::map<std::string, v1::EngineHost> hosts;
  std::map<std::string, v1::Exception> exceptions;     // by id (revocations folded in)
  std::map<std::string, ApprovalsByChange> approvals;  // host -> change -> events
  std::map<std::string, std::vector<v1::Approval>> approval_records;  // change id -> records
  std::map<std::string, HostView> views;                              // by host
  std::map<std::string, ReviewState> reviews;                         // by campaign id
  std::map<std::string, std::vector<std::string>> host_reviews;       // host -> campaigns, by start

  const Policy* current_policy() const {
    return policies.empty() ? nullptr : &policies.back().policy;
  }
  // The segments in which each version judged `control_id`.
  std::vector<PolicySegment> Segments(const std::string& control_id) const;
  // Every control id of every loaded version, in first-seen order.
  std::vector<std::string> ControlIds() const;
};

// A campaign's progress at `now`: decided and open entries, whether it is
// overdue, and where its revocations stand (deadlines from `policy`'s first
// access.review_performed control; 7 days without one).
v1::ReviewStatus ReviewStatusOf(const ReviewState& review, const Policy* policy, absl::Time now);

class Engine {
 public:
  // `store` and `clock` must outlive the engine.
  Engine(store::Store& store, const Clock& clock, EngineOptions options = {});
  ~Engine();

  // Loads the engine's records, starts the thread and queues every host
  // whose evidence is ahead of its judgement (e.g. after a crash).
  [[nodiscard]] absl::Status Start();
  void Stop();

  // Ingest: `host` has new durable evidence. Cheap; safe from any thread.
  void NotifyEvidence(const std::string& host);

  // Stores `policy` as a new version judged under `judge` (unless it is
  // the current one under the same judgement), upserts its windows, and
  // rejudges every host from now on. Replays pass the judgement the
  // version was recorded with (PolicyVersion.judge: 0 is the first).
  [[nodiscard]] absl::Status LoadPolicy(const Policy& policy, const std::string& file,
                                        uint32_t judge = kJudgement);
  // When the current version's judgement is older than kJudgement (a store
  // from an older attestd): records that version again under kJudgement,
  // from now on, as a new ledger entry; time before keeps the judgement it
  // was judged under. No-op otherwise.
  [[nodiscard]] absl::Status AdoptNewestJudgement();

  // Records people create. Each is durable (synced) before it returns, is
  // never deleted, and triggers the rejudging it implies.
  absl::StatusOr<v1::Approval> Approve(v1::Approval approval);
  absl::StatusOr<v1::Exception> CreateException(v1::Exception exception);
  absl::StatusOr<v1::Exception> RevokeException(const v1::RevokeExceptionRequest& request,
                                                const std::string& recorded_by);
  absl::StatusOr<v1::Decommission> Decommission(v1::Decommission decommission);
  absl::StatusOr<v1::WindowDef> CreateWindow(v1::WindowDef window);
  // Access reviews (engine_reviews.cc): the population is taken from the
  // in-scope hosts' latest access snapshots; decisions are stored all or
  // none.
  absl::StatusOr<v1::ReviewCampaign> StartReview(const v1::StartReviewRequest& request,
                                                 const std::string& recorded_by);
  absl::StatusOr<std::vector<v1::ReviewDecision>> DecideReview(
      std::vector<v1::ReviewDecision> decisions, const std::string& recorded_by);
  std::vector<v1::ReviewStatus> Reviews();
  absl::StatusOr<v1::ReviewDetail> Review(const std::string& id);
  // Replaying a bundle (ctl/bundle_replay.cc): a campaign with its
  // population, and decisions, as recorded, without a live request's checks.
  absl::Status RestoreReview(const v1::ReviewCampaign& campaign, std::vector<v1::ReviewHost> hosts,
                             std::vector<v1::ReviewEntry> entries);
  absl::Status RestoreReviewDecisions(const std::vector<v1::ReviewDecision>& decisions);
  // An approval as recorded, for the host it names, before that host's
  // records are in: the replay then judges each host once, with its
  // approvals. The caller checks afterwards that the host it names
  // reported the change first (keys::ChangeHost), as Approve would have
  // found.
  absl::StatusOr<v1::Approval> RestoreApproval(v1::Approval approval);

  // Reads. Each first judges everything pending, and every host through
  // the clock's day, so it reflects all evidence stored before the call
  // as of the clock's time.
  std::vector<v1::WindowDef> Windows();
  // Runs `read` on the engine thread with its state, once everything
  // pending is judged (daemon/windows builds summaries this way).
  void Read(const std::function<void(const EngineState&)>& read);
  std::vector<v1::Approval> Approvals(const std::string& change_id);
  std::vector<v1::Exception> Exceptions();
  std::vector<v1::PolicyVersion> PolicyVersions();

  // Waits until all work queued before the call is done (tests, reads).
  void Sync();
  // Runs `fn` on the engine thread and waits for it. The records `fn` makes
  // there (Approve, CreateException, Decommission, RestoreReview, ...) are
  // judged once, after it returns, from the earliest time any of them
  // touches, instead of one at a time: replaying a bundle's decisions
  // (ctl/bundle_replay.cc) rejudged a host once per approval. The figures
  // are the same: under judgement 2, judging from any instant gives what
  // judging at once gives (docs/design.md, "Judgements"), and a decision
  // takes effect by the times it carries, not by when it was judged. Set
  // the clock inside `fn` to the moment judging should see.
  void Batch(const std::function<void()>& fn);
  // The campaigns that held `host`, as the judge reads them. On the engine
  // thread only: inside Read, or the engine's own work.
  std::vector<ReviewSpan> ReviewSpans(const std::string& host) const;

 private:
  // Runs `fn` on the engine thread after pending work, and waits for it.
  void RunOnThread(const std::function<void()>& fn);
  void Loop();
  void Post(std::function<void()> fn);
  void JudgePending(bool all);
  void AdvanceDays();

  // engine_records.cc
  absl::Status LoadState();
  // Approve and RestoreApproval, on the engine thread.
  absl::StatusOr<v1::Approval> RecordApproval(v1::Approval a, bool restore);
  absl::Status PutWindow(const v1::WindowDef& window);
  // Writes `batch` synced, with `decision` (recorded at `at`) appended to
  // the ledger in the same write when there is one.
  absl::Status Record(absl::Time at, v1::LedgerEntry decision, store::WriteBatch batch);
  absl::Status RecordAll(absl::Time at, std::vector<v1::LedgerEntry> decisions,
                         store::WriteBatch batch);
  // engine_reviews.cc, engine_reviews_confirm.cc
  absl::Status LoadReviews();
  // An access snapshot of `host` was indexed: confirms the revocations it no
  // longer holds (their records go in `batch`).
  void NoteAccessSnapshot(const std::string& host, int64_t t, uint64_t index,
                          const v1::AccessSnapshot& snapshot, store::WriteBatch* batch);
  // The same for an access change that removes a user or a key by itself
  // (review_population.h, ChangeRemoves).
  void NoteAccessChange(const std::string& host, int64_t t, uint64_t index,
                        const v1::AccessChange& change, store::WriteBatch* batch);
  // Both: `removed(entry)` says whether the record shows the entry gone.
  void NoteRemovals(const std::string& host, int64_t t, uint64_t index,
                    const std::function<bool(const ReviewState&, const std::string&)>& removed,
                    store::WriteBatch* batch);
  void MarkKnown(const std::string& host, int64_t from);
  // A campaign's records in `batch`, and its in-memory form.
  ReviewState StageReview(const v1::ReviewCampaign& campaign, std::vector<v1::ReviewHost> hosts,
                          std::vector<v1::ReviewEntry> entries, store::WriteBatch* batch);
  // Folds stored decisions in: completion, rejudging, confirmations from
  // snapshots already indexed.
  void ApplyDecisions(const std::vector<v1::ReviewDecision>& decisions);
  // Revocations among `decisions` confirmed by records already indexed at
  // or after them (engine_reviews_confirm.cc).
  void ConfirmFromIndexed(const std::vector<v1::ReviewDecision>& decisions);
  // Finds the latest access snapshot of a host an older attestd indexed.
  absl::Status FindAccessSnapshot(v1::EngineHost* host);
  // Enters the decisions of a store from before the ledger into it.
  absl::Status BackfillLedger();
  // engine_quarantine.cc: leaves out of judging observations dated where
  // no rule may look (before 2000, or in the future), which an older
  // attestd stored, so that one such record cannot make a host's judgement
  // span centuries.
  absl::Status QuarantineUnjudgeable();
  // engine_rejudge.cc
  // What a host's first indexing stored: then the store holds no other
  // observation of the host's, so Rejudge takes these instead of reading
  // them back. On ProcessHost's arena, in the order of their keys (by
  // time, then record).
  struct Indexed {
    std::vector<const v1::Observation*> observations;
    std::vector<v1::Observation> changes;  // the access changes among them
  };
  // `indexed`: null, or the host was never indexed before, and its
  // observations are made on `arena`.
  absl::Status IndexNewEvidence(v1::EngineHost* host, int64_t* earliest,
                                google::protobuf::Arena* arena, Indexed* indexed);
  // From `from`, or earlier where evidence from `evidence_from` on (new
  // since the last judgement; kForever: none) reaches through the judge's
  // look-ahead. Observations are parsed onto `arena`, unless `indexed`
  // (IndexNewEvidence's) holds them.
  absl::Status Rejudge(const std::string& host, int64_t from, int64_t evidence_from,
                       google::protobuf::Arena* arena, const Indexed* indexed);
  // The judge facts at the start of `day`: the last record stored at or
  // before it (Rejudge writes one only where they changed). False: none.
  absl::StatusOr<bool> FactsAt(const std::string& host, uint32_t day, v1::JudgeFacts* facts);
  absl::Status ProcessHost(const std::string& host, int64_t from);
  absl::Status RebuildWindow(const v1::WindowDef& window, int sign, store::WriteBatch* batch);
  void MarkAll(int64_t from);
  void Mark(const std::string& host, int64_t from);

  store::Store& store_;
  const Clock& clock_;
  const EngineOptions options_;
  EngineState state_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  // host -> (earliest time to rejudge from, kForever = only new evidence;
  // when it became due).
  struct Dirty {
    int64_t from = kForever;
    absl::Time due;
  };
  std::map<std::string, Dirty> dirty_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_ENGINE_H_
