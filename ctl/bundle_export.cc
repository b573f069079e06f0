// attestctl export (docs/bundle.md, "Commands"): attestd's cut, the log and
// ledger up to its checkpoint, and every in-scope chain, into one tar.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"
#include "ctl/bundle_v2.h"
#include "ctl/bundle_window.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/tar.h"
#include "daemon/engine/scan.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/record_json.h"
#include "google/protobuf/util/json_util.h"

namespace attest::ctl {
namespace {

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      attest::StrCat(what, ": ", s.error_message()));
}

}  // namespace

absl::Status ListCheckpointRange(v1::AdminService::Stub& admin, uint64_t from, uint64_t to,
                                 bool leaves_only, uint32_t limit,
                                 std::vector<v1::Checkpoint>* into) {
  while (from <= to) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::ListCheckpointsRequest req;
    req.set_from_sequence(from);
    req.set_to_sequence(to);
    req.set_leaves_only(leaves_only);
    req.set_limit(limit);
    v1::ListCheckpointsResponse resp;
    grpc::Status s = admin.ListCheckpoints(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, "checkpoints");
    for (v1::Checkpoint& c : *resp.mutable_checkpoints()) {
      if (c.sequence() != from) {
        return absl::DataLossError(
            StrCat("attestd lists checkpoint ", c.sequence(), " where ", from, " should be"));
      }
      into->push_back(std::move(c));
      ++from;
    }
    if (!resp.more()) break;
  }
  if (from <= to) return absl::DataLossError(StrCat("attestd does not list checkpoint ", from));
  return absl::OkStatus();
}

namespace {

// The names of the witnesses attestd sends its checkpoints to.
absl::StatusOr<std::vector<std::string>> WitnessNames(v1::AdminService::Stub& admin) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::GetStatusRequest req;
  req.set_max_failing_hosts(1);
  v1::FleetStatus status;
  grpc::Status s = admin.GetStatus(&ctx, req, &status);
  if (!s.ok()) return FromGrpc(s, "status");
  std::vector<std::string> out;
  for (const v1::WitnessStatus& w : status.witnesses()) out.push_back(w.name());
  return out;
}

}  // namespace

