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

void FactsNeeded::Copy(const v1::JudgeFacts& from, v1::JudgeFacts* to) const {
  to->set_last_any(from.last_any());
  to->set_last_access(from.last_access());
  *to->mutable_collector_error() = from.collector_error();
  if (patch_) *to->mutable_patch() = from.patch();
  if (logs_) {
    *to->mutable_logs() = from.logs();
    *to->mutable_log_t() = from.log_t();
  }
  for (const std::string& name : checks_) {
    if (auto it = from.checks().find(name); it != from.checks().end()) {
      (*to->mutable_checks())[name] = it->second;
    }
  }
  for (const auto& [key, o] : from.host()) {
    if (Host(o.host())) (*to->mutable_host())[key] = o;
  }
}

void FactsNeeded::Advance(v1::JudgeFacts* facts, const v1::Observation& o) const {
  bool needed = true;
  switch (o.what_case()) {
    case v1::Observation::kPatch:
      needed = patch_;
      break;
    case v1::Observation::kLog:
      needed = logs_;
      break;
    case v1::Observation::kCheck:
      needed = std::find(checks_.begin(), checks_.end(), o.check().name()) != checks_.end();
      break;
    case v1::Observation::kHost:
      needed = Host(o.host());
      break;
    default:
      break;
  }
  if (needed) {
    AdvanceFacts(facts, o);
  } else {
    facts->set_last_any(o.t());  // none of those kinds is a gap
  }
}

bool FactsNeeded::Host(const v1::Signal& state) const {
  if (state.has_backup()) return backups_;
  return std::find(host_kinds_.begin(), host_kinds_.end(), evidence::SignalKind(state)) !=
         host_kinds_.end();
}

}  // namespace attest::engine
