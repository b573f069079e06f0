// attestctl: the command line for ops, SREs and compliance staff.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "attest/v1/admin.grpc.pb.h"
#include "common/flags.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/utf8.h"
#include "ctl/bundle_command.h"
#include "ctl/client.h"
#include "ctl/command_help.h"
#include "ctl/engine_commands.h"
#include "ctl/pki_command.h"
#include "ctl/review_commands.h"
#include "ctl/status_commands.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {
namespace {

// The flags each subcommand reads, where siblings read different ones
// (`hosts list --at` would be ignored). Keyed "command sub"; "" is the
// command without a subcommand.
const std::map<std::string, std::vector<std::string>>& SubcommandFlags() {
  static const auto* flags = new std::map<std::string, std::vector<std::string>>{
      {"hosts ", {"format"}},
      {"hosts list", {"format"}},
      {"hosts show", {"format"}},
      {"hosts decommission", {"at"}},
      {"except create",
       {"control", "host", "selector", "start", "end", "reason", "approver", "ticket"}},
      {"except revoke", {"id", "reason", "at", "approver"}},
      {"except list", {"format"}},
      {"windows ", {"format"}},
      {"windows list", {"format"}},
      {"windows create",
       {"start", "end", "selector", "effectiveness", "coverage", "max-deviation"}},
      {"review start", {"id", "window", "due", "selector", "reviewer"}},
      {"review decide", {"campaign", "entry", "keep", "revoke", "reviewer", "reason", "from-file"}},
      {"review export", {"campaign", "out"}},
      {"review status", {"campaign", "format"}},
      {"pki init", {"pki-dir", "trust-domain", "dns", "ip", "valid-days"}},
      {"pki issue-server", {"pki-dir", "dns", "ip", "valid-days"}},
      {"pki issue-agent", {"pki-dir", "valid-days"}},
      {"pki issue-admin", {"pki-dir", "valid-days"}},
      {"pki issue-auditor", {"pki-dir", "valid-days"}},
      {"pki revoke", {"pki-dir", "valid-days"}},
  };
  return *flags;
}

int Evidence(v1::AdminService::Stub& admin, const std::string& host) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::ListEvidenceRequest req;
  req.set_host(host);
  auto reader = admin.ListEvidence(&ctx, req);
  v1::EvidenceRecord r;
  std::string line;
  while (reader->Read(&r)) {
    line.clear();
    evidence::AppendCanonicalRecord(&line, r, /*with_links=*/true);
    line.push_back('\n');
    fwrite(line.data(), 1, line.size(), stdout);
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail("evidence", s);
  return kExitOk;
}

int Main(int argc, char** argv) {
  // Every string reaches attestd in a protobuf string field, which must be
  // UTF-8: a Latin-1 ticket number would fail the call with an empty error.
  for (int i = 1; i < argc; ++i) {
    if (!IsValidUtf8(argv[i])) {
      fprintf(stderr, "attestctl: argument %d is not valid UTF-8\n", i);
      return kExitUsage;
    }
  }
  ClientOptions client;
  CommandFlags f;
  std::string& format = f.format;
  FlagSet flags("attestctl", kCommands);
  std::vector<std::string> daemons;
  flags.Repeated("daemon", &daemons,
                 "attestd address (insecure only on loopback); report: repeat it to merge the\n"
                 "summaries of shards (daemons holding disjoint hosts) [default: 127.0.0.1:7443]");
  flags.String("tls-cert", &client.tls_cert, "admin or auditor certificate (PEM)");
  flags.String("tls-key", &client.tls_key, "its private key (PEM)");
  flags.String("ca", &client.ca, "CA that signed attestd's certificate (PEM)");
  flags.String("server-name", &client.server_name, "TLS name of attestd if not its address");
  flags.String("format", &format,
               "table, json or csv; report also html and pdf (Chromium); report csv with --out:\n"
               "two files");
  flags.String("window", &f.window, "audit window id");
  flags.String("control", &f.control, "control id");
  flags.String("host", &f.host, "host id");
  flags.Repeated("selector", &f.selector, "label selector key=value (repeatable)");
  flags.String("change", &f.change, "access change id");
  flags.String("ticket", &f.ticket, "ticket reference");
  flags.String("approver", &f.approver, "who approved");
  flags.String("reason", &f.reason, "why");
  flags.String("at", &f.at, "when it really happened (RFC 3339); default now");
  flags.String("start", &f.start, "start time (RFC 3339)");
  flags.String("end", &f.end, "end time (RFC 3339)");
  flags.String("from-file", &f.from_file,
               "approve: JSON Lines of {change_id, ticket, approver, at}; review decide: the\n"
               "CSV review export wrote, with decision (keep or revoke), reviewer, reason filled");
  flags.String("out", &f.out, "simulate, export, report --format csv, review export: output file");
  flags.String("group-by", &f.group_by, "report: also summarize per value of this label");
  flags.String("id", &f.id, "exception id; review start: the campaign's id");
  flags.String("campaign", &f.campaign, "review: the campaign's id");
  flags.String("entry", &f.entry, "review decide: the entry's id (review export lists them)");
  flags.String("due", &f.due, "review start: when every decision is due (RFC 3339)");
  flags.Repeated("reviewer", &f.reviewers,
                 "review start: who may decide (repeatable; default anyone with an admin\n"
                 "certificate); decide: who decides");
  flags.Bool("keep", &f.keep, "review decide: the access stays");
  flags.Bool("revoke", &f.revoke, "review decide: the access must go");
  flags.Int("hosts", &f.hosts, "simulate: number of hosts");
  flags.Int("days", &f.days, "simulate: number of days");
  flags.Int("seed", &f.seed, "simulate, sample: random seed");
  flags.Int("n", &f.n,
            "sample: number of host-days [default: the audit guidance size: all up to 5,\n"
            "5 up to 50, 10% up to 250, 25 above]");
  flags.String("effectiveness", &f.effectiveness, "windows create: threshold (fraction)");
  flags.String("coverage", &f.coverage, "windows create: threshold (fraction)");
  flags.String("max-deviation", &f.max_deviation, "windows create: longest tolerated deviation");
  bool vkey = false;
  flags.Bool("vkey", &vkey, "signing-key: print the C2SP verifier key instead of the PEM");
  int64_t sequence = 0;
  flags.Int("sequence", &sequence, "checkpoint: its sequence number (default: the latest)");
  bool create_checkpoint = false;
  flags.Bool("create", &create_checkpoint, "checkpoint: make a new one now (admin)");
  VerifyFlags verify;
  flags.String("pubkey", &verify.pubkey_path,
               "verify: attestd's checkpoint public key (PEM file), obtained out of band");
  flags.Repeated("witness-key", &verify.witness_keys,
                 "verify: a witness's verifier key (or a file holding it) whose cosignature the\n"
                 "bundle's checkpoint must carry (repeatable)");
  flags.Repeated("known-checkpoint", &verify.known_checkpoints,
                 "verify: a checkpoint kept from earlier (attestctl checkpoint); the bundle's\n"
                 "history must extend it (repeatable)");
  flags.String("max-lateness", &verify.max_lateness,
               "verify: fail when live evidence of the window was first committed longer than\n"
               "this after the window ended (imported evidence is reported) [default: 7d]");
  flags.String("late-after", &verify.late_after,
               "verify: report evidence committed longer than this after it was observed as\n"
               "late; export --sample: the sampled days' records run to a checkpoint made this\n"
               "long after each day, so verify with the same value [default: 26h]");
  flags.Int("sample", &f.sample,
            "export: a sampled bundle of the window's K-th recorded sample (from 1, as\n"
            "attestctl samples --window lists them); verify: the bundle must prove that draw");
  flags.Bool("uncompressed", &f.uncompressed,
             "export: records.jsonl as plain JSON Lines (format 2), not zstd frames");
  flags.Bool("window-sized", &f.window_sized,
             "export: each host's records from a signed state shortly before the window\n"
             "(format 5), not from its first record; hosts whose earlier history the window's\n"
             "figures need are carried whole");
  flags.String("witness-wait", &f.witness_wait,
               "export: how long to wait for attestd's witnesses to cosign the bundle's\n"
               "checkpoint [default: 60s]");
  std::string& scratch_dir = verify.scratch_dir;
  flags.String("scratch-dir", &scratch_dir,
               "verify: where a bundle too large for memory is replayed from a temporary\n"
               "RocksDB [default: $TMPDIR or /tmp]");
  int64_t& memory_mib = verify.memory_mib;
  flags.Int("memory-mib", &memory_mib,
            "verify: records larger than this replay from the scratch RocksDB, not memory");
  PkiFlags pki;
  flags.String("pki-dir", &pki.dir, "pki: directory of the CA and certificates");
  flags.String("trust-domain", &pki.trust_domain, "pki init: SPIFFE trust domain");
  flags.Repeated("dns", &pki.dns, "pki: extra DNS name for a server certificate (repeatable)");
  flags.Repeated("ip", &pki.ip, "pki: extra IP address for a server certificate (repeatable)");
  flags.Int("valid-days", &pki.days, "pki: certificate validity in days");
  std::vector<std::string> args;
  if (absl::Status s = flags.Parse(argc, argv, &args); !s.ok()) {
    fprintf(stderr, "attestctl: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  f.sample_given = flags.IsSet("sample");
  f.n_given = flags.IsSet("n");
  verify.sample = f.sample;
  verify.sample_given = f.sample_given;
  if (flags.version_requested()) {
    fputs(flags.VersionLine().c_str(), stdout);
    return kExitOk;
  }
  if (flags.help_requested() && !args.empty() && CommandHelps().count(args[0])) {
    const CommandHelp& h = CommandHelps().at(args[0]);
    std::vector<std::string> only = h.flags;
    if (h.daemon) {
      for (const char* c : {"daemon", "tls-cert", "tls-key", "ca", "server-name"})
        only.push_back(c);
    }
    if (only.empty()) only.push_back("help");  // none of the flags
    fputs(flags.Usage(h.synopsis, only).c_str(), stdout);
    return kExitOk;
  }
  if (flags.help_requested() || args.empty()) {
    fputs(flags.Usage().c_str(), flags.help_requested() ? stdout : stderr);
    return flags.help_requested() ? kExitOk : kExitUsage;
  }
  if (format != "table" && format != "json" && format != "csv" && format != "html" &&
      format != "pdf") {
    fprintf(stderr, "attestctl: --format must be table, json, csv, html or pdf\n");
    return kExitUsage;
  }
  if (!daemons.empty()) client.daemon = daemons[0];
  const std::string& command = args[0];
  if ((format == "html" || format == "pdf") && command != "report") {
    fprintf(stderr, "attestctl: --format %s is for report; use table, json or csv\n",
            format.c_str());
    return kExitUsage;
  }
  if (daemons.size() > 1 && command != "report") {
    fprintf(stderr, "attestctl: only report takes more than one --daemon\n");
    return kExitUsage;
  }
  const std::string sub = args.size() > 1 ? args[1] : "";
  // A flag the command does not read would be ignored without a word
  // (`status --window q4` shows the fleet, not the window): refuse it. The
  // connection flags are global, so a shell alias that sets them still
  // works for the commands that need no daemon.
  if (auto help = CommandHelps().find(command); help != CommandHelps().end()) {
    std::string what = command;
    std::vector<std::string> takes = help->second.flags;
    if (auto only = SubcommandFlags().find(StrCat(command, " ", sub));
        only != SubcommandFlags().end()) {
      takes = only->second;
      if (!sub.empty()) what = StrCat(command, " ", sub);
    }
    for (const char* c : {"daemon", "tls-cert", "tls-key", "ca", "server-name"}) takes.push_back(c);
    for (const std::string& name : flags.GivenOnCommandLine()) {
      if (std::find(takes.begin(), takes.end(), name) == takes.end()) {
        fprintf(stderr, "attestctl: %s does not take --%s (see attestctl %s --help)\n",
                what.c_str(), name.c_str(), command.c_str());
        return kExitUsage;
      }
    }
  }
  if (command == "simulate") return SimulateCmd(f);
  if (command == "pki") return PkiCommand(args, pki);
  if (command == "verify") return VerifyCmd(args, verify);
  if (!CommandHelps().count(command)) {
    fprintf(stderr, "attestctl: unknown command \"%s\" (see --help)\n", command.c_str());
    return kExitUsage;
  }
  if ((command == "evidence" || command == "import") && args.size() != 2) {
    fprintf(stderr, "attestctl: usage: attestctl %s %s\n", command.c_str(),
            command == "evidence" ? "HOST" : "FILE.jsonl");
    return kExitUsage;
  }
  if (command == "hosts" && !(args.size() == 1 || (sub == "list" && args.size() == 2) ||
                              ((sub == "show" || sub == "decommission") && args.size() == 3))) {
    fprintf(stderr,
            "attestctl: usage: attestctl hosts [list] | show HOST | decommission HOST [--at T]\n");
    return kExitUsage;
  }
  if ((command == "status" || command == "signing-key" || command == "sample" ||
       command == "ledger" || command == "checkpoint" || command == "samples" ||
       command == "timeline" || command == "export" || command == "report" ||
       command == "approve") &&
      args.size() != 1) {
    fprintf(stderr, "attestctl: %s takes no arguments besides flags (see %s --help)\n",
            command.c_str(), command.c_str());
    return kExitUsage;
  }
  if (command == "except" &&
      ((sub != "create" && sub != "revoke" && sub != "list") || args.size() != 2)) {
    fprintf(stderr, "attestctl: usage: attestctl except create|revoke|list ...\n");
    return kExitUsage;
  }
  if (command == "review" &&
      ((sub != "start" && sub != "decide" && sub != "export" && sub != "status") ||
       args.size() != 2)) {
    fprintf(stderr, "attestctl: usage: attestctl review start|decide|export|status ...\n");
    return kExitUsage;
  }
  if (command == "windows" && !(args.size() == 1 || (sub == "list" && args.size() == 2) ||
                                (sub == "create" && args.size() == 3))) {
    fprintf(stderr, "attestctl: usage: attestctl windows [list] | create ID --start T --end T\n");
    return kExitUsage;
  }
  auto channel = Connect(client);
  if (!channel.ok()) {
    fprintf(stderr, "attestctl: %s\n", std::string(channel.status().message()).c_str());
    return kExitUsage;
  }
  auto admin = v1::AdminService::NewStub(*channel);
  if (command == "report" && daemons.size() > 1) {
    std::vector<std::unique_ptr<Stub>> stubs;
    for (const std::string& d : daemons) {
      ClientOptions o = client;
      o.daemon = d;
      auto c = Connect(o);
      if (!c.ok()) {
        fprintf(stderr, "attestctl: %s\n", std::string(c.status().message()).c_str());
        return kExitUsage;
      }
      stubs.push_back(v1::AdminService::NewStub(*c));
    }
    return ShardReport(stubs, daemons, f);
  }
  if (command == "status") return StatusCmd(*admin, f);
  if (command == "hosts") {
    if (sub == "show") return HostsShow(*admin, args[2], f);
    if (sub == "decommission") return Decommission(*admin, args[2], f);
    return HostsList(*admin, f);
  }
  if (command == "evidence") return Evidence(*admin, args[1]);
  if (command == "import") return Import(*admin, args[1]);
  if (command == "report") return Report(*admin, f);
  if (command == "approve") return Approve(*admin, f);
  if (command == "except") {
    if (sub == "create") return ExceptCreate(*admin, f);
    if (sub == "revoke") return ExceptRevoke(*admin, f);
    return ExceptList(*admin, f);
  }
  if (command == "windows")
    return sub == "create" ? WindowsCreate(*admin, args[2], f) : WindowsList(*admin, f);
  if (command == "review") {
    if (sub == "start") return ReviewStart(*admin, f);
    if (sub == "decide") return ReviewDecide(*admin, f);
    if (sub == "export") return ReviewExport(*admin, f);
    return ReviewStatusCmd(*admin, f);
  }
  if (command == "sample") return SampleCmd(*admin, f);
  if (command == "samples") return SamplesCmd(*admin, f);
  if (command == "export") return ExportCmd(*admin, f, verify);
  if (command == "signing-key") return SigningKeyCmd(*admin, vkey);
  if (command == "ledger") return LedgerCmd(*admin);
  if (command == "checkpoint") return CheckpointCmd(*admin, sequence, create_checkpoint);
  return TimelineCmd(*admin, f);
}

}  // namespace
}  // namespace attest::ctl

int main(int argc, char** argv) { return attest::ctl::Main(argc, argv); }