absl::StatusOr<v1::Checkpoint> CosignedCheckpoint(v1::AdminService::Stub& admin, uint64_t sequence,
                                                  absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  v1::Checkpoint final_checkpoint;
  for (;;) {
    auto configured = WitnessNames(admin);
    if (!configured.ok()) return configured.status();
    const std::vector<std::string>& witnesses = *configured;
    auto c = FetchCheckpoint(admin, sequence, Deadline(600));
    if (!c.ok()) return c.status();
    final_checkpoint = std::move(*c);
    std::vector<std::string> missing;
    for (const std::string& w : witnesses) {
      if (final_checkpoint.note().find(StrCat("\n\xe2\x80\x94 ", w, " ")) == std::string::npos) {
        missing.push_back(w);
      }
    }
    if (missing.empty()) return final_checkpoint;
    if (absl::Now() >= until) {
      std::string names;
      for (const std::string& w : missing) StrAppend(&names, names.empty() ? "" : ", ", w);
      fprintf(stderr,
              "attestctl: export: checkpoint %llu is not cosigned yet by %s; the bundle verifies "
              "with --witness-key only for witnesses that did (see attestctl status)\n",
              static_cast<unsigned long long>(sequence), names.c_str());
      return final_checkpoint;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a witness is answering
  }
}

namespace {

struct ExportLog {
  std::string ledger;                    // ledger.jsonl
  std::vector<v1::LedgerEntry> entries;  // the same, parsed
  std::vector<std::string> campaigns;    // access review campaigns the ledger starts
  std::vector<v1::Checkpoint> leaves;    // every state, without heads
  v1::Checkpoint final_checkpoint;
  uint64_t in_force = 1;   // the last state made at or before the window's start
  bool v2_states = false;  // some state is attest-state-v2: the bundle is format 4
};

// The log up to checkpoint `sequence` (the export's cut): every state's
// leaf, and the ledger up to that checkpoint's head. Waits up to `wait` for
// every witness attestd has to cosign that checkpoint.
absl::StatusOr<ExportLog> ReadLog(v1::AdminService::Stub& admin, uint64_t sequence,
                                  absl::Time window_start, absl::Duration wait) {
  ExportLog out;
  auto cosigned = CosignedCheckpoint(admin, sequence, wait);
  if (!cosigned.ok()) return cosigned.status();
  out.final_checkpoint = std::move(*cosigned);
  if (absl::Status s = ListCheckpointRange(admin, 1, sequence, true, 10000, &out.leaves); !s.ok())
    return s;
  for (const v1::Checkpoint& c : out.leaves) {
    if (FromProto(c.created_at()) <= window_start) out.in_force = c.sequence();
    out.v2_states = out.v2_states || c.state_version() == 2;
  }
  const uint64_t ledger_length = out.final_checkpoint.ledger_length();
  for (uint64_t next = 1; next <= ledger_length;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::ListLedgerRequest req;
    req.set_from_index(next);
    req.set_to_index(ledger_length);
    v1::ListLedgerResponse page;
    grpc::Status s = admin.ListLedger(&ctx, req, &page);
    if (!s.ok()) return FromGrpc(s, "ledger");
    if (page.entries().empty()) {
      return absl::DataLossError(StrCat("attestd's ledger ends before entry ", next));
    }
    for (v1::LedgerEntry& e : *page.mutable_entries()) {
      StrAppend(&out.ledger, evidence::CanonicalLedgerEntry(e, /*with_links=*/true), "\n");
      if (e.has_review_campaign()) out.campaigns.push_back(e.review_campaign().id());
      out.entries.push_back(std::move(e));
      ++next;
    }
  }
  return out;
}

// states.jsonl: every state's leaf; from state `first_full` on, each with
// its heads and note, a few at a time (a state holds every host's head).
// The bundle's own checkpoint with the cosignatures waited for.
absl::StatusOr<std::string> StatesText(v1::AdminService::Stub& admin, const ExportLog& log,
                                       uint64_t first_full) {
  std::string out;
  const uint64_t sequence = log.final_checkpoint.sequence();
  for (const v1::Checkpoint& c : log.leaves) {
    if (c.sequence() >= first_full) break;
    StrAppend(&out, StatesLine(c, /*full=*/false), "\n");
  }
  std::vector<v1::Checkpoint> full;
  for (uint64_t from = first_full; from <= sequence; from += 16) {
    full.clear();
    const uint64_t to = std::min<uint64_t>(sequence, from + 15);
    if (absl::Status s = ListCheckpointRange(admin, from, to, false, 16, &full); !s.ok()) return s;
    for (const v1::Checkpoint& c : full) {
      StrAppend(&out, StatesLine(c.sequence() == sequence ? log.final_checkpoint : c, true), "\n");
    }
  }
  return out;
}

// reviews.jsonl: each campaign's population as attestd stored it (it never
// changes after the start; verify checks it against the ledger's digest).
absl::StatusOr<std::string> ReviewPopulationsText(v1::AdminService::Stub& admin,
                                                  const std::vector<std::string>& campaigns,
                                                  ReviewPopulations* populations) {
  std::string out;
  for (const std::string& id : campaigns) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::GetReviewRequest req;
    req.set_id(id);
    v1::ReviewDetail detail;
    grpc::Status s = admin.GetReview(&ctx, req, &detail);
    if (!s.ok()) return FromGrpc(s, "review campaign " + id);
    const std::string prefix = StrCat("{\"campaign\":", Json(id).Canonical(), ",");
    for (const v1::ReviewHost& h : detail.hosts()) {
      StrAppend(&out, prefix, "\"host\":", evidence::CanonicalMessage(h), "}\n");
    }
    for (const v1::ReviewEntry& e : detail.entries()) {
      StrAppend(&out, prefix, "\"entry\":", evidence::CanonicalMessage(e), "}\n");
    }
    ReviewPopulation& p = (*populations)[id];
    p.hosts.assign(detail.hosts().begin(), detail.hosts().end());
    p.entries.assign(detail.entries().begin(), detail.entries().end());
  }
  return out;
}

}  // namespace

