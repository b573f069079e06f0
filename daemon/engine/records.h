// Small pure helpers over the engine's records: window definitions, label
// selectors, exceptions, and per-state second counts.
#ifndef ATTEST_DAEMON_ENGINE_RECORDS_H_
#define ATTEST_DAEMON_ENGINE_RECORDS_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "attest/v1/engine.pb.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/policy.h"
#include "google/protobuf/map.h"

namespace attest::engine {

using Labels = google::protobuf::Map<std::string, std::string>;

v1::WindowDef WindowFromPolicy(const Window& window, absl::Time now);
// Same definition (id, bounds, scope, thresholds); origin and creation
// time do not count.
bool SameWindow(const v1::WindowDef& a, const v1::WindowDef& b);

// Every key=value of `selector` is among `labels` (an empty selector
// matches every host).
bool SelectorMatches(const Labels& selector, const Labels& labels);

// The exception's effective span for `host` and `control`, or nullopt when
// it does not apply. A revoked exception ends at its revocation.
std::optional<ExceptionSpan> ExceptionFor(const v1::Exception& exception, const std::string& host,
                                          const Labels& labels, const std::string& control);

void AddSeconds(v1::StateSeconds* s, v1::ControlState state, int64_t seconds);
void AddSeconds(v1::StateSeconds* s, const v1::StateSeconds& other, int sign = 1);
int64_t Total(const v1::StateSeconds& s);
// Seconds of `day` inside [from, to).
v1::StateSeconds Clip(const v1::HostDay& day, Seconds from, Seconds to);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_RECORDS_H_
