// Import's first half, shared by the admin API and the engine benchmark:
// validates interchange records like live ingest and groups consecutive
// records of one (host, instance) into commit requests marked imported.
#ifndef ATTEST_DAEMON_ADMIN_IMPORT_BATCHES_H_
#define ATTEST_DAEMON_ADMIN_IMPORT_BATCHES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attest/v1/admin.pb.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/validate.h"

namespace attest::admin {

struct ImportBatch {
  ingest::CommitRequest request;  // origin IMPORTED; `done` left for the caller
  std::vector<uint64_t> lines;    // the input line of each record in it
};

// Records that fail validation, and signals whose seq is lower than an
// earlier one of the same host and instance, go to `reject(line, reason)`
// and into no batch; the rest keep their order.
std::vector<ImportBatch> BuildImportBatches(
    const google::protobuf::RepeatedPtrField<v1::ImportRecord>& records,
    const ingest::Limits& limits, absl::Time now,
    const std::function<void(uint64_t line, std::string reason)>& reject);

// Imports `records` synchronously (for tools and tests): builds the
// batches, submits them and waits until the committer is idle. The first
// refused record or failed commit is the error; `records` is cleared.
absl::Status CommitImport(ingest::Committer& committer, absl::Time now,
                          google::protobuf::RepeatedPtrField<v1::ImportRecord>* records);

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_IMPORT_BATCHES_H_