namespace {

// records.jsonl (or its zstd frames) as it streams into the archive: plain,
// a MiB at a time; compressed, a frame of whole lines at a time (a host's
// chain may go on in the next frame).
class RecordsSink {
 public:
  RecordsSink(TarWriter& tar, bool compress) : tar_(tar), compress_(compress) {}
  absl::Status Add(const v1::EvidenceRecord& r) {
    evidence::AppendCanonicalRecord(&lines_, r, /*with_links=*/true);
    lines_.push_back('\n');
    ++records_;
    return lines_.size() >= (compress_ ? kFrameTargetBytes : size_t{1} << 20) ? Flush()
                                                                              : absl::OkStatus();
  }
  absl::Status Flush() {
    if (lines_.empty()) return absl::OkStatus();
    bytes_ += lines_.size();
    absl::Status s;
    if (compress_) {
      auto frame = CompressFrame(lines_);
      if (!frame.ok()) return frame.status();
      s = tar_.Append(*frame);
    } else {
      s = tar_.Append(lines_);
    }
    lines_.clear();
    return s;
  }
  uint64_t bytes() const { return bytes_ + lines_.size(); }  // of records.jsonl
  uint64_t records() const { return records_; }

 private:
  TarWriter& tar_;
  const bool compress_;
  std::string lines_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
};

// Reads `host`'s chain from attestd up to `head`, each record to `add`.
template <typename Add>
absl::Status ReadChain(v1::AdminService::Stub& admin, const std::string& host,
                       const v1::ChainHead& head, Add&& add) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(3600));
  v1::ListEvidenceRequest req;
  req.set_host(host);
  auto reader = admin.ListEvidencePages(&ctx, req);
  v1::EvidencePage page;
  v1::EvidenceRecord r;
  std::string last_hash;
  uint64_t last = 0;
  while (reader->Read(&page)) {
    for (const std::string& stored : page.records()) {
      if (!r.ParseFromString(stored)) {
        return absl::DataLossError(attest::StrCat("a stored record of ", host, " is corrupt"));
      }
      if (r.index() > head.length()) break;  // after the checkpoint
      if (absl::Status s = add(r); !s.ok()) return s;
      last = r.index();
      last_hash = r.hash();
    }
  }
  if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpc(s, "evidence of " + host);
  if (last != head.length() || last_hash != head.hash()) {
    return absl::DataLossError(
        attest::StrCat(host, ": the stored chain does not end at the checkpoint's head"));
  }
  return absl::OkStatus();
}

class Progress {
 public:
  explicit Progress(size_t hosts) : hosts_(hosts), tty_(isatty(STDERR_FILENO)) {}
  ~Progress() {
    if (tty_ && shown_) fprintf(stderr, "\n");
  }
  void Show(std::string_view what, size_t done, uint64_t bytes) {
    if (!tty_) return;
    shown_ = true;
    const double secs = absl::ToDoubleSeconds(absl::Now() - started_);
    fprintf(stderr, "\r%.*s: %zu/%zu hosts, %.0f MB, %.0f MB/s   ", static_cast<int>(what.size()),
            what.data(), done, hosts_, static_cast<double>(bytes) / 1e6,
            secs > 0 ? static_cast<double>(bytes) / 1e6 / secs : 0.0);
  }

 private:
  const size_t hosts_;
  const bool tty_;
  bool shown_ = false;
  const absl::Time started_ = absl::Now();
};

