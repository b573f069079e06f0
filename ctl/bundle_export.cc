// attestctl export (docs/bundle.md, "Commands"): attestd's cut, the log and
// ledger up to its checkpoint, and every in-scope chain, into one tar.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_log.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/tar.h"
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

absl::StatusOr<v1::Checkpoint> CosignedCheckpoint(v1::AdminService::Stub& admin, uint64_t sequence,
                                                  absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  v1::Checkpoint final_checkpoint;
  for (;;) {
    std::vector<std::string> witnesses;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline(60));
      v1::GetStatusRequest req;
      req.set_max_failing_hosts(1);
      v1::FleetStatus status;
      grpc::Status s = admin.GetStatus(&ctx, req, &status);
      if (!s.ok()) return FromGrpc(s, "status");
      for (const v1::WitnessStatus& w : status.witnesses()) witnesses.push_back(w.name());
    }
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
  std::string states;                  // states.jsonl
  std::string ledger;                  // ledger.jsonl
  std::vector<std::string> campaigns;  // access review campaigns the ledger starts
  v1::Checkpoint final_checkpoint;
  bool v2_states = false;  // some state is attest-state-v2: the bundle is format 4
};

// The log up to checkpoint `sequence` (the export's cut): every state, and
// the ledger up to that checkpoint's head. Waits up to `wait` for every
// witness attestd has to cosign that checkpoint.
absl::StatusOr<ExportLog> ReadLog(v1::AdminService::Stub& admin, uint64_t sequence,
                                  absl::Time window_start, absl::Duration wait) {
  ExportLog out;
  auto cosigned = CosignedCheckpoint(admin, sequence, wait);
  if (!cosigned.ok()) return cosigned.status();
  const v1::Checkpoint final_checkpoint = std::move(*cosigned);
  // Every state's leaf, in pages; then, from the state in force at the
  // window's start on, each with its heads and note, a few at a time (a
  // state holds every host's head).
  std::vector<v1::Checkpoint> leaves;
  if (absl::Status s = ListCheckpointRange(admin, 1, sequence, true, 10000, &leaves); !s.ok())
    return s;
  uint64_t first_full = 1;
  for (const v1::Checkpoint& c : leaves) {
    if (FromProto(c.created_at()) <= window_start) first_full = c.sequence();
    out.v2_states = out.v2_states || c.state_version() == 2;
  }
  for (const v1::Checkpoint& c : leaves) {
    if (c.sequence() >= first_full) break;
    StrAppend(&out.states, StatesLine(c, /*full=*/false), "\n");
  }
  std::vector<v1::Checkpoint> full;
  for (uint64_t from = first_full; from <= sequence; from += 16) {
    full.clear();
    const uint64_t to = std::min<uint64_t>(sequence, from + 15);
    if (absl::Status s = ListCheckpointRange(admin, from, to, false, 16, &full); !s.ok()) return s;
    for (const v1::Checkpoint& c : full) {
      // The bundle's own checkpoint with the cosignatures waited for.
      StrAppend(&out.states, StatesLine(c.sequence() == sequence ? final_checkpoint : c, true),
                "\n");
    }
  }
  out.final_checkpoint = final_checkpoint;

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
    for (const v1::LedgerEntry& e : page.entries()) {
      StrAppend(&out.ledger, evidence::CanonicalLedgerEntry(e, /*with_links=*/true), "\n");
      if (e.has_review_campaign()) out.campaigns.push_back(e.review_campaign().id());
      ++next;
    }
  }
  return out;
}

