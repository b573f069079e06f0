#include "ctl/bundle_replay.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/evidence/interchange.h"
#include "daemon/store/keys.h"
#include "daemon/store/memory_store.h"
#include "daemon/store/rocksdb_store.h"
#include "daemon/windows/summary.h"

namespace attest::ctl {
namespace {

template <typename J>
absl::Status Time(const J& j, const char* key, google::protobuf::Timestamp* out) {
  const J* v = j.Find(key);
  if (v == nullptr || !v->is_string())
    return absl::InvalidArgumentError(StrCat(key, " is required"));
  auto t = ParseRfc3339(v->as_string());
  if (!t.ok()) return absl::InvalidArgumentError(StrCat(key, ": ", t.status().message()));
  *out = ToProto(*t);
  return absl::OkStatus();
}

template <typename J>
absl::Status RecordFrom(const J& j, v1::EvidenceRecord* out) {
  v1::EvidenceRecord& r = *out;
  const J* kind = j.Find("kind");
  if (kind == nullptr || !kind->is_string()) return absl::InvalidArgumentError("kind is required");
  if (kind->as_string() == "gap") {
    const J* gap = j.Find("gap");
    const J* first = gap ? gap->Find("first_seq") : nullptr;
    const J* last = gap ? gap->Find("last_seq") : nullptr;
    if (!first || !last || !first->as_uint() || !last->as_uint()) {
      return absl::InvalidArgumentError("gap needs first_seq and last_seq");
    }
    r.mutable_gap()->set_first_seq(*first->as_uint());
    r.mutable_gap()->set_last_seq(*last->as_uint());
    const J* host = j.Find("host");
    if (host == nullptr || !host->is_string())
      return absl::InvalidArgumentError("host is required");
    r.set_host(std::string(host->as_string()));
    if (const J* inst = j.Find("instance_id"); inst && inst->is_string()) {
      r.set_instance_id(std::string(inst->as_string()));
    }
    if (absl::Status s = Time(j, "observed_at", r.mutable_observed_at()); !s.ok()) return s;
  } else {
    // On the record's arena, if it has one: moving its parts over is then
    // a swap of pointers.
    google::protobuf::Arena* arena = r.GetArena();
    auto* parsed = google::protobuf::Arena::CreateMessage<v1::ImportRecord>(arena);
    const std::unique_ptr<v1::ImportRecord> owned(arena == nullptr ? parsed : nullptr);
    if (absl::Status s = evidence::ParseInterchangeJson(j, parsed); !s.ok()) return s;
    r.set_host(parsed->host());
    r.set_instance_id(parsed->instance_id());
    if (parsed->has_hello()) {
      *r.mutable_hello() = std::move(*parsed->mutable_hello());
      *r.mutable_observed_at() = r.hello().sent_at();
    } else {
      *r.mutable_signal() = std::move(*parsed->mutable_signal());
      *r.mutable_observed_at() = r.signal().observed_at();
    }
  }
  const J* index = j.Find("index");
  const J* seq = j.Find("seq");
  const J* origin = j.Find("origin");
  if (!index || !index->as_uint() || !seq || !seq->as_uint() || !origin || !origin->is_string()) {
    return absl::InvalidArgumentError("index, seq and origin are required");
  }
  r.set_index(*index->as_uint());
  r.set_seq(*seq->as_uint());
  if (origin->as_string() != "live" && origin->as_string() != "imported") {
    return absl::InvalidArgumentError("origin must be live or imported");
  }
  r.set_origin(origin->as_string() == "live" ? v1::ORIGIN_LIVE : v1::ORIGIN_IMPORTED);
  return Time(j, "received_at", r.mutable_received_at());
}

template <typename J>
absl::StatusOr<v1::EvidenceRecord> RecordFrom(const J& j) {
  v1::EvidenceRecord r;
  if (absl::Status s = RecordFrom(j, &r); !s.ok()) return s;
  return r;
}

}  // namespace

absl::StatusOr<v1::EvidenceRecord> RecordFromInterchange(const Json& record) {
  return RecordFrom(record);
}

absl::Status RecordFromInterchange(const Json& record, v1::EvidenceRecord* out) {
  return RecordFrom(record, out);
}

absl::Status RecordFromInterchange(const JsonView& record, v1::EvidenceRecord* out) {
  return RecordFrom(record, out);
}

ReplayStore::ReplayStore(std::string scratch_dir, uint64_t memory_limit)
    : scratch_dir_(std::move(scratch_dir)),
      memory_limit_(memory_limit),
      store_(std::make_unique<store::MemoryStore>()) {}

ReplayStore::~ReplayStore() {
  store_.reset();
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
}

absl::Status ReplayStore::Prepare(uint64_t record_bytes) {
  if (record_bytes <= memory_limit_) return absl::OkStatus();
  std::string base = scratch_dir_;
  if (base.empty()) base = getenv("TMPDIR") != nullptr ? getenv("TMPDIR") : "/tmp";
  std::string dir = base + "/attest-verify.XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError(StrCat("cannot make a scratch directory in ", base));
  }
  scratch_ = dir;
  auto rocks = store::OpenRocksDbStore(dir, {.scratch = true});
  if (!rocks.ok()) return rocks.status();
  store_ = std::move(*rocks);
  return absl::OkStatus();
}

