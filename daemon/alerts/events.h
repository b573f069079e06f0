// Per-host events that are not metrics (issue 5, docs/alerts.md): an access
// change past its approval window without an approval, and a host
// breaching a patch SLA. Prometheus cannot raise these without a host
// label on a metric, so attestd sends them to Alertmanager itself
// (dispatcher.h).
#ifndef ATTEST_DAEMON_ALERTS_EVENTS_H_
#define ATTEST_DAEMON_ALERTS_EVENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/engine/engine.h"
#include "daemon/store/store.h"

namespace attest::alerts {

inline constexpr char kAccessChangeUnapproved[] = "AttestAccessChangeUnapproved";
inline constexpr char kPatchSlaBreached[] = "AttestPatchSlaBreached";
inline constexpr char kRevocationNotCarriedOut[] = "AttestRevocationNotCarriedOut";

struct Event {
  std::map<std::string, std::string> labels;       // alertname, host, control, tsc, severity, ...
  std::map<std::string, std::string> annotations;  // summary, description, evidence
  int64_t starts_at = 0;                           // Unix seconds

  // Identifies the event across evaluations (its labels, as Alertmanager
  // fingerprints them).
  std::string Key() const;
};

// The events active at `now`, from the engine's judgement: every
// in-service host whose access, patch or access-review control is FAIL now
// (not EXCEPTED). Access events are one per unapproved change, read from
// the store's access-change observations of that host; review events one
// per revoked entry still on the host past the control's revoke_within. Runs on the engine
// thread (Engine::Read).
absl::StatusOr<std::vector<Event>> ActiveEvents(const engine::EngineState& state,
                                                store::Store& store, int64_t now);

}  // namespace attest::alerts

#endif  // ATTEST_DAEMON_ALERTS_EVENTS_H_
