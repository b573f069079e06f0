// Format 5's part of BundleV2Check (docs/bundle.md, "Window-sized
// bundles"): each host that starts after record 1, its start state S, and
// its carried access changes.
#include <algorithm>
#include <thread>

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_v2.h"
#include "daemon/evidence/chain.h"

namespace attest::ctl {

absl::Status BundleV2Check::PrepareSuffixes(const v1::BundleManifest& m,
                                            const std::vector<State>& states, const LogCheck& log,
                                            std::string_view carried, VerifyResult* out) {
  // When each state existed at the latest, as the trusted keys prove it: a
  // state is in every later state's tree, so a later cosignature proves it
  // too.
  std::vector<absl::Time> existed(states.size(), absl::InfiniteFuture());
  for (size_t i = states.size(); i-- > 0;) {
    existed[i] = std::min(log.committed_at[i],
                          i + 1 < states.size() ? existed[i + 1] : absl::InfiniteFuture());
  }
  for (const v1::BundleHost& bh : m.hosts()) {
    if (bh.first_index() == 1) continue;
    if (m.format() != kBundleFormatV5 && m.format() != kBundleFormatV6) {
      return absl::DataLossError(StrCat("manifest.json: host ", bh.host(), " starts at record ",
                                        bh.first_index(), "; only ", kBundleFormatV5, " and ",
                                        kBundleFormatV6, " start a host's records after record 1"));
    }
    if (bh.first_index() == 0 || bh.first_index() > bh.last_index()) {
      return absl::DataLossError(StrCat("manifest.json: host ", bh.host(), ": first_index ",
                                        bh.first_index(), " is not within its chain (1 to ",
                                        bh.last_index(), ")"));
    }
    SuffixStart x;
    x.first_index = bh.first_index();
    size_t at = states.size();
    for (size_t i = 0; i < states.size() && at == states.size(); ++i) {
      if (!states[i].full) continue;
      auto h = states[i].heads.find(bh.host());
      if (h == states[i].heads.end() || h->second.length < x.first_index) continue;
      if (h->second.length != x.first_index) {
        return absl::DataLossError(
            StrCat("host ", bh.host(), ": its records start at record ", x.first_index,
                   ", but the earliest state in states.jsonl with its head (state ",
                   states[i].sequence, ") has it at record ", h->second.length,
                   ": a window-sized bundle starts a host at a signed head"));
      }
      if (!h->second.has_access) {
        return absl::DataLossError(
            StrCat("host ", bh.host(), ": its records start at state ", states[i].sequence, ", an ",
                   states[i].format,
                   " state, which makes no access-change commitment to check the earlier "
                   "access changes against"));
      }
      at = i;
      x.hash = h->second.hash;
      x.labels = h->second.labels;
    }
    if (at == states.size()) {
      return absl::DataLossError(StrCat("host ", bh.host(), ": its records start at record ",
                                        x.first_index,
                                        ", but no state in states.jsonl has its head there"));
    }
    x.sequence = states[at].sequence;
    x.ledger_length = states[at].ledger_length;
    if (existed[at] == absl::InfiniteFuture()) {
      return absl::DataLossError(
          StrCat("host ", bh.host(), ": its records start at state ", x.sequence,
                 ", which no checkpoint cosigned by every --witness-key proves existed"));
    }
    // The time the rule is judged with: the exporter's, so that auditors
    // with different witness keys judge alike (the rule is not monotone in
    // it), but never earlier than the keys given here prove.
    const int64_t proven = absl::ToUnixSeconds(std::max(states[at].created_at, existed[at]));
    x.signed_by = proven;
    if (bh.has_start_existed()) {
      if (bh.start_existed().seconds() < proven) {
        return absl::DataLossError(
            StrCat("manifest.json: host ", bh.host(), ": start_existed ",
                   FormatRfc3339(absl::FromUnixSeconds(bh.start_existed().seconds())),
                   " is before state ", x.sequence, " existed as far as ",
                   options_.witnesses.empty() ? "its created_at says" : "the given witnesses prove",
                   " (", FormatRfc3339(absl::FromUnixSeconds(proven)), ")"));
      }
      x.signed_by = bh.start_existed().seconds();
    }
    hello_labels_[bh.host()] = x.labels;
    suffixes_[bh.host()] = std::move(x);
  }
  // access-changes.jsonl: per host in host order, its access changes before
  // its first record, in index order.
  std::vector<std::string_view> lines;
  for (std::string_view text = carried; !text.empty();) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return absl::DataLossError(
          StrCat("access-changes.jsonl line ", lines.size() + 1, ": no final newline"));
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  std::vector<CheckedLine> checked;
  CheckLines(lines, std::max(1u, std::thread::hardware_concurrency()), &checked);
  std::string last_host;
  uint64_t last_index = 0;
  for (size_t i = 0; i < checked.size(); ++i) {
    CheckedLine& l = checked[i];
    auto bad = [&](std::string_view why) {
      return absl::DataLossError(StrCat("access-changes.jsonl line ", i + 1, " (host ", l.host,
                                        ", record ", l.index, "): ", why));
    };
    if (!l.unnamed_error.empty()) {
      return absl::DataLossError(
          StrCat("access-changes.jsonl line ", i + 1, ": ", l.unnamed_error));
    }
    if (!l.error.empty()) return bad(l.error);
    auto sx = suffixes_.find(l.host);
    if (sx == suffixes_.end()) {
      return bad(
          "the host's records start at record 1 (or it is not in the bundle): it carries "
          "no earlier access changes");
    }
    if (l.host < last_host || (l.host == last_host && l.index <= last_index)) {
      return bad("out of order (hosts in byte order, each host's records by index)");
    }
    if (l.index >= sx->second.first_index) {
      return bad(StrCat("not before the host's first record (", sx->second.first_index, ")"));
    }
    if (!evidence::IsAccessChange(*l.record)) return bad("not an access change");
    last_host = l.host;
    last_index = l.index;
    sx->second.carried.push_back(std::move(l));
  }
  out->suffix_hosts = suffixes_.size();
  out->carried_records = checked.size();
  if (!suffixes_.empty() && options_.witnesses.empty()) {
    out->warnings.push_back(
        "no --witness-key: where each window-sized host's records start was judged by attestd's "
        "own word on when its start state was made");
  }
  return absl::OkStatus();
}

}  // namespace attest::ctl
