// attestctl verify of a sampled bundle (docs/bundle.md, "Sampled bundles").
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
absl::StatusOr<absl::Time> SampleDayStart(const std::string& day) {
  absl::Time t;
  std::string err;
  if (day.size() != 10 || !absl::ParseTime("%Y-%m-%d", day, absl::UTCTimeZone(), &t, &err)) {
    return absl::DataLossError(StrCat("\"", day, "\" is not a day (YYYY-MM-DD)"));
  }
  return t;
}

// The `number`-th sample draw of `window` in the ledger, and its index.
const v1::LedgerEntry* FindSampleDraw(const std::vector<v1::LedgerEntry>& ledger,
                                      const std::string& window, uint64_t number) {
  uint64_t seen = 0;
  for (const v1::LedgerEntry& e : ledger) {
    if (e.has_sample() && e.sample().window() == window && ++seen == number) return &e;
  }
  return nullptr;
}

namespace {

namespace merkle = evidence::merkle;
constexpr int64_t kDay = 86400;

}  // namespace

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
  if (state.format == "attest-state-v0") {
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

std::string SampleItemCompleteness(uint64_t from, uint64_t to, absl::Time day,
                                   const std::vector<State>& states, const LogCheck& log,
                                   const VerifyOptions& options) {
  const bool witnessed = !options.witnesses.empty();
  std::string start = "the chain starts within these records";
  bool complete = true;
  if (from > 0) {
    const absl::Time made = log.committed_at[from - 1];
    const std::string how = witnessed ? "cosigned" : "made";
    if (made == absl::InfiniteFuture()) {
      complete = false;
      start = StrCat("checkpoint ", from,
                     " carries no cosignature by every --witness-key, so nothing proves it was "
                     "made before the day began");
    } else if (made <= day) {
      start = StrCat("checkpoint ", from, " was ", how, " at ", FormatRfc3339(made),
                     ", before the day began");
    } else {
      complete = false;
      start = StrCat("checkpoint ", from, " was ", how, " at ", FormatRfc3339(made),
                     ", after the day began (imported or late evidence), so records of the day "
                     "before it would not be here");
    }
  }
  const absl::Time end = day + absl::Seconds(kDay) + options.late_after;
  const absl::Time to_made = states[to - 1].created_at;
  std::string finish;
  if (to_made >= end) {
    finish = StrCat("checkpoint ", to, " was made at ", FormatRfc3339(to_made),
                    " by attestd's clock, at least --late-after (",
                    absl::FormatDuration(options.late_after), ") after the day's end");
  } else {
    complete = false;
    finish = StrCat("checkpoint ", to, " was made at ", FormatRfc3339(to_made),
                    ", less than --late-after (", absl::FormatDuration(options.late_after),
                    ") after the day's end, so records of the day received later would not be "
                    "here");
  }
  return StrCat(complete ? "complete: " : "not proven complete: ", start, "; ", finish);
}

const std::map<std::string, uint64_t>& SampledBundleBounds() {
  static const auto* bounds = new std::map<std::string, uint64_t>{
      {"manifest.json", uint64_t{1} << 20},      {"states.jsonl", kMaxStatesBytes},
      {"ledger.jsonl", kMaxLedgerBytes},         {"sample.jsonl", kMaxSampleItemsBytes},
      {"records.jsonl", kMaxSampleRecordsBytes}, {"public-key.pem", uint64_t{1} << 20}};
  return *bounds;
}

absl::StatusOr<VerifyResult> VerifySampleBundle(const std::string& path,
                                                const VerifyOptions& options) {
  std::map<std::string, std::string> files;
  const std::map<std::string, uint64_t>& caps = SampledBundleBounds();
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
  VerifyResult out;
  auto manifest = Json::Parse(files["manifest.json"]);
  const Json* format = manifest.ok() ? manifest->Find("format") : nullptr;
  out.format = format != nullptr && format->is_string() ? format->as_string() : "";
  if (!SampleFormat(out.format)) {
    return UnknownBundleFormat(out.format);
  }
  for (const auto& [name, cap] : caps) {
    if (files.count(name) == 0 && name != "public-key.pem") {
      return absl::DataLossError(StrCat(path, ": no ", name));
    }
  }
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
  auto judgements = CheckJudgements(*ledger, out.format, out.format == kSampleBundleFormatV3);
  if (!judgements.ok()) return judgements.status();
  out.judgements = *std::move(judgements);
  const std::string& pem =
      options.pubkey_pem.empty() ? files["public-key.pem"] : options.pubkey_pem;
  if (pem.empty()) {
    return absl::DataLossError(
        "no --pubkey and no public-key.pem in the bundle: nothing to check the checkpoint's "
        "signature with");
  }
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
  if (final_state.format == "attest-state-v0") {
    return absl::DataLossError("the bundle's checkpoint was made before format 2");
  }
  if (s = CheckLedgerCommitted(*ledger, final_state); !s.ok()) return s;
  const v1::LedgerEntry* draw = FindSampleDraw(*ledger, out.sample_window, out.sample_number);
  if (draw == nullptr) {
    return absl::DataLossError(
        StrCat("the ledger has no sample ", out.sample_number, " of window ", out.sample_window));
  }
  const Json* ledger_index = manifest->Find("ledger_index");
  if (ledger_index == nullptr || ledger_index->as_uint() != draw->index()) {
    return absl::DataLossError(StrCat("manifest.json: ledger_index must be ", draw->index(),
                                      ", the ledger entry of sample ", out.sample_number,
                                      " of window ", out.sample_window));
  }
  if (options.sample > 0 && options.sample != out.sample_number) {
    return absl::DataLossError(StrCat("the bundle proves sample ", out.sample_number, " of window ",
                                      out.sample_window, ", not sample ", options.sample,
                                      " (--sample)"));
  }
  for (const v1::LedgerEntry& e : *ledger) {
    if (e.has_sample() && e.sample().window() == out.sample_window) ++out.sample_draws;
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
    auto day_start = SampleDayStart(want.day());
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
      const absl::Time t = FromProto(l.record->observed_at());
      if (t >= it.day && t < it.day + absl::Seconds(kDay)) ++observed_that_day;
    }
    if (prev != it.to.hash) {
      return absl::DataLossError(StrCat("sampled item ", i + 1, " (", it.host, " ", want.day(),
                                        "): its records do not end at the head checkpoint ",
                                        it.to.sequence, " signed"));
    }
    hosts.insert(it.host);
    out.records += it.to.length - it.from.length;
    out.sample_lines.push_back(StrCat(
        "item ", i + 1, ": ", it.host, " ", want.day(), ": ", Hours(want.seconds()),
        " (attestd's figures, ledger entry ", draw->index(), "); records ", it.from.length + 1, "-",
        it.to.length, " proven between checkpoints ",
        it.from.sequence == 0 ? std::string("(chain start)") : StrCat(it.from.sequence), " and ",
        it.to.sequence, ", ", observed_that_day, " observed that day (the draw counted ",
        want.evidence_records(), " about ", d.control(), "); ",
        SampleItemCompleteness(it.from.sequence, it.to.sequence, it.day, *states, *log, options)));
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
