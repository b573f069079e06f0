// attestctl export, verify and signing-key (ctl/bundle.h does the work).
#ifndef ATTEST_CTL_BUNDLE_COMMAND_H_
#define ATTEST_CTL_BUNDLE_COMMAND_H_

#include <string>
#include <vector>

#include "ctl/engine_commands.h"

namespace attest::ctl {

int ExportCmd(Stub& admin, const CommandFlags& f);
// args: {"verify", BUNDLE}; exit 0 verified, 1 it does not verify, 2 usage.
int VerifyCmd(const std::vector<std::string>& args, const std::string& pubkey_path,
              const std::string& scratch_dir, int64_t memory_mib);
int SigningKeyCmd(Stub& admin);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_BUNDLE_COMMAND_H_
