#include "ctl/engine_commands.h"

#include <unistd.h>

#include <fstream>
#include <map>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/utf8.h"
#include "ctl/bundle_frames.h"
#include "ctl/client.h"
#include "ctl/listing.h"
#include "ctl/report_format.h"
#include "ctl/simulate.h"
#include "daemon/evidence/interchange.h"
#include "daemon/windows/verdict.h"

namespace attest::ctl {
namespace {

constexpr size_t kImportBatchRecords = 2000;
constexpr size_t kImportBatchBytes = 2 << 20;
// An approvals file's line holds a change id, a ticket, an approver and a
// time: a line over this is not one.
constexpr size_t kMaxApprovalLineBytes = size_t{1} << 20;

void PrintJson(const Json& j) { printf("%s\n", j.Canonical().c_str()); }

}  // namespace

absl::StatusOr<v1::Checkpoint> FetchCheckpoint(Stub& admin, uint64_t sequence,
                                               std::chrono::system_clock::time_point deadline) {
  auto list = [&](v1::ListCheckpointsRequest req) -> absl::StatusOr<v1::ListCheckpointsResponse> {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    v1::ListCheckpointsResponse resp;
    grpc::Status s = admin.ListCheckpoints(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp;
  };
  if (sequence == 0) {
    v1::ListCheckpointsRequest req;
    req.set_leaves_only(true);
    auto all = list(req);
    if (!all.ok()) return all.status();
    if (all->checkpoints().empty()) return absl::NotFoundError("attestd has no checkpoint yet");
    sequence = all->checkpoints(all->checkpoints_size() - 1).sequence();
  }
  v1::ListCheckpointsRequest req;
  req.set_from_sequence(sequence);
  req.set_to_sequence(sequence);
  auto one = list(req);
  if (!one.ok()) return one.status();
  if (one->checkpoints().empty()) return absl::NotFoundError(StrCat("no checkpoint ", sequence));
  return one->checkpoints(0);
}

int Import(Stub& admin, const std::string& file) {
  std::ifstream in(file);
  if (!in) return Usage(StrCat("import: cannot open ", file));
  const bool tty = isatty(STDERR_FILENO);
  v1::ImportResponse total;
  std::vector<std::pair<uint64_t, std::string>> rejected;
  v1::ImportRequest batch;
  size_t batch_bytes = 0;
  uint64_t line_no = 0;
  auto flush = [&]() -> int {
    if (batch.records_size() == 0) return kExitOk;
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(300));
    v1::ImportResponse resp;
    grpc::Status s = admin.Import(&ctx, batch, &resp);
    if (!s.ok() && batch.records_size() == 1 &&
        s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        s.error_message().find("larger than max") != std::string::npos) {
      // gRPC refused the request for its size, and batches only pass
      // kImportBatchBytes with a single record: that line cannot be
      // imported at all, the rest can. (A full disk is RESOURCE_EXHAUSTED
      // too, with attestd's own message, and stops the import.)
      rejected.emplace_back(
          batch.records(0).line(),
          StrCat("its record is ", batch.ByteSizeLong(),
                 " bytes, more than attestd takes in one message (", s.error_message(), ")"));
      batch.Clear();
      batch_bytes = 0;
      return kExitOk;
    }
    if (!s.ok()) return Fail("import", s);
    total.set_accepted(total.accepted() + resp.accepted());
    total.set_duplicates(total.duplicates() + resp.duplicates());
    total.set_gaps(total.gaps() + resp.gaps());
    for (const auto& r : resp.rejected()) rejected.emplace_back(r.line(), r.reason());
    batch.Clear();
    batch_bytes = 0;
    if (tty) {
      fprintf(stderr, "\rimport: %llu lines read, %llu accepted, %zu rejected",
              static_cast<unsigned long long>(line_no),
              static_cast<unsigned long long>(total.accepted()), rejected.size());
    }
    return kExitOk;
  };
  std::string line;
  bool too_long = false;
  std::map<std::string, std::string> instance_of;  // host -> its last hello line's instance
  while (GetLineUpTo(in, &line, kMaxFrameContentBytes, &too_long)) {
    ++line_no;
    if (too_long) {
      // Read to its end but never held: the bound a bundle's record line
      // has too, far above any record attestd takes in one message.
      rejected.emplace_back(line_no, StrCat("the line is longer than ", kMaxFrameContentBytes,
                                            " bytes, the most a record line may be"));
      continue;
    }
    if (TrimWhitespace(line).empty()) continue;
    if (!IsValidUtf8(line)) {
      // attestd could not decode a request carrying it (protobuf strings
      // are UTF-8), and the whole batch would fail.
      rejected.emplace_back(line_no, "not valid UTF-8");
      continue;
    }
    auto record = evidence::ParseInterchangeLine(line);
    if (!record.ok()) {
      rejected.emplace_back(line_no, std::string(record.status().message()));
      continue;
    }
    record->set_line(line_no);
    // A line without instance_id belongs to the instance of its host's last
    // hello line, as docs/evidence-format.md says ("imported" before any).
    if (record->has_hello()) {
      instance_of[record->host()] = record->instance_id();
    } else if (record->instance_id().empty()) {
      if (auto it = instance_of.find(record->host()); it != instance_of.end()) {
        record->set_instance_id(it->second);
      }
    }
    // Sent before it would pass the byte budget, so a request is larger
    // than kImportBatchBytes only when one record alone is: a large line
    // after many small ones cannot push a request over attestd's
    // --max-message-bytes (4 MiB by default).
    const size_t record_bytes = record->ByteSizeLong();
    if (batch_bytes + record_bytes > kImportBatchBytes) {
      if (int rc = flush(); rc != kExitOk) return rc;
    }
    batch_bytes += record_bytes;
    *batch.add_records() = std::move(*record);
    if (batch.records_size() >= static_cast<int>(kImportBatchRecords)) {
      if (int rc = flush(); rc != kExitOk) return rc;
    }
  }
  if (int rc = flush(); rc != kExitOk) return rc;
  if (tty) fputc('\n', stderr);
  std::sort(rejected.begin(), rejected.end());
  for (const auto& [n, reason] : rejected)
    fprintf(stderr, "%s:%llu: %s\n", file.c_str(), static_cast<unsigned long long>(n),
            reason.c_str());
  printf("accepted %llu, duplicates %llu, gaps %llu, rejected %zu\n",
         static_cast<unsigned long long>(total.accepted()),
         static_cast<unsigned long long>(total.duplicates()),
         static_cast<unsigned long long>(total.gaps()), rejected.size());
  return rejected.empty() ? kExitOk : kExitFindings;
}

namespace {

int PrintReport(const v1::WindowSummary& summary, const CommandFlags& f) {
  if (f.format == "csv") {
    // One row per control on stdout, or in --out with the deviations
    // beside it (OUT without .csv, plus -deviations.csv).
    if (f.out.empty()) {
      fputs(SummaryCsv(summary).c_str(), stdout);
      return kExitOk;
    }
    std::string base = f.out;
    if (base.size() > 4 && base.substr(base.size() - 4) == ".csv") base.resize(base.size() - 4);
    const std::string devs = base + "-deviations.csv";
    std::ofstream controls_file(f.out, std::ios::binary), devs_file(devs, std::ios::binary);
    controls_file << SummaryCsv(summary);
    devs_file << DeviationsCsv(summary);
    controls_file.close();
    devs_file.close();
    if (!controls_file || !devs_file) return Usage(StrCat("report: cannot write ", f.out));
    printf("wrote %s and %s\n", f.out.c_str(), devs.c_str());
    return kExitOk;
  }
  if (f.format == "json") {
    PrintJson(SummaryJson(summary));
  } else {
    fputs(SummaryTable(summary).c_str(), stdout);
  }
  return kExitOk;
}

grpc::Status Summarize(Stub& admin, const CommandFlags& f, v1::WindowSummary* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::SummarizeRequest req;
  req.set_window(f.window);
  req.set_group_by(f.group_by);
  return admin.Summarize(&ctx, req, out);
}

}  // namespace

int Report(Stub& admin, const CommandFlags& f) {
  if (f.window.empty()) return Usage("report: --window ID is required");
  if (f.format == "html" || f.format == "pdf") return PageReport({&admin}, {""}, f);
  v1::WindowSummary summary;
  grpc::Status s = Summarize(admin, f, &summary);
  if (!s.ok()) return Fail("report", s);
  return PrintReport(summary, f);
}

int ShardReport(const std::vector<std::unique_ptr<Stub>>& shards,
                const std::vector<std::string>& names, const CommandFlags& f) {
  if (f.window.empty()) return Usage("report: --window ID is required");
  if (f.format == "html" || f.format == "pdf") {
    std::vector<Stub*> stubs;
    for (const auto& s : shards) stubs.push_back(s.get());
    return PageReport(stubs, names, f);
  }
  std::vector<v1::WindowSummary> summaries(shards.size());
  for (size_t i = 0; i < shards.size(); ++i) {
    grpc::Status s = Summarize(*shards[i], f, &summaries[i]);
    if (!s.ok()) return Fail(StrCat("report from ", names[i]).c_str(), s);
  }
  auto merged = windows::MergeShardSummaries(summaries);
  if (!merged.ok()) {
    fprintf(stderr, "attestctl: report: %s\n", std::string(merged.status().message()).c_str());
    return kExitFindings;
  }
  return PrintReport(*merged, f);
}

bool SelectorFlags(const std::vector<std::string>& pairs,
                   google::protobuf::Map<std::string, std::string>* out) {
  for (const std::string& kv : pairs) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      Usage("--selector takes key=value");
      return false;
    }
    (*out)[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return true;
}

int Approve(Stub& admin, const CommandFlags& f) {
  std::vector<v1::Approval> approvals;
  if (!f.from_file.empty()) {
    std::ifstream in(f.from_file);
    if (!in) return Usage(StrCat("approve: cannot open ", f.from_file));
    std::string line;
    bool too_long = false;
    while (GetLineUpTo(in, &line, kMaxApprovalLineBytes, &too_long)) {
      if (too_long) {
        return Usage(StrCat("approve: ", f.from_file, ": a line is longer than ",
                            kMaxApprovalLineBytes, " bytes"));
      }
      if (TrimWhitespace(line).empty()) continue;
      if (!IsValidUtf8(line)) {
        return Usage(StrCat("approve: ", f.from_file, ": a line is not valid UTF-8"));
      }
      auto j = Json::Parse(line);
      const Json* id = j.ok() ? j->Find("change_id") : nullptr;
      const Json* ticket = j.ok() ? j->Find("ticket") : nullptr;
      const Json* approver = j.ok() ? j->Find("approver") : nullptr;
      const Json* at = j.ok() ? j->Find("at") : nullptr;
      if (!id || !ticket || !approver || !id->is_string() || !ticket->is_string() ||
          !approver->is_string()) {
        return Usage(
            StrCat("approve: ", f.from_file, ": each line needs change_id, ticket, approver"));
      }
      v1::Approval& a = approvals.emplace_back();
      a.set_change_id(id->as_string());
      a.set_ticket(ticket->as_string());
      a.set_approver(approver->as_string());
      if (at != nullptr && !at->is_string()) {
        // Ignoring it would date the approval now, not when it was given.
        return Usage(StrCat("approve: ", f.from_file, ": \"at\" must be an RFC 3339 string"));
      }
      if (at && !TimeFlag("at", at->as_string(), a.mutable_approved_at())) return kExitUsage;
    }
  } else {
    if (f.change.empty() || f.ticket.empty() || f.approver.empty()) {
      return Usage("approve: --change ID --ticket T --approver A [--at TIME] are required");
    }
    v1::Approval& a = approvals.emplace_back();
    a.set_change_id(f.change);
    a.set_ticket(f.ticket);
    a.set_approver(f.approver);
    if (!f.at.empty() && !TimeFlag("at", f.at, a.mutable_approved_at())) return kExitUsage;
  }
  int failed = 0;
  for (const v1::Approval& a : approvals) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(60));
    v1::Approval stored;
    grpc::Status s = admin.Approve(&ctx, a, &stored);
    if (!s.ok() && (approvals.size() == 1 || ExitCodeFor(s) == kExitUnreachable)) {
      return Fail("approve", s);
    }
    if (!s.ok()) {
      fprintf(stderr, "attestctl: approve %s: %s\n", a.change_id().c_str(),
              s.error_message().c_str());
      ++failed;
      continue;
    }
    if (approvals.size() == 1) {
      printf("approved %s on %s (ticket %s, by %s, given %s, recorded %s)\n",
             stored.change_id().c_str(), stored.host().c_str(), stored.ticket().c_str(),
             stored.approver().c_str(), FormatRfc3339(FromProto(stored.approved_at())).c_str(),
             FormatRfc3339(FromProto(stored.recorded_at())).c_str());
    }
  }
  if (approvals.size() != 1)
    printf("approved %zu changes, %d refused\n", approvals.size() - failed, failed);
  return failed == 0 ? kExitOk : kExitFindings;
}

