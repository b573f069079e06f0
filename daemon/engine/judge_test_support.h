// What the judge's tests share: hand-written observations judged over
// offsets from T0, and intervals compared as (start, end, state letter).
#ifndef ATTEST_DAEMON_ENGINE_JUDGE_TEST_SUPPORT_H_
#define ATTEST_DAEMON_ENGINE_JUDGE_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include "daemon/engine/judge.h"
#include "gtest/gtest.h"

namespace attest::engine::testing_support {

constexpr Seconds kH = 3600;
constexpr Seconds kD = kDaySeconds;
constexpr Seconds T0 = 1767225600;  // 2026-01-01T00:00:00Z

// Expected interval: offsets from T0, and a state letter
// (P)ass, (F)ail, (N)o evidence, (E)xcepted.
struct Want {
  Seconds start;
  Seconds end;
  char state;
};

inline char Letter(v1::ControlState s) {
  switch (s) {
    case v1::CONTROL_STATE_PASS:
      return 'P';
    case v1::CONTROL_STATE_FAIL:
      return 'F';
    case v1::CONTROL_STATE_NO_EVIDENCE:
      return 'N';
    case v1::CONTROL_STATE_EXCEPTED:
      return 'E';
    default:
      return '?';
  }
}

inline std::string Show(const std::vector<v1::Interval>& got) {
  std::string s;
  for (const auto& iv : got) {
    s += "[" + std::to_string(iv.start() - T0) + "," + std::to_string(iv.end() - T0) + ")" +
         Letter(iv.state()) + " " + iv.cause() + "\n";
  }
  return s;
}

inline void Expect(const std::vector<v1::Interval>& got, const std::vector<Want>& want) {
  ASSERT_EQ(got.size(), want.size()) << Show(got);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].start() - T0, want[i].start) << i << "\n" << Show(got);
    EXPECT_EQ(got[i].end() - T0, want[i].end) << i << "\n" << Show(got);
    EXPECT_EQ(Letter(got[i].state()), want[i].state) << i << "\n" << Show(got);
  }
}

// Observation builders; `at` is an offset from T0.
inline v1::Observation Beat(Seconds at) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.set_any(true);
  return o;
}
inline v1::Observation Gap(Seconds from, Seconds at) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.set_gap_from(T0 + from);
  return o;
}
// A server-control state (host.* rules).
inline v1::Observation Host(Seconds at, v1::Signal state) {
  v1::Observation o;
  o.set_t(T0 + at);
  *o.mutable_host() = std::move(state);
  return o;
}
inline v1::Observation Failed(Seconds at, std::string collector) {
  v1::Observation o;
  o.set_t(T0 + at);
  o.set_collector_error(std::move(collector));
  return o;
}

// Judges `control` over [from, to) (offsets) with everything else default.
struct Case {
  Control control;
  std::vector<v1::Observation> observations;
  Seconds from = 0;
  Seconds to = kD;
  Seconds scope_start = 0;
  Seconds scope_end = kForever - T0;
  std::vector<ExceptionSpan> exceptions;
  ApprovalsByChange approvals;
  v1::JudgeFacts facts;
  uint32_t judgement = kJudgement;

  std::vector<v1::Interval> Run() const {
    JudgeInput in;
    in.facts = &facts;
    in.observations = observations;
    std::vector<v1::Observation> changes;
    for (const auto& o : observations) {
      if (o.has_access() && !o.access().snapshot()) changes.push_back(o);
    }
    in.access_changes = changes;
    in.from = T0 + from;
    in.to = T0 + to;
    in.scope_start = T0 + scope_start;
    in.scope_end = T0 + scope_end;
    in.segments = {PolicySegment{0, kForever, &control, "sha256:v1", judgement}};
    in.exceptions = exceptions;
    for (auto& x : in.exceptions) {
      x.start += T0;
      x.end += T0;
    }
    in.approvals = &approvals;
    std::vector<v1::Interval> held = JudgeControl(in);
    // The same observations each where it is, as the engine hands them
    // over (parsed onto an arena): judged the same.
    std::vector<const v1::Observation*> pointed;
    for (const v1::Observation& o : observations) pointed.push_back(&o);
    in.observations = ObservationSpan(std::span<const v1::Observation* const>(pointed));
    EXPECT_EQ(Show(JudgeControl(in)), Show(held)) << "observations by pointer";
    return held;
  }
};

}  // namespace attest::engine::testing_support

#endif  // ATTEST_DAEMON_ENGINE_JUDGE_TEST_SUPPORT_H_
