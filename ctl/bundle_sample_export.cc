// attestctl export --sample (docs/bundle.md, "Sampled bundles").
#include <map>
#include <set>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_lines.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_sample.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/tar.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/merkle.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {
namespace {

namespace merkle = evidence::merkle;
constexpr int64_t kDay = 86400;

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      StrCat(what, ": ", s.error_message()));
}

// One side of an item: the host's head in a checkpoint state, with its
// audit path into that state's heads root.
Json HeadProof(const v1::Checkpoint& c, const std::string& host, bool* found) {
  std::vector<std::string> leaves;
  leaves.reserve(c.heads_size());
  uint64_t index = 0;
  *found = false;
  for (const v1::ChainHead& h : c.heads()) {
    if (h.host() == host) {
      index = leaves.size();
      *found = true;
    }
    leaves.push_back(merkle::LeafHash(evidence::HeadLeaf(h)));
  }
  Json out = Json::MakeObject();
  if (!*found) return out;
  out["sequence"] = c.sequence();
  out["index"] = index;
  out["head"] = *Json::Parse(evidence::HeadLeaf(c.heads(static_cast<int>(index))));
  Json path = Json::MakeArray();
  for (const std::string& p : merkle::InclusionProof(leaves, index, leaves.size())) {
    path.push_back(HexEncode(p));
  }
  out["path"] = std::move(path);
  return out;
}

}  // namespace

