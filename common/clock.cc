#include "common/clock.h"

#include "absl/time/clock.h"

namespace attest {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& SystemClock() {
  static RealClock* clock = new RealClock();
  return *clock;
}

std::string FormatClockSkew(absl::Duration skew) {
  return absl::FormatDuration(
      absl::Floor(absl::AbsDuration(skew) + absl::Milliseconds(500), absl::Seconds(1)));
}

}  // namespace attest
