// The judge: pure functions from a host's observations to control states.
//
// For one control on one host, time is cut into half-open intervals
// [start, end), each in exactly one state (DESIGN.md, "Controls and their
// semantics"). The judge is a sweep: every instant where a state can change
// (an observation, a freshness expiry, an SLA or approval deadline, an
// exception bound, a policy change, a gap bound) is a breakpoint, and the
// state on [b_i, b_(i+1)) is the state at b_i. Boundaries follow one rule:
// a deadline D is met by evidence at D, and missed from D on. Evidence at t
// with freshness F is fresh on [t, t+F).
//
// Nothing here reads the store or the clock, so every rule is tested with
// hand-built observations (judge_test.cc).
#ifndef ATTEST_DAEMON_ENGINE_JUDGE_H_
#define ATTEST_DAEMON_ENGINE_JUDGE_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "attest/v1/engine.pb.h"
#include "attest/v1/evidence.pb.h"
#include "daemon/engine/policy.h"

namespace attest::engine {

using Seconds = int64_t;  // Unix seconds
inline constexpr Seconds kForever = INT64_MAX / 4;
inline constexpr Seconds kDaySeconds = 86400;

inline Seconds DayStart(Seconds t) { return t - ((t % kDaySeconds) + kDaySeconds) % kDaySeconds; }
inline uint32_t DayOf(Seconds t) { return static_cast<uint32_t>(DayStart(t) / kDaySeconds); }

// A Duration in whole seconds; InfiniteDuration -> kForever.
Seconds ToSeconds(absl::Duration d);

// How causes print a time (RFC 3339) and a duration ("14d", "2h", "90s").
std::string CauseTime(Seconds t);
std::string CauseDuration(Seconds s);

// The judgements (docs/design.md, "Judgements"). 1: attest's first. 2: a
// log delivery that a later state reports counts from when it was made, as
// a backup's success always has (under 1 it counted from the first
// breakpoint after it, which made a day-at-a-time judgement differ from an
// all-at-once one near midnight). A policy version names its judgement
// (PolicyVersion.judge), so that evidence judged under 1 recomputes as it
// was judged.
inline constexpr uint32_t kFirstJudgement = 1;
inline constexpr uint32_t kJudgement = 2;  // the newest: what attestd records

// The judgement a policy version's `judge` field names (0: the first).
inline uint32_t JudgementOf(uint32_t judge) { return judge == 0 ? kFirstJudgement : judge; }

// The part of [start, end) in which `control` was judged under `version`
// and `judgement`. `control` is null where the policy in force had no such
// control.
struct PolicySegment {
  Seconds start = 0;
  Seconds end = kForever;
  const Control* control = nullptr;
  std::string version;
  uint32_t judgement = kJudgement;
};

// An exception that applies to this host and control.
struct ExceptionSpan {
  Seconds start = 0;
  Seconds end = 0;
  std::string cause;  // e.g. "exception EX-1: vendor patch pending (CHG-9, approved by ana)"
};

// One approval or revocation of an access change, at the time it took effect.
struct ApprovalEvent {
  Seconds t = 0;
  bool approved = true;  // false: a revocation
};
using ApprovalsByChange = std::map<std::string, std::vector<ApprovalEvent>>;

// Whether change `id` stands approved at `t` (the last event at or before
// `t` decides). `approvals` may be null: none.
bool ApprovedAt(const ApprovalsByChange* approvals, const std::string& id, Seconds t);

// An access review campaign as one host sees it (rule
// access.review_performed).
struct ReviewRevocation {
  std::string entry;             // e.g. "key alice ssh-ed25519 SHA256:..." (for causes)
  Seconds decided = 0;           // when the revoke was recorded
  Seconds confirmed = kForever;  // the first snapshot without it at or after `decided`
};
struct ReviewSpan {
  std::string campaign;
  Seconds start = 0;
  Seconds due = 0;
  bool has_snapshot = true;         // false: the host had no access snapshot at the start
  Seconds completed = kForever;     // when the campaign's last entry was decided
  Seconds host_decided = kForever;  // when the last of this host's entries was decided
  uint64_t host_entries = 0;
  std::vector<ReviewRevocation> revocations;  // revoked entries of this host
};

// A run of observations, held side by side (a vector of them) or each
// where it is (the engine parses a host's onto an arena): read the same
// either way.
class ObservationSpan {
 public:
  ObservationSpan() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): a vector is a span.
  ObservationSpan(std::span<const v1::Observation> held) : held_(held) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  ObservationSpan(const std::vector<v1::Observation>& held) : held_(held) {}
  explicit ObservationSpan(std::span<const v1::Observation* const> pointed)
      : pointed_(pointed), by_pointer_(true) {}

  size_t size() const { return by_pointer_ ? pointed_.size() : held_.size(); }
  bool empty() const { return size() == 0; }
  const v1::Observation& operator[](size_t i) const {
    return by_pointer_ ? *pointed_[i] : held_[i];
  }
  const v1::Observation& back() const { return (*this)[size() - 1]; }
  // From `offset`, at most `count` of them.
  ObservationSpan subspan(size_t offset, size_t count = std::dynamic_extent) const {
    ObservationSpan out = *this;
    out.held_ = by_pointer_ ? held_ : held_.subspan(offset, count);
    out.pointed_ = by_pointer_ ? pointed_.subspan(offset, count) : pointed_;
    return out;
  }

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = v1::Observation;
    using difference_type = std::ptrdiff_t;
    using pointer = const v1::Observation*;
    using reference = const v1::Observation&;
    Iterator() = default;
    Iterator(const ObservationSpan* span, size_t i) : span_(span), i_(i) {}
    reference operator*() const { return (*span_)[i_]; }
    pointer operator->() const { return &(*span_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator was = *this;
      ++i_;
      return was;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const ObservationSpan* span_ = nullptr;
    size_t i_ = 0;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  std::span<const v1::Observation> held_;
  std::span<const v1::Observation* const> pointed_;
  bool by_pointer_ = false;
};

struct JudgeInput {
  const v1::JudgeFacts* facts = nullptr;  // what is known at `from`
  // Observations with t >= from, sorted by (t, index).
  ObservationSpan observations;
  // Every access change of the host, sorted by t (any time).
  std::span<const v1::Observation> access_changes;
  Seconds from = 0;  // judge [from, to)
  Seconds to = 0;
  Seconds scope_start = 0;              // enrolled
  Seconds scope_end = kForever;         // decommissioned
  std::vector<PolicySegment> segments;  // sorted, non-overlapping
  std::vector<ExceptionSpan> exceptions;
  const ApprovalsByChange* approvals = nullptr;  // may be null: none
  // The campaigns whose scope held the host, by start.
  std::span<const ReviewSpan> reviews;
};

// The control's intervals within [from, to) and the host's scope, adjacent
// equal ones merged. Time outside every segment with a control is skipped.
std::vector<v1::Interval> JudgeControl(const JudgeInput& input);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_JUDGE_H_
