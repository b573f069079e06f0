// attestctl review: user access review campaigns (docs/design.md, "Access
// reviews"). start takes the population; decide records decisions, one or a
// CSV file that export wrote and a reviewer filled in (all stored or none);
// status shows progress and where each revocation stands on each host.
#ifndef ATTEST_CTL_REVIEW_COMMANDS_H_
#define ATTEST_CTL_REVIEW_COMMANDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/engine_commands.h"

namespace attest::ctl {

int ReviewStart(Stub& admin, const CommandFlags& f);
int ReviewDecide(Stub& admin, const CommandFlags& f);
int ReviewExport(Stub& admin, const CommandFlags& f);
int ReviewStatusCmd(Stub& admin, const CommandFlags& f);

// A decision file's rows as decisions, each with the line it came from.
// Rows without a decision, or with a decided_at (decided already), are
// left out. InvalidArgument "line N: why" for a bad row; nothing is sent.
struct FileDecision {
  size_t line = 0;
  v1::ReviewDecision decision;
};
absl::StatusOr<std::vector<FileDecision>> ParseDecisionCsv(std::string_view text,
                                                           const std::string& campaign,
                                                           const std::string& reviewer);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_REVIEW_COMMANDS_H_
