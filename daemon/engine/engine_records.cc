// The records people create (approvals, exceptions, decommissions,
// windows) and loading the engine's state at start.
#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/records.h"
#include "daemon/engine/scan.h"
#include "daemon/ingest/validate.h"
#include "spdlog/spdlog.h"

namespace attest::engine {
namespace {

constexpr absl::Duration kMaxFuture = absl::Minutes(5);

void FoldApproval(EngineState& state, const v1::Approval& a) {
  auto& events = state.approvals[a.host()][a.change_id()];
  events.push_back({a.approved_at().seconds(), !a.revoked()});
  std::stable_sort(events.begin(), events.end(),
                   [](const ApprovalEvent& x, const ApprovalEvent& y) { return x.t < y.t; });
  state.approval_records[a.change_id()].push_back(a);
}

void FoldException(EngineState& state, const v1::Exception& x) {
  if (x.revokes().empty()) {
    state.exceptions[x.id()] = x;
  } else if (auto it = state.exceptions.find(x.revokes()); it != state.exceptions.end()) {
    *it->second.mutable_revoked_at() = x.revoked_at();
  }
}

absl::Status Require(const std::string& value, const char* what) {
  if (value.empty()) return absl::InvalidArgumentError(attest::StrCat(what, " is required"));
  if (value.size() > 1024) return absl::InvalidArgumentError(attest::StrCat(what, " is too long"));
  return absl::OkStatus();
}

}  // namespace

absl::Status Engine::LoadState() {
  absl::Status s = ScanPrefixMessages<v1::PolicyVersion>(
      store_, store::Family::kPolicyVersions, "", [&](v1::PolicyVersion&& v) {
        if (v.judge() > kJudgement) {
          return absl::FailedPreconditionError(attest::StrCat(
              "stored policy version ", v.version(), " is judged under judgement ", v.judge(),
              ", which a newer attestd recorded; this one knows judgements 1 to ", kJudgement));
        }
        auto policy = ParsePolicy(v.source(), v.file());
        if (!policy.ok())
          return absl::DataLossError(attest::StrCat("stored policy version ", v.version(), ": ",
                                                    policy.status().message()));
        state_.policies.push_back({std::move(v), std::move(*policy)});
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  s = ScanPrefixMessages<v1::WindowDef>(store_, store::Family::kWindows, "",
                                        [&](v1::WindowDef&& w) {
                                          state_.windows[w.id()] = std::move(w);
                                          return absl::OkStatus();
                                        });
  if (!s.ok()) return s;
  s = ScanPrefixMessages<v1::EngineHost>(store_, store::Family::kEngineHosts, "",
                                         [&](v1::EngineHost&& h) {
                                           state_.hosts[h.host()] = std::move(h);
                                           return absl::OkStatus();
                                         });
  if (!s.ok()) return s;
  s = ScanPrefixMessages<v1::DeviationRecord>(
      store_, store::Family::kDeviations, "", [&](v1::DeviationRecord&& d) {
        state_.views[d.host()].deviations[d.control()].push_back(
            {d.start(), d.end(), std::move(*d.mutable_cause())});
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  for (const auto& [host, eh] : state_.hosts) {
    if (eh.judged_through_day() == 0) continue;
    HostView& view = state_.views[host];
    view.day = eh.judged_through_day();
    s = ScanMessages<v1::HostDay>(
        store_, store::Family::kTimeline, keys::HostDayFrom(host, view.day),
        keys::HostDayFrom(host, view.day + 1),
        [&](v1::HostDay&& d) { view.day_records.push_back(std::move(d)); });
    if (!s.ok()) return s;
    v1::JudgeFacts f;
    absl::StatusOr<bool> found = FactsAt(host, view.day + 1, &f);
    if (!found.ok()) return found.status();
    if (*found) view.patch = std::move(*f.mutable_patch());
  }
  // Hosts with evidence the engine has never seen.
  s = store_.Scan(store::Family::kHosts, "", "", [&](std::string_view key, std::string_view) {
    state_.hosts[std::string(key)].set_host(std::string(key));
    return true;
  });
  if (!s.ok()) return s;
  s = ScanPrefixMessages<v1::Exception>(store_, store::Family::kExceptions, "",
                                        [&](v1::Exception&& x) {
                                          FoldException(state_, x);
                                          return absl::OkStatus();
                                        });
  if (!s.ok()) return s;
  s = ScanPrefixMessages<v1::Approval>(store_, store::Family::kApprovals, keys::ApprovalPrefix(),
                                       [&](v1::Approval&& a) {
                                         FoldApproval(state_, a);
                                         return absl::OkStatus();
                                       });
  if (!s.ok()) return s;
  return LoadReviews();
}

absl::Status Engine::BackfillLedger() {
  evidence::Ledger* ledger = options_.ledger;
  if (ledger == nullptr || ledger->Head().length > 0) return absl::OkStatus();
  // (recorded time, order of reading) -> the decision: the ledger lists
  // them in the order they were stored.
  std::vector<std::pair<int64_t, v1::LedgerEntry>> found;
  auto add = [&](const google::protobuf::Timestamp& at, v1::LedgerEntry e) {
    *e.mutable_recorded_at() = at;
    found.emplace_back(absl::ToUnixNanos(FromProto(at)), std::move(e));
    return absl::OkStatus();
  };
  absl::Status s = ScanPrefixMessages<v1::PolicyVersion>(store_, store::Family::kPolicyVersions, "",
                                                         [&](v1::PolicyVersion&& v) {
                                                           v1::LedgerEntry e;
                                                           *e.mutable_policy_version() = v;
                                                           return add(v.loaded_at(), std::move(e));
                                                         });
  if (s.ok()) {
    s = ScanPrefixMessages<v1::WindowDef>(store_, store::Family::kWindows, "",
                                          [&](v1::WindowDef&& w) {
                                            v1::LedgerEntry e;
                                            *e.mutable_window() = w;
                                            return add(w.created_at(), std::move(e));
                                          });
  }
  if (s.ok()) {
    s = ScanPrefixMessages<v1::Approval>(store_, store::Family::kApprovals, keys::ApprovalPrefix(),
                                         [&](v1::Approval&& a) {
                                           v1::LedgerEntry e;
                                           *e.mutable_approval() = a;
                                           return add(a.recorded_at(), std::move(e));
                                         });
  }
  if (s.ok()) {
    s = ScanPrefixMessages<v1::Exception>(store_, store::Family::kExceptions, "",
                                          [&](v1::Exception&& x) {
                                            v1::LedgerEntry e;
                                            *e.mutable_exception() = x;
                                            return add(x.recorded_at(), std::move(e));
                                          });
  }
  if (s.ok()) {
    s = ScanPrefixMessages<v1::Decommission>(store_, store::Family::kDecommissions, "",
                                             [&](v1::Decommission&& d) {
                                               v1::LedgerEntry e;
                                               *e.mutable_decommission() = d;
                                               return add(d.recorded_at(), std::move(e));
                                             });
  }
  if (s.ok()) {
    s = ScanPrefixMessages<v1::SampleDraw>(store_, store::Family::kSamples, "",
                                           [&](v1::SampleDraw&& d) {
                                             v1::LedgerEntry e;
                                             *e.mutable_sample() = d;
                                             return add(d.drawn_at(), std::move(e));
                                           });
  }
  if (!s.ok()) return s;
  if (found.empty()) return absl::OkStatus();
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto now = ToProto(clock_.Now());
  std::vector<v1::LedgerEntry> entries;
  entries.reserve(found.size());
  for (auto& [t, e] : found) {
    *e.mutable_backfilled_at() = now;
    entries.push_back(std::move(e));
  }
  // One write: a crash leaves the ledger empty, and the next start retries.
  if (s = ledger->CommitAll(std::move(entries), {}); !s.ok()) return s;
  spdlog::info("ledger: {} decisions stored before the ledger existed entered it", found.size());
  return absl::OkStatus();
}

absl::Status Engine::Record(absl::Time at, v1::LedgerEntry decision, store::WriteBatch batch) {
  if (options_.ledger == nullptr) return store_.Write(batch, {.sync = true});
  *decision.mutable_recorded_at() = ToProto(at);
  return options_.ledger->Commit(std::move(decision), std::move(batch));
}

absl::Status Engine::RecordAll(absl::Time at, std::vector<v1::LedgerEntry> decisions,
                               store::WriteBatch batch) {
  if (options_.ledger == nullptr) return store_.Write(batch, {.sync = true});
  for (v1::LedgerEntry& d : decisions) *d.mutable_recorded_at() = ToProto(at);
  return options_.ledger->CommitAll(std::move(decisions), std::move(batch));
}

absl::Status Engine::PutWindow(const v1::WindowDef& window) {
  store::WriteBatch batch;
  batch.Put(store::Family::kWindows, window.id(), window.SerializeAsString());
  // Aggregates are rebuilt from the day records of the hosts in scope.
  absl::Status s =
      store::ScanPrefix(store_, store::Family::kRollup, keys::WindowDayPrefix(window.id()),
                        [&](std::string_view key, std::string_view) {
                          batch.Delete(store::Family::kRollup, std::string(key));
                          return true;
                        });
  if (!s.ok()) return s;
  std::map<std::pair<std::string, uint32_t>, v1::WindowDay> aggregates;
  const Seconds ws = window.start().seconds();
  const Seconds we = window.end().seconds();
  for (const auto& [host, eh] : state_.hosts) {
    if (!SelectorMatches(window.scope(), eh.labels())) continue;
    s = ScanPrefixMessages<v1::HostDay>(store_, store::Family::kTimeline, keys::Str(host),
                                        [&](v1::HostDay&& d) {
                                          v1::StateSeconds c = Clip(d, ws, we);
                                          if (Total(c) == 0) return absl::OkStatus();
                                          v1::WindowDay& agg = aggregates[{d.control(), d.day()}];
                                          AddSeconds(agg.mutable_seconds(), c);
                                          agg.set_hosts(agg.hosts() + 1);
                                          return absl::OkStatus();
                                        });
    if (!s.ok()) return s;
  }
  for (const auto& [k, agg] : aggregates) {
    batch.Put(store::Family::kRollup, keys::WindowDay(window.id(), k.first, k.second),
              agg.SerializeAsString());
  }
  v1::LedgerEntry entry;
  *entry.mutable_window() = window;
  if (s = Record(FromProto(window.created_at()), std::move(entry), std::move(batch)); !s.ok()) {
    return s;
  }
  state_.windows[window.id()] = window;
  return absl::OkStatus();
}

absl::StatusOr<v1::WindowDef> Engine::CreateWindow(v1::WindowDef window) {
  absl::StatusOr<v1::WindowDef> result;
  RunOnThread([&] {
    if (!ingest::IsValidHostId(window.id())) {
      result = absl::InvalidArgumentError("window id must be 1-253 characters of [A-Za-z0-9._-]");
      return;
    }
    if (state_.windows.count(window.id())) {
      result = absl::AlreadyExistsError(attest::StrCat("window \"", window.id(), "\" exists"));
      return;
    }
    if (window.end().seconds() <= window.start().seconds()) {
      result = absl::InvalidArgumentError("window end must be after its start");
      return;
    }
    const auto& t = window.thresholds();
    if (!(t.effectiveness() >= 0 && t.effectiveness() <= 1) ||  // NaN fails too
        !(t.coverage() >= 0 && t.coverage() <= 1) || t.max_deviation_seconds() < 0) {
      result = absl::InvalidArgumentError(
          "thresholds: effectiveness and coverage are fractions in [0, 1], max_deviation >= 0");
      return;
    }
    window.set_origin("api");
    *window.mutable_created_at() = ToProto(clock_.Now());
    if (absl::Status s = PutWindow(window); !s.ok()) {
      result = s;
      return;
    }
    result = window;
  });
  return result;
}

std::vector<v1::WindowDef> Engine::Windows() {
  std::vector<v1::WindowDef> out;
  RunOnThread([&] {
    for (const auto& [id, w] : state_.windows) out.push_back(w);
  });
  return out;
}

absl::StatusOr<v1::Approval> Engine::Approve(v1::Approval a) {
  absl::StatusOr<v1::Approval> result;
  RunOnThread([&] { result = RecordApproval(std::move(a), /*restore=*/false); });
  return result;
}

absl::StatusOr<v1::Approval> Engine::RestoreApproval(v1::Approval a) {
  absl::StatusOr<v1::Approval> result;
  RunOnThread([&] { result = RecordApproval(std::move(a), /*restore=*/true); });
  return result;
}

absl::StatusOr<v1::Approval> Engine::RecordApproval(v1::Approval a, bool restore) {
  const absl::Time now = clock_.Now();
  for (auto [value, what] : {std::pair{&a.change_id(), "change id"},
                             {&a.ticket(), "ticket"},
                             {&a.approver(), "approver"}}) {
    if (absl::Status s = Require(*value, what); !s.ok()) return s;
  }
  if (a.has_approved_at() && FromProto(a.approved_at()) > now + kMaxFuture) {
    return absl::InvalidArgumentError("an approval cannot be given in the future");
  }
  if (restore) {
    // The host the approval names; the replay checks, once the records
    // are in, that it reported the change first.
    if (absl::Status s = Require(a.host(), "host"); !s.ok()) return s;
  } else {
    auto host = store_.Get(store::Family::kApprovals, keys::ChangeHost(a.change_id()));
    if (!host.ok()) {
      return host.status().code() == absl::StatusCode::kNotFound
                 ? absl::NotFoundError(attest::StrCat("no access change \"", a.change_id(), "\""))
                 : host.status();
    }
    a.set_host(*host);
  }
  if (!a.has_approved_at()) *a.mutable_approved_at() = ToProto(now);
  *a.mutable_recorded_at() = ToProto(now);
  store::WriteBatch batch;
  batch.Put(store::Family::kApprovals, keys::Approval(a.change_id(), absl::ToUnixNanos(now)),
            a.SerializeAsString());
  v1::LedgerEntry entry;
  *entry.mutable_approval() = a;
  if (absl::Status s = Record(now, std::move(entry), std::move(batch)); !s.ok()) return s;
  FoldApproval(state_, a);
  if (restore) {
    MarkKnown(a.host(), a.approved_at().seconds());  // judged when its records come
  } else {
    Mark(a.host(), a.approved_at().seconds());
  }
  return a;
}

std::vector<v1::Approval> Engine::Approvals(const std::string& change_id) {
  std::vector<v1::Approval> out;
  RunOnThread([&] {
    for (const auto& [id, records] : state_.approval_records) {
      if (change_id.empty() || id == change_id)
        out.insert(out.end(), records.begin(), records.end());
    }
  });
  return out;
}

absl::StatusOr<v1::Exception> Engine::CreateException(v1::Exception x) {
  absl::StatusOr<v1::Exception> result;
  RunOnThread([&] {
    for (auto [value, what] : {std::pair{&x.control(), "control"},
                               {&x.reason(), "reason"},
                               {&x.approver(), "approver"},
                               {&x.ticket(), "ticket"}}) {
      if (absl::Status s = Require(*value, what); !s.ok()) {
        result = s;
        return;
      }
    }
    if (x.control() != "*") {
      // A typo would except nothing while looking like an exception.
      const std::vector<std::string> controls = state_.ControlIds();
      if (std::find(controls.begin(), controls.end(), x.control()) == controls.end()) {
        result = absl::NotFoundError(attest::StrCat("no control \"", x.control(),
                                                    "\" in any policy version (or * for all)"));
        return;
      }
    }
    if (x.host().empty() == x.selector().empty()) {
      result =
          absl::InvalidArgumentError("an exception names a host or a label selector, not both");
      return;
    }
    if (x.end().seconds() <= x.start().seconds()) {
      result = absl::InvalidArgumentError("an exception's end must be after its start");
      return;
    }
    const absl::Time now = clock_.Now();
    x.set_id(attest::StrCat("EX-", state_.exceptions.size() + 1));
    *x.mutable_recorded_at() = ToProto(now);
    x.clear_revokes();
    x.clear_revoked_at();
    store::WriteBatch batch;
    batch.Put(store::Family::kExceptions, x.id(), x.SerializeAsString());
    v1::LedgerEntry entry;
    *entry.mutable_exception() = x;
    if (absl::Status s = Record(now, std::move(entry), std::move(batch)); !s.ok()) {
      result = s;
      return;
    }
    FoldException(state_, x);
    for (const auto& [host, eh] : state_.hosts) {
      if (ExceptionFor(x, host, eh.labels(), x.control()) || x.control() == "*") {
        Mark(host, x.start().seconds());
      }
    }
    result = x;
  });
  return result;
}

absl::StatusOr<v1::Exception> Engine::RevokeException(const v1::RevokeExceptionRequest& request,
                                                      const std::string& recorded_by) {
  absl::StatusOr<v1::Exception> result;
  RunOnThread([&] {
    if (absl::Status s = Require(request.reason(), "reason"); !s.ok()) {
      result = s;
      return;
    }
    const absl::Time now = clock_.Now();
    if (request.has_at() && FromProto(request.at()) > now + kMaxFuture) {
      result = absl::InvalidArgumentError("a revocation cannot be dated in the future");
      return;
    }
    auto it = state_.exceptions.find(request.id());
    if (it == state_.exceptions.end()) {
      result = absl::NotFoundError(attest::StrCat("no exception \"", request.id(), "\""));
      return;
    }
    if (it->second.has_revoked_at()) {
      // A second revocation would silently move the end of the first.
      result = absl::FailedPreconditionError(
          attest::StrCat("exception \"", request.id(), "\" was already revoked at ",
                         FormatRfc3339(FromProto(it->second.revoked_at()))));
      return;
    }
    v1::Exception rev;
    rev.set_id(attest::StrCat(request.id(), "/revoked@", absl::ToUnixNanos(now)));
    rev.set_revokes(request.id());
    rev.set_control(it->second.control());
    rev.set_reason(request.reason());
    rev.set_approver(request.approver());
    rev.set_recorded_by(recorded_by);
    *rev.mutable_recorded_at() = ToProto(now);
    *rev.mutable_revoked_at() = request.has_at() ? request.at() : ToProto(now);
    store::WriteBatch batch;
    batch.Put(store::Family::kExceptions, rev.id(), rev.SerializeAsString());
    v1::LedgerEntry entry;
    *entry.mutable_exception() = rev;
    if (absl::Status s = Record(now, std::move(entry), std::move(batch)); !s.ok()) {
      result = s;
      return;
    }
    FoldException(state_, rev);
    for (const auto& [host, eh] : state_.hosts) Mark(host, rev.revoked_at().seconds());
    result = it->second;
  });
  return result;
}

std::vector<v1::Exception> Engine::Exceptions() {
  std::vector<v1::Exception> out;
  RunOnThread([&] {
    for (const auto& [id, x] : state_.exceptions) out.push_back(x);
  });
  return out;
}

absl::StatusOr<v1::Decommission> Engine::Decommission(v1::Decommission d) {
  absl::StatusOr<v1::Decommission> result;
  RunOnThread([&] {
    auto it = state_.hosts.find(d.host());
    if (it == state_.hosts.end()) {
      result = absl::NotFoundError(attest::StrCat("no host \"", d.host(), "\""));
      return;
    }
    const absl::Time now = clock_.Now();
    if (!d.has_at()) *d.mutable_at() = ToProto(now);
    if (FromProto(d.at()) > now + kMaxFuture) {
      result = absl::InvalidArgumentError("a decommission cannot be dated in the future");
      return;
    }
    if (it->second.decommissioned() != 0) {
      // Deciding again would silently move the end of the host's service.
      result = absl::FailedPreconditionError(
          attest::StrCat("host \"", d.host(), "\" was already decommissioned at ",
                         FormatRfc3339(absl::FromUnixSeconds(it->second.decommissioned()))));
      return;
    }
    if (it->second.enrolled() != 0 && d.at().seconds() < it->second.enrolled()) {
      result = absl::InvalidArgumentError(
          attest::StrCat("a decommission cannot be dated before the host's first observation (",
                         FormatRfc3339(absl::FromUnixSeconds(it->second.enrolled())), ")"));
      return;
    }
    *d.mutable_recorded_at() = ToProto(now);
    v1::EngineHost eh = it->second;  // changed in memory only once stored
    eh.set_decommissioned(d.at().seconds());
    store::WriteBatch batch;
    batch.Put(store::Family::kDecommissions, keys::Decommission(d.host(), absl::ToUnixNanos(now)),
              d.SerializeAsString());
    batch.Put(store::Family::kEngineHosts, d.host(), eh.SerializeAsString());
    v1::LedgerEntry entry;
    *entry.mutable_decommission() = d;
    if (absl::Status s = Record(now, std::move(entry), std::move(batch)); !s.ok()) {
      result = s;
      return;
    }
    it->second = std::move(eh);
    Mark(d.host(), d.at().seconds());
    result = d;
  });
  return result;
}

std::vector<v1::PolicyVersion> Engine::PolicyVersions() {
  std::vector<v1::PolicyVersion> out;
  RunOnThread([&] {
    for (const LoadedPolicy& p : state_.policies) out.push_back(p.record);
  });
  return out;
}

}  // namespace attest::engine
