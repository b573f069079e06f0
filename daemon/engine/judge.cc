#include "daemon/engine/judge.h"

#include <algorithm>
#include <optional>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/facts_needed.h"
#include "daemon/engine/host_rules.h"
#include "daemon/engine/review_rule.h"
#include "daemon/evidence/record_json.h"

namespace attest::engine {
namespace {

using v1::ControlState;

struct Verdict {
  ControlState state = v1::CONTROL_STATE_NO_EVIDENCE;
  std::string cause;
};

std::string Time(Seconds t) { return CauseTime(t); }
std::string Human(Seconds s) { return CauseDuration(s); }

// Evidence observed at `t` (0: never) is fresh at `b` for `freshness`.
bool Fresh(Seconds t, Seconds freshness, Seconds b) { return t > 0 && b < t + freshness; }

// A failed collector voids the evidence it produced before the failure.
bool CollectorFailedSince(const v1::JudgeFacts& f, const char* collector, Seconds t) {
  auto it = f.collector_error().find(collector);
  return it != f.collector_error().end() && it->second > t;
}

std::string_view CheckStatusName(v1::CheckStatus s) {
  switch (s) {
    case v1::CHECK_STATUS_OK:
      return "OK";
    case v1::CHECK_STATUS_WARNING:
      return "WARNING";
    case v1::CHECK_STATUS_CRITICAL:
      return "CRITICAL";
    default:
      return "UNKNOWN";
  }
}

class Sweep {
 public:
  explicit Sweep(const JudgeInput& in) : in_(in), needed_(in.segments) {
    needed_.Copy(*in.facts, &facts_);
    for (const v1::Observation& o : in.observations) {
      if (o.has_log()) log_history_[o.log().shipper()].push_back({o.t(), o.log().last_delivery()});
      if (o.has_host() && o.host().has_backup() && o.host().backup().has_last_success()) {
        backup_history_[o.host().backup().name()].push_back(
            {o.t(), o.host().backup().last_success().seconds()});
      }
      if (o.what_case() == v1::Observation::kGapFrom) gaps_.push_back({o.gap_from(), o.t()});
    }
  }

  std::vector<v1::Interval> Run() {
    std::vector<Seconds> points = Breakpoints();
    const Seconds lo = std::max(in_.from, in_.scope_start);
    const Seconds hi = std::min(in_.to, in_.scope_end);
    std::vector<v1::Interval> out;
    size_t next_obs = 0;
    size_t seg = 0;
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      const Seconds b = points[i];
      const Seconds e = points[i + 1];
      if (b < lo || e > hi || b >= e) continue;
      while (next_obs < in_.observations.size() && in_.observations[next_obs].t() <= b) {
        needed_.Advance(&facts_, in_.observations[next_obs++]);
      }
      while (seg < in_.segments.size() && in_.segments[seg].end <= b) ++seg;
      if (seg == in_.segments.size() || in_.segments[seg].start > b) continue;
      const PolicySegment& s = in_.segments[seg];
      if (s.control == nullptr) continue;
      Verdict v = Override(Judge(*s.control, b), *s.control, b);
      if (!out.empty() && out.back().end() == b && out.back().state() == v.state &&
          out.back().cause() == v.cause && out.back().policy_version() == s.version) {
        out.back().set_end(e);
        continue;
      }
      v1::Interval& iv = out.emplace_back();
      iv.set_start(b);
      iv.set_end(e);
      iv.set_state(v.state);
      iv.set_cause(std::move(v.cause));
      iv.set_policy_version(s.version);
    }
    return out;
  }

 private:
  std::vector<Seconds> Breakpoints() const {
    std::vector<Seconds> p = {in_.from, in_.to, in_.scope_start, in_.scope_end};
    for (const PolicySegment& s : in_.segments) {
      p.push_back(s.start);
      p.push_back(s.end);
      if (s.control != nullptr) RulePoints(*s.control, s, &p);
    }
    for (const ExceptionSpan& x : in_.exceptions) {
      p.push_back(x.start);
      p.push_back(x.end);
    }
    for (const auto& [from, to] : gaps_) {
      p.push_back(from);
      p.push_back(to);
    }
    const Seconds lo = std::max(in_.from, in_.scope_start);
    const Seconds hi = std::min(in_.to, in_.scope_end);
    std::erase_if(p, [&](Seconds t) { return t < lo || t > hi; });
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    return p;
  }

