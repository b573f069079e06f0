// What of a host's judge facts a control's sweep reads (daemon/engine/judge.cc).
#ifndef ATTEST_DAEMON_ENGINE_FACTS_NEEDED_H_
#define ATTEST_DAEMON_ENGINE_FACTS_NEEDED_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "attest/v1/engine.pb.h"
#include "daemon/engine/judge.h"

namespace attest::engine {

// The facts a sweep reads at its current point. What AdvanceFacts folds
// (the last observation's time, the last access, the collectors' failures,
// the patch facts) is folded into `folded`; the latest log-shipping, check
// and host states are pointers into the stored facts or the observations
// the sweep judges, which outlive it, so that a sweep copies none of them
// (copying each host state into each control's sweep was much of a
// replay's work). Keys as in v1::JudgeFacts, in std::maps: a cause that
// names the first failing shipper or backup takes them in key order, never
// in a protobuf map's, which differs between facts folded in a sweep and
// facts parsed from the store.
struct SweepFacts {
  v1::JudgeFacts folded;  // last_any, last_access, collector_error, patch
  struct Log {
    const v1::LogObservation* state = nullptr;
    Seconds t = 0;
  };
  std::map<std::string, Log> logs;                       // by shipper
  std::map<std::string, const v1::Observation*> checks;  // by check name
  std::map<std::string, const v1::Observation*> host;    // by HostFactKey
};

// The facts a sweep's controls read. A sweep keeps only those (with the
// last observation's time, the last access and the collectors' failures,
// which every rule may read): copying every host state and check into each
// control's sweep, and folding every observation into each, was most of a
// judge's work. What is needed is the union over the segments' controls
// (a policy change may point a control at another check or backup).
class FactsNeeded {
 public:
  explicit FactsNeeded(const std::vector<PolicySegment>& segments);

  // The part of `from` the controls read; `from` must outlive `to`.
  void Copy(const v1::JudgeFacts& from, SweepFacts* to) const;

  // Folds `o` into `facts` as AdvanceFacts does, but for the parts no
  // control reads; `o` must outlive `facts`.
  void Advance(SweepFacts* facts, const v1::Observation& o) const;

 private:
  bool Host(const v1::Signal& state) const;

  bool patch_ = false;
  bool logs_ = false;
  bool backups_ = false;
  std::vector<std::string> checks_;
  std::vector<std::string_view> host_kinds_;
};

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_FACTS_NEEDED_H_
