#include "ctl/bundle.h"

#include <unistd.h>

#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_lines.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"
#include "ctl/bundle_v2.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/tar.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/record_json.h"
#include "google/protobuf/util/json_util.h"

namespace attest::ctl {
namespace {

constexpr char kFormatV1[] = "attest-bundle-v1";
constexpr char kFormat[] = "attest-bundle-v2";

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      attest::StrCat(what, ": ", s.error_message()));
}

}  // namespace

namespace {

struct ExportLog {
  std::string states;  // states.jsonl
  std::string ledger;  // ledger.jsonl
  v1::Checkpoint final_checkpoint;
};

// The log up to checkpoint `sequence` (the export's cut): every state, and
// the ledger up to that checkpoint's head. Waits up to `wait` for every
// witness attestd has to cosign that checkpoint.
absl::StatusOr<ExportLog> ReadLog(v1::AdminService::Stub& admin, uint64_t sequence,
                                  absl::Time window_start, absl::Duration wait) {
  ExportLog out;
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
    if (missing.empty()) break;
    if (absl::Now() >= until) {
      std::string names;
      for (const std::string& w : missing) StrAppend(&names, names.empty() ? "" : ", ", w);
      fprintf(stderr,
              "attestctl: export: checkpoint %llu is not cosigned yet by %s; the bundle verifies "
              "with --witness-key only for witnesses that did (see attestctl status)\n",
              static_cast<unsigned long long>(sequence), names.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a witness is answering
  }
  // Every state's leaf, in pages; then, from the state in force at the
  // window's start on, each with its heads and note, a few at a time (a
  // state holds every host's head).
  std::vector<v1::Checkpoint> leaves;
  auto list_page = [&](uint64_t from, uint64_t to, bool leaves_only, uint32_t limit,
                  std::vector<v1::Checkpoint>* into) -> absl::Status {
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
          return absl::DataLossError(StrCat("attestd lists checkpoint ", c.sequence(),
                                            " where ", from, " should be"));
        }
        into->push_back(std::move(c));
        ++from;
      }
      if (!resp.more()) break;
    }
    if (from <= to) return absl::DataLossError(StrCat("attestd does not list checkpoint ", from));
    return absl::OkStatus();
  };
  if (absl::Status s = list_page(1, sequence, true, 10000, &leaves); !s.ok()) return s;
  uint64_t first_full = 1;
  for (const v1::Checkpoint& c : leaves) {
    if (FromProto(c.created_at()) <= window_start) first_full = c.sequence();
  }
  for (const v1::Checkpoint& c : leaves) {
    if (c.sequence() >= first_full) break;
    StrAppend(&out.states, StatesLine(c, /*full=*/false), "\n");
  }
  std::vector<v1::Checkpoint> full;
  for (uint64_t from = first_full; from <= sequence; from += 16) {
    full.clear();
    const uint64_t to = std::min<uint64_t>(sequence, from + 15);
    if (absl::Status s = list_page(from, to, false, 16, &full); !s.ok()) return s;
    for (const v1::Checkpoint& c : full) {
      // The bundle's own checkpoint with the cosignatures waited for.
      StrAppend(&out.states, StatesLine(c.sequence() == sequence ? final_checkpoint : c, true), "\n");
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
      ++next;
    }
  }
  return out;
}

}  // namespace

