// What of a host's judge facts a control's sweep reads (daemon/engine/judge.cc).
#ifndef ATTEST_DAEMON_ENGINE_FACTS_NEEDED_H_
#define ATTEST_DAEMON_ENGINE_FACTS_NEEDED_H_

#include <string>
#include <string_view>
#include <vector>

#include "attest/v1/engine.pb.h"
#include "daemon/engine/judge.h"

namespace attest::engine {

// The facts a sweep's controls read. A sweep keeps only those (with the
// last observation's time, the last access and the collectors' failures,
// which every rule may read): copying every host state and check into each
// control's sweep, and folding every observation into each, was most of a
// judge's work. What is needed is the union over the segments' controls
// (a policy change may point a control at another check or backup).
class FactsNeeded {
 public:
  explicit FactsNeeded(const std::vector<PolicySegment>& segments);

  // The part of `from` the controls read.
  void Copy(const v1::JudgeFacts& from, v1::JudgeFacts* to) const;

  // Folds `o` into `facts` as AdvanceFacts does, but for the parts no
  // control reads.
  void Advance(v1::JudgeFacts* facts, const v1::Observation& o) const;

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
