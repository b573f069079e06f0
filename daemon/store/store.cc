#include "daemon/store/store.h"

#include "daemon/store/keys.h"

namespace attest::store {

std::string_view FamilyName(Family f) {
  switch (f) {
    case Family::kEvidence:
      return "evidence";
    case Family::kHosts:
      return "hosts";
    case Family::kTimeline:
      return "timeline";
    case Family::kRollup:
      return "rollup";
    case Family::kApprovals:
      return "approvals";
    case Family::kExceptions:
      return "exceptions";
    case Family::kWindows:
      return "windows";
    case Family::kPolicyVersions:
      return "policy_versions";
    case Family::kCheckpoints:
      return "checkpoints";
    case Family::kMeta:
      return "meta";
    case Family::kObservations:
      return "observations";
    case Family::kFacts:
      return "facts";
    case Family::kDeviations:
      return "deviations";
    case Family::kEngineHosts:
      return "engine_hosts";
    case Family::kDecommissions:
      return "decommissions";
    case Family::kSamples:
      return "samples";
    case Family::kLedger:
      return "ledger";
    case Family::kStates:
      return "states";
    case Family::kReviews:
      return "reviews";
    case Family::kCount:
      break;
  }
  return "invalid";
}

absl::Status ScanPrefix(Store& store, Family f, std::string_view prefix, const ScanVisitor& visit) {
  return store.Scan(f, prefix, PrefixEnd(prefix), visit);
}

}  // namespace attest::store