absl::Status ExportBundle(v1::AdminService::Stub& admin, const std::string& window_id,
                          const std::string& out, absl::Duration witness_wait) {
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
  m.set_format(kFormat);
  m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  // Format 2: every decision is in ledger.jsonl, committed by the checkpoint.
  m.clear_policy_versions();
  m.clear_approvals();
  m.clear_exceptions();
  m.clear_decommissions();
  auto log = ReadLog(admin, m.checkpoint().sequence(), FromProto(m.window().start()), witness_wait);
  if (!log.ok()) return log.status();
  *m.mutable_checkpoint() = log->final_checkpoint;
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
  if (absl::Status s = tar->Begin("records.jsonl"); !s.ok()) return s;
  const bool tty = isatty(STDERR_FILENO);
  const absl::Time started = absl::Now();
  uint64_t bytes = 0;
  std::string lines;
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
      if (lines.size() >= (1 << 20)) {
        bytes += lines.size();
        if (absl::Status s = tar->Append(lines); !s.ok()) return s;
        lines.clear();
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
  if (absl::Status s = tar->Append(lines); !s.ok()) return s;
  if (absl::Status s = tar->End(); !s.ok()) return s;

  std::string manifest;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &manifest, options); !s.ok()) {
    return absl::InternalError("manifest: " + std::string(s.message()));
  }
  absl::Status s = tar->Add("ledger.jsonl", log->ledger);
  if (s.ok()) s = tar->Add("states.jsonl", log->states);
  if (s.ok()) s = tar->Add("manifest.json", manifest);
  if (s.ok()) s = tar->Add("public-key.pem", m.public_key_pem());
  if (s.ok()) s = tar->Close();
  return s;
}

namespace {

// Per-host chain state while records stream by.
struct ChainCursor {
  uint64_t next = 1;
  std::string prev = evidence::GenesisHash();
};

// Reads manifest.json into memory: bounded, so a crafted header cannot
// make verify allocate what it says.
absl::Status ReadManifest(uint64_t size, const TarChunkReader& read, v1::BundleManifest* m) {
  if (size > (uint64_t{256} << 20)) {
    return absl::DataLossError(
        attest::StrCat("manifest.json claims ", size, " bytes; a manifest is far smaller"));
  }
  std::string text(size, '\0');
  if (read(text.data(), text.size()) != size) return absl::DataLossError("manifest truncated");
  google::protobuf::util::JsonParseOptions parse_options;
  if (auto st = google::protobuf::util::JsonStringToMessage(text, m, parse_options); !st.ok()) {
    return absl::DataLossError("manifest.json: " + std::string(st.message()));
  }
  return absl::OkStatus();
}

absl::Status Bad(uint64_t line, std::string_view host, uint64_t index, std::string_view what) {
  return absl::DataLossError(attest::StrCat("records.jsonl line ", line, " (host ", host,
                                            ", record ", index, "): ", what));
}

}  // namespace

absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const VerifyOptions& options) {
  const std::string& pubkey_pem = options.pubkey_pem;
  v1::BundleManifest m;
  bool have_manifest = false;
  std::map<std::string, ChainCursor> chains;
  ReplayStore records(options.scratch_dir, options.memory_limit);
  std::string states_text, ledger_text;
  // The manifest is written after the records. Read it first (the records
  // are skipped by seeking), so the engine can judge each host as soon as
  // its chain is checked. When it cannot be read here (a truncated
  // bundle), the records are still checked first, to name the bad one,
  // and replayed after. Format 2's log and ledger are read with it.
  absl::Status s =
      ReadTar(path, [&](const std::string& name, uint64_t size, const TarChunkReader& read) {
        if (name == "states.jsonl" || name == "ledger.jsonl") {
          const uint64_t cap = name == "states.jsonl" ? kMaxStatesBytes : kMaxLedgerBytes;
          if (size > cap) {
            return absl::DataLossError(StrCat(name, " claims ", size, " bytes; at most ", cap));
          }
          std::string& text = name == "states.jsonl" ? states_text : ledger_text;
          text.resize(size);
          if (read(text.data(), size) != size) return absl::DataLossError(name + " truncated");
          return absl::OkStatus();
        }
        if (name != "manifest.json") return absl::OkStatus();
        if (absl::Status st = ReadManifest(size, read, &m); !st.ok()) return st;
        have_manifest = true;
        return absl::OkStatus();
      });
  if (!s.ok() || (m.format() != kFormat && m.format() != kFormatV1)) {
    have_manifest = false;
    m.Clear();
  }
  VerifyResult out;
  const bool v2 = m.format() == kFormat;
  BundleV2Check check(options);
  if (v2) {
    if (s = check.Prepare(m, states_text, ledger_text, &out); !s.ok()) return s;
  }
  std::unique_ptr<SummaryReplay> replay;
  std::string last_host;  // the host whose chain the records are on
  uint64_t lines = 0;
  const absl::Time started = absl::Now();
  s = ReadTar(
      path,
      [&](const std::string& name, uint64_t size, const TarChunkReader& read) -> absl::Status {
        if (name == "manifest.json") {
          if (have_manifest) return absl::OkStatus();  // read ahead
          if (absl::Status st = ReadManifest(size, read, &m); !st.ok()) return st;
          have_manifest = true;
          return absl::OkStatus();
        }
        if (name != "records.jsonl") return absl::OkStatus();
        // Lines are checked a batch at a time on every core, and linked in
        // order on this thread while the next batch is being checked.
        struct Batch {
          std::string text;
          std::vector<std::string_view> lines;
          std::vector<CheckedLine> checked;
        };
        const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        auto host_done = [&]() -> absl::Status {
          if (last_host.empty()) return absl::OkStatus();
          if (absl::Status st = records.EndHost(last_host); !st.ok()) return st;
          if (replay) replay->HostReady(last_host);
          return absl::OkStatus();
        };
        auto link = [&](CheckedLine& l) -> absl::Status {
          ++lines;
          if (!l.unnamed_error.empty()) {
            return Bad(lines, l.host.empty() ? "?" : l.host, 0, l.unnamed_error);
          }
          ChainCursor& c = chains[l.host];
          if (l.index != c.next) {
            return Bad(lines, l.host, l.index,
                       attest::StrCat("expected record ", c.next, " of the chain"));
          }
          if (l.claimed_prev != c.prev) {
            return Bad(lines, l.host, l.index, "prev_hash does not link to the record before it");
          }
          if (!l.error.empty()) return Bad(lines, l.host, l.index, l.error);
          c.next = l.index + 1;
          c.prev = std::move(l.hash);
          if (l.host != last_host) {
            // The previous host's chain has ended (the exporter writes one
            // host after another; were it to return, the engine judges
            // its later records incrementally).
            if (absl::Status st = host_done(); !st.ok()) return st;
            last_host = l.host;
          }
          if (v2) {
            if (absl::Status st = check.OnRecord(l.record, &out); !st.ok()) return st;
          }
          return records.Add(l.record);
        };
        std::unique_ptr<Batch> in_flight;
        std::future<void> checking;
        auto link_in_flight = [&]() -> absl::Status {
          if (!in_flight) return absl::OkStatus();
          checking.get();
          for (CheckedLine& l : in_flight->checked) {
            if (absl::Status st = link(l); !st.ok()) return st;
          }
          in_flight.reset();
          return absl::OkStatus();
        };
        const bool tty = isatty(STDERR_FILENO);
        uint64_t consumed = 0;
        out.record_bytes = size;
        if (absl::Status st = records.Prepare(size); !st.ok()) return st;
        if (have_manifest) {
          replay = std::make_unique<SummaryReplay>(m, records);
          if (absl::Status st = replay->Begin(); !st.ok()) return st;
        }
        std::string carry;  // a line cut by the chunk boundary
        for (;;) {
          auto batch = std::make_unique<Batch>();
          batch->text = std::move(carry);
          const size_t had = batch->text.size();
          batch->text.resize(had + (4 << 20));
          const size_t n = read(batch->text.data() + had, 4 << 20);
          batch->text.resize(had + n);
          if (n == 0) {
            carry = std::move(batch->text);
            break;
          }
          consumed += n;
          if (tty && consumed % (16 << 20) < n) {
            const double secs = absl::ToDoubleSeconds(absl::Now() - started);
            fprintf(stderr, "\rverify: %.0f/%.0f MB of records, %.0f MB/s   ",
                    static_cast<double>(consumed) / 1e6, static_cast<double>(size) / 1e6,
                    secs > 0 ? static_cast<double>(consumed) / 1e6 / secs : 0.0);
          }
          const size_t last_nl = batch->text.rfind('\n');
          const size_t whole = last_nl == std::string::npos ? 0 : last_nl + 1;
          carry.assign(batch->text, whole, std::string::npos);
          batch->text.resize(whole);
          const std::string_view text(batch->text);
          for (size_t start = 0, nl; start < text.size(); start = nl + 1) {
            nl = text.find('\n', start);
            batch->lines.push_back(text.substr(start, nl - start));
          }
          Batch* b = batch.get();
          auto next = std::async(std::launch::async,
                                 [b, threads] { CheckLines(b->lines, threads, &b->checked); });
          absl::Status st = link_in_flight();
          in_flight = std::move(batch);
          checking = std::move(next);
          if (!st.ok()) {
            checking.get();
            return st;
          }
        }
        if (absl::Status st = link_in_flight(); !st.ok()) return st;
        if (tty) {
          fprintf(stderr, "\rverify: %llu records checked; recomputing the summary\n",
                  static_cast<unsigned long long>(lines));
        }
        if (!carry.empty()) return absl::DataLossError("records.jsonl: the last line is cut off");
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (!have_manifest) return absl::DataLossError(path + ": no manifest.json");
  if (m.format() != kFormat && m.format() != kFormatV1) {
    return absl::DataLossError(StrCat("unknown bundle format ", m.format(),
                                      ": this attestctl reads attest-bundle-v1 and -v2; a newer "
                                      "attestctl is needed"));
  }
  out.format = m.format();
  if (!v2) {
    // Format 1: the checkpoint's signature by the trusted key, and its root
    // over its heads.
    const std::string& key = pubkey_pem.empty() ? m.public_key_pem() : pubkey_pem;
    if (s = evidence::VerifyCheckpoint(m.checkpoint(), key); !s.ok()) return s;
  }
  std::map<std::string, const v1::ChainHead*> heads;
  for (const v1::ChainHead& h : m.checkpoint().heads()) heads[h.host()] = &h;
  // Every listed host's chain is whole and ends at its checkpointed head.
  for (const v1::BundleHost& bh : m.hosts()) {
    auto head = heads.find(bh.host());
    auto chain = chains.find(bh.host());
    if (head == heads.end()) {
      return absl::DataLossError("host " + bh.host() + " is not in the checkpoint");
    }
    if (chain == chains.end()) {
      return absl::DataLossError("host " + bh.host() + ": its records are missing");
    }
    if (chain->second.next - 1 != head->second->length() ||
        chain->second.prev != head->second->hash()) {
      return absl::DataLossError(
          attest::StrCat("host ", bh.host(), ": the chain ends at record ", chain->second.next - 1,
                         " but the signed checkpoint says ", head->second->length(),
                         " (records removed or added at the end)"));
    }
  }
  if (chains.size() != static_cast<size_t>(m.hosts_size())) {
    for (const auto& entry : chains) {
      const std::string& host = entry.first;
      if (std::none_of(m.hosts().begin(), m.hosts().end(),
                       [&](const v1::BundleHost& b) { return b.host() == host; })) {
        return absl::DataLossError("records of host " + host +
                                   ", which the manifest does not list");
      }
    }
  }

  if (v2) {
    if (s = check.Finish(); !s.ok()) return s;
  }

  // The figures, recomputed by the engine from the records.
  out.check_seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const absl::Time replay_started = absl::Now();
  if (s = records.Finish(); !s.ok()) return s;
  auto summary = replay ? replay->Finish() : ReplaySummary(m, records);
  out.replay_seconds = absl::ToDoubleSeconds(absl::Now() - replay_started);
  out.replayed_from_disk = !records.scratch().empty();
  if (!summary.ok()) return summary.status();
  if (s = CompareSummaries(m.summary(), *summary); !s.ok()) return s;

  out.hosts = static_cast<size_t>(m.hosts_size());
  out.records = lines;
  out.key_id = m.checkpoint().key_id();
  for (const v1::ControlSummary& c : summary->controls()) {
    attest::StrAppend(&out.summary, c.id(), ": ", c.verdict(), "\n");
  }
  return out;
}

}  // namespace attest::ctl
