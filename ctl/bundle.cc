#include "ctl/bundle.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_replay.h"
#include "ctl/tar.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/record_json.h"
#include "google/protobuf/util/json_util.h"

namespace attest::ctl {
namespace {

constexpr char kFormat[] = "attest-bundle-v1";

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      attest::StrCat(what, ": ", s.error_message()));
}

std::chrono::system_clock::time_point Deadline(int seconds = 600) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

template <typename Req, typename Resp, typename Call>
absl::StatusOr<Resp> Unary(Call call, std::string_view what) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  Req req;
  Resp resp;
  grpc::Status s = call(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, what);
  return resp;
}

}  // namespace

absl::Status ExportBundle(v1::AdminService::Stub& admin, const std::string& window_id,
                          const std::string& out) {
  v1::BundleManifest m;
  m.set_format(kFormat);
  m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  auto windows = Unary<v1::ListWindowsRequest, v1::ListWindowsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListWindows(c, r, p); }, "windows");
  if (!windows.ok()) return windows.status();
  for (const v1::WindowDef& w : windows->windows()) {
    if (w.id() == window_id) *m.mutable_window() = w;
  }
  if (m.window().id().empty()) return absl::NotFoundError("no window \"" + window_id + "\"");

  // The checkpoint first: the bundle holds each chain up to its head there.
  auto checkpoint = Unary<v1::CreateCheckpointRequest, v1::Checkpoint>(
      [&](auto* c, auto& r, auto* p) { return admin.CreateCheckpoint(c, r, p); }, "checkpoint");
  if (!checkpoint.ok()) return checkpoint.status();
  *m.mutable_checkpoint() = *checkpoint;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    v1::SummarizeRequest req;
    req.set_window(window_id);
    grpc::Status s = admin.Summarize(&ctx, req, m.mutable_summary());
    if (!s.ok()) return FromGrpc(s, "summary");
  }
  auto key = Unary<v1::GetSigningKeyRequest, v1::SigningKey>(
      [&](auto* c, auto& r, auto* p) { return admin.GetSigningKey(c, r, p); }, "signing key");
  if (!key.ok()) return key.status();
  m.set_public_key_pem(key->public_key_pem());
  auto versions = Unary<v1::ListPolicyVersionsRequest, v1::ListPolicyVersionsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListPolicyVersions(c, r, p); }, "policies");
  auto approvals = Unary<v1::ListApprovalsRequest, v1::ListApprovalsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListApprovals(c, r, p); }, "approvals");
  auto exceptions = Unary<v1::ListExceptionsRequest, v1::ListExceptionsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListExceptions(c, r, p); }, "exceptions");
  auto decommissions = Unary<v1::ListDecommissionsRequest, v1::ListDecommissionsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListDecommissions(c, r, p); }, "decommissions");
  auto hosts = Unary<v1::ListHostsRequest, v1::ListHostsResponse>(
      [&](auto* c, auto& r, auto* p) { return admin.ListHosts(c, r, p); }, "hosts");
  for (const absl::Status& s : {versions.status(), approvals.status(), exceptions.status(),
                                decommissions.status(), hosts.status()}) {
    if (!s.ok()) return s;
  }
  *m.mutable_policy_versions() = versions->versions();
  *m.mutable_approvals() = approvals->approvals();
  *m.mutable_exceptions() = exceptions->exceptions();
  *m.mutable_decommissions() = decommissions->decommissions();

  std::map<std::string, const v1::ChainHead*> heads;
  for (const v1::ChainHead& h : m.checkpoint().heads()) heads[h.host()] = &h;
  const std::string tmp = out + ".records.tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> records(fopen(tmp.c_str(), "wb"), fclose);
  if (!records) return absl::InvalidArgumentError("cannot write " + tmp);
  size_t done = 0;
  for (const v1::HostState& h : hosts->hosts()) {
    auto head = heads.find(h.host());
    if (head == heads.end()) continue;  // no chain at the checkpoint
    if (!engine::SelectorMatches(m.window().scope(), h.labels())) continue;
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(3600));
    v1::ListEvidenceRequest req;
    req.set_host(h.host());
    auto reader = admin.ListEvidence(&ctx, req);
    v1::EvidenceRecord r;
    std::string line;
    std::string last_hash;
    uint64_t last = 0;
    while (reader->Read(&r)) {
      if (r.index() > head->second->length()) continue;  // after the checkpoint
      line.clear();
      evidence::AppendCanonicalRecord(&line, r, /*with_links=*/true);
      line.push_back('\n');
      if (fwrite(line.data(), 1, line.size(), records.get()) != line.size()) {
        return absl::UnavailableError("cannot write " + tmp);
      }
      last = r.index();
      last_hash = r.hash();
    }
    if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpc(s, "evidence of " + h.host());
    if (last != head->second->length() || last_hash != head->second->hash()) {
      return absl::DataLossError(
          attest::StrCat(h.host(), ": the stored chain does not end at the checkpoint's head"));
    }
    v1::BundleHost* bh = m.add_hosts();
    bh->set_host(h.host());
    bh->set_first_index(1);
    bh->set_last_index(last);
    bh->set_head(HexEncode(last_hash));
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\rexport: %zu hosts", ++done);
  }
  if (isatty(STDERR_FILENO)) fprintf(stderr, "\n");
  if (fflush(records.get()) != 0) return absl::UnavailableError("cannot write " + tmp);
  records.reset();

  std::string manifest;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &manifest, options); !s.ok()) {
    return absl::InternalError("manifest: " + std::string(s.message()));
  }
  auto tar = TarWriter::Create(out);
  if (!tar.ok()) return tar.status();
  absl::Status s = tar->Add("manifest.json", manifest);
  if (s.ok()) s = tar->Add("public-key.pem", m.public_key_pem());
  if (s.ok()) s = tar->AddFile("records.jsonl", tmp);
  if (s.ok()) s = tar->Close();
  std::filesystem::remove(tmp);
  return s;
}

