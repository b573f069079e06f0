// The checks format 2 of a bundle adds (docs/bundle.md, "Verifying"):
// the log and its witnesses, the ledger, the manifest against the signed
// state, the window's scope worked out from signed data, each in-scope
// host's labels against its own chain, and when each record was
// committed.
#ifndef ATTEST_CTL_BUNDLE_V2_H_
#define ATTEST_CTL_BUNDLE_V2_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ctl/bundle.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"

namespace attest::ctl {

class BundleV2Check {
 public:
  explicit BundleV2Check(const VerifyOptions& options) : options_(options) {}

  // Before the records: checks the log, the ledger and the manifest, works
  // out the scope, and fills the manifest's decision lists from the ledger
  // for the replay (a format 2 manifest must not carry its own).
  // `reviews` is reviews.jsonl: the population of every access review
  // campaign in the ledger, each checked against the digest its ledger
  // entry commits to.
  absl::Status Prepare(v1::BundleManifest& m, std::string_view states, std::string_view ledger,
                       std::string_view reviews, VerifyResult* out);
  // Each record, in chain order: when it was committed, and the
  // access-change commitment of any signed head at it.
  // `hash` is the record's verified chain hash.
  absl::Status OnRecord(const v1::EvidenceRecord& r, std::string_view hash, VerifyResult* out);
  // After the records: every in-scope host's labels in the signed state
  // are those of its last hello, and every access-change commitment of its
  // heads was reached and matched.
  absl::Status Finish();

  const std::set<std::string>& in_scope() const { return in_scope_; }
  const ReviewPopulations& reviews() const { return reviews_; }

 private:
  const VerifyOptions& options_;
  v1::WindowDef window_;
  std::map<std::string, StateHead> final_heads_;
  std::set<std::string> in_scope_;
  // Per host: (chain length, when the state that first had it was
  // committed), lengths ascending.
  std::map<std::string, std::vector<std::pair<uint64_t, absl::Time>>> commits_;
  std::map<std::string, std::map<std::string, std::string>> hello_labels_;
  // Per in-scope host: the access-change commitments of its heads in
  // attest-state-v2 states, lengths ascending, each checked against the
  // chain when its record is reached.
  struct AccessPoint {
    uint64_t length = 0;
    uint64_t sequence = 0;
    uint64_t count = 0;
    std::string hash;
  };
  struct AccessFold {
    std::vector<AccessPoint> points;
    size_t next = 0;
    uint64_t count = 0;
    std::string acc;
  };
  std::map<std::string, AccessFold> access_;
  absl::Status CheckAccessCommitment(const v1::EvidenceRecord& r, std::string_view hash,
                                     VerifyResult* out);
  ReviewPopulations reviews_;
  std::map<std::string, std::vector<std::string>> review_groups_;  // campaign -> privileged groups
  // In-scope host -> the snapshots campaigns took their entries from:
  // (campaign, snapshot index), each checked against its record.
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> review_snapshots_;
  size_t review_snapshots_left_ = 0;
  absl::Status PrepareReviews(v1::BundleManifest& m, const std::vector<v1::LedgerEntry>& ledger,
                              std::string_view text);
  absl::Status CheckReviewSnapshot(const v1::EvidenceRecord& r, const std::string& campaign);
};

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_V2_H_
