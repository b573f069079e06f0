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
  std::string summary;  // a line per control: id, verdict
};

// DataLoss naming the first bad record or part when the bundle does not
// verify; InvalidArgument when it cannot be read at all. `pubkey_pem`
// empty: trust the key in the bundle (and say so).
absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const std::string& pubkey_pem);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_H_
