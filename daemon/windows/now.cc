#include "daemon/windows/now.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/records.h"
#include "daemon/windows/summary.h"

namespace attest::windows {
namespace {

const engine::HostView* ViewOf(const engine::EngineState& state, const std::string& host) {
  auto it = state.views.find(host);
  return it == state.views.end() ? nullptr : &it->second;
}

// End of exception `x` (its revocation, if earlier).
int64_t ExceptionEnd(const v1::Exception& x) {
  int64_t end = x.end().seconds();
  if (x.has_revoked_at()) end = std::min(end, x.revoked_at().seconds());
  return end;
}

bool ActiveAt(const v1::Exception& x, int64_t now) {
  return x.start().seconds() <= now && now < ExceptionEnd(x);
}

// When the run of `state` that covers `now` began: walks the host's
// merged timeline back from now while the state holds.
google::protobuf::Timestamp Since(store::Store& store, const std::string& host,
                                  const std::string& control, v1::ControlState state, int64_t now,
                                  int64_t fallback) {
  v1::TimelineRequest req;
  req.set_host(host);
  req.set_control(control);
  *req.mutable_from() = ToProto(absl::FromUnixSeconds(now) - absl::Hours(24) * kSinceLookbackDays);
  *req.mutable_to() = ToProto(absl::FromUnixSeconds(now + 1));
  int64_t since = fallback;
  if (auto timeline = Timeline(store, req); timeline.ok()) {
    const auto& ivs = timeline->intervals();
    for (int i = ivs.size() - 1; i >= 0; --i) {
      if (ivs[i].state() != state || ivs[i].end() < since) break;
      since = std::min(since, ivs[i].start());
    }
  }
  return ToProto(absl::FromUnixSeconds(since));
}

}  // namespace

bool InService(const v1::EngineHost& host, int64_t now) {
  if (host.enrolled() == 0 || host.enrolled() > now) return false;
  return host.decommissioned() == 0 || host.decommissioned() > now;
}

std::string_view ReportingStatus(const v1::EngineHost& host, int64_t now) {
  if (host.decommissioned() > 0 && host.decommissioned() <= now) return "decommissioned";
  if (host.enrolled() == 0) return "never_seen";
  if (now - host.last_record_t() > absl::ToInt64Seconds(kStaleAfter)) return "stale";
  return "reporting";
}

const v1::Interval* IntervalNow(const engine::HostView* view, const std::string& control,
                                int64_t now) {
  if (view == nullptr) return nullptr;
  for (const v1::HostDay& d : view->day_records) {
    if (d.control() != control) continue;
    for (const v1::Interval& iv : d.intervals()) {
      if (iv.start() <= now && now < iv.end()) return &iv;
    }
  }
  return nullptr;
}

v1::ControlState StateNow(const engine::HostView* view, const std::string& control, int64_t now) {
  const v1::Interval* iv = IntervalNow(view, control, now);
  return iv == nullptr ? v1::CONTROL_STATE_NO_EVIDENCE : iv->state();
}

StatesNow ComputeStatesNow(const engine::EngineState& state, const engine::Policy& policy,
                           int64_t now) {
  StatesNow out;
  for (const auto& [host, eh] : state.hosts) {
    if (!InService(eh, now)) continue;
    const engine::HostView* v = ViewOf(state, host);
    std::vector<v1::ControlState>& states = out[host];
    for (const engine::Control& c : policy.controls) states.push_back(StateNow(v, c.id, now));
  }
  return out;
}

v1::FleetStatus FleetStatusNow(const engine::EngineState& state, absl::Time now,
                               uint32_t max_failing_hosts) {
  const int64_t now_s = absl::ToUnixSeconds(now);
  if (max_failing_hosts == 0) max_failing_hosts = 10;
  v1::FleetStatus out;
  *out.mutable_at() = ToProto(now);
  int64_t oldest_pending = 0;
  for (const auto& [host, eh] : state.hosts) {
    const std::string_view status = ReportingStatus(eh, now_s);
    if (status == "decommissioned") {
      out.set_decommissioned(out.decommissioned() + 1);
      continue;
    }
    if (status == "never_seen") {
      out.set_never_seen(out.never_seen() + 1);
      continue;
    }
    if (!InService(eh, now_s)) continue;
    out.set_hosts_in_service(out.hosts_in_service() + 1);
    if (status == "stale") out.set_stale(out.stale() + 1);
    if (status == "reporting") out.set_reporting(out.reporting() + 1);
    const engine::HostView* v = ViewOf(state, host);
    if (v == nullptr || v->patch.first_seen().empty()) continue;
    out.set_hosts_security_updates_pending(out.hosts_security_updates_pending() + 1);
    for (const auto& [pkg, first_seen] : v->patch.first_seen()) {
      if (oldest_pending == 0 || first_seen < oldest_pending) oldest_pending = first_seen;
    }
  }
  if (oldest_pending != 0) {
    *out.mutable_oldest_pending_security_update() = ToProto(absl::FromUnixSeconds(oldest_pending));
  }
  const engine::Policy* policy = state.current_policy();
  if (policy == nullptr) return out;
  out.set_policy_version(state.policies.back().record.version());
  const StatesNow states = ComputeStatesNow(state, *policy, now_s);
  for (size_t i = 0; i < policy->controls.size(); ++i) {
    const engine::Control& c = policy->controls[i];
    v1::ControlNow& cn = *out.add_controls();
    cn.set_control(c.id);
    cn.set_title(c.title);
    for (const std::string& t : c.tsc) cn.add_tsc(t);
    cn.set_rule(std::string(engine::RuleName(c.rule)));
    for (const auto& [host, s] : states) {  // by host
      switch (s[i]) {
        case v1::CONTROL_STATE_PASS:
          cn.set_pass(cn.pass() + 1);
          break;
        case v1::CONTROL_STATE_FAIL:
          cn.set_fail(cn.fail() + 1);
          if (static_cast<uint32_t>(cn.failing_hosts_size()) < max_failing_hosts) {
            cn.add_failing_hosts(host);
          }
          break;
        case v1::CONTROL_STATE_EXCEPTED:
          cn.set_excepted(cn.excepted() + 1);
          break;
        default:
          cn.set_no_evidence(cn.no_evidence() + 1);
      }
    }
    int64_t soonest = 0;
    for (const auto& [id, x] : state.exceptions) {
      if ((x.control() != c.id && x.control() != "*") || !ActiveAt(x, now_s)) continue;
      cn.set_active_exceptions(cn.active_exceptions() + 1);
      if (soonest == 0 || ExceptionEnd(x) < soonest) soonest = ExceptionEnd(x);
    }
    if (soonest != 0) *cn.mutable_next_exception_expiry() = ToProto(absl::FromUnixSeconds(soonest));
  }
  return out;
}

absl::StatusOr<v1::HostDetail> DescribeHost(const engine::EngineState& state, store::Store& store,
                                            absl::Time now, const std::string& host) {
  auto it = state.hosts.find(host);
  if (it == state.hosts.end()) return absl::NotFoundError(attest::StrCat("no host \"", host, "\""));
  const v1::EngineHost& eh = it->second;
  const int64_t now_s = absl::ToUnixSeconds(now);
  v1::HostDetail out;
  *out.mutable_at() = ToProto(now);
  out.set_lookback_days(kSinceLookbackDays);
  out.set_status(std::string(ReportingStatus(eh, now_s)));
  if (eh.enrolled() != 0) *out.mutable_enrolled() = ToProto(absl::FromUnixSeconds(eh.enrolled()));
  if (eh.last_record_t() != 0) {
    *out.mutable_last_evidence() = ToProto(absl::FromUnixSeconds(eh.last_record_t()));
  }
  if (eh.decommissioned() != 0) {
    *out.mutable_decommissioned() = ToProto(absl::FromUnixSeconds(eh.decommissioned()));
  }
  const engine::HostView* v = ViewOf(state, host);
  if (const engine::Policy* policy = state.current_policy()) {
    for (const engine::Control& c : policy->controls) {
      v1::HostControlNow& cn = *out.add_controls();
      cn.set_control(c.id);
      cn.set_title(c.title);
      const v1::Interval* iv = InService(eh, now_s) ? IntervalNow(v, c.id, now_s) : nullptr;
      if (iv == nullptr) {
        cn.set_state(v1::CONTROL_STATE_NO_EVIDENCE);
        continue;
      }
      cn.set_state(iv->state());
      cn.set_cause(iv->cause());
      *cn.mutable_since() = Since(store, host, c.id, iv->state(), now_s, iv->start());
    }
  }
  if (v != nullptr) {
    std::vector<std::pair<int64_t, std::string>> pending;
    for (const auto& [pkg, first_seen] : v->patch.first_seen())
      pending.emplace_back(first_seen, pkg);
    std::sort(pending.begin(), pending.end());
    for (const auto& [first_seen, pkg] : pending) {
      v1::PendingSince& u = *out.add_pending_security_updates();
      u.set_package(pkg);
      *u.mutable_first_seen() = ToProto(absl::FromUnixSeconds(first_seen));
    }
  }
  for (const auto& [id, w] : state.windows) {
    if (w.start().seconds() <= now_s && now_s < w.end().seconds() &&
        engine::SelectorMatches(w.scope(), eh.labels())) {
      out.add_windows(id);
    }
  }
  for (const auto& [id, x] : state.exceptions) {
    if (!ActiveAt(x, now_s)) continue;
    if (!x.host().empty() ? x.host() != host : !engine::SelectorMatches(x.selector(), eh.labels()))
      continue;
    *out.add_active_exceptions() = x;
  }
  auto stored = store.Get(store::Family::kHosts, host);
  if (stored.ok() && !out.mutable_state()->ParseFromString(*stored)) {
    return absl::DataLossError(attest::StrCat("host state of ", host, " is corrupt"));
  }
  if (!stored.ok() && stored.status().code() != absl::StatusCode::kNotFound) return stored.status();
  if (!stored.ok()) out.mutable_state()->set_host(host);
  return out;
}

}  // namespace attest::windows