  // Instants where this rule's state can change.
  void RulePoints(const Control& c, const PolicySegment& s, std::vector<Seconds>* p) const {
    const Seconds fresh = ToSeconds(c.freshness);
    const v1::JudgeFacts& f = *in_.facts;
    auto observed = [&](const v1::Observation& o) {
      p->push_back(o.t());
      if (fresh < kForever) p->push_back(o.t() + fresh);
    };
    for (const auto& [collector, t] : f.collector_error()) p->push_back(t);
    for (const v1::Observation& o : in_.observations) {
      if (o.what_case() == v1::Observation::kCollectorError) p->push_back(o.t());
    }
    switch (c.rule) {
      case Rule::kAgentReporting:
        p->push_back(f.last_any() + fresh);
        for (const v1::Observation& o : in_.observations) {
          if (o.what_case() != v1::Observation::kGapFrom) observed(o);
        }
        break;
      case Rule::kCheckPass:
        if (auto it = f.checks().find(c.check); it != f.checks().end()) {
          p->push_back(it->second.t() + fresh);
        }
        for (const v1::Observation& o : in_.observations) {
          if (o.has_check() && o.check().name() == c.check) observed(o);
        }
        break;
      case Rule::kLogsShippingContinuity: {
        const Seconds max_gap = ToSeconds(c.max_gap);
        for (const auto& [shipper, t] : f.log_t()) p->push_back(t + fresh);
        for (const v1::Observation& o : in_.observations) {
          if (!o.has_log()) continue;
          observed(o);
          const Seconds delivered = o.log().last_delivery();
          if (delivered > 0) p->push_back(delivered + max_gap);
          // From judgement 2, a delivery that a later state reports counts
          // from when it was made; only within the segment, so that time
          // judged under judgement 1 keeps its breakpoints.
          if (s.judgement >= 2 && delivered >= s.start && delivered < s.end) {
            p->push_back(delivered);
          }
        }
        break;
      }
      case Rule::kPatchSecuritySla: {
        const Seconds max_age = ToSeconds(c.security_max_age);
        const Seconds reboot_grace = ToSeconds(c.reboot_grace);
        p->push_back(f.patch().t() + fresh);
        for (const auto& [pkg, first_seen] : f.patch().first_seen()) {
          p->push_back(first_seen + max_age);
        }
        if (f.patch().reboot_since() > 0) p->push_back(f.patch().reboot_since() + reboot_grace);
        for (const v1::Observation& o : in_.observations) {
          if (!o.has_patch()) continue;
          observed(o);
          p->push_back(o.t() + max_age);
          p->push_back(o.t() + reboot_grace);
        }
        break;
      }
      case Rule::kHostBackupFresh: {
        const Seconds max_age = ToSeconds(c.backup_max_age);
        for (const auto& [key, o] : f.host()) {
          if (!key.starts_with(kBackupFactPrefix) || !BackupWanted(c, o.host().backup())) continue;
          if (fresh < kForever) p->push_back(o.t() + fresh);
          const auto& b = o.host().backup();
          if (b.has_last_success()) p->push_back(b.last_success().seconds() + max_age);
        }
        for (const v1::Observation& o : in_.observations) {
          if (!o.has_host() || !o.host().has_backup() || !BackupWanted(c, o.host().backup())) {
            continue;
          }
          observed(o);
          const auto& b = o.host().backup();
          if (!b.has_last_success()) continue;
          // A success reported later counts from when it was made.
          p->push_back(b.last_success().seconds());
          p->push_back(b.last_success().seconds() + max_age);
        }
        break;
      }
      case Rule::kHostTimeSynced:
      case Rule::kHostFirewallEnabled:
      case Rule::kHostServicesRunning:
      case Rule::kHostSshdPolicy:
      case Rule::kHostDiskEncrypted:
      case Rule::kHostMacEnforcing: {
        const std::string_view kind = HostKind(c.rule);
        if (auto it = f.host().find(std::string(kind)); it != f.host().end() && fresh < kForever) {
          p->push_back(it->second.t() + fresh);
        }
        for (const v1::Observation& o : in_.observations) {
          if (o.has_host() && evidence::SignalKind(o.host()) == kind) observed(o);
        }
        break;
      }
      case Rule::kAccessReviewPerformed:
        ReviewBreakpoints(c, in_.reviews, in_.scope_start, p);
        break;
      case Rule::kAccessChangeApproved: {
        const Seconds window = ToSeconds(c.approval_window);
        if (fresh < kForever) p->push_back(f.last_access() + fresh);
        for (const v1::Observation& o : in_.observations) {
          if (o.has_access()) observed(o);
        }
        for (const v1::Observation& o : in_.access_changes) p->push_back(o.t() + window);
        if (in_.approvals != nullptr) {
          for (const auto& [id, events] : *in_.approvals) {
            for (const ApprovalEvent& e : events) p->push_back(e.t);
          }
        }
        break;
      }
    }
  }