// reviews.jsonl: each campaign's population as attestd stored it (it never
// changes after the start; verify checks it against the ledger's digest).
absl::StatusOr<std::string> ReviewPopulations(v1::AdminService::Stub& admin,
                                              const std::vector<std::string>& campaigns) {
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
  }
  return out;
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
  m.set_format(log->v2_states     ? kBundleFormatV4
               : options.compress ? kBundleFormatV3
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
  // records.jsonl streams straight into the archive; the manifest, which
  // lists what was written, follows it.
  auto tar = TarWriter::Create(out);
  if (!tar.ok()) return tar.status();
  if (absl::Status s = tar->Begin(options.compress ? kCompressedRecordsEntry : kRecordsEntry);
      !s.ok()) {
    return s;
  }
  const bool tty = isatty(STDERR_FILENO);
  const absl::Time started = absl::Now();
  uint64_t bytes = 0;  // of records.jsonl, as written or as compressed
  std::string lines;
  // Plain: a MiB at a time. Compressed: one frame of whole lines (a host's
  // chain may go on in the next frame).
  const size_t flush_at = options.compress ? kFrameTargetBytes : size_t{1} << 20;
  auto flush = [&]() -> absl::Status {
    if (lines.empty()) return absl::OkStatus();
    bytes += lines.size();
    absl::Status s;
    if (options.compress) {
      auto frame = CompressFrame(lines);
      if (!frame.ok()) return frame.status();
      s = tar->Append(*frame);
    } else {
      s = tar->Append(lines);
    }
    lines.clear();
    return s;
  };
  v1::EvidenceRecord r;
  for (size_t done = 0; done < in_scope.size(); ++done) {
    const std::string& host = in_scope[done];
    const v1::ChainHead& head = *heads[host];
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(3600));
    v1::ListEvidenceRequest req;
    req.set_host(host);
    auto reader = admin.ListEvidencePages(&ctx, req);
    v1::EvidencePage page;
    std::string last_hash;
    uint64_t last = 0;
    while (reader->Read(&page)) {
      for (const std::string& stored : page.records()) {
        if (!r.ParseFromString(stored)) {
          return absl::DataLossError(attest::StrCat("a stored record of ", host, " is corrupt"));
        }
        if (r.index() > head.length()) break;  // after the checkpoint
        evidence::AppendCanonicalRecord(&lines, r, /*with_links=*/true);
        lines.push_back('\n');
        last = r.index();
        last_hash = r.hash();
      }
      if (lines.size() >= flush_at) {
        if (absl::Status s = flush(); !s.ok()) return s;
      }
    }
    if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpc(s, "evidence of " + host);
    if (last != head.length() || last_hash != head.hash()) {
      return absl::DataLossError(
          attest::StrCat(host, ": the stored chain does not end at the checkpoint's head"));
    }
    v1::BundleHost* bh = m.add_hosts();
    bh->set_host(host);
    bh->set_first_index(1);
    bh->set_last_index(last);
    bh->set_head(HexEncode(last_hash));
    if (tty) {
      const double secs = absl::ToDoubleSeconds(absl::Now() - started);
      fprintf(stderr, "\rexport: %zu/%zu hosts, %.0f MB, %.0f MB/s   ", done + 1, in_scope.size(),
              static_cast<double>(bytes + lines.size()) / 1e6,
              secs > 0 ? static_cast<double>(bytes + lines.size()) / 1e6 / secs : 0.0);
    }
  }
  if (tty) fprintf(stderr, "\n");
  if (absl::Status s = flush(); !s.ok()) return s;
  if (absl::Status s = tar->End(); !s.ok()) return s;

  std::string manifest;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &manifest, print); !s.ok()) {
    return absl::InternalError("manifest: " + std::string(s.message()));
  }
  auto reviews = ReviewPopulations(admin, log->campaigns);
  if (!reviews.ok()) return reviews.status();
  absl::Status s = tar->Add("ledger.jsonl", log->ledger);
  if (s.ok() && !reviews->empty()) s = tar->Add("reviews.jsonl", *reviews);
  if (s.ok()) s = tar->Add("states.jsonl", log->states);
  if (s.ok()) s = tar->Add("manifest.json", manifest);
  if (s.ok()) s = tar->Add("public-key.pem", m.public_key_pem());
  if (s.ok()) s = tar->Close();
  return s;
}

}  // namespace attest::ctl