namespace {

// Per-host chain state while records stream by.
struct ChainCursor {
  uint64_t next = 1;
  std::string prev = evidence::GenesisHash();
};

absl::Status Bad(uint64_t line, std::string_view host, uint64_t index, std::string_view what) {
  return absl::DataLossError(attest::StrCat("records.jsonl line ", line, " (host ", host,
                                            ", record ", index, "): ", what));
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (size_t j = i; j < i + 2; ++j) {
      const char c = hex[j];
      v = v * 16 + (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1000);
    }
    if (v < 0) return std::nullopt;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

}  // namespace

absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const std::string& pubkey_pem) {
  v1::BundleManifest m;
  bool have_manifest = false;
  std::map<std::string, ChainCursor> chains;
  ReplayStore records;
  uint64_t lines = 0;
  absl::Status s = ReadTar(
      path,
      [&](const std::string& name, uint64_t size, const TarChunkReader& read) -> absl::Status {
        if (name == "manifest.json") {
          std::string text(size, '\0');
          if (read(text.data(), text.size()) != size)
            return absl::DataLossError("manifest truncated");
          google::protobuf::util::JsonParseOptions options;
          if (auto st = google::protobuf::util::JsonStringToMessage(text, &m, options); !st.ok()) {
            return absl::DataLossError("manifest.json: " + std::string(st.message()));
          }
          have_manifest = true;
          return absl::OkStatus();
        }
        if (name != "records.jsonl") return absl::OkStatus();
        std::string buf(1 << 20, '\0'), pending;
        auto handle = [&](std::string_view text) -> absl::Status {
          ++lines;
          auto j = Json::Parse(text);
          if (!j.ok() || !j->is_object()) return Bad(lines, "?", 0, "not a JSON record");
          const Json* host = j->Find("host");
          const Json* index = j->Find("index");
          const Json* hash = j->Find("hash");
          const Json* prev = j->Find("prev_hash");
          if (!host || !host->is_string() || !index || !index->as_uint() || !hash ||
              !hash->is_string() || !prev || !prev->is_string()) {
            return Bad(lines, host && host->is_string() ? host->as_string() : "?", 0,
                       "host, index, prev_hash and hash are required");
          }
          const std::string& h = host->as_string();
          const uint64_t i = *index->as_uint();
          ChainCursor& c = chains[h];
          if (i != c.next) {
            return Bad(lines, h, i, attest::StrCat("expected record ", c.next, " of the chain"));
          }
          auto prev_bytes = FromHex(prev->as_string());
          if (!prev_bytes || *prev_bytes != c.prev) {
            return Bad(lines, h, i, "prev_hash does not link to the record before it");
          }
          Json body = *j;
          body.as_object().erase("hash");
          body.as_object().erase("prev_hash");
          const std::string canonical = body.Canonical();
          const std::string computed = evidence::Sha256(c.prev + canonical);
          if (HexEncode(computed) != hash->as_string()) {
            return Bad(lines, h, i, "its hash does not match its content");
          }
          auto record = RecordFromInterchange(*j);
          if (!record.ok()) return Bad(lines, h, i, std::string(record.status().message()));
          std::string again;
          evidence::AppendCanonicalRecord(&again, *record, /*with_links=*/false);
          if (again != canonical) return Bad(lines, h, i, "not in canonical form");
          c.next = i + 1;
          c.prev = computed;
          if (absl::Status st = records.Add(*record); !st.ok()) return st;
          return absl::OkStatus();
        };
        for (size_t n; (n = read(buf.data(), buf.size())) > 0;) {
          pending.append(buf.data(), n);
          size_t start = 0;
          for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
            if (absl::Status st = handle(std::string_view(pending).substr(start, nl - start));
                !st.ok()) {
              return st;
            }
          }
          pending.erase(0, start);
        }
        if (!pending.empty()) return absl::DataLossError("records.jsonl: the last line is cut off");
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (!have_manifest) return absl::DataLossError(path + ": no manifest.json");
  if (m.format() != kFormat) return absl::DataLossError("unknown bundle format " + m.format());

  // The checkpoint: signature by the trusted key, root over its heads.
  const std::string& key = pubkey_pem.empty() ? m.public_key_pem() : pubkey_pem;
  if (s = evidence::VerifyCheckpoint(m.checkpoint(), key); !s.ok()) return s;
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
    for (const auto& [host, c] : chains) {
      if (std::none_of(m.hosts().begin(), m.hosts().end(),
                       [&](const v1::BundleHost& b) { return b.host() == host; })) {
        return absl::DataLossError("records of host " + host +
                                   ", which the manifest does not list");
      }
    }
  }

  // The figures, recomputed by the engine from the records.
  if (s = records.Finish(); !s.ok()) return s;
  auto summary = ReplaySummary(m, records);
  if (!summary.ok()) return summary.status();
  if (s = CompareSummaries(m.summary(), *summary); !s.ok()) return s;

  VerifyResult out;
  out.hosts = static_cast<size_t>(m.hosts_size());
  out.records = lines;
  out.key_id = m.checkpoint().key_id();
  for (const v1::ControlSummary& c : summary->controls()) {
    attest::StrAppend(&out.summary, c.id(), ": ", c.verdict(), "\n");
  }
  return out;
}

}  // namespace attest::ctl
