// What attestd decodes from an agent's stream: a Hello or a SignalBatch in
// protobuf wire format, then validated. The first byte picks which.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "attest/v1/agent.pb.h"
#include "daemon/ingest/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const attest::ingest::Limits limits;
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const int n = static_cast<int>(size - 1);
  if (data[0] % 2 == 0) {
    attest::v1::Hello hello;
    if (hello.ParseFromArray(data + 1, n)) (void)attest::ingest::ValidateHello(hello, limits);
  } else {
    attest::v1::SignalBatch batch;
    if (batch.ParseFromArray(data + 1, n)) {
      (void)attest::ingest::ValidateBatch(batch, now, limits);
      for (const auto& s : batch.signals()) (void)attest::ingest::ValidateSignal(s, now, limits);
    }
  }
  return 0;
}
