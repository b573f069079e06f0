#include "ctl/bundle_command.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <tuple>

#include "common/files.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_sample.h"
#include "ctl/client.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "spdlog/spdlog.h"

namespace attest::ctl {
namespace {

// As ExitCodeFor: attestd unreachable, or not answering in time, is 3.
int ExitFor(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ? kExitUnreachable : kExitFindings;
}

}  // namespace

int ExportCmd(Stub& admin, const CommandFlags& f, const VerifyFlags& verify) {
  if (f.window.empty() || f.out.empty()) {
    fprintf(stderr, "attestctl: usage: attestctl export --window ID --out BUNDLE.tar\n");
    return kExitUsage;
  }
  absl::Duration wait = absl::Seconds(60);
  if (!f.witness_wait.empty()) {
    auto d = ParseHumanDuration(f.witness_wait);
    if (!d.ok() || *d < absl::ZeroDuration()) {
      fprintf(stderr, "attestctl: export: --witness-wait: a duration, e.g. 60s\n");
      return kExitUsage;
    }
    wait = *d;
  }
  ExportOptions options;
  options.witness_wait = wait;
  options.compress = !f.uncompressed;
  options.window_sized = f.window_sized;
  if (f.sample_given && f.window_sized) {
    fprintf(stderr,
            "attestctl: export: --window-sized is for whole bundles; a sampled bundle carries "
            "only the sampled host-days\n");
    return kExitUsage;
  }
  if (f.sample_given && f.sample < 1) {
    fprintf(stderr,
            "attestctl: export: --sample K: a draw's number from 1, as attestctl samples "
            "--window lists them\n");
    return kExitUsage;
  }
  if (!verify.late_after.empty()) {
    auto d = ParseHumanDuration(verify.late_after);
    if (!d.ok() || *d < absl::ZeroDuration()) {
      fprintf(stderr, "attestctl: export: --late-after: a duration, e.g. 26h\n");
      return kExitUsage;
    }
    if (!f.sample_given) {
      fprintf(stderr,
              "attestctl: export: --late-after is for sampled bundles (--sample K); a whole "
              "bundle carries every record\n");
      return kExitUsage;
    }
    options.late_after = *d;
  }
  if (f.sample_given && f.uncompressed) {
    fprintf(stderr,
            "attestctl: export: --uncompressed is for whole bundles; a sampled bundle's "
            "records.jsonl is always plain JSON Lines\n");
    return kExitUsage;
  }
  const absl::Status s =
      f.sample_given
          ? ExportSampleBundle(admin, f.window, static_cast<uint64_t>(f.sample), f.out, options)
          : ExportBundle(admin, f.window, f.out, options);
  if (!s.ok()) {
    fprintf(stderr, "attestctl: export: %s\n", std::string(s.message()).c_str());
    return ExitFor(s);
  }
  printf("wrote %s\n", f.out.c_str());
  return kExitOk;
}

int VerifyCmd(const std::vector<std::string>& args, const VerifyFlags& flags) {
  if (args.size() != 2) {
    fprintf(stderr,
            "attestctl: usage: attestctl verify BUNDLE.tar --pubkey KEY.pem [--witness-key W ...] "
            "[--known-checkpoint FILE ...]\n");
    return kExitUsage;
  }
  auto usage = [](const std::string& what) {
    fprintf(stderr, "attestctl: verify: %s\n", what.c_str());
    return kExitUsage;
  };
  std::string pubkey;
  if (!flags.pubkey_path.empty()) {
    auto pem = ReadFileUpTo(flags.pubkey_path, kMaxKeyFileBytes);
    if (!pem.ok()) return usage(std::string(pem.status().message()));
    pubkey = *pem;
    if (auto id = evidence::KeyId(pubkey); !id.ok()) {
      return usage(StrCat("--pubkey ", flags.pubkey_path, ": ", id.status().message()));
    }
  }
  VerifyOptions options;
  for (const std::string& w : flags.witness_keys) {
    // A verifier key, or a file holding one.
    auto key = evidence::note::ParseVerifierKey(w);
    if (!key.ok()) {
      if (auto text = ReadFileUpTo(w, kMaxKeyFileBytes); text.ok()) {
        key = evidence::note::ParseVerifierKey(TrimWhitespace(*text));
      }
    }
    if (!key.ok()) return usage(StrCat("--witness-key ", w, ": ", key.status().message()));
    if (key->type != evidence::note::kCosignatureV1) {
      return usage(StrCat("--witness-key ", w,
                          ": not a witness's key (type 0x04, as attest-witness init prints)"));
    }
    options.witnesses.push_back(*key);
  }
  for (const std::string& path : flags.known_checkpoints) {
    auto text = ReadFileUpTo(path, kMaxKeyFileBytes);
    if (!text.ok()) return usage(std::string(text.status().message()));
    auto n = evidence::note::Parse(*text);
    auto c = n.ok() ? evidence::note::ParseCheckpoint(n->text)
                    : absl::StatusOr<evidence::note::Checkpoint>(n.status());
    if (!c.ok()) {
      return usage(
          StrCat("--known-checkpoint ", path, ": not a signed checkpoint: ", c.status().message()));
    }
    options.known_checkpoints.push_back(*text);
  }
  for (auto [text, out, name] :
       {std::tuple{&flags.max_lateness, &options.max_lateness, "--max-lateness"},
        std::tuple{&flags.late_after, &options.late_after, "--late-after"}}) {
    if (text->empty()) continue;
    auto d = ParseHumanDuration(*text);
    if (!d.ok() || *d < absl::ZeroDuration()) return usage(StrCat(name, ": a duration, e.g. 14d"));
    *out = *d;
  }
  if (flags.memory_mib < 0 || flags.memory_mib > kMaxMemoryMib) {
    return usage(StrCat("--memory-mib: 0 to ", kMaxMemoryMib));
  }
  if (flags.sample_given) {
    if (flags.sample < 1) return usage("--sample K: a draw's number from 1");
    options.sample = static_cast<uint64_t>(flags.sample);
  }
  // A bundle that cannot be opened is a usage error like a missing --pubkey;
  // everything after this is the bundle's own finding (exit 1).
  if (std::ifstream probe(args[1], std::ios::binary); !probe) {
    return usage(StrCat("cannot read ", args[1]));
  }
  // The engine the replay runs logs what it judges; the verdict is ours.
  spdlog::set_level(spdlog::level::warn);
  // No fast bins: records are made on the checking threads and freed on
  // this one and the engine's, and freed small blocks parked in fast bins
  // made glibc sweep them all up at each larger allocation. Without them,
  // the 20-host bundle took 8% less CPU (7 interleaved runs each).
  mallopt(M_MXFAST, 0);
  options.pubkey_pem = pubkey;
  options.scratch_dir = flags.scratch_dir;
  options.memory_limit = static_cast<uint64_t>(flags.memory_mib) << 20;
  auto result = VerifyBundle(args[1], options);
  if (!result.ok()) {
    fprintf(stderr, "attestctl: verify: FAILED: %s\n",
            std::string(result.status().message()).c_str());
    return kExitFindings;
  }
  if (SampleFormat(result->format)) {
    std::string witnesses;
    for (const std::string& w : result->witnessed_by)
      StrAppend(&witnesses, witnesses.empty() ? "" : ", ", w);
    printf(
        "verified: %s: %zu records of %zu hosts, checkpoint %llu of log %s, signed by its "
        "key%s%s\n",
        result->summary.c_str(), result->records, result->hosts,
        static_cast<unsigned long long>(result->checkpoint), result->origin.c_str(),
        witnesses.empty() ? "" : " and cosigned by ", witnesses.c_str());
    printf(
        "window %s has %llu recorded sample draws in this ledger; this is draw %llu (pin it "
        "with --sample)\n",
        result->sample_window.c_str(), static_cast<unsigned long long>(result->sample_draws),
        static_cast<unsigned long long>(result->sample_number));
    if (!result->judgements.empty()) {
      printf("attestd judged under judgement %s\n", result->judgements.c_str());
    }
    for (const std::string& w : result->warnings) printf("WARNING: %s\n", w.c_str());
    for (const std::string& line : result->sample_lines) printf("%s\n", line.c_str());
    return kExitOk;
  }
  if (result->format == "attest-bundle-v1") {
    if (!options.witnesses.empty() || !options.known_checkpoints.empty()) {
      fprintf(stderr,
              "attestctl: verify: FAILED: this is a format 1 bundle: it has no witnessed log "
              "to check --witness-key or --known-checkpoint against\n");
      return kExitFindings;
    }
    printf("verified: %zu hosts, %zu records, checkpoint signed by key %s%s\n", result->hosts,
           result->records, result->key_id.c_str(),
           pubkey.empty() ? " (the key in the bundle: give --pubkey to check whose it is)" : "");
  } else {
    std::string witnesses;
    for (const std::string& w : result->witnessed_by)
      StrAppend(&witnesses, witnesses.empty() ? "" : ", ", w);
    printf("verified: %zu hosts, %zu records, checkpoint %llu of log %s, signed by its key%s%s\n",
           result->hosts, result->records, static_cast<unsigned long long>(result->checkpoint),
           result->origin.c_str(), witnesses.empty() ? "" : " and cosigned by ", witnesses.c_str());
    const auto hours = [](absl::Duration d) { return absl::ToDoubleHours(d); };
    printf(
        "evidence in the window: %llu records; %llu committed more than %.0f h after they "
        "were observed",
        static_cast<unsigned long long>(result->in_window),
        static_cast<unsigned long long>(result->late), hours(options.late_after));
    if (result->late > 0) {
      printf(" (late evidence, %llu of it imported; the latest, %s record %llu, by %.1f h)",
             static_cast<unsigned long long>(result->late_imported), result->max_late_host.c_str(),
             static_cast<unsigned long long>(result->max_late_index), hours(result->max_late));
    }
    printf("\n");
    if (!result->judgements.empty()) {
      printf("judged under judgement %s\n", result->judgements.c_str());
    }
    if (result->access_heads > 0) {
      printf(
          "access changes: %llu in the chains; the access-change commitments of %llu signed "
          "heads match them\n",
          static_cast<unsigned long long>(result->access_changes),
          static_cast<unsigned long long>(result->access_heads));
    }
    if (result->format == kBundleFormatV5 ||
        (result->format == kBundleFormatV6 && result->suffix_hosts > 0)) {
      printf(
          "window-sized: %llu of %zu hosts start at a signed state before the window, with %llu "
          "earlier access changes; from there their records judge the window as their whole "
          "chains do\n",
          static_cast<unsigned long long>(result->suffix_hosts), result->hosts,
          static_cast<unsigned long long>(result->carried_records));
    }
    for (const std::string& w : result->warnings) printf("WARNING: %s\n", w.c_str());
  }
  printf("the window summary follows from the records:\n%s", result->summary.c_str());
  const double mb = static_cast<double>(result->record_bytes) / 1e6;
  const double total = result->check_seconds + result->replay_seconds;
  char compressed[96] = "";
  if (result->compressed_bytes > 0) {
    snprintf(compressed, sizeof(compressed), " (%.1f MB in %llu zstd frames)",
             static_cast<double>(result->compressed_bytes) / 1e6,
             static_cast<unsigned long long>(result->frames));
  }
  fprintf(stderr,
          "verify: %.1f MB of records%s in %.2f s (%.1f MB/s): records checked (and judged "
          "alongside) in %.2f s, summary finished in %.2f s after\n",
          mb, compressed, total, total > 0 ? mb / total : 0.0, result->check_seconds,
          result->replay_seconds);
  return kExitOk;
}

int SigningKeyCmd(Stub& admin, bool vkey) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetSigningKeyRequest req;
  v1::SigningKey key;
  grpc::Status s = admin.GetSigningKey(&ctx, req, &key);
  if (!s.ok()) return Fail("signing-key", s);
  if (vkey) {
    printf("%s\n", key.verifier_key().c_str());
  } else {
    fputs(key.public_key_pem().c_str(), stdout);
  }
  return kExitOk;
}