int ExceptCreate(Stub& admin, const CommandFlags& f) {
  if (f.control.empty() || (f.host.empty() == f.selector.empty()) || f.start.empty() ||
      f.end.empty() || f.reason.empty() || f.approver.empty() || f.ticket.empty()) {
    return Usage(
        "except create: --control C (--host H | --selector k=v) --start T --end T --reason R "
        "--approver A --ticket T are required");
  }
  v1::Exception x;
  x.set_control(f.control);
  x.set_host(f.host);
  if (!SelectorFlags(f.selector, x.mutable_selector())) return kExitUsage;
  if (!TimeFlag("start", f.start, x.mutable_start()) || !TimeFlag("end", f.end, x.mutable_end())) {
    return kExitUsage;
  }
  x.set_reason(f.reason);
  x.set_approver(f.approver);
  x.set_ticket(f.ticket);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::Exception stored;
  grpc::Status s = admin.CreateException(&ctx, x, &stored);
  if (!s.ok()) return Fail("except create", s);
  printf("%s\n", stored.id().c_str());
  return kExitOk;
}

int ExceptRevoke(Stub& admin, const CommandFlags& f) {
  if (f.id.empty() || f.reason.empty())
    return Usage("except revoke: --id ID --reason R are required");
  v1::RevokeExceptionRequest req;
  req.set_id(f.id);
  req.set_reason(f.reason);
  req.set_approver(f.approver);
  if (!f.at.empty() && !TimeFlag("at", f.at, req.mutable_at())) return kExitUsage;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::Exception stored;
  grpc::Status s = admin.RevokeException(&ctx, req, &stored);
  if (!s.ok()) return Fail("except revoke", s);
  printf("%s revoked from %s\n", stored.id().c_str(),
         FormatRfc3339(FromProto(stored.revoked_at())).c_str());
  return kExitOk;
}

