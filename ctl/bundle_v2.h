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
#include "ctl/bundle_lines.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"

namespace attest::ctl {

// Fills the manifest's decision lists, which the replay reads, from the
// ledger in its order: policy versions, approvals and decommissions of
// `in_scope` hosts, exceptions with their revocations, review campaigns and
// decisions. DataLoss when an entry revokes an exception no earlier one made.
absl::Status DecisionsFromLedger(const std::vector<v1::LedgerEntry>& ledger,
                                 const std::set<std::string>& in_scope, v1::BundleManifest* m);

class BundleV2Check {
 public:
  explicit BundleV2Check(const VerifyOptions& options) : options_(options) {}

  // Before the records: checks the log, the ledger and the manifest, works
  // out the scope, and fills the manifest's decision lists from the ledger
  // for the replay (a format 2 manifest must not carry its own).
  // `reviews` is reviews.jsonl: the population of every access review
  // campaign in the ledger, each checked against the digest its ledger
  // entry commits to.
  // `carried` is access-changes.jsonl (format 5; empty otherwise).
  absl::Status Prepare(v1::BundleManifest& m, std::string_view states, std::string_view ledger,
                       std::string_view reviews, std::string_view carried, VerifyResult* out);
  // Each record, in chain order: when it was committed, and the
  // access-change commitment of any signed head at it.
  // `hash` is the record's verified chain hash.
  absl::Status OnRecord(const v1::EvidenceRecord& r, std::string_view hash, VerifyResult* out);
  // After the records: every in-scope host's labels in the signed state
  // are those of its last hello, and every access-change commitment of its
  // heads was reached and matched.
  absl::Status Finish();

  const std::set<std::string>& in_scope() const { return in_scope_; }

  // Format 5 (docs/bundle.md, "Window-sized bundles"): an in-scope host
  // whose records start after record 1, at its head in a signed state made
  // before the window (S: the earliest state carrying heads whose head of
  // the host reaches the manifest's first_index).
  struct SuffixStart {
    uint64_t first_index = 0;
    std::string hash;  // S's head hash: the first record's
    uint64_t sequence = 0;
    uint64_t ledger_length = 0;  // S's
    // When S existed at the latest: its created_at, or, with witness keys,
    // the cosignature time that proves it, when later.
    int64_t signed_by = 0;
    std::map<std::string, std::string> labels;  // S's head labels
    // The host's access-change records before first_index, in index order
    // (access-changes.jsonl), each checked on its own.
    std::vector<CheckedLine> carried;
  };
  std::map<std::string, SuffixStart>& suffixes() { return suffixes_; }
  const ReviewPopulations& reviews() const { return reviews_; }

 private:
  const VerifyOptions& options_;
  std::map<std::string, SuffixStart> suffixes_;
  absl::Status PrepareSuffixes(const v1::BundleManifest& m, const std::vector<State>& states,
                               const LogCheck& log, std::string_view carried, VerifyResult* out);
  size_t snapshots_before_suffix_ = 0;
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
  // Checks the commitments of f's heads below record `below` against the
  // fold so far.
  absl::Status CheckAccessPoints(AccessFold& f, const v1::EvidenceRecord& r, uint64_t below,
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
