#include "ctl/bundle_sample.h"

#include <map>
#include <set>
#include <vector>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_lines.h"
#include "ctl/bundle_log.h"
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

absl::StatusOr<absl::Time> DayStart(const std::string& day) {
  absl::Time t;
  std::string err;
  if (day.size() != 10 || !absl::ParseTime("%Y-%m-%d", day, absl::UTCTimeZone(), &t, &err)) {
    return absl::DataLossError(StrCat("\"", day, "\" is not a day (YYYY-MM-DD)"));
  }
  return t;
}

// The `number`-th sample draw of `window` in the ledger, and its index.
const v1::LedgerEntry* FindDraw(const std::vector<v1::LedgerEntry>& ledger,
                                const std::string& window, uint64_t number) {
  uint64_t seen = 0;
  for (const v1::LedgerEntry& e : ledger) {
    if (e.has_sample() && e.sample().window() == window && ++seen == number) return &e;
  }
  return nullptr;
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
  std::string states;
  for (const v1::Checkpoint& c : leaves) {
    if (c.sequence() != size) {
      StrAppend(&states, StatesLine(c, /*full=*/false), "\n");
      continue;
    }
    Json line = Json::MakeObject();
    line["state"] = *Json::Parse(c.state_leaf());
    line["note"] = Json(final_checkpoint->note());
    StrAppend(&states, line.Canonical(), "\n");
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
  const v1::LedgerEntry* draw = FindDraw(ledger, window, number);
  if (draw == nullptr) {
    return absl::NotFoundError(StrCat("window ", window, " has no sample ", number,
                                      " (attestctl samples --window ", window, " lists them)"));
  }

  auto tar = TarWriter::Create(out);
  if (!tar.ok()) return tar.status();
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
    auto day = DayStart(item.day());
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
  Json manifest = Json::MakeObject();
  manifest["format"] = kSampleBundleFormat;
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

namespace {

struct Side {
  uint64_t sequence = 0;
  uint64_t length = 0;
  std::string hash;
};

// One side of an item from sample.jsonl, checked against the signed
// states: the head is the host's, and its path leads to that state's heads
// root.
absl::StatusOr<Side> CheckSide(const Json& j, const std::vector<State>& states,
                               const std::string& host, const std::string& where) {
  auto bad = [&](std::string_view what) { return absl::DataLossError(StrCat(where, ": ", what)); };
  const Json* seq = j.Find("sequence");
  const Json* index = j.Find("index");
  const Json* head = j.Find("head");
  const Json* path = j.Find("path");
  if (!j.is_object() || seq == nullptr || !seq->as_uint() || index == nullptr || !index->is_int() ||
      !index->as_uint() || head == nullptr || !head->is_object() || path == nullptr ||
      !path->is_array()) {
    return bad("{head, index, path, sequence} are required");
  }
  Side side;
  side.sequence = *seq->as_uint();
  if (side.sequence < 1 || side.sequence > states.size()) {
    return bad(StrCat("there is no checkpoint ", side.sequence, " in states.jsonl"));
  }
  const State& state = states[side.sequence - 1];
  if (state.format != "attest-state-v1") {
    return bad(StrCat("checkpoint ", side.sequence, " was made before format 2"));
  }
  const Json* h = head->Find("host");
  const Json* length = head->Find("length");
  if (h == nullptr || !h->is_string() || length == nullptr || !length->as_uint() ||
      head->Find("hash") == nullptr || !head->Find("hash")->is_string() ||
      !HexDecode(head->Find("hash")->as_string(), &side.hash) ||
      side.hash.size() != evidence::kHashBytes) {
    return bad("a head is {hash, host, labels, length}");
  }
  if (h->as_string() != host) {
    return bad(StrCat("the head is host ", h->as_string(), "'s, not ", host, "'s"));
  }
  side.length = *length->as_uint();
  std::vector<std::string> proof;
  for (const Json& p : path->as_array()) {
    std::string raw;
    if (!p.is_string() || !HexDecode(p.as_string(), &raw)) return bad("a path hash is not hex");
    proof.push_back(std::move(raw));
  }
  if (!merkle::VerifyInclusion(*index->as_uint(), state.hosts, merkle::LeafHash(head->Canonical()),
                               proof, state.heads_root)) {
    return bad(StrCat("the audit path of host ", host,
                      "'s head does not lead to the heads root "
                      "of checkpoint ",
                      side.sequence, ": it is not the head that checkpoint signed"));
  }
  return side;
}

std::string Hours(const v1::StateSeconds& s) {
  auto h = [](int64_t secs) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.2fh", static_cast<double>(secs) / 3600.0);
    return std::string(buf);
  };
  return StrCat("pass ", h(s.pass()), ", fail ", h(s.fail()), ", no evidence ", h(s.no_evidence()),
                ", excepted ", h(s.excepted()));
}

}  // namespace

absl::StatusOr<VerifyResult> VerifySampleBundle(const std::string& path,
                                                const VerifyOptions& options) {
  std::map<std::string, std::string> files;
  const std::map<std::string, uint64_t> caps = {
      {"manifest.json", uint64_t{1} << 20},      {"states.jsonl", kMaxStatesBytes},
      {"ledger.jsonl", kMaxLedgerBytes},         {"sample.jsonl", kMaxSampleItemsBytes},
      {"records.jsonl", kMaxSampleRecordsBytes}, {"public-key.pem", uint64_t{1} << 20}};
  absl::Status s = ReadTar(path, [&](const std::string& name, uint64_t size,
                                     const TarChunkReader& read) {
    auto cap = caps.find(name);
    if (cap == caps.end()) return absl::OkStatus();
    if (size > cap->second) {
      return absl::DataLossError(StrCat(name, " claims ", size, " bytes; at most ", cap->second));
    }
    std::string& text = files[name];
    text.resize(size);
    if (read(text.data(), size) != size) return absl::DataLossError(name + " truncated");
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  for (const auto& [name, cap] : caps) {
    if (files.count(name) == 0 && name != "public-key.pem") {
      return absl::DataLossError(StrCat(path, ": no ", name));
    }
  }
  VerifyResult out;
  out.format = kSampleBundleFormat;
  auto manifest = Json::Parse(files["manifest.json"]);
  const Json* window = manifest.ok() ? manifest->Find("window") : nullptr;
  const Json* number = manifest.ok() ? manifest->Find("sample") : nullptr;
  if (window == nullptr || !window->is_string() || number == nullptr || !number->as_uint()) {
    return absl::DataLossError("manifest.json: window and sample are required");
  }
  out.sample_window = window->as_string();
  out.sample_number = *number->as_uint();

  auto states = ParseStates(files["states.jsonl"], /*note_without_heads=*/true);
  if (!states.ok()) return states.status();
  auto ledger = ParseLedger(files["ledger.jsonl"]);
  if (!ledger.ok()) return ledger.status();
  const std::string& pem =
      options.pubkey_pem.empty() ? files["public-key.pem"] : options.pubkey_pem;
  if (options.pubkey_pem.empty()) {
    out.warnings.push_back(
        "no --pubkey: the checkpoint was checked against the key inside the bundle, which "
        "proves nothing about who made it");
  }
  auto log = CheckLog(*states, pem, options.witnesses, options.known_checkpoints);
  if (!log.ok()) return log.status();
  out.origin = log->origin;
  out.checkpoint = log->size;
  for (const auto& [name, t] : log->cosigned_at) out.witnessed_by.push_back(name);
  if (options.witnesses.empty()) {
    out.warnings.push_back(
        "no --witness-key: only the operator's own signature was checked; whoever holds "
        "attestd's key (the company being audited) could have rewritten this history");
  }
  const State& final_state = states->back();
  if (final_state.format != "attest-state-v1") {
    return absl::DataLossError("the bundle's checkpoint was made before format 2");
  }
  if (s = CheckLedgerCommitted(*ledger, final_state); !s.ok()) return s;
  const v1::LedgerEntry* draw = FindDraw(*ledger, out.sample_window, out.sample_number);
  if (draw == nullptr) {
    return absl::DataLossError(
        StrCat("the ledger has no sample ", out.sample_number, " of window ", out.sample_window));
  }
  const v1::SampleDraw& d = draw->sample();

  // The items, in the draw's order, each with its two heads.
  std::vector<std::string_view> item_lines;
  for (size_t start = 0, nl; start < files["sample.jsonl"].size(); start = nl + 1) {
    nl = files["sample.jsonl"].find('\n', start);
    if (nl == std::string::npos)
      return absl::DataLossError("sample.jsonl: the last line is cut off");
    item_lines.push_back(std::string_view(files["sample.jsonl"]).substr(start, nl - start));
  }
  struct Item {
    std::string host;
    absl::Time day;
    Side from, to;
  };
  std::vector<Item> items;
  for (int i = 0; i < d.items_size(); ++i) {
    const v1::SampleDrawItem& want = d.items(i);
    const std::string where =
        StrCat("sampled item ", i + 1, " (", want.host(), " ", want.day(), ")");
    if (static_cast<size_t>(i) >= item_lines.size()) {
      return absl::DataLossError(StrCat(where, " is missing from sample.jsonl"));
    }
    auto j = Json::Parse(item_lines[i]);
    if (!j.ok() || !j->is_object()) return absl::DataLossError(StrCat(where, ": not JSON"));
    const Json* item = j->Find("item");
    const Json* host = j->Find("host");
    const Json* day = j->Find("day");
    if (item == nullptr || item->as_uint() != static_cast<uint64_t>(i + 1) || host == nullptr ||
        !host->is_string() || day == nullptr || !day->is_string()) {
      return absl::DataLossError(StrCat(where, ": sample.jsonl line ", i + 1, " is not that item"));
    }
    if (host->as_string() != want.host() || day->as_string() != want.day()) {
      return absl::DataLossError(StrCat(where, ": sample.jsonl has ", host->as_string(), " ",
                                        day->as_string(),
                                        " in its place, which the draw did not pick"));
    }
    auto day_start = DayStart(want.day());
    if (!day_start.ok())
      return absl::DataLossError(StrCat(where, ": ", day_start.status().message()));
    Item it{want.host(), *day_start, {}, {}};
    if (const Json* from = j->Find("from"); from != nullptr) {
      auto side = CheckSide(*from, *states, want.host(), where + ", from");
      if (!side.ok()) return side.status();
      it.from = *side;
    }
    const Json* to = j->Find("to");
    if (to == nullptr) return absl::DataLossError(StrCat(where, ": to is required"));
    auto side = CheckSide(*to, *states, want.host(), where + ", to");
    if (!side.ok()) return side.status();
    if (side->sequence <= it.from.sequence || side->length < it.from.length) {
      return absl::DataLossError(StrCat(where, ": its heads are out of order"));
    }
    it.to = *side;
    items.push_back(std::move(it));
  }
  if (item_lines.size() != static_cast<size_t>(d.items_size())) {
    return absl::DataLossError(StrCat("sample.jsonl holds ", item_lines.size(),
                                      " items; the draw in ledger entry ", draw->index(), " has ",
                                      d.items_size()));
  }

  // Each item's records: the chain from its first head to its second.
  const std::string& records = files["records.jsonl"];
  size_t at = 0;
  uint64_t line_number = 0;
  std::set<std::string> hosts;
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    const v1::SampleDrawItem& want = d.items(static_cast<int>(i));
    std::string prev = it.from.sequence == 0 ? evidence::GenesisHash() : it.from.hash;
    uint64_t observed_that_day = 0;
    for (uint64_t index = it.from.length + 1; index <= it.to.length; ++index) {
      ++line_number;
      const std::string where = StrCat("records.jsonl line ", line_number, " (sampled item ", i + 1,
                                       ", host ", it.host, ", record ", index, ")");
      const size_t nl = records.find('\n', at);
      if (nl == std::string::npos) {
        return absl::DataLossError(StrCat(where, ": missing; the item's records end early"));
      }
      CheckedLine l = CheckLine(std::string_view(records).substr(at, nl - at));
      at = nl + 1;
      if (!l.unnamed_error.empty())
        return absl::DataLossError(StrCat(where, ": ", l.unnamed_error));
      if (l.host != it.host || l.index != index) {
        return absl::DataLossError(
            StrCat(where, ": the line is record ", l.index, " of host ", l.host));
      }
      if (l.claimed_prev != prev) {
        return absl::DataLossError(StrCat(where, ": prev_hash does not link to the record before"));
      }
      if (!l.error.empty()) return absl::DataLossError(StrCat(where, ": ", l.error));
      prev = l.hash;
      const absl::Time t = FromProto(l.record.observed_at());
      if (t >= it.day && t < it.day + absl::Seconds(kDay)) ++observed_that_day;
    }
    if (prev != it.to.hash) {
      return absl::DataLossError(StrCat("sampled item ", i + 1, " (", it.host, " ", want.day(),
                                        "): its records do not end at the head checkpoint ",
                                        it.to.sequence, " signed"));
    }
    hosts.insert(it.host);
    out.records += it.to.length - it.from.length;
    // Complete when every record before the first head was received
    // before the day began, so observed before it.
    std::string completeness = "complete: the chain starts within these records";
    if (it.from.sequence > 0) {
      const absl::Time made = (*states)[it.from.sequence - 1].created_at;
      completeness =
          made <= it.day
              ? StrCat("complete: checkpoint ", it.from.sequence, " was made at ",
                       FormatRfc3339(made), ", before the day began")
              : StrCat("not proven complete: checkpoint ", it.from.sequence, " was made at ",
                       FormatRfc3339(made),
                       ", after the day began (imported or late evidence), so records of the day "
                       "before it would not be here");
    }
    out.sample_lines.push_back(StrCat(
        "item ", i + 1, ": ", it.host, " ", want.day(), ": ", Hours(want.seconds()),
        " (attestd's figures, ledger entry ", draw->index(), "); records ", it.from.length + 1, "-",
        it.to.length, " proven between checkpoints ",
        it.from.sequence == 0 ? std::string("(chain start)") : StrCat(it.from.sequence), " and ",
        it.to.sequence, ", ", observed_that_day, " observed that day (the draw counted ",
        want.evidence_records(), " about ", d.control(), "); ", completeness));
  }
  if (at != records.size()) {
    return absl::DataLossError(
        StrCat("records.jsonl line ", line_number + 1, ": a record no sampled item reaches"));
  }
  out.hosts = hosts.size();
  out.record_bytes = records.size();
  out.summary = StrCat("sample ", out.sample_number, " of window ", out.sample_window, " (control ",
                       d.control(), ", ", d.items_size(), " of ", d.population(),
                       " host-days, seed ", d.seed(), ", drawn by ", d.drawn_by(), ")");
  return out;
}

}  // namespace attest::ctl