absl::Status ReplayStore::Add(const v1::EvidenceRecord& r) {
  v1::HostState& hs = hosts_[r.host()];
  hs.set_host(r.host());
  if (r.has_hello()) *hs.mutable_labels() = r.hello().labels();
  hs.set_chain_length(r.index());
  batch_.Put(store::Family::kEvidence, store::EvidenceKey(r.host(), r.index()),
             r.SerializeAsString());
  if (++batched_ < 10000) return absl::OkStatus();
  return Flush();
}

void ReplayStore::SetLabels(const std::string& host,
                            const std::map<std::string, std::string>& labels) {
  v1::HostState& hs = hosts_[host];
  hs.set_host(host);
  hs.mutable_labels()->clear();
  for (const auto& [k, v] : labels) (*hs.mutable_labels())[k] = v;
}

absl::Status ReplayStore::Flush() {
  if (batched_ == 0) return absl::OkStatus();
  batched_ = 0;
  absl::Status s = store_->Write(std::move(batch_), {.sync = false});
  batch_ = store::WriteBatch();
  return s;
}

absl::Status ReplayStore::EndHost(const std::string& host) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return absl::OkStatus();
  batch_.Put(store::Family::kHosts, host, it->second.SerializeAsString());
  ++batched_;
  return Flush();
}

absl::Status ReplayStore::Finish() {
  for (const auto& [host, hs] : hosts_) {
    batch_.Put(store::Family::kHosts, host, hs.SerializeAsString());
    ++batched_;
  }
  return Flush();
}

std::vector<std::string> ReplayStore::Hosts() const {
  std::vector<std::string> out;
  out.reserve(hosts_.size());
  for (const auto& entry : hosts_) out.push_back(entry.first);
  return out;
}

struct SummaryReplay::Engine {
  explicit Engine(const v1::BundleManifest& m, store::Store& store)
      : clock(FromProto(m.summary().computed_at())),
        engine(store, clock, {.judge_delay = absl::ZeroDuration()}) {}
  FakeClock clock;
  engine::Engine engine;
};

SummaryReplay::SummaryReplay(const v1::BundleManifest& manifest, ReplayStore& records,
                             const ReviewPopulations* reviews)
    : manifest_(manifest), records_(records), reviews_(reviews) {}

SummaryReplay::~SummaryReplay() {
  if (engine_) engine_->engine.Stop();
}

absl::Status SummaryReplay::Begin() {
  const v1::BundleManifest& m = manifest_;
  engine_ = std::make_unique<Engine>(m, records_.store());
  if (absl::Status s = engine_->engine.Start(); !s.ok()) return s;
  // In one batch: when the records are already stored (the exporter's
  // pick, a bundle whose manifest comes after its records), each policy
  // version and approval judged every host again, each from its time on
  // (a host of the window bench 67 times in one export).
  absl::Status applied;
  engine_->engine.Batch([&] {
    applied = ApplyBeforeRecords();
    // Hosts are judged as of the summary's moment.
    engine_->clock.Set(FromProto(m.summary().computed_at()));
  });
  return applied;
}

void SummaryReplay::HostReady(const std::string& host) {
  if (engine_) engine_->engine.NotifyEvidence(host);
}