// Window-sized: every in-scope chain whole into a replay store, then each
// host's start picked (replaying as little of each chain as the rule
// allows: PickWindowStarts).
absl::StatusOr<std::map<std::string, HostStart>> WindowSized(
    v1::AdminService::Stub& admin, const v1::BundleManifest& m, const ExportLog& log,
    const std::vector<std::string>& in_scope,
    const std::map<std::string, const v1::ChainHead*>& heads, const ReviewPopulations& populations,
    ReplayStore& whole) {
  uint64_t estimate = 0;  // bytes as stored, to choose memory or a scratch store
  for (const std::string& host : in_scope) estimate += heads.at(host)->length() * 600;
  if (absl::Status s = whole.Prepare(estimate); !s.ok()) return s;
  Progress progress(in_scope.size());
  uint64_t bytes = 0;
  for (size_t done = 0; done < in_scope.size(); ++done) {
    const std::string& host = in_scope[done];
    absl::Status s = ReadChain(admin, host, *heads.at(host), [&](const v1::EvidenceRecord& r) {
      bytes += r.ByteSizeLong();
      return whole.Add(r);
    });
    if (s.ok()) s = whole.EndHost(host);
    if (!s.ok()) return s;
    progress.Show("export: reading the whole chains", done + 1, bytes);
  }
  if (absl::Status s = whole.Finish(); !s.ok()) return s;
  v1::BundleManifest decisions = m;
  const std::set<std::string> scope(in_scope.begin(), in_scope.end());
  if (absl::Status s = DecisionsFromLedger(log.entries, scope, &decisions); !s.ok()) return s;
  auto witnesses = WitnessNames(admin);
  if (!witnesses.ok()) return witnesses.status();
  // Each host's review populations, by the campaign's ledger entry.
  std::map<std::string, std::vector<CampaignSnapshot>> snapshots;
  for (const v1::LedgerEntry& e : log.entries) {
    if (!e.has_review_campaign()) continue;
    auto p = populations.find(e.review_campaign().id());
    if (p == populations.end()) continue;
    for (const v1::ReviewHost& h : p->second.hosts) {
      snapshots[h.host()].push_back({e.review_campaign().id(), e.index(), h.snapshot_index()});
    }
  }
  // A test compares the pick with the one every whole chain's replay gives.
  const bool from_whole_chains = getenv("ATTESTCTL_TEST_PICK_FROM_WHOLE_CHAINS") != nullptr;
  PickTally tally;
  auto picked = PickWindowStarts(
      admin, decisions, whole, populations, log.leaves, *witnesses, snapshots,
      from_whole_chains ? std::span<const absl::Duration>() : std::span(kPickReplayBack), &tally);
  if (!picked.ok()) return picked.status();
  std::string tiers;
  for (size_t i = 0; i < tally.from_state.size(); ++i) {
    StrAppend(&tiers, tally.from_state[i], " from a state within ",
              absl::ToInt64Hours(kPickReplayBack[i]) / 24, " days of the window, ");
  }
  fprintf(stderr, "export: window-sized: the pick replayed %s%zu from record 1\n", tiers.c_str(),
          tally.whole_chains);
  return picked;
}

}  // namespace