  Verdict Judge(const Control& c, Seconds b) const {
    switch (c.rule) {
      case Rule::kAgentReporting:
        return AgentReporting(c, b);
      case Rule::kCheckPass:
        return CheckPass(c, b);
      case Rule::kLogsShippingContinuity:
        return LogsShipping(c, b);
      case Rule::kPatchSecuritySla:
        return PatchSla(c, b);
      case Rule::kAccessChangeApproved:
        return AccessApproved(c, b);
      case Rule::kAccessReviewPerformed: {
        ReviewVerdict v = JudgeReview(c, in_.reviews, in_.scope_start, b);
        return {v.state, std::move(v.cause)};
      }
      case Rule::kHostTimeSynced:
      case Rule::kHostFirewallEnabled:
      case Rule::kHostServicesRunning:
      case Rule::kHostSshdPolicy:
      case Rule::kHostDiskEncrypted:
      case Rule::kHostMacEnforcing:
        return HostState(c, b);
      case Rule::kHostBackupFresh:
        return BackupFresh(c, b);
    }
    return {};
  }

  static bool BackupWanted(const Control& c, const v1::BackupState& b) {
    return c.backup.empty() || b.name() == c.backup;
  }

  // Every fresh backup source (or the one the control names) had a success
  // within max_age. Successes only move forward: a later observation whose
  // newest success is already at or before b proves that success by b.
  Verdict BackupFresh(const Control& c, Seconds b) const {
    const Seconds fresh = ToSeconds(c.freshness);
    const Seconds max_age = ToSeconds(c.backup_max_age);
    bool any_pass = false;
    std::string unreadable;
    for (const auto& [key, fact] : facts_.host) {  // in key order
      if (!key.starts_with(kBackupFactPrefix)) continue;
      const v1::Observation& o = *fact;
      const v1::BackupState& state = o.host().backup();
      if (!BackupWanted(c, state) || !Fresh(o.t(), fresh, b) ||
          CollectorFailedSince(facts_.folded, "backup", o.t())) {
        continue;
      }
      if (!state.error().empty()) {
        if (unreadable.empty()) {
          unreadable =
              attest::StrCat("backup ", state.name(), " could not be read: ", state.error());
        }
        continue;
      }
      Seconds last = state.has_last_success() ? state.last_success().seconds() : 0;
      if (auto h = backup_history_.find(state.name()); h != backup_history_.end()) {
        for (const auto& [t, s] : h->second) {
          if (t > o.t() && s <= b && s > last) last = s;
        }
      }
      if (last == 0) {
        return {v1::CONTROL_STATE_FAIL,
                attest::StrCat("backup ", state.name(), ": no successful backup")};
      }
      if (last + max_age <= b) {
        return {v1::CONTROL_STATE_FAIL,
                attest::StrCat("backup ", state.name(), ": newest success ", Time(last),
                               ", older than ", Human(max_age))};
      }
      any_pass = true;
    }
    if (!unreadable.empty()) return {v1::CONTROL_STATE_NO_EVIDENCE, unreadable};
    if (any_pass) return {v1::CONTROL_STATE_PASS, ""};
    return {v1::CONTROL_STATE_NO_EVIDENCE,
            c.backup.empty() ? "no fresh backup state"
                             : attest::StrCat("no fresh state of backup ", c.backup)};
  }

