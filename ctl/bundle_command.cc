#include "ctl/bundle_command.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/files.h"
#include "ctl/bundle.h"
#include "ctl/client.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "spdlog/spdlog.h"

namespace attest::ctl {
namespace {

int ExitFor(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ? kExitUnreachable : kExitFindings;
}

}  // namespace

int ExportCmd(Stub& admin, const CommandFlags& f) {
  if (f.window.empty() || f.out.empty()) {
    fprintf(stderr, "attestctl: usage: attestctl export --window ID --out BUNDLE.tar\n");
    return kExitUsage;
  }
  if (absl::Status s = ExportBundle(admin, f.window, f.out); !s.ok()) {
    fprintf(stderr, "attestctl: export: %s\n", std::string(s.message()).c_str());
    return ExitFor(s);
  }
  printf("wrote %s\n", f.out.c_str());
  return kExitOk;
}

int VerifyCmd(const std::vector<std::string>& args, const std::string& pubkey_path,
              const std::string& scratch_dir, int64_t memory_mib) {
  if (args.size() != 2) {
    fprintf(stderr, "attestctl: usage: attestctl verify BUNDLE.tar [--pubkey KEY.pem]\n");
    return kExitUsage;
  }
  std::string pubkey;
  if (!pubkey_path.empty()) {
    auto pem = ReadFileToString(pubkey_path);
    if (!pem.ok()) {
      fprintf(stderr, "attestctl: verify: %s\n", std::string(pem.status().message()).c_str());
      return kExitUsage;
    }
    pubkey = *pem;
    if (auto id = evidence::KeyId(pubkey); !id.ok()) {
      fprintf(stderr, "attestctl: verify: --pubkey %s: %s\n", pubkey_path.c_str(),
              std::string(id.status().message()).c_str());
      return kExitUsage;
    }
  }
  // A bundle that cannot be opened is a usage error like a missing --pubkey;
  // everything after this is the bundle's own finding (exit 1).
  if (std::ifstream probe(args[1], std::ios::binary); !probe) {
    fprintf(stderr, "attestctl: verify: cannot read %s\n", args[1].c_str());
    return kExitUsage;
  }
  // The engine the replay runs logs what it judges; the verdict is ours.
  spdlog::set_level(spdlog::level::warn);
  VerifyOptions options;
  options.pubkey_pem = pubkey;
  options.scratch_dir = scratch_dir;
  options.memory_limit = static_cast<uint64_t>(std::max<int64_t>(0, memory_mib)) << 20;
  auto result = VerifyBundle(args[1], options);
  if (!result.ok()) {
    fprintf(stderr, "attestctl: verify: FAILED: %s\n",
            std::string(result.status().message()).c_str());
    return kExitFindings;
  }
  printf("verified: %zu hosts, %zu records, checkpoint signed by key %s%s\n", result->hosts,
         result->records, result->key_id.c_str(),
         pubkey.empty() ? " (the key in the bundle: give --pubkey to check whose it is)" : "");
  printf("the window summary follows from the records:\n%s", result->summary.c_str());
  const double mb = static_cast<double>(result->record_bytes) / 1e6;
  const double total = result->check_seconds + result->replay_seconds;
  fprintf(stderr,
          "verify: %.1f MB of records in %.2f s (%.1f MB/s): records checked (and judged "
          "alongside) in %.2f s, summary finished in %.2f s after\n",
          mb, total, total > 0 ? mb / total : 0.0, result->check_seconds, result->replay_seconds);
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
      if (e.index() != next || e.prev_hash() != prev ||
          evidence::LedgerHash(prev, e) != e.hash()) {
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

int CheckpointCmd(Stub& admin, int64_t sequence) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::ListCheckpointsRequest req;
  v1::ListCheckpointsResponse list;
  grpc::Status s = admin.ListCheckpoints(&ctx, req, &list);
  if (!s.ok()) return Fail("checkpoint", s);
  const v1::Checkpoint* found = nullptr;
  for (const v1::Checkpoint& c : list.checkpoints()) {
    if (sequence == 0 || c.sequence() == static_cast<uint64_t>(sequence)) found = &c;
  }
  if (found == nullptr || found->note().empty()) {
    fprintf(stderr, "attestctl: checkpoint: %s\n",
            found == nullptr ? "no such checkpoint"
                             : "that checkpoint was made before checkpoints were signed notes");
    return kExitFindings;
  }
  fputs(found->note().c_str(), stdout);
  return kExitOk;
}

}  // namespace attest::ctl
