// Evidence bundles (docs/bundle.md): `attestctl export` writes a tar of
// manifest.json (BundleManifest as proto JSON), records.jsonl (every
// in-scope host's whole chain up to a signed checkpoint, in the evidence
// interchange format with links) and public-key.pem; `attestctl verify`
// checks one offline: chains, checkpoint root and signature, and the
// window summary recomputed from the records by attestd's own engine.
#ifndef ATTEST_CTL_BUNDLE_H_
#define ATTEST_CTL_BUNDLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "attest/v1/admin.grpc.pb.h"

namespace attest::ctl {

// Writes the bundle of `window` to `out`. Progress goes to stderr.
absl::Status ExportBundle(v1::AdminService::Stub& admin, const std::string& window,
                          const std::string& out);

struct VerifyResult {
  size_t hosts = 0;
  size_t records = 0;
  std::string key_id;
  std::string summary;        // a line per control: id, verdict
  uint64_t record_bytes = 0;  // the size of records.jsonl
  double check_seconds = 0;   // reading and checking the records and chains
  // Recomputing the summary with the engine after the checks: the hosts
  // it could not judge while the records streamed, then what people did.
  double replay_seconds = 0;
  bool replayed_from_disk = false;  // through a scratch RocksDB (VerifyOptions)
};

struct VerifyOptions {
  std::string pubkey_pem;  // empty: trust the key in the bundle (and say so)
  // Records larger than this are replayed from a scratch RocksDB under
  // scratch_dir ($TMPDIR or /tmp when empty) instead of memory.
  uint64_t memory_limit = uint64_t{2} << 30;
  std::string scratch_dir;
};

// DataLoss naming the first bad record or part when the bundle does not
// verify; InvalidArgument when it cannot be read at all.
absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const VerifyOptions& options);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_H_
