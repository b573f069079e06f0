// What attestd decodes from an agent's stream: a Hello or a SignalBatch in
// protobuf wire format, then validated. The first byte picks which.
//
// Whatever validation accepts must keep the engine's work per host bounded:
// the engine judges a host from its earliest observation to the latest
// (engine/engine_rejudge.cc), so an accepted time outside the engine's
// judging range (engine.h: 2000-01-01 to kMaxObservationLead after receipt)
// would let one record stretch a host's judgement over centuries. Such an
// input aborts the run, as would an observation larger than its signal.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/time/time.h"
#include "attest/v1/agent.pb.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/judge.h"
#include "daemon/engine/observations.h"
#include "daemon/ingest/validate.h"

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// The record the committer would store for an accepted time, and the
// observation the engine would judge from it.
void ExpectJudgeable(const google::protobuf::Timestamp& observed_at, const attest::v1::Signal* s) {
  attest::v1::EvidenceRecord record;
  *record.mutable_observed_at() = observed_at;
  *record.mutable_received_at() = attest::ToProto(kNow);
  if (s != nullptr) *record.mutable_signal() = *s;
  attest::v1::Observation o;
  attest::engine::ObservationFromRecord(record, observed_at.seconds(), &o);
  const int64_t latest =
      absl::ToUnixSeconds(kNow) + absl::ToInt64Seconds(attest::engine::kMaxObservationLead);
  if (o.t() < attest::engine::kEarliestObservation || o.t() > latest) {
    fprintf(stderr, "accepted a time the engine cannot bound: %lld\n",
            static_cast<long long>(o.t()));
    abort();
  }
  if (s != nullptr && o.ByteSizeLong() > s->ByteSizeLong() + 64) {
    fprintf(stderr, "an observation of %zu bytes from a signal of %zu\n", o.ByteSizeLong(),
            s->ByteSizeLong());
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const attest::ingest::Limits limits;
  const int n = static_cast<int>(size - 1);
  if (data[0] % 2 == 0) {
    attest::v1::Hello hello;
    if (hello.ParseFromArray(data + 1, n) &&
        attest::ingest::ValidateHello(hello, kNow, limits).ok() && hello.has_sent_at()) {
      ExpectJudgeable(hello.sent_at(), nullptr);
    }
  } else {
    attest::v1::SignalBatch batch;
    if (batch.ParseFromArray(data + 1, n)) {
      (void)attest::ingest::ValidateBatch(batch, kNow, limits);
      for (const auto& s : batch.signals()) {
        if (attest::ingest::ValidateSignal(s, kNow, limits).ok())
          ExpectJudgeable(s.observed_at(), &s);
      }
    }
  }
  return 0;
}