absl::Status ExportBundle(v1::AdminService::Stub& admin, const std::string& window_id,
                          const std::string& out, const ExportOptions& options) {
  // attestd cuts the manifest at one moment (see CutExport): the summary
  // follows from exactly the records up to the checkpoint's heads, even for
  // a window still open while agents stream.
  v1::BundleManifest m;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::CutExportRequest req;
    req.set_window(window_id);
    grpc::Status s = admin.CutExport(&ctx, req, &m);
    if (!s.ok()) return FromGrpc(s, "export");
  }
  m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  // Format 2: every decision is in ledger.jsonl, committed by the checkpoint.
  m.clear_policy_versions();
  m.clear_approvals();
  m.clear_exceptions();
  m.clear_decommissions();
  auto log = ReadLog(admin, m.checkpoint().sequence(), FromProto(m.window().start()),
                     options.witness_wait);
  if (!log.ok()) return log.status();
  *m.mutable_checkpoint() = log->final_checkpoint;
  // Format 4 when a state is attest-state-v2, whether compressed or not: a
  // reader from before that state format refuses the bundle by its format.
  // Format 6 when the ledger names a judgement, whatever else: every
  // reader from before judgements refuses it by its format.
  const bool judgement = LedgerNamesJudgement(log->entries);
  m.set_format(judgement              ? kBundleFormatV6
               : options.window_sized ? kBundleFormatV5
               : log->v2_states       ? kBundleFormatV4
               : options.compress     ? kBundleFormatV3
                                      : kBundleFormat);
  std::map<std::string, const v1::ChainHead*> heads;
  for (const v1::ChainHead& h : m.checkpoint().heads()) heads[h.host()] = &h;
  std::vector<std::string> in_scope;
  for (const v1::BundleHost& h : m.hosts()) {
    if (heads.count(h.host()) == 0) {
      return absl::DataLossError(
          attest::StrCat("attestd put host ", h.host(), " in scope without a checkpointed chain"));
    }
    in_scope.push_back(h.host());
  }
  m.clear_hosts();  // listed again below, each with its chain's extent
  ReviewPopulations populations;
  auto reviews = ReviewPopulationsText(admin, log->campaigns, &populations);
  if (!reviews.ok()) return reviews.status();
  ReplayStore whole;
  std::map<std::string, HostStart> starts;
  uint64_t first_full = log->in_force;
  if (options.window_sized) {
    auto picked = WindowSized(admin, m, *log, in_scope, heads, populations, whole);
    if (!picked.ok()) return picked.status();
    starts = std::move(*picked);
    // States carry heads from the earliest S on.
    for (const auto& [host, x] : starts) {
      if (x.first_index > 1) first_full = std::min(first_full, x.sequence);
    }
  }
  auto states = StatesText(admin, *log, first_full);
  if (!states.ok()) return states.status();
  // records.jsonl streams straight into the archive; the manifest, which
  // lists what was written, follows it.
  auto tar = TarWriter::Create(out);
  if (!tar.ok()) return tar.status();
  tar->SetBounds(WholeBundleBounds());
  // Refused before the records stream, rather than after.
  for (const auto& [name, text] :
       {std::pair<std::string, const std::string*>{"ledger.jsonl", &log->ledger},
        {"reviews.jsonl", &*reviews},
        {"states.jsonl", &*states}}) {
    if (absl::Status s = tar->Fits(name, text->size()); !s.ok()) return s;
  }
  if (absl::Status s = tar->Begin(options.compress ? kCompressedRecordsEntry : kRecordsEntry);
      !s.ok()) {
    return s;
  }
  RecordsSink sink(*tar, options.compress);
  std::string carried;  // access-changes.jsonl
  uint64_t chain_records = 0, suffix_hosts = 0;
  Progress progress(in_scope.size());
  for (size_t done = 0; done < in_scope.size(); ++done) {
    const std::string& host = in_scope[done];
    const v1::ChainHead& head = *heads[host];
    uint64_t first = 1;
    absl::Status s;
    if (options.window_sized) {
      // From the store the pick read: the same records attestd gave.
      first = starts.at(host).first_index;
      suffix_hosts += first > 1 ? 1 : 0;
      s = engine::ScanMessages<v1::EvidenceRecord>(
          whole.store(), store::Family::kEvidence, store::EvidencePrefix(host),
          store::PrefixEnd(store::EvidencePrefix(host)),
          [&](v1::EvidenceRecord&& r) -> absl::Status {
            if (r.index() >= first) return sink.Add(r);
            if (evidence::IsAccessChange(r)) {
              evidence::AppendCanonicalRecord(&carried, r, /*with_links=*/true);
              carried.push_back('\n');
            }
            return absl::OkStatus();
          });
    } else {
      s = ReadChain(admin, host, head, [&](const v1::EvidenceRecord& r) { return sink.Add(r); });
    }
    if (!s.ok()) return s;
    chain_records += head.length();
    v1::BundleHost* bh = m.add_hosts();
    bh->set_host(host);
    bh->set_first_index(first);
    if (first > 1) bh->mutable_start_existed()->set_seconds(starts.at(host).signed_by);
    bh->set_last_index(head.length());
    bh->set_head(HexEncode(head.hash()));
    progress.Show("export", done + 1, sink.bytes());
  }
  if (absl::Status s = sink.Flush(); !s.ok()) return s;
  if (absl::Status s = tar->End(); !s.ok()) return s;
  if (options.window_sized) {
    fprintf(stderr,
            "export: window-sized: %llu of %zu hosts start at a signed state before the window; "
            "the bundle carries %llu of their %llu records (%.1f%%) and %llu earlier access "
            "changes\n",
            static_cast<unsigned long long>(suffix_hosts), in_scope.size(),
            static_cast<unsigned long long>(sink.records()),
            static_cast<unsigned long long>(chain_records),
            chain_records > 0
                ? 100.0 * static_cast<double>(sink.records()) / static_cast<double>(chain_records)
                : 0.0,
            static_cast<unsigned long long>(std::count(carried.begin(), carried.end(), '\n')));
  }

  std::string manifest;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &manifest, print); !s.ok()) {
    return absl::InternalError("manifest: " + std::string(s.message()));
  }
  absl::Status s;
  if (options.window_sized) s = tar->Add(kCarriedEntry, carried);
  if (s.ok()) s = tar->Add("ledger.jsonl", log->ledger);
  if (s.ok() && !reviews->empty()) s = tar->Add("reviews.jsonl", *reviews);
  if (s.ok()) s = tar->Add("states.jsonl", *states);
  if (s.ok()) s = tar->Add("manifest.json", manifest);
  if (s.ok()) s = tar->Add("public-key.pem", m.public_key_pem());
  if (s.ok()) s = tar->Close();
  return s;
}

}  // namespace attest::ctl
