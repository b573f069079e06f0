// Per-host token buckets: each host may send `rate` signals per second on
// average, with bursts up to `burst`. Thread-safe.
#ifndef ATTEST_DAEMON_INGEST_RATE_LIMITER_H_
#define ATTEST_DAEMON_INGEST_RATE_LIMITER_H_

#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace attest::ingest {

class RateLimiter {
 public:
  // `clock` must outlive the limiter. rate <= 0 disables limiting.
  RateLimiter(const Clock& clock, double rate_per_second, double burst);

  // Takes `signals` tokens from `host`'s bucket; false when there are not
  // enough (and then takes none).
  bool Admit(const std::string& host, size_t signals);

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled_at;
  };
  const Clock& clock_;
  const double rate_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace attest::ingest

#endif  // ATTEST_DAEMON_INGEST_RATE_LIMITER_H_
