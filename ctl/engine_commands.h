// attestctl commands that talk to the control engine: import, report,
// approvals, exceptions, decommissioning, windows, samples, timelines; and
// simulate, which needs no daemon.
#ifndef ATTEST_CTL_ENGINE_COMMANDS_H_
#define ATTEST_CTL_ENGINE_COMMANDS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/v1/admin.grpc.pb.h"

namespace attest::ctl {

// Every flag a command may use (all are global; each command reads its own).
struct CommandFlags {
  std::string format = "table";
  std::string window;
  std::string control;
  std::string host;
  std::vector<std::string> selector;  // k=v
  std::string change;
  std::string ticket;
  std::string approver;
  std::string reason;
  std::string at;
  std::string start;
  std::string end;
  std::string from_file;
  std::string out;
  std::string witness_wait;   // export: how long to wait for cosignatures
  bool uncompressed = false;  // export: records.jsonl, not zstd frames
  bool window_sized = false;  // export: format 5
  int64_t sample = 0;         // export: a sampled bundle of this draw (from 1)
  bool sample_given = false;  // --sample was given (so 0 is refused, not ignored)
  std::string group_by;
  std::string id;
  int64_t hosts = 20;
  int64_t days = 30;
  int64_t seed = 1;
  int64_t n = 0;         // sample: the draw's size
  bool n_given = false;  // not given: the audit guidance size
  std::string effectiveness = "0.99";
  std::string coverage = "0.95";
  std::string max_deviation = "72h";
  // review
  std::string campaign;
  std::string entry;
  std::string due;
  std::vector<std::string> reviewers;
  bool keep = false;
  bool revoke = false;
};

using Stub = v1::AdminService::Stub;

// Checkpoint `sequence` of attestd's log with its heads and note (0: the
// latest); NotFound when there is none. Listed in two small calls, so
// that a long log is never sent whole.
absl::StatusOr<v1::Checkpoint> FetchCheckpoint(Stub& admin, uint64_t sequence,
                                               std::chrono::system_clock::time_point deadline);

int Import(Stub& admin, const std::string& file);
int Report(Stub& admin, const CommandFlags& f);
// report --format html|pdf (ctl/report_page.cc) from one daemon, or from
// shards (names: their addresses), merged as ShardReport merges them.
int PageReport(const std::vector<Stub*>& daemons, const std::vector<std::string>& names,
               const CommandFlags& f);
// The report of a fleet split across daemons (shards): each daemon's
// summary, merged exactly (daemon/windows/verdict.h).
int ShardReport(const std::vector<std::unique_ptr<Stub>>& shards,
                const std::vector<std::string>& names, const CommandFlags& f);
// --selector k=v flags into `out`; false (after printing why) on a bad one.
bool SelectorFlags(const std::vector<std::string>& pairs,
                   google::protobuf::Map<std::string, std::string>* out);
int Approve(Stub& admin, const CommandFlags& f);
int ExceptCreate(Stub& admin, const CommandFlags& f);
int ExceptRevoke(Stub& admin, const CommandFlags& f);
int ExceptList(Stub& admin, const CommandFlags& f);
int Decommission(Stub& admin, const std::string& host, const CommandFlags& f);
int WindowsList(Stub& admin, const CommandFlags& f);
int WindowsCreate(Stub& admin, const std::string& id, const CommandFlags& f);
int SampleCmd(Stub& admin, const CommandFlags& f);
// The recorded sample draws of --window (every window when empty).
int SamplesCmd(Stub& admin, const CommandFlags& f);
int TimelineCmd(Stub& admin, const CommandFlags& f);
// No daemon: writes the simulated history (and approvals to OUT.approvals).
int SimulateCmd(const CommandFlags& f);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_ENGINE_COMMANDS_H_
