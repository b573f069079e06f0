#include "daemon/engine/facts_needed.h"

#include <algorithm>

#include "daemon/engine/host_rules.h"
#include "daemon/engine/observations.h"
#include "daemon/evidence/record_json.h"

namespace attest::engine {

FactsNeeded::FactsNeeded(const std::vector<PolicySegment>& segments) {
  for (const PolicySegment& s : segments) {
    if (s.control == nullptr) continue;
    const Control& c = *s.control;
    switch (c.rule) {
      case Rule::kCheckPass:
        checks_.push_back(c.check);
        break;
      case Rule::kLogsShippingContinuity:
        logs_ = true;
        break;
      case Rule::kPatchSecuritySla:
        patch_ = true;
        break;
      case Rule::kHostBackupFresh:
        backups_ = true;
        break;
      case Rule::kHostTimeSynced:
      case Rule::kHostFirewallEnabled:
      case Rule::kHostServicesRunning:
      case Rule::kHostSshdPolicy:
      case Rule::kHostDiskEncrypted:
      case Rule::kHostMacEnforcing:
        host_kinds_.push_back(HostKind(c.rule));
        break;
      case Rule::kAgentReporting:
      case Rule::kAccessChangeApproved:
      case Rule::kAccessReviewPerformed:
        break;
    }
  }
}

void FactsNeeded::Copy(const v1::JudgeFacts& from, SweepFacts* to) const {
  v1::JudgeFacts& f = to->folded;
  f.set_last_any(from.last_any());
  f.set_last_access(from.last_access());
  *f.mutable_collector_error() = from.collector_error();
  if (patch_) *f.mutable_patch() = from.patch();
  if (logs_) {
    for (const auto& [shipper, state] : from.logs()) {
      auto t = from.log_t().find(shipper);
      to->logs[shipper] = SweepFacts::Log{&state, t == from.log_t().end() ? 0 : t->second};
    }
  }
  for (const std::string& name : checks_) {
    if (auto it = from.checks().find(name); it != from.checks().end()) {
      to->checks[name] = &it->second;
    }
  }
  for (const auto& [key, o] : from.host()) {
    if (Host(o.host())) to->host[key] = &o;
  }
}

void FactsNeeded::Advance(SweepFacts* facts, const v1::Observation& o) const {
  switch (o.what_case()) {
    case v1::Observation::kPatch:
      if (patch_) {
        AdvanceFacts(&facts->folded, o);
        return;
      }
      break;
    case v1::Observation::kLog:
      if (logs_) facts->logs[o.log().shipper()] = SweepFacts::Log{&o.log(), o.t()};
      break;
    case v1::Observation::kCheck:
      if (std::find(checks_.begin(), checks_.end(), o.check().name()) != checks_.end()) {
        facts->checks[o.check().name()] = &o;
      }
      break;
    case v1::Observation::kHost:
      if (Host(o.host())) facts->host[HostFactKey(o.host())] = &o;
      break;
    default:
      AdvanceFacts(&facts->folded, o);
      return;
  }
  facts->folded.set_last_any(o.t());  // none of those kinds is a gap
}

bool FactsNeeded::Host(const v1::Signal& state) const {
  if (state.has_backup()) return backups_;
  return std::find(host_kinds_.begin(), host_kinds_.end(), evidence::SignalKind(state)) !=
         host_kinds_.end();
}

}  // namespace attest::engine
