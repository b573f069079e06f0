// Time is injected: production code takes a Clock, tests pass a FakeClock
// and move it by hand instead of sleeping.
#ifndef ATTEST_COMMON_CLOCK_H_
#define ATTEST_COMMON_CLOCK_H_

#include <mutex>
#include <string>

#include "absl/time/time.h"

namespace attest {

// How far an agent's clock may be off attestd's before either side names
// it: the agent in its log, attestd in its log and in
// attest_ingest_agent_clock_skew_seconds.
inline constexpr absl::Duration kClockSkewTolerance = absl::Minutes(1);

// How far apart two clocks are, for a log line or a listing: the size of
// `skew` to the nearest second, e.g. "2h", "3m5s".
std::string FormatClockSkew(absl::Duration skew);

// Source of wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time.
  virtual absl::Time Now() const = 0;
};

// The real clock. Lives for the whole process.
Clock& SystemClock();

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  // Moves time forward (or backward, for skew tests) by `d`.
  void Advance(absl::Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

// A clock read from a file holding Unix seconds in decimal: how a test
// moves a whole attestd process through time (ATTESTD_TEST_CLOCK_FILE,
// docs/design.md "Testing"). Each Now() reads the file again, so the test
// replaces it (write and rename) to move time. Until the file first reads
// as a time, and when a read fails, Now() is the last time read (the
// system's time before any).
class FileClock : public Clock {
 public:
  explicit FileClock(std::string path);
  absl::Time Now() const override;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  mutable absl::Time last_;
};

}  // namespace attest

#endif  // ATTEST_COMMON_CLOCK_H_
