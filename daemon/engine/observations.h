// From evidence records to what the judge knows: each record's observation,
// and the facts the observations up to a moment imply (the state a sweep
// starts from, and the per-day facts the engine stores).
#ifndef ATTEST_DAEMON_ENGINE_OBSERVATIONS_H_
#define ATTEST_DAEMON_ENGINE_OBSERVATIONS_H_

#include <span>

#include "attest/v1/engine.pb.h"
#include "attest/v1/evidence.pb.h"
#include "daemon/engine/judge.h"

namespace attest::engine {

// Folds one observation (in time order) into the facts. Access changes are
// not kept in facts (see JudgeInput::access_changes).
void AdvanceFacts(v1::JudgeFacts* facts, const v1::Observation& observation);

// AdvanceFacts of each observation in turn (in time order), copying only
// the last state of each log shipper, check and server-control kind: a
// later state of one replaces the earlier, and copying every state a day
// of minutely signals holds was most of the engine's work per day.
void AdvanceFactsThrough(v1::JudgeFacts* facts, ObservationSpan observations);

// The observation an evidence record contributes; false for records the
// judge ignores.
bool ObservationFromRecord(const v1::EvidenceRecord& record, Seconds gap_from,
                           v1::Observation* out);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_OBSERVATIONS_H_