int ExceptList(Stub& admin, const CommandFlags& f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::ListExceptionsResponse resp;
  grpc::Status s = admin.ListExceptions(&ctx, v1::ListExceptionsRequest(), &resp);
  if (!s.ok()) return Fail("except list", s);
  Json out = Json::MakeArray();
  for (const auto& x : resp.exceptions()) out.push_back(ExceptionJson(x));
  if (f.format == "json") {
    PrintJson(out);
    return kExitOk;
  }
  Listing l(
      {"id", "control", "scope", "start", "end", "revoked_at", "ticket", "approver", "reason"});
  for (const auto& x : resp.exceptions()) {
    std::string scope = x.host();
    for (const auto& [k, v] : x.selector()) StrAppend(&scope, scope.empty() ? "" : ",", k, "=", v);
    l.Add({x.id(), x.control(), scope, FormatRfc3339(FromProto(x.start())),
           FormatRfc3339(FromProto(x.end())),
           x.has_revoked_at() ? Json(FormatRfc3339(FromProto(x.revoked_at()))) : Json(nullptr),
           x.ticket(), x.approver(), x.reason()});
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

int Decommission(Stub& admin, const std::string& host, const CommandFlags& f) {
  v1::Decommission d;
  d.set_host(host);
  if (!f.at.empty() && !TimeFlag("at", f.at, d.mutable_at())) return kExitUsage;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::Decommission stored;
  grpc::Status s = admin.DecommissionHost(&ctx, d, &stored);
  if (!s.ok()) return Fail("hosts decommission", s);
  printf("%s decommissioned at %s\n", host.c_str(), FormatRfc3339(FromProto(stored.at())).c_str());
  return kExitOk;
}

int WindowsList(Stub& admin, const CommandFlags& f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::ListWindowsResponse resp;
  grpc::Status s = admin.ListWindows(&ctx, v1::ListWindowsRequest(), &resp);
  if (!s.ok()) return Fail("windows", s);
  Json out = Json::MakeArray();
  for (const auto& w : resp.windows()) out.push_back(WindowJson(w));
  if (f.format == "json") {
    PrintJson(out);
    return kExitOk;
  }
  Listing l(
      {"window", "start", "end", "scope", "effectiveness", "coverage", "max_deviation", "origin"});
  for (const auto& w : resp.windows()) {
    std::string scope;
    for (const auto& [k, v] : w.scope()) StrAppend(&scope, scope.empty() ? "" : ",", k, "=", v);
    l.Add({w.id(), FormatRfc3339(FromProto(w.start())), FormatRfc3339(FromProto(w.end())),
           scope.empty() ? "(every host)" : scope, w.thresholds().effectiveness(),
           w.thresholds().coverage(), StrCat(w.thresholds().max_deviation_seconds() / 3600, "h"),
           w.origin()});
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

int WindowsCreate(Stub& admin, const std::string& id, const CommandFlags& f) {
  v1::WindowDef w;
  w.set_id(id);
  if (f.start.empty() || f.end.empty()) return Usage("windows create ID --start T --end T");
  if (!TimeFlag("start", f.start, w.mutable_start()) || !TimeFlag("end", f.end, w.mutable_end())) {
    return kExitUsage;
  }
  if (!SelectorFlags(f.selector, w.mutable_scope())) return kExitUsage;
  auto max_dev = ParseHumanDuration(f.max_deviation);
  char* end1 = nullptr;
  char* end2 = nullptr;
  const double eff = strtod(f.effectiveness.c_str(), &end1);
  const double cov = strtod(f.coverage.c_str(), &end2);
  if (!max_dev.ok() || *end1 != '\0' || *end2 != '\0') {
    return Usage("--effectiveness/--coverage take fractions, --max-deviation a duration");
  }
  w.mutable_thresholds()->set_effectiveness(eff);
  w.mutable_thresholds()->set_coverage(cov);
  w.mutable_thresholds()->set_max_deviation_seconds(absl::ToInt64Seconds(*max_dev));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::WindowDef stored;
  grpc::Status s = admin.CreateWindow(&ctx, w, &stored);
  if (!s.ok()) return Fail("windows create", s);
  printf("window %s created\n", stored.id().c_str());
  return kExitOk;
}

int SimulateCmd(const CommandFlags& f) {
  if (f.out.empty() || f.hosts <= 0 || f.days <= 0) {
    return Usage("simulate: --hosts N --days D --seed S --out FILE.jsonl [--start T]");
  }
  SimulateOptions o;
  o.hosts = static_cast<int>(f.hosts);
  o.days = static_cast<int>(f.days);
  o.seed = static_cast<uint64_t>(f.seed);
  if (!f.start.empty()) {
    google::protobuf::Timestamp ts;
    if (!TimeFlag("start", f.start, &ts)) return kExitUsage;
    o.start = ts.seconds() - ts.seconds() % 86400;
  } else {
    const int64_t today = absl::ToUnixSeconds(absl::Now()) / 86400 * 86400;
    o.start = today - o.days * 86400;
  }
  std::ofstream out(f.out);
  std::ofstream approvals(f.out + ".approvals");
  if (!out || !approvals) return Usage(StrCat("simulate: cannot write ", f.out));
  SimulateStats stats = Simulate(
      o, [&](const std::string& line) { out << line << '\n'; },
      [&](const std::string& line) { approvals << line << '\n'; });
  out.close();
  approvals.close();
  if (!out || !approvals) return Usage(StrCat("simulate: writing ", f.out, " failed"));
  printf("wrote %llu records for %d hosts over %d days from %s to %s, and %llu approvals to %s\n",
         static_cast<unsigned long long>(stats.records), o.hosts, o.days,
         FormatRfc3339(absl::FromUnixSeconds(o.start)).c_str(), f.out.c_str(),
         static_cast<unsigned long long>(stats.approvals), (f.out + ".approvals").c_str());
  return kExitOk;
}

}  // namespace attest::ctl