absl::Status ExportSampleBundle(v1::AdminService::Stub& admin, const std::string& window,
                                uint64_t number, const std::string& out,
                                const ExportOptions& options) {
  // A fresh checkpoint commits to the draw and to every sampled day's
  // records.
  v1::Checkpoint made;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(60));
    grpc::Status s = admin.CreateCheckpoint(&ctx, v1::CreateCheckpointRequest(), &made);
    if (!s.ok()) return FromGrpc(s, "checkpoint");
  }
  auto final_checkpoint = CosignedCheckpoint(admin, made.sequence(), options.witness_wait);
  if (!final_checkpoint.ok()) return final_checkpoint.status();
  const uint64_t size = final_checkpoint->sequence();
  std::vector<v1::Checkpoint> leaves;
  if (absl::Status s = ListCheckpointRange(admin, 1, size, true, 10000, &leaves); !s.ok()) {
    return s;
  }
  if (leaves.size() != size) {
    return absl::DataLossError(
        StrCat("attestd listed ", leaves.size(), " checkpoints up to checkpoint ", size));
  }

  std::string ledger_text;
  std::vector<v1::LedgerEntry> ledger;
  for (uint64_t next = 1; next <= final_checkpoint->ledger_length();) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::ListLedgerRequest req;
    req.set_from_index(next);
    req.set_to_index(final_checkpoint->ledger_length());
    v1::ListLedgerResponse page;
    grpc::Status s = admin.ListLedger(&ctx, req, &page);
    if (!s.ok()) return FromGrpc(s, "ledger");
    if (page.entries().empty()) {
      return absl::DataLossError(StrCat("attestd's ledger ends before entry ", next));
    }
    for (v1::LedgerEntry& e : *page.mutable_entries()) {
      StrAppend(&ledger_text, evidence::CanonicalLedgerEntry(e, /*with_links=*/true), "\n");
      ledger.push_back(std::move(e));
      ++next;
    }
  }
  const v1::LedgerEntry* draw = FindSampleDraw(ledger, window, number);
  if (draw == nullptr) {
    return absl::NotFoundError(StrCat("window ", window, " has no sample ", number,
                                      " (attestctl samples --window ", window, " lists them)"));
  }

  auto tar = TarWriter::Create(out);
  if (!tar.ok()) return tar.status();
  tar->SetBounds(SampledBundleBounds());
  if (absl::Status s = tar->Begin("records.jsonl"); !s.ok()) return s;
  v1::EvidenceRecord r;
  std::map<uint64_t, v1::Checkpoint> full;  // by sequence, with heads
  auto state = [&](uint64_t sequence) -> absl::StatusOr<const v1::Checkpoint*> {
    auto it = full.find(sequence);
    if (it != full.end()) return &it->second;
    std::vector<v1::Checkpoint> one;
    if (absl::Status s = ListCheckpointRange(admin, sequence, sequence, false, 1, &one); !s.ok()) {
      return s;
    }
    if (one.size() != 1 || one[0].heads_root().empty()) {
      return absl::FailedPreconditionError(StrCat("checkpoint ", sequence,
                                                  " was made before checkpoints carried labelled "
                                                  "heads: a sampled bundle needs later ones"));
    }
    return &full.emplace(sequence, std::move(one[0])).first->second;
  };
  std::string items;
  std::string lines;
  std::set<uint64_t> dated;  // the items' from and to checkpoints
  // A host's chain length in checkpoint `sequence` (0: it had none).
  auto length_in = [&](const std::string& host, uint64_t sequence) -> absl::StatusOr<uint64_t> {
    auto c = state(sequence);
    if (!c.ok()) return c.status();
    for (const v1::ChainHead& h : (*c)->heads()) {
      if (h.host() == host) return h.length();
    }
    return 0;
  };
  // A record's observed time, read alone.
  auto observed_at = [&](const std::string& host, uint64_t index) -> absl::StatusOr<absl::Time> {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(60));
    v1::ListEvidenceRequest req;
    req.set_host(host);
    req.set_from_index(index);
    req.set_limit(1);
    auto reader = admin.ListEvidencePages(&ctx, req);
    v1::EvidencePage page;
    absl::Time t = absl::InfiniteFuture();
    while (reader->Read(&page)) {
      for (const std::string& stored : page.records()) {
        if (r.ParseFromString(stored) && r.index() == index) t = FromProto(r.observed_at());
      }
    }
    if (grpc::Status st = reader->Finish(); !st.ok()) return FromGrpc(st, "evidence of " + host);
    if (t == absl::InfiniteFuture()) {
      return absl::DataLossError(StrCat("attestd has no record ", index, " of ", host));
    }
    return t;
  };
  for (int i = 0; i < draw->sample().items_size(); ++i) {
    const v1::SampleDrawItem& item = draw->sample().items(i);
    auto day = SampleDayStart(item.day());
    if (!day.ok()) return day.status();
    const absl::Time day_end = *day + absl::Seconds(kDay);
    auto chain = length_in(item.host(), size);
    if (!chain.ok()) return chain.status();
    if (*chain == 0) {
      return absl::DataLossError(StrCat("host ", item.host(), " has no chain in checkpoint ", size,
                                        " (sampled item ", i + 1, ")"));
    }
    // The day's records: the first record observed at or after its start
    // (records come in observed order, give or take an agent's spool),
    // then on until an hour past its end.
    uint64_t lo = 1, hi = *chain + 1;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      auto t = observed_at(item.host(), mid);
      if (!t.ok()) return t.status();
      if (*t < *day) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    uint64_t first_day = std::min(lo, *chain), last_day = first_day;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline(600));
      v1::ListEvidenceRequest req;
      req.set_host(item.host());
      req.set_from_index(first_day);
      auto reader = admin.ListEvidencePages(&ctx, req);
      v1::EvidencePage page;
      bool done = false;
      while (!done && reader->Read(&page)) {
        for (const std::string& stored : page.records()) {
          if (!r.ParseFromString(stored)) continue;
          const absl::Time t = FromProto(r.observed_at());
          if (t >= day_end + absl::Hours(1)) {
            done = true;
            break;
          }
          if (t >= *day && t < day_end) last_day = r.index();
        }
      }
      ctx.TryCancel();
      (void)reader->Finish();
    }
    // The last checkpoint before the day's first record, and the first
    // that holds its last (chain lengths only grow with the sequence).
    uint64_t from = 0;
    for (uint64_t a = 1, b = size; a <= b;) {
      const uint64_t mid = a + (b - a) / 2;
      auto len = length_in(item.host(), mid);
      if (!len.ok()) return len.status();
      if (*len < first_day) {
        from = mid;
        a = mid + 1;
      } else {
        b = mid - 1;
      }
    }
    uint64_t to = size;
    for (uint64_t a = from + 1, b = size; a <= b;) {
      const uint64_t mid = a + (b - a) / 2;
      auto len = length_in(item.host(), mid);
      if (!len.ok()) return len.status();
      if (*len >= last_day) {
        to = mid;
        b = mid - 1;
      } else {
        a = mid + 1;
      }
    }
    // And no earlier than the first checkpoint made --late-after (26h, as
    // verify's default) past the day's end, so that records of the day that
    // arrived late are in too (verify calls the item complete only then).
    // Creation times only grow with the sequence.
    const absl::Time settled = day_end + options.late_after;
    while (to < size && FromProto(leaves[to - 1].created_at()) < settled) ++to;
    Json line = Json::MakeObject();
    line["item"] = static_cast<uint64_t>(i + 1);
    line["host"] = item.host();
    line["day"] = item.day();
    uint64_t first = 1;
    if (from > 0) {
      auto c = state(from);
      if (!c.ok()) return c.status();
      bool found = false;
      Json proof = HeadProof(**c, item.host(), &found);
      if (found) {
        first = *proof.Find("head")->Find("length")->as_uint() + 1;
        line["from"] = std::move(proof);
      }
    }
    dated.insert(to);
    if (from > 0) dated.insert(from);
    auto c = state(to);
    if (!c.ok()) return c.status();
    bool found = false;
    Json proof = HeadProof(**c, item.host(), &found);
    if (!found) {
      return absl::DataLossError(StrCat("host ", item.host(), " has no chain in checkpoint ", to,
                                        " (sampled item ", i + 1, ")"));
    }
    const uint64_t last = *proof.Find("head")->Find("length")->as_uint();
    line["to"] = std::move(proof);
    StrAppend(&items, line.Canonical(), "\n");
    if (last < first) continue;
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(600));
    v1::ListEvidenceRequest req;
    req.set_host(item.host());
    req.set_from_index(first);
    req.set_limit(last - first + 1);
    auto reader = admin.ListEvidencePages(&ctx, req);
    v1::EvidencePage page;
    uint64_t next = first;
    while (reader->Read(&page)) {
      for (const std::string& stored : page.records()) {
        if (!r.ParseFromString(stored)) {
          return absl::DataLossError(StrCat("a stored record of ", item.host(), " is corrupt"));
        }
        if (r.index() > last) break;
        if (r.index() != next) {
          return absl::DataLossError(
              StrCat("attestd sent record ", r.index(), " of ", item.host(), " for ", next));
        }
        evidence::AppendCanonicalRecord(&lines, r, /*with_links=*/true);
        lines.push_back('\n');
        ++next;
      }
      if (lines.size() >= (size_t{1} << 20)) {
        if (absl::Status s = tar->Append(lines); !s.ok()) return s;
        lines.clear();
      }
    }
    if (grpc::Status s = reader->Finish(); !s.ok())
      return FromGrpc(s, "evidence of " + item.host());
    if (next != last + 1) {
      return absl::DataLossError(StrCat("attestd's chain of ", item.host(), " ends before record ",
                                        last, ", which checkpoint ", to, " holds"));
    }
  }
  if (absl::Status s = tar->Append(lines); !s.ok()) return s;
  if (absl::Status s = tar->End(); !s.ok()) return s;

  std::string key_pem;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(30));
    v1::SigningKey key;
    grpc::Status s = admin.GetSigningKey(&ctx, v1::GetSigningKeyRequest(), &key);
    if (!s.ok()) return FromGrpc(s, "signing-key");
    key_pem = key.public_key_pem();
  }
  // Every state's leaf; the final one with its note, and each item's from
  // and to with theirs, so that verify can date them by their cosignatures.
  std::string states;
  bool v2_states = false;  // then the format is attest-sample-v2
  for (const v1::Checkpoint& c : leaves) {
    v2_states = v2_states || c.state_version() == 2;
    const std::string* note = c.sequence() == size ? &final_checkpoint->note() : nullptr;
    if (note == nullptr && dated.count(c.sequence()) > 0) note = &c.note();
    if (note == nullptr || note->empty()) {
      StrAppend(&states, StatesLine(c, /*full=*/false), "\n");
      continue;
    }
    Json line = Json::MakeObject();
    line["state"] = *Json::Parse(c.state_leaf());
    line["note"] = Json(*note);
    StrAppend(&states, line.Canonical(), "\n");
  }
  Json manifest = Json::MakeObject();
  manifest["format"] = LedgerNamesJudgement(ledger) ? kSampleBundleFormatV3
                       : v2_states                  ? kSampleBundleFormatV2
                                                    : kSampleBundleFormat;
  manifest["created_at"] = FormatRfc3339(absl::Now());
  manifest["window"] = window;
  manifest["sample"] = number;
  manifest["ledger_index"] = draw->index();
  absl::Status s = tar->Add("sample.jsonl", items);
  if (s.ok()) s = tar->Add("ledger.jsonl", ledger_text);
  if (s.ok()) s = tar->Add("states.jsonl", states);
  if (s.ok()) s = tar->Add("manifest.json", manifest.Canonical() + "\n");
  if (s.ok()) s = tar->Add("public-key.pem", key_pem);
  if (s.ok()) s = tar->Close();
  return s;
}

}  // namespace attest::ctl
