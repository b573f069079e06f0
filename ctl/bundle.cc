#include "ctl/bundle.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_lines.h"
#include "ctl/bundle_log.h"
#include "ctl/bundle_replay.h"
#include "ctl/bundle_sample.h"
#include "ctl/bundle_v2.h"
#include "ctl/bundle_window.h"
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

// Per-host chain state while records stream by.
struct ChainCursor {
  uint64_t next = 1;
  std::string prev = evidence::GenesisHash();
};

// Reads manifest.json into memory: bounded, so a crafted header cannot
// make verify allocate what it says.
absl::Status ReadManifest(uint64_t size, const TarChunkReader& read, v1::BundleManifest* m) {
  if (size > kMaxManifestBytes) {
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

// Whether the manifest names a sampled bundle (a manifest that cannot be
// read is for VerifyBundle to name).
bool SampledBundle(const std::string& path) {
  bool sampled = false;
  (void)ReadTar(path, [&](const std::string& name, uint64_t size, const TarChunkReader& read) {
    if (name != "manifest.json" || size > (uint64_t{1} << 20)) return absl::OkStatus();
    std::string text(size, '\0');
    if (read(text.data(), size) != size) return absl::OkStatus();
    auto j = Json::Parse(text);
    const Json* format = j.ok() ? j->Find("format") : nullptr;
    // Any attest-sample-vN: VerifySampleBundle names one it does not know.
    sampled = format != nullptr && format->is_string() &&
              absl::StartsWith(format->as_string(), "attest-sample-");
    return absl::OkStatus();
  });
  return sampled;
}

}  // namespace

absl::Status UnknownBundleFormat(std::string_view format) {
  return absl::DataLossError(StrCat("unknown bundle format ", format,
                                    ": this attestctl reads attest-bundle-v1 to -v6 and "
                                    "attest-sample-v1 to -v3; a newer attestctl is needed"));
}

namespace {

bool KnownFormat(const std::string& format) {
  return format == kBundleFormatV6 || format == kBundleFormatV5 || format == kBundleFormatV4 ||
         format == kBundleFormatV3 || format == kBundleFormat || format == kBundleFormatV1;
}

absl::Status CompressedNeedsV3OrV4(const std::string& format) {
  if (format == kBundleFormatV3 || format == kBundleFormatV4 || format == kBundleFormatV5 ||
      format == kBundleFormatV6) {
    return absl::OkStatus();
  }
  return absl::DataLossError(StrCat(kCompressedRecordsEntry, " in a bundle of format ", format,
                                    ": compressed records are format ", kBundleFormatV3, " to ",
                                    kBundleFormatV6));
}

absl::Status Bad(uint64_t line, std::string_view host, uint64_t index, std::string_view what) {
  return absl::DataLossError(attest::StrCat("records.jsonl line ", line, " (host ", host,
                                            ", record ", index, "): ", what));
}

}  // namespace

absl::StatusOr<VerifyResult> VerifyBundle(const std::string& path, const VerifyOptions& options) {
  if (SampledBundle(path)) return VerifySampleBundle(path, options);
  if (options.sample > 0) {
    return absl::DataLossError(
        StrCat("--sample ", options.sample, ": this is a whole bundle, not a sampled one"));
  }
  const std::string& pubkey_pem = options.pubkey_pem;
  v1::BundleManifest m;
  bool have_manifest = false;
  std::map<std::string, ChainCursor> chains;
  ReplayStore records(options.scratch_dir, options.memory_limit);
  std::string states_text, ledger_text, reviews_text, carried_text;
  bool carried_seen = false;   // access-changes.jsonl, even empty
  bool over_bound = false;     // an entry claims more than its bound
  uint64_t decoded_bytes = 0;  // of records.jsonl.zst's frames
  bool decoded_known = false;  // the first pass read every frame's header
  // The manifest is written after the records. Read it first (the records
  // are skipped by seeking), so the engine can judge each host as soon as
  // its chain is checked. When it cannot be read here (a truncated
  // bundle), the records are still checked first, to name the bad one,
  // and replayed after. Format 2's log and ledger are read with it.
  absl::Status s =
      ReadTar(path, [&](const std::string& name, uint64_t size, const TarChunkReader& read) {
        if (name == "states.jsonl" || name == "ledger.jsonl" || name == "reviews.jsonl" ||
            name == kCarriedEntry) {
          const uint64_t cap = WholeBundleBounds().at(name);
          if (size > cap) {
            over_bound = true;
            return absl::DataLossError(StrCat(name, " claims ", size, " bytes; at most ", cap));
          }
          carried_seen = carried_seen || name == kCarriedEntry;
          std::string& text = name == "states.jsonl"   ? states_text
                              : name == "ledger.jsonl" ? ledger_text
                              : name == kCarriedEntry  ? carried_text
                                                       : reviews_text;
          text.resize(size);
          if (read(text.data(), size) != size) return absl::DataLossError(name + " truncated");
          return absl::OkStatus();
        }
        if (name == kCompressedRecordsEntry) {
          // The decoded size, for ReplayStore::Prepare, from the frames'
          // headers; a frame that is not one stops here, named.
          FrameSplitter frames(read, size);
          Frame frame;
          for (;;) {
            absl::StatusOr<bool> more = frames.Next(&frame);
            if (!more.ok()) return more.status();
            if (!*more) break;
            decoded_bytes += frame.content_bytes;
          }
          decoded_known = true;
          return absl::OkStatus();
        }
        if (name != "manifest.json") return absl::OkStatus();
        over_bound = size > kMaxManifestBytes;
        if (absl::Status st = ReadManifest(size, read, &m); !st.ok()) return st;
        have_manifest = true;
        return absl::OkStatus();
      });
  const absl::Status first_pass = s;
  // Each pass must read the same entries; and an entry over its bound is
  // refused at once, whatever else the bundle holds.
  if (absl::StrContains(s.message(), kDuplicateEntry) || over_bound) return s;
  if (!s.ok() || !KnownFormat(m.format())) {
    have_manifest = false;
    m.Clear();
  }
  VerifyResult out;
  // Formats 2 to 4 have the witnessed log and the ledger; 3 and 4 may
  // compress, and 4 may hold attest-state-v2 states (so may 2 and 3 written
  // by builds of December 2026 before format 4: they are read the same).
  const bool v2 = KnownFormat(m.format()) && m.format() != kBundleFormatV1;
  BundleV2Check check(options);
  if (v2) {
    // Format 5 always has it; format 6 when a host starts after record 1.
    const bool suffix = std::any_of(m.hosts().begin(), m.hosts().end(),
                                    [](const v1::BundleHost& h) { return h.first_index() > 1; });
    if ((m.format() == kBundleFormatV5 || (m.format() == kBundleFormatV6 && suffix)) &&
        !carried_seen) {
      return absl::DataLossError(StrCat("a bundle of format ", m.format(), " without ",
                                        kCarriedEntry,
                                        " (every window-sized one has it, empty or not)"));
    }
    s = check.Prepare(m, states_text, ledger_text, reviews_text, carried_text, &out);
    if (!s.ok()) return s;
  } else if (!carried_text.empty() && have_manifest) {
    return absl::DataLossError(StrCat(kCarriedEntry, " in a bundle of format ", m.format()));
  }
  std::unique_ptr<SummaryReplay> replay;
  std::string last_host;  // the host whose chain the records are on
  int records_entries = 0;
  bool saw_compressed = false;
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
        const bool compressed = name == kCompressedRecordsEntry;
        if (name != kRecordsEntry && !compressed) return absl::OkStatus();
        if (records_entries++ > 0) {
          return absl::DataLossError(StrCat("a second records entry (", name,
                                            "): a bundle holds one records.jsonl or one ",
                                            kCompressedRecordsEntry));
        }
        saw_compressed = compressed;
        if (compressed && have_manifest) {
          if (absl::Status st = CompressedNeedsV3OrV4(m.format()); !st.ok()) return st;
        }
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
          auto [cursor, fresh] = chains.try_emplace(l.host);
          ChainCursor& c = cursor->second;
          // Format 5: a host whose records start at a signed state's head.
          const BundleV2Check::SuffixStart* suffix = nullptr;
          if (fresh && v2) {
            auto it = check.suffixes().find(l.host);
            if (it != check.suffixes().end()) suffix = &it->second;
          }
          if (suffix != nullptr) {
            if (l.index != suffix->first_index) {
              return Bad(lines, l.host, l.index,
                         attest::StrCat("expected record ", suffix->first_index,
                                        ", the host's first in this window-sized bundle"));
            }
            if (!l.error.empty()) return Bad(lines, l.host, l.index, l.error);
            if (l.hash != suffix->hash) {
              return Bad(lines, l.host, l.index,
                         attest::StrCat("not the host's head in state ", suffix->sequence,
                                        ", where the manifest starts its records"));
            }
            c.next = l.index;
            c.prev = l.claimed_prev;
          }
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
            if (suffix != nullptr) {
              // Its labels where the records start, and every earlier
              // access change, go into the store first.
              records.SetLabels(l.host, suffix->labels);
              for (const CheckedLine& x : suffix->carried) {
                if (absl::Status st = check.OnRecord(*x.record, x.hash, &out); !st.ok()) return st;
                if (absl::Status st = records.Add(*x.record); !st.ok()) return st;
              }
            }
          }
          if (v2) {
            if (absl::Status st = check.OnRecord(*l.record, c.prev, &out); !st.ok()) return st;
          }
          return records.Add(*l.record);
        };
        out.record_bytes = compressed ? 0 : size;
        out.compressed_bytes = compressed ? size : 0;
        // A size the first pass could not sum (it stopped early) counts
        // as too large for memory.
        const uint64_t record_bytes =
            !compressed ? size : (decoded_known ? decoded_bytes : UINT64_MAX);
        if (absl::Status st = records.Prepare(record_bytes); !st.ok()) {
          return st;
        }
        if (have_manifest) {
          replay = std::make_unique<SummaryReplay>(m, records, &check.reviews());
          if (absl::Status st = replay->Begin(); !st.ok()) return st;
        }
        RecordLinesStats stats;
        if (absl::Status st =
                CheckRecordLines(read, size, compressed, options.slice_lines, link, &stats);
            !st.ok()) {
          return st;
        }
        out.frames = stats.frames;
        if (compressed) out.record_bytes = stats.decoded_bytes;
        if (isatty(STDERR_FILENO)) {
          fprintf(stderr, "\rverify: %llu records checked; recomputing the summary\n",
                  static_cast<unsigned long long>(lines));
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (!have_manifest) return absl::DataLossError(path + ": no manifest.json");
  if (!KnownFormat(m.format())) return UnknownBundleFormat(m.format());
  if (!v2 && m.format() != kBundleFormatV1) {
    // The first pass could not read the bundle (an entry over its bound,
    // say): a format 2 to 5 bundle is checked from its signed log, which
    // that pass reads; it must never pass as format 1.
    return absl::DataLossError(StrCat(
        "a bundle of format ", m.format(),
        " whose log and manifest could not be read before its "
        "records: ",
        first_pass.ok() ? absl::string_view("no manifest in that pass") : first_pass.message()));
  }
  if (saw_compressed) {
    if (s = CompressedNeedsV3OrV4(m.format()); !s.ok()) return s;
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
  if (!replay) {  // the manifest was read after the records
    replay = std::make_unique<SummaryReplay>(m, records, &check.reviews());
    if (s = replay->Begin(); !s.ok()) return s;
  }
  auto summary = replay->Finish();
  out.replay_seconds = absl::ToDoubleSeconds(absl::Now() - replay_started);
  out.replayed_from_disk = !records.scratch().empty();
  if (!summary.ok()) return summary.status();
  if (s = CompareSummaries(m.summary(), *summary); !s.ok()) return s;
  if (v2 && !check.suffixes().empty()) {
    // Each window-sized host's records judge the window as its whole chain.
    std::map<std::string, HostStart> starts;
    for (const auto& [host, x] : check.suffixes()) {
      starts[host] = {
          .first_index = x.first_index, .signed_by = x.signed_by, .sequence = x.sequence};
    }
    for (const auto& [host, st] : CheckStarts(m, records, *replay, starts)) {
      if (!st.ok()) return st;
    }
  }

  out.hosts = static_cast<size_t>(m.hosts_size());
  out.records = lines;
  out.key_id = m.checkpoint().key_id();
  for (const v1::ControlSummary& c : summary->controls()) {
    attest::StrAppend(&out.summary, c.id(), ": ", c.verdict(), "\n");
  }
  return out;
}

}  // namespace attest::ctl
