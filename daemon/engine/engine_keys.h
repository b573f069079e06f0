// Key layouts of the engine's families (store.h lists them). Strings end
// with a 0 byte; integers are big-endian so that scans run in time order.
#ifndef ATTEST_DAEMON_ENGINE_ENGINE_KEYS_H_
#define ATTEST_DAEMON_ENGINE_ENGINE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/store/keys.h"

namespace attest::engine::keys {

inline void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

inline std::string Str(std::string_view s) {
  std::string k(s);
  k.push_back('\0');
  return k;
}

// kObservations: host \0 t index -> Observation.
inline std::string ObservationPrefix(std::string_view host) { return Str(host); }
inline std::string Observation(std::string_view host, int64_t t, uint64_t index) {
  std::string k = Str(host);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(t));
  store::AppendBigEndian64(&k, index);
  return k;
}
// kObservations: host \1 t index -> Observation (access changes only).
inline std::string AccessChangePrefix(std::string_view host) {
  std::string k(host);
  k.push_back('\1');
  return k;
}
inline std::string AccessChange(std::string_view host, int64_t t, uint64_t index) {
  std::string k = AccessChangePrefix(host);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(t));
  store::AppendBigEndian64(&k, index);
  return k;
}

// kTimeline: host \0 day control -> HostDay.
inline std::string HostDay(std::string_view host, uint32_t day, std::string_view control) {
  std::string k = Str(host);
  AppendBigEndian32(&k, day);
  k.append(control);
  return k;
}
inline std::string HostDayFrom(std::string_view host, uint32_t day) {
  std::string k = Str(host);
  AppendBigEndian32(&k, day);
  return k;
}

// kFacts: host \0 day -> JudgeFacts at the day's start.
inline std::string Facts(std::string_view host, uint32_t day) { return HostDayFrom(host, day); }

// kRollup: window \0 control \0 day -> WindowDay.
inline std::string WindowDayPrefix(std::string_view window) { return Str(window); }
inline std::string WindowDay(std::string_view window, std::string_view control, uint32_t day) {
  std::string k = Str(window) + Str(control);
  AppendBigEndian32(&k, day);
  return k;
}

// kDeviations: control \0 host \0 start -> DeviationRecord.
inline std::string DeviationPrefix(std::string_view control) { return Str(control); }
inline std::string DeviationHostPrefix(std::string_view control, std::string_view host) {
  return Str(control) + Str(host);
}
inline std::string Deviation(std::string_view control, std::string_view host, int64_t start) {
  std::string k = DeviationHostPrefix(control, host);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(start));
  return k;
}

// kApprovals: "change" \0 id -> host (the change's host);
//             "approval" \0 id \0 recorded(ns) -> Approval.
inline std::string ChangeHost(std::string_view change_id) {
  return Str("change") + std::string(change_id);
}
inline std::string ApprovalPrefix() { return Str("approval"); }
inline std::string Approval(std::string_view change_id, int64_t recorded_ns) {
  std::string k = ApprovalPrefix() + Str(change_id);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(recorded_ns));
  return k;
}

// kPolicyVersions: loaded(ns) -> PolicyVersion.
inline std::string PolicyVersion(int64_t loaded_ns) {
  std::string k;
  store::AppendBigEndian64(&k, static_cast<uint64_t>(loaded_ns));
  return k;
}

// kDecommissions: host \0 recorded(ns) -> Decommission.
inline std::string Decommission(std::string_view host, int64_t recorded_ns) {
  std::string k = Str(host);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(recorded_ns));
  return k;
}

// kSamples: window \0 drawn(ns) control -> SampleDraw.
inline std::string SampleDrawKey(std::string_view window, int64_t drawn_ns,
                                 std::string_view control) {
  std::string k = Str(window);
  store::AppendBigEndian64(&k, static_cast<uint64_t>(drawn_ns));
  k.append(control);
  return k;
}

// kReviews, one prefix per record type:
//   "campaign" \0 id                        -> ReviewCampaign
//   "host" \0 campaign \0 host               -> ReviewHost
//   "entry" \0 campaign \0 entry             -> ReviewEntry
//   "decision" \0 campaign \0 entry          -> ReviewDecision
//   "confirmed" \0 campaign \0 entry \0 host -> RevocationState (derived
//     from the host's evidence: the first snapshot without a revoked entry)
inline std::string ReviewKey(std::string_view type, std::string_view campaign,
                             std::string_view entry = {}, std::string_view host = {}) {
  std::string k = Str(type) + Str(campaign);
  if (!entry.empty()) k += Str(entry);
  if (!host.empty()) k += Str(host);
  return k;
}
inline std::string ReviewPrefix(std::string_view type) { return Str(type); }

}  // namespace attest::engine::keys

#endif  // ATTEST_DAEMON_ENGINE_ENGINE_KEYS_H_
