#include "common/clock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

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

FileClock::FileClock(std::string path) : path_(std::move(path)), last_(absl::Now()) {}

absl::Time FileClock::Now() const {
  char buf[32] = {};
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ssize_t n = -1;
  if (fd >= 0) {
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
  }
  std::lock_guard lock(mu_);
  if (n > 0) {
    char* end = nullptr;
    const long long seconds = strtoll(buf, &end, 10);
    if (end != buf && (*end == '\0' || *end == '\n')) last_ = absl::FromUnixSeconds(seconds);
  }
  return last_;
}

std::string FormatClockSkew(absl::Duration skew) {
  return absl::FormatDuration(
      absl::Floor(absl::AbsDuration(skew) + absl::Milliseconds(500), absl::Seconds(1)));
}

}  // namespace attest