absl::Status SummaryReplay::ApplyBeforeRecords() {
  const v1::BundleManifest& m = manifest_;
  FakeClock& clock = engine_->clock;
  engine::Engine& engine = engine_->engine;
  std::vector<v1::PolicyVersion> versions(m.policy_versions().begin(), m.policy_versions().end());
  // As attestd keeps them (by load time to the nanosecond); ledger order
  // among equal times.
  std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return std::pair(a.loaded_at().seconds(), a.loaded_at().nanos()) <
           std::pair(b.loaded_at().seconds(), b.loaded_at().nanos());
  });
  for (const v1::PolicyVersion& v : versions) {
    // Before the text: a newer judgement may come with policy text this
    // attestctl does not read either.
    if (v.judge() > engine::kJudgement) {
      return absl::DataLossError(StrCat("policy version ", v.version(),
                                        " is judged under judgement ", v.judge(),
                                        "; this attestctl knows judgements 1 to ",
                                        engine::kJudgement, "; a newer attestctl is needed"));
    }
    auto policy = engine::ParsePolicy(v.source(), v.file());
    if (!policy.ok()) return policy.status();
    clock.Set(FromProto(v.loaded_at()));
    if (absl::Status s = engine.LoadPolicy(*policy, v.file(), v.judge()); !s.ok()) return s;
  }
  clock.Set(FromProto(m.summary().computed_at()));
  if (m.window().origin() != "policy") {
    auto w = engine.CreateWindow(m.window());
    if (!w.ok()) return w.status();
  }
  // Approvals and exceptions, each at the moment it was recorded, before
  // any record: each host is then judged once, with them. Applied after
  // the records, each approval rejudged its host: a quarter of verify's
  // time on a fleet with 59 of them.
  for (v1::Approval a : m.approvals()) {
    clock.Set(FromProto(a.recorded_at()));
    if (auto r = engine.RestoreApproval(std::move(a)); !r.ok()) return r.status();
  }
  for (const v1::Exception& x : m.exceptions()) {
    v1::Exception create = x;
    create.clear_revoked_at();
    clock.Set(FromProto(x.recorded_at()));
    if (auto r = engine.CreateException(create); !r.ok()) return r.status();
    if (x.has_revoked_at()) {
      v1::RevokeExceptionRequest revoke;
      revoke.set_id(x.id());
      *revoke.mutable_at() = x.revoked_at();
      revoke.set_reason("replayed from the bundle");
      clock.Set(std::max(FromProto(x.revoked_at()), FromProto(x.recorded_at())));
      if (auto r = engine.RevokeException(revoke, "bundle"); !r.ok()) return r.status();
    }
  }
  // Access reviews: each campaign with its population, then the decisions,
  // as recorded. The engine confirms revocations from the records as it
  // indexes them, the earliest removal at or after each decision, as it
  // would from records indexed before.
  for (const v1::ReviewCampaign& c : m.review_campaigns()) {
    const ReviewPopulation* p = nullptr;
    if (reviews_ != nullptr) {
      if (auto it = reviews_->find(c.id()); it != reviews_->end()) p = &it->second;
    }
    if (p == nullptr) {
      return absl::DataLossError(StrCat("no population for review campaign ", c.id()));
    }
    clock.Set(FromProto(c.started_at()));
    if (absl::Status s = engine.RestoreReview(c, p->hosts, p->entries); !s.ok()) return s;
  }
  std::vector<v1::ReviewDecision> decisions(m.review_decisions().begin(),
                                            m.review_decisions().end());
  if (!decisions.empty()) {
    if (absl::Status s = engine.RestoreReviewDecisions(decisions); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SummaryReplay::CheckApprovalHosts() {
  // As Approve would have found them: each approval's change was reported
  // first by the host the approval names.
  for (const v1::Approval& a : manifest_.approvals()) {
    auto owner =
        records_.store().Get(store::Family::kApprovals, engine::keys::ChangeHost(a.change_id()));
    if (!owner.ok() && !absl::IsNotFound(owner.status())) return owner.status();
    if (!owner.ok() || *owner != a.host()) {
      return absl::DataLossError(StrCat(
          "the approval of access change \"", a.change_id(), "\" names host ", a.host(), ", but ",
          owner.ok() ? StrCat("host ", *owner, " reported that change first")
                     : std::string("no record of the bundle reports that change")));
    }
  }
  return absl::OkStatus();
}

absl::Status SummaryReplay::ApplyDecommissions() {
  const v1::BundleManifest& m = manifest_;
  FakeClock& clock = engine_->clock;
  engine::Engine& engine = engine_->engine;
  for (const v1::Decommission& d : m.decommissions()) {
    clock.Set(FromProto(d.recorded_at()));
    if (auto r = engine.Decommission(d); !r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::WindowSummary> SummaryReplay::Finish() {
  if (!engine_) return absl::FailedPreconditionError("the replay has not begun");
  const v1::BundleManifest& m = manifest_;
  FakeClock& clock = engine_->clock;
  engine::Engine& engine = engine_->engine;
  for (const std::string& host : records_.Hosts()) engine.NotifyEvidence(host);
  engine.Sync();
  if (absl::Status s = CheckApprovalHosts(); !s.ok()) return s;
  // Decommissions name hosts the engine must hold: after the records, in
  // the order recorded, judged once after the last (Engine::Batch).
  absl::Status applied;
  engine.Batch([&] {
    applied = ApplyDecommissions();
    clock.Set(FromProto(m.summary().computed_at()));
  });
  if (!applied.ok()) return applied;
  absl::StatusOr<v1::WindowSummary> out;
  v1::SummarizeRequest req;
  req.set_window(m.window().id());
  const int64_t window_start = m.window().start().seconds();
  engine.Read([&](const engine::EngineState& state) {
    out = windows::Summarize(state, records_.store(), clock.Now(), req);
    for (const auto& [host, view] : state.views) {
      review_spans_[host] = engine.ReviewSpans(host);
      for (const auto& [control, runs] : view.deviations) {
        for (const engine::DeviationRun& r : runs) {
          if (r.start <= window_start && r.end > window_start) {
            runs_at_start_[host][control] = r.start;
          }
        }
      }
    }
  });
  engine.Stop();
  return out;
}

std::vector<engine::ReviewSpan> SummaryReplay::ReviewSpansOf(const std::string& host) const {
  auto it = review_spans_.find(host);
  return it == review_spans_.end() ? std::vector<engine::ReviewSpan>{} : it->second;
}

absl::StatusOr<v1::WindowSummary> ReplaySummary(const v1::BundleManifest& m, ReplayStore& records,
                                                const ReviewPopulations* reviews) {
  SummaryReplay replay(m, records, reviews);
  if (absl::Status s = replay.Begin(); !s.ok()) return s;
  return replay.Finish();
}

absl::Status CompareSummaries(const v1::WindowSummary& expected, const v1::WindowSummary& got) {
  auto differ = [](std::string_view control, std::string_view what, auto a, auto b) {
    return absl::DataLossError(StrCat("the summary does not follow from the records: control ",
                                      control, ": ", what, " is ", a, " in the manifest but ", b,
                                      " recomputed"));
  };
  if (expected.controls_size() != got.controls_size()) {
    return differ("*", "the number of controls", expected.controls_size(), got.controls_size());
  }
  for (int i = 0; i < expected.controls_size(); ++i) {
    const v1::ControlSummary& e = expected.controls(i);
    const v1::ControlSummary& g = got.controls(i);
    if (e.id() != g.id()) return differ(e.id(), "the control id", e.id(), g.id());
    const v1::StateSeconds& es = e.seconds();
    const v1::StateSeconds& gs = g.seconds();
    if (es.pass() != gs.pass()) return differ(e.id(), "PASS seconds", es.pass(), gs.pass());
    if (es.fail() != gs.fail()) return differ(e.id(), "FAIL seconds", es.fail(), gs.fail());
    if (es.no_evidence() != gs.no_evidence()) {
      return differ(e.id(), "NO_EVIDENCE seconds", es.no_evidence(), gs.no_evidence());
    }
    if (es.excepted() != gs.excepted()) {
      return differ(e.id(), "EXCEPTED seconds", es.excepted(), gs.excepted());
    }
    if (e.hosts() != g.hosts()) return differ(e.id(), "hosts", e.hosts(), g.hosts());
    if (e.deviations_size() != g.deviations_size()) {
      return differ(e.id(), "deviations", e.deviations_size(), g.deviations_size());
    }
    for (int d = 0; d < e.deviations_size(); ++d) {
      if (e.deviations(d).SerializeAsString() != g.deviations(d).SerializeAsString()) {
        return differ(e.id(), StrCat("deviation ", d + 1), e.deviations(d).ShortDebugString(),
                      g.deviations(d).ShortDebugString());
      }
    }
    if (e.verdict() != g.verdict()) return differ(e.id(), "the verdict", e.verdict(), g.verdict());
  }
  return absl::OkStatus();
}

}  // namespace attest::ctl
