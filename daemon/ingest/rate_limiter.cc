#include "daemon/ingest/rate_limiter.h"

#include <algorithm>

namespace attest::ingest {

RateLimiter::RateLimiter(const Clock& clock, double rate_per_second, double burst)
    : clock_(clock), rate_(rate_per_second), burst_(std::max(burst, rate_per_second)) {}

bool RateLimiter::Admit(const std::string& host, size_t signals) {
  if (rate_ <= 0) return true;
  const absl::Time now = clock_.Now();
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(host, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted && now > b.refilled_at) {
    b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.refilled_at) * rate_);
    b.refilled_at = now;
  }
  const double need = static_cast<double>(signals);
  if (b.tokens < need) return false;
  b.tokens -= need;
  return true;
}

}  // namespace attest::ingest
