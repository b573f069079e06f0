// attestctl export, verify, signing-key, ledger and checkpoint (ctl/bundle.h does the work).
#ifndef ATTEST_CTL_BUNDLE_COMMAND_H_
#define ATTEST_CTL_BUNDLE_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ctl/engine_commands.h"

namespace attest::ctl {

// Bounds on verify's flags (docs/bad-input.md): a --pubkey, --witness-key
// or --known-checkpoint file (a PEM key, a vkey, a note of at most 64 KiB);
// --memory-mib (1 TiB).
inline constexpr size_t kMaxKeyFileBytes = size_t{1} << 20;
inline constexpr int64_t kMaxMemoryMib = int64_t{1} << 20;

struct VerifyFlags {
  std::string pubkey_path;
  std::vector<std::string> witness_keys;       // verifier keys, or files holding one
  std::vector<std::string> known_checkpoints;  // files
  std::string max_lateness;                    // "": the default
  std::string late_after;
  std::string scratch_dir;
  int64_t memory_mib = 2048;
  int64_t sample = 0;  // the draw a sampled bundle must prove (from 1)
  bool sample_given = false;
};
// verify.late_after: a sampled bundle's --late-after (the rest is verify's).
int ExportCmd(Stub& admin, const CommandFlags& f, const VerifyFlags& verify);
// args: {"verify", BUNDLE}; exit 0 verified, 1 it does not verify, 2 usage.
int VerifyCmd(const std::vector<std::string>& args, const VerifyFlags& flags);
// vkey: print the C2SP verifier key instead of the PEM.
int SigningKeyCmd(Stub& admin, bool vkey);
// The decision ledger as JSON Lines (ledger.jsonl), its links checked as it
// is read: exit 1 when they do not hold.
int LedgerCmd(Stub& admin);
// The signed note of checkpoint `sequence` (0: the latest), with every
// cosignature attestd holds: what an auditor keeps for --known-checkpoint.
// create: make a new checkpoint now (admin), and print it.
int CheckpointCmd(Stub& admin, int64_t sequence, bool create);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_COMMAND_H_