int LedgerCmd(Stub& admin) {
  std::string prev = evidence::GenesisHash();
  uint64_t next = 1;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::ListLedgerRequest req;
    req.set_from_index(next);
    v1::ListLedgerResponse page;
    grpc::Status s = admin.ListLedger(&ctx, req, &page);
    if (!s.ok()) return Fail("ledger", s);
    if (page.entries().empty()) return kExitOk;
    for (const v1::LedgerEntry& e : page.entries()) {
      if (e.index() != next || e.prev_hash() != prev || evidence::LedgerHash(prev, e) != e.hash()) {
        fflush(stdout);
        fprintf(stderr, "attestctl: ledger entry %llu does not link to the one before\n",
                static_cast<unsigned long long>(next));
        return kExitFindings;
      }
      printf("%s\n", evidence::CanonicalLedgerEntry(e, /*with_links=*/true).c_str());
      prev = e.hash();
      ++next;
    }
  }
}

int CheckpointCmd(Stub& admin, int64_t sequence, bool create) {
  if (create) {
    if (sequence != 0) {
      fprintf(stderr, "attestctl: checkpoint: --create and --sequence do not go together\n");
      return kExitUsage;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::Checkpoint made;
    grpc::Status s = admin.CreateCheckpoint(&ctx, v1::CreateCheckpointRequest(), &made);
    if (!s.ok()) return Fail("checkpoint", s);
    sequence = static_cast<int64_t>(made.sequence());
  }
  auto found = FetchCheckpoint(admin, static_cast<uint64_t>(std::max<int64_t>(0, sequence)),
                               std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!found.ok() || found->note().empty()) {
    fprintf(stderr, "attestctl: checkpoint: %s\n",
            !found.ok() ? std::string(found.status().message()).c_str()
                        : "that checkpoint was made before checkpoints were signed notes");
    return found.ok() || absl::IsNotFound(found.status()) ? kExitFindings : ExitFor(found.status());
  }
  fputs(found->note().c_str(), stdout);
  return kExitOk;
}

}  // namespace attest::ctl
