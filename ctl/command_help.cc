#include "ctl/command_help.h"

namespace attest::ctl {

const char kCommands[] =
    "COMMAND [flags]   (attestctl COMMAND --help: that command's flags)\n\n"
    "Commands:\n"
    "  status                the fleet now: reporting hosts, controls by state, open windows\n"
    "  hosts [list]          the hosts attestd has heard from\n"
    "  hosts show HOST       one host now: each control's state and since when\n"
    "  hosts decommission HOST [--at T]   end HOST's in-scope time\n"
    "  evidence HOST         print HOST's evidence chain as JSON Lines\n"
    "  import FILE.jsonl     load evidence interchange records (marked imported)\n"
    "  report --window ID [--group-by LABEL] [--format table|json|csv|html|pdf --out F]\n"
    "                        the window's per-control summary; html/pdf: the full report\n"
    "  approve --change ID --ticket T --approver A [--at T]  (or --from-file F)\n"
    "  except create --control C (--host H | --selector k=v) --start T --end T\n"
    "                --reason R --approver A --ticket T\n"
    "  except revoke --id ID --reason R [--at T]\n"
    "  except list\n"
    "  windows [list]        the audit windows\n"
    "  windows create ID --start T --end T [--selector k=v] [--effectiveness F]\n"
    "                [--coverage F] [--max-deviation D]\n"
    "  sample --window ID --control C --n N --seed S   an auditor's sample of host-days\n"
    "  samples --window ID   the samples drawn for a window (the report's appendix)\n"
    "  timeline --host H --control C [--start T] [--end T]\n"
    "  simulate --hosts N --days D --seed S --out FILE.jsonl [--start T]\n"
    "                        write a realistic fleet history (no daemon needed)\n"
    "  export --window ID --out BUNDLE.tar [--sample K]   evidence bundle: chains up to a\n"
    "                        signed checkpoint (--sample K: only the K-th sample's host-days)\n"
    "  verify BUNDLE.tar --pubkey K.pem [--witness-key W ...] [--known-checkpoint F ...]\n"
    "                        check a bundle offline (no daemon needed)\n"
    "  signing-key [--vkey]  print attestd's checkpoint public key (PEM, or C2SP vkey)\n"
    "  checkpoint [--sequence N | --create]  a checkpoint as a signed note, with its\n"
    "                        cosignatures (--create: make one now)\n"
    "  ledger                every decision, as the hash-chained ledger (JSON Lines)\n"
    "  review start --id ID --window W --due T [--selector k=v] [--reviewer R ...]\n"
    "                        a user access review of the in-scope hosts' access now\n"
    "  review decide --campaign C --entry E (--keep|--revoke) --reviewer R [--reason T]\n"
    "  review decide --campaign C --from-file F.csv   every filled row of an export\n"
    "  review export --campaign C [--out F.csv]   the entries, for reviewers to fill\n"
    "  review status [--campaign C]   progress; with C, each revocation on each host\n"
    "  pki init [--pki-dir D] [--trust-domain TD] [--dns NAME] [--ip ADDR]\n"
    "                        create a CA and attestd's server certificate\n"
    "  pki issue-agent HOST | issue-admin NAME | issue-auditor NAME | issue-server NAME\n"
    "                        issue a certificate with the SPIFFE SAN attestd expects\n"
    "  pki revoke CERT.crt   add a certificate to PKI_DIR/crl.pem (attestd --crl)\n\n"
    "Output: --format table (default), json or csv for every command that lists; report\n"
    "also html and pdf. Progress goes to stderr when it is a terminal.\n"
    "Times are RFC 3339 (2026-01-01T00:00:00Z); durations like 15m, 2h, 14d.\n"
    "Exit codes: 0 ok, 1 findings (a failed verify, a refused request or TLS connection,\n"
    "rejected lines), 2 usage, 3 daemon unreachable.";

const std::map<std::string, CommandHelp>& CommandHelps() {
  static const auto* helps = new std::map<std::string, CommandHelp>{
      {"status",
       {"status [--format table|json|csv]\n\nThe fleet now. Exit 0 even when controls "
        "fail: the output says so.",
        {"format"}}},
      {"hosts",
       {"hosts [list] | hosts show HOST | hosts decommission HOST [--at T]\n\n"
        "list: every host attestd has heard from. show: one host now. decommission: "
        "end a host's in-scope time.",
        {"format", "at"}}},
      {"evidence", {"evidence HOST\n\nHOST's evidence chain, as JSON Lines with chain links.", {}}},
      {"import",
       {"import FILE.jsonl\n\nLoad evidence interchange records; exit 1 when lines "
        "were rejected (each is named).",
        {}}},
      {"report",
       {"report --window ID [--group-by LABEL] [--format table|json|csv|html|pdf] "
        "[--out FILE] [--daemon A --daemon B ...]\n\nThe window's per-control summary. "
        "html/pdf: the full period-coverage report; several --daemon: merge shards.",
        {"window", "group-by", "format", "out", "daemon"}}},
      {"approve",
       {"approve --change ID --ticket T --approver A [--at T] | approve --from-file F",
        {"change", "ticket", "approver", "at", "from-file"}}},
      {"except",
       {"except create --control C (--host H | --selector k=v) --start T --end T "
        "--reason R --approver A --ticket T\n       except revoke --id ID --reason R "
        "[--at T] [--approver A]\n       except list [--format table|json|csv]",
        {"control", "host", "selector", "start", "end", "reason", "approver", "ticket", "id", "at",
         "format"}}},
      {"windows",
       {"windows [list] [--format table|json|csv]\n       windows create ID --start T "
        "--end T [--selector k=v] [--effectiveness F] [--coverage F] "
        "[--max-deviation D]",
        {"start", "end", "selector", "effectiveness", "coverage", "max-deviation", "format"}}},
      {"sample",
       {"sample --window ID --control C [--n N] [--seed S] [--format table|json|csv]\n\n"
        "Draw a reproducible sample of in-scope host-days with their evidence; "
        "attestd records the draw for the report's appendix. Without --n, the audit "
        "guidance size: all of a population up to 5, 5 up to 50, 10% up to 250, 25 above.",
        {"window", "control", "n", "seed", "format"}}},
      {"samples",
       {"samples --window ID [--format table|json|csv]\n\nThe samples drawn for a "
        "window: who drew them, when, with which seed.",
        {"window", "format"}}},
      {"timeline",
       {"timeline --host H --control C [--start T] [--end T] "
        "[--format table|json|csv]",
        {"host", "control", "start", "end", "format"}}},
      {"simulate",
       {"simulate --hosts N --days D --seed S --out FILE.jsonl [--start T]\n\n"
        "Write a realistic fleet history (and FILE.jsonl.approvals). No daemon.",
        {"hosts", "days", "seed", "out", "start"},
        false}},
      {"export",
       {"export --window ID --out BUNDLE.tar [--witness-wait D] [--uncompressed] "
        "[--window-sized] [--sample K [--late-after D]]\n\n"
        "An evidence bundle: every in-scope chain up to a fresh checkpoint (zstd frames, or "
        "plain JSON Lines with --uncompressed), the decision ledger and the log of checkpoint "
        "states, with its manifest. Waits for attestd's witnesses to cosign the checkpoint. "
        "With --sample K: a sampled bundle of the window's K-th recorded sample (attestctl "
        "samples), each item's records between two signed heads with their audit paths. "
        "With --window-sized: each host's records from a signed state shortly before the "
        "window, with its earlier access changes (format 5).",
        {"window", "out", "witness-wait", "uncompressed", "window-sized", "sample", "late-after"}}},
      {"verify",
       {"verify BUNDLE.tar --pubkey KEY.pem [--witness-key W ...] [--known-checkpoint F ...] "
        "[--max-lateness D] [--late-after D] [--sample K]\n\nCheck a bundle offline: chains, "
        "ledger, the signed and cosigned log, the window's scope, when the evidence was "
        "committed, and the summary recomputed. Exit 1 names the first failure. --sample K: "
        "the bundle must be a sampled bundle of the window's K-th recorded draw.",
        {"pubkey", "witness-key", "known-checkpoint", "max-lateness", "late-after", "scratch-dir",
         "memory-mib", "sample"},
        false}},
      {"signing-key",
       {"signing-key [--vkey]\n\nattestd's checkpoint public key: PEM, or with --vkey the "
        "C2SP verifier key (<origin>+<key id>+<key>) witnesses are configured with.",
        {"vkey"}}},
      {"checkpoint",
       {"checkpoint [--sequence N | --create]\n\nCheckpoint N (default: the latest) as a C2SP "
        "signed note with every cosignature attestd holds. Keep it: verify --known-checkpoint "
        "checks later bundles against it. --create (admin) makes one now and sends it to the "
        "witnesses.",
        {"sequence", "create"}}},
      {"ledger",
       {"ledger\n\nEvery decision (policy versions, windows, approvals, exceptions, "
        "decommissions, samples) as the hash-chained ledger, JSON Lines; exit 1 when "
        "its links do not hold.",
        {}}},
      {"review",
       {"review start --id ID --window W --due T [--selector k=v ...] [--reviewer R ...]\n"
        "       review decide --campaign C --entry E (--keep | --revoke) --reviewer R "
        "[--reason T]\n"
        "       review decide --campaign C --from-file F.csv [--reviewer R]\n"
        "       review export --campaign C [--out F.csv]\n"
        "       review status [--campaign C] [--format table|json|csv]\n\n"
        "User access reviews. start takes the population from every in-scope host's latest "
        "access snapshot (users with a login shell, privileged group members, sudoers lines, "
        "authorized keys), grouped across hosts. decide records decisions as ledger entries; a "
        "file's decisions are stored all or none, and a refusal names its line. Nobody decides "
        "on their own access.",
        {"id", "window", "due", "selector", "reviewer", "campaign", "entry", "keep", "revoke",
         "reason", "from-file", "out", "format"}}},
      {"pki",
       {"pki init | issue-agent HOST | issue-admin NAME | issue-auditor NAME | "
        "issue-server NAME | revoke CERT.crt\n\nA development CA and certificates with the "
        "SPIFFE SANs attestd expects, and a revocation list (PKI_DIR/crl.pem) for attestd "
        "--crl. No daemon.",
        {"pki-dir", "trust-domain", "dns", "ip", "valid-days"},
        false}},
  };
  return *helps;
}

}  // namespace attest::ctl
