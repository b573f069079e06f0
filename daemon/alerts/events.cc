#include "daemon/alerts/events.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/scan.h"
#include "daemon/evidence/record_json.h"

namespace attest::alerts {
namespace {

using engine::Control;
using engine::Rule;

std::string Time(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

std::string Tsc(const Control& c) {
  std::string tsc;
  for (const std::string& t : c.tsc) tsc += (tsc.empty() ? "" : ",") + t;
  return tsc;
}

// The interval of `control` covering `now` in the host's view.
const v1::Interval* IntervalNow(const engine::HostView& view, const std::string& control,
                                int64_t now) {
  for (const v1::HostDay& d : view.day_records) {
    if (d.control() != control) continue;
    for (const v1::Interval& iv : d.intervals()) {
      if (iv.start() <= now && now < iv.end()) return &iv;
    }
  }
  return nullptr;
}

Event Base(const char* name, const std::string& host, const Control& c) {
  Event e;
  e.labels = {{"alertname", name},
              {"host", host},
              {"control", c.id},
              {"tsc", Tsc(c)},
              {"severity", "warning"}};
  e.annotations["evidence"] =
      attest::StrCat("attestctl timeline --host ", host, " --control ", c.id);
  return e;
}

absl::Status AccessEvents(const engine::EngineState& state, store::Store& store,
                          const std::string& host, const Control& c, int64_t now,
                          std::vector<Event>* out) {
  const int64_t window = engine::ToSeconds(c.approval_window);
  static const engine::ApprovalsByChange kNone;
  auto it = state.approvals.find(host);
  const engine::ApprovalsByChange* approvals = it == state.approvals.end() ? &kNone : &it->second;
  const std::string prefix = engine::keys::AccessChangePrefix(host);
  return engine::ScanMessages<v1::Observation>(
      store, store::Family::kObservations, prefix, store::PrefixEnd(prefix),
      [&](v1::Observation&& o) {
        if (o.t() > now || o.t() + window > now) return;
        const v1::AccessObservation& a = o.access();
        if (engine::ApprovedAt(approvals, a.id(), now)) return;
        Event e = Base(kAccessChangeUnapproved, host, c);
        e.labels["change_id"] = a.id();
        e.starts_at = o.t() + window;
        const std::string what =
            attest::StrCat(evidence::AccessChangeName(a.change()), " ", a.subject());
        e.annotations["summary"] =
            attest::StrCat("Access change ", a.id(), " on ", host, " is not approved");
        e.annotations["description"] =
            attest::StrCat("Access change ", a.id(), " (", what, ") on ", host, " at ", Time(o.t()),
                           " has no approval after ", absl::FormatDuration(c.approval_window),
                           "; control ", c.id, " (", Tsc(c),
                           ") fails until it is approved: attestctl "
                           "approve --change ",
                           a.id(), " --ticket T --approver A");
        out->push_back(std::move(e));
      });
}

Event PatchEvent(const std::string& host, const Control& c, const engine::HostView& view,
                 const v1::Interval& now_interval) {
  Event e = Base(kPatchSlaBreached, host, c);
  // When the SLA was first breached by what is still pending.
  const int64_t max_age = engine::ToSeconds(c.security_max_age);
  int64_t since = now_interval.start();
  for (const auto& [pkg, first_seen] : view.patch.first_seen()) {
    since = std::min(since, first_seen + max_age);
  }
  if (view.patch.reboot_since() > 0) {
    since = std::min(since, view.patch.reboot_since() + engine::ToSeconds(c.reboot_grace));
  }
  e.starts_at = since;
  e.annotations["summary"] = attest::StrCat(host, " breaches the patch SLA of ", c.id);
  e.annotations["description"] = now_interval.cause();
  return e;
}

// One event per revoked entry of a campaign still on `host` past its
// deadline (the review control FAILs for it).
void RevocationEvents(const engine::EngineState& state, const std::string& host, const Control& c,
                      int64_t now, std::vector<Event>* out) {
  auto campaigns = state.host_reviews.find(host);
  if (campaigns == state.host_reviews.end()) return;
  const int64_t within = engine::ToSeconds(c.revoke_within);
  for (const std::string& id : campaigns->second) {
    const engine::ReviewState& r = state.reviews.at(id);
    auto entries = r.host_entries.find(host);
    if (entries == r.host_entries.end()) continue;
    for (const std::string& entry : entries->second) {
      auto d = r.decisions.find(entry);
      if (d == r.decisions.end() || d->second.outcome() != v1::REVIEW_OUTCOME_REVOKE) continue;
      const int64_t deadline = d->second.decided_at().seconds() + within;
      if (now < deadline) continue;
      auto confirmed = r.confirmed.find({entry, host});
      if (confirmed != r.confirmed.end() && confirmed->second.confirmed_at().seconds() <= now) {
        continue;
      }
      const v1::ReviewEntry& e = r.entries.at(entry);
      Event ev = Base(kRevocationNotCarriedOut, host, c);
      ev.labels["campaign"] = id;
      ev.labels["entry"] = entry;
      ev.starts_at = deadline;
      ev.annotations["summary"] = attest::StrCat("Revoked access ", entry, " is still on ", host);
      ev.annotations["description"] = attest::StrCat(
          "Access review ", id, " revoked ", e.kind(), " ", e.user(), " (", e.detail(), ") at ",
          Time(d->second.decided_at().seconds()), " (reviewer ", d->second.reviewer(),
          "); no access snapshot of ", host, " since shows it removed, ",
          absl::FormatDuration(c.revoke_within), " later. Control ", c.id, " (", Tsc(c),
          ") fails on the host until a snapshot without it arrives.");
      ev.annotations["evidence"] = attest::StrCat("attestctl review status --campaign ", id);
      out->push_back(std::move(ev));
    }
  }
}

}  // namespace

std::string Event::Key() const {
  std::string key;
  for (const auto& [k, v] : labels) attest::StrAppend(&key, k, "=", v, "\n");
  return key;
}

absl::StatusOr<std::vector<Event>> ActiveEvents(const engine::EngineState& state,
                                                store::Store& store, int64_t now) {
  std::vector<Event> out;
  const engine::Policy* policy = state.current_policy();
  if (policy == nullptr) return out;
  for (const auto& [host, eh] : state.hosts) {
    if (eh.enrolled() == 0 || eh.enrolled() > now) continue;
    if (eh.decommissioned() > 0 && eh.decommissioned() <= now) continue;
    auto view = state.views.find(host);
    if (view == state.views.end()) continue;
    for (const Control& c : policy->controls) {
      if (c.rule != Rule::kAccessChangeApproved && c.rule != Rule::kPatchSecuritySla &&
          c.rule != Rule::kAccessReviewPerformed) {
        continue;
      }
      const v1::Interval* iv = IntervalNow(view->second, c.id, now);
      if (iv == nullptr || iv->state() != v1::CONTROL_STATE_FAIL) continue;
      if (c.rule == Rule::kPatchSecuritySla) {
        out.push_back(PatchEvent(host, c, view->second, *iv));
      } else if (c.rule == Rule::kAccessReviewPerformed) {
        RevocationEvents(state, host, c, now, &out);
      } else if (absl::Status s = AccessEvents(state, store, host, c, now, &out); !s.ok()) {
        return s;
      }
    }
  }
  return out;
}

}  // namespace attest::alerts