  // The host.* rules: the latest state of the rule's kind, if fresh and not
  // voided by its collector failing since, judged against the parameters.
  Verdict HostState(const Control& c, Seconds b) const {
    const std::string kind(HostKind(c.rule));
    auto it = facts_.host.find(kind);
    if (it == facts_.host.end() || !Fresh(it->second->t(), ToSeconds(c.freshness), b)) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, attest::StrCat("no fresh ", kind, " state")};
    }
    if (CollectorFailedSince(facts_.folded, kind.c_str(), it->second->t())) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, attest::StrCat("the ", kind, " collector failed")};
    }
    HostVerdict v = JudgeHostState(c, it->second->host());
    return {v.state, std::move(v.cause)};
  }

  // Gaps void observation-based states; exceptions cover FAIL and
  // NO_EVIDENCE (a PASS stays a PASS).
  Verdict Override(Verdict v, const Control& c, Seconds b) const {
    // A review's state comes from the ledger, not from the host's signals.
    const bool known_fail =
        (c.rule == Rule::kAccessChangeApproved && v.state == v1::CONTROL_STATE_FAIL) ||
        c.rule == Rule::kAccessReviewPerformed;
    if (!known_fail) {
      for (const auto& [from, to] : gaps_) {
        if (from <= b && b < to) {
          v = {v1::CONTROL_STATE_NO_EVIDENCE,
               attest::StrCat("signals lost between ", Time(from), " and ", Time(to))};
          break;
        }
      }
    }
    if (v.state == v1::CONTROL_STATE_PASS) return v;
    for (const ExceptionSpan& x : in_.exceptions) {
      if (x.start <= b && b < x.end) return {v1::CONTROL_STATE_EXCEPTED, x.cause};
    }
    return v;
  }

  Verdict AgentReporting(const Control& c, Seconds b) const {
    const Seconds last_any = facts_.folded.last_any();
    if (Fresh(last_any, ToSeconds(c.freshness), b)) return {v1::CONTROL_STATE_PASS, ""};
    if (last_any == 0) return {v1::CONTROL_STATE_NO_EVIDENCE, "no signal yet"};
    return {v1::CONTROL_STATE_NO_EVIDENCE, attest::StrCat("agent silent since ", Time(last_any))};
  }

  Verdict CheckPass(const Control& c, Seconds b) const {
    auto it = facts_.checks.find(c.check);
    if (it == facts_.checks.end() || !Fresh(it->second->t(), ToSeconds(c.freshness), b)) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, attest::StrCat("no fresh result of check ", c.check)};
    }
    const v1::Observation& o = *it->second;
    if (CollectorFailedSince(facts_.folded, "checks", o.t())) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, "the checks collector failed"};
    }
    const v1::CheckStatus status = o.check().status();
    std::string what = attest::StrCat("check ", c.check, " ", CheckStatusName(status));
    if (!o.check().detail().empty()) attest::StrAppend(&what, ": ", o.check().detail());
    if (status == v1::CHECK_STATUS_OK) return {v1::CONTROL_STATE_PASS, ""};
    if (status == v1::CHECK_STATUS_UNKNOWN) return {v1::CONTROL_STATE_NO_EVIDENCE, what};
    return {v1::CONTROL_STATE_FAIL, what};
  }

  Verdict LogsShipping(const Control& c, Seconds b) const {
    const Seconds fresh = ToSeconds(c.freshness);
    const Seconds max_gap = ToSeconds(c.max_gap);
    bool any_pass = false;
    std::string unreadable;                            // the first shipper that could not be read
    for (const auto& [shipper, fact] : facts_.logs) {  // in shipper order
      if (!c.shipper.empty() && shipper != c.shipper) continue;
      const v1::LogObservation& obs = *fact.state;
      const Seconds t = fact.t;
      if (!Fresh(t, fresh, b) || CollectorFailedSince(facts_.folded, "log_shipping", t)) continue;
      if (!obs.error().empty()) {
        if (unreadable.empty()) {
          unreadable = attest::StrCat("shipper ", shipper, " could not be read: ", obs.error());
        }
        continue;
      }
      if (!obs.active()) {
        return {v1::CONTROL_STATE_FAIL, attest::StrCat("shipper ", shipper, ": unit not active")};
      }
      // Deliveries only move forward: if the next observation's last
      // delivery is already behind b, nothing was delivered in between.
      Seconds last = obs.last_delivery();
      Seconds age = t - last;
      if (auto next = NextLog(shipper, t); next && next->second > 0 && next->second <= b) {
        last = next->second;
        age = b - last;
      }
      if (last == 0) {
        return {v1::CONTROL_STATE_FAIL, attest::StrCat("shipper ", shipper, ": nothing delivered")};
      }
      if (age >= max_gap) {
        return {v1::CONTROL_STATE_FAIL,
                attest::StrCat("shipper ", shipper, ": no delivery since ", Time(last),
                               " (max gap ", Human(max_gap), ")")};
      }
      any_pass = true;
    }
    // Every shipper must be shipping: one that could not be read leaves
    // that unknown, whatever the others show.
    if (!unreadable.empty()) return {v1::CONTROL_STATE_NO_EVIDENCE, unreadable};
    if (any_pass) return {v1::CONTROL_STATE_PASS, ""};
    return {v1::CONTROL_STATE_NO_EVIDENCE, "no fresh log-shipping state"};
  }

  // The observation after `t` of `shipper`: (time, last delivery).
  std::optional<std::pair<Seconds, Seconds>> NextLog(const std::string& shipper, Seconds t) const {
    auto it = log_history_.find(shipper);
    if (it == log_history_.end()) return std::nullopt;
    auto next = std::upper_bound(it->second.begin(), it->second.end(), std::make_pair(t, kForever));
    if (next == it->second.end()) return std::nullopt;
    return *next;
  }

  Verdict PatchSla(const Control& c, Seconds b) const {
    const auto& p = facts_.folded.patch();
    if (!Fresh(p.t(), ToSeconds(c.freshness), b)) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, "no fresh patch state"};
    }
    if (CollectorFailedSince(facts_.folded, "patch", p.t())) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, "the patch collector failed"};
    }
    const Seconds max_age = ToSeconds(c.security_max_age);
    std::vector<std::pair<Seconds, std::string>> late;
    for (const auto& [pkg, first_seen] : p.first_seen()) {
      if (first_seen + max_age <= b) late.emplace_back(first_seen, pkg);
    }
    std::string cause;
    if (!late.empty()) {
      std::sort(late.begin(), late.end());
      cause = attest::StrCat(late.size(), " security update(s) past the ", Human(max_age),
                             " SLA: ", late[0].second, " pending since ", Time(late[0].first));
      if (late.size() > 1) attest::StrAppend(&cause, " and ", late.size() - 1, " more");
    }
    const Seconds grace = ToSeconds(c.reboot_grace);
    if (p.reboot_since() > 0 && p.reboot_since() + grace <= b) {
      if (!cause.empty()) cause += "; ";
      attest::StrAppend(&cause, "reboot required since ", Time(p.reboot_since()), " (grace ",
                        Human(grace), ")");
    }
    if (!cause.empty()) return {v1::CONTROL_STATE_FAIL, cause};
    return {v1::CONTROL_STATE_PASS, ""};
  }

  Verdict AccessApproved(const Control& c, Seconds b) const {
    const Seconds window = ToSeconds(c.approval_window);
    for (const v1::Observation& o : in_.access_changes) {
      if (o.t() > b) break;
      if (o.t() + window > b || ApprovedAt(in_.approvals, o.access().id(), b)) continue;
      return {v1::CONTROL_STATE_FAIL,
              attest::StrCat("access change ", o.access().id(), " (",
                             evidence::AccessChangeName(o.access().change()), " ",
                             o.access().subject(), ") not approved within ", Human(window))};
    }
    const Seconds fresh = ToSeconds(c.freshness);
    if (fresh >= kForever) return {v1::CONTROL_STATE_PASS, ""};
    const Seconds last_access = facts_.folded.last_access();
    if (!Fresh(last_access, fresh, b)) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, "no fresh access state"};
    }
    if (CollectorFailedSince(facts_.folded, "access", last_access)) {
      return {v1::CONTROL_STATE_NO_EVIDENCE, "the access collector failed"};
    }
    return {v1::CONTROL_STATE_PASS, ""};
  }

  const JudgeInput& in_;
  FactsNeeded needed_;
  SweepFacts facts_;
  std::map<std::string, std::vector<std::pair<Seconds, Seconds>>> log_history_;
  // Backup name -> (t, last success) of each observation with a success.
  std::map<std::string, std::vector<std::pair<Seconds, Seconds>>> backup_history_;
  std::vector<std::pair<Seconds, Seconds>> gaps_;
};

}  // namespace

std::string CauseTime(Seconds t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

std::string CauseDuration(Seconds s) {
  if (s % kDaySeconds == 0) return attest::StrCat(s / kDaySeconds, "d");
  if (s % 3600 == 0) return attest::StrCat(s / 3600, "h");
  if (s % 60 == 0) return attest::StrCat(s / 60, "m");
  return attest::StrCat(s, "s");
}

bool ApprovedAt(const ApprovalsByChange* approvals, const std::string& id, Seconds t) {
  if (approvals == nullptr) return false;
  auto it = approvals->find(id);
  if (it == approvals->end()) return false;
  bool approved = false;
  for (const ApprovalEvent& e : it->second) {
    if (e.t <= t) approved = e.approved;
  }
  return approved;
}

Seconds ToSeconds(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return kForever;
  return absl::ToInt64Seconds(d);
}

std::vector<v1::Interval> JudgeControl(const JudgeInput& input) { return Sweep(input).Run(); }

}  // namespace attest::engine
