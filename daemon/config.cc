#include "daemon/config.h"

#include "absl/strings/match.h"
#include "common/flags.h"
#include "common/http_client.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/admin/witnessing.h"
#include "daemon/evidence/note.h"

namespace attest::daemon {
namespace {

constexpr char kSynopsis[] =
    "[--config FILE] [flags]\n\n"
    "attestd stores control signals from attest-agents (gRPC, mTLS) in an embedded\n"
    "RocksDB store and serves attestctl.\n\n"
    "Exit codes: 0 clean shutdown, 1 runtime failure (store, port in use),\n"
    "2 bad configuration or usage.";

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(int argc, char** argv) {
  ParsedArgs parsed;
  Config& c = parsed.config;
  std::string config_file;
  FlagSet flags("attestd", kSynopsis);
  flags.String("config", &config_file, "YAML file with any of these settings (flags win)");
  flags.String("listen", &c.listen, "gRPC address for agents and attestctl (host:port)");
  flags.String("data-dir", &c.data_dir, "directory of the RocksDB store");
  flags.String("tls-cert", &c.tls_cert, "server certificate (PEM)");
  flags.String("tls-key", &c.tls_key, "server private key (PEM)");
  flags.String("client-ca", &c.client_ca, "CA that signs agent and admin certificates (PEM)");
  flags.Bool("insecure", &c.insecure,
             "no TLS, host id from the hello; only allowed on a loopback address");
  flags.String("trust-domain", &c.trust_domain, "SPIFFE trust domain of client certificates");
  flags.String("crl", &c.crl,
               "revoked client certificates: PEM CRL signed by --client-ca (attestctl pki\n"
               "revoke writes one); SIGHUP re-reads it");
  flags.Int("max-message-bytes", &c.max_message_bytes, "largest accepted message");
  flags.Int("min-free-disk-mib", &c.min_free_disk_mib,
            "refuse writes (RESOURCE_EXHAUSTED, nothing acked) while the data dir's disk has\n"
            "less free space than this; they resume by themselves once space returns");
  flags.Int("max-streams", &c.max_streams, "most concurrent agent streams");
  flags.Int("max-streams-per-host", &c.max_streams_per_host,
            "most concurrent agent streams of one host certificate; a newer stream closes the\n"
            "oldest");
  flags.String("hello-timeout", &c.hello_timeout,
               "close an agent stream that has not sent its hello within this long");
  flags.String("max-evidence-age", &c.max_evidence_age,
               "refuse signals observed longer ago than this (e.g. 400d; 0s: any time after\n"
               "2000-01-01)");
  flags.Int("rate-per-host", &c.rate_per_host, "signals per second a host may sustain");
  flags.Int("burst-per-host", &c.burst_per_host, "signals a host may send in a burst");
  flags.String("log-format", &c.log_format, "text or json");
  flags.String("log-level", &c.log_level, "trace, debug, info, warn or error");
  flags.String("ready-file", &c.ready_file, "write the bound address here once serving");
  flags.String("policy", &c.policy,
               "policy file (YAML): controls and audit windows; SIGHUP reloads (without it, the\n"
               "built-in policy until one is given)");
  flags.String("judge-delay", &c.judge_delay,
               "most time new evidence waits to be judged (e.g. 5s)");
  flags.String("metrics-listen", &c.metrics_listen,
               "serve Prometheus /metrics on HOST:PORT (off when empty; port 0 picks one)");
  flags.String("metrics-refresh", &c.metrics_refresh,
               "how often the compliance figures behind /metrics are recomputed");
  flags.String("alertmanager-url", &c.alertmanager_url,
               "send per-host events to these Alertmanagers (http[s]://HOST[:PORT][,...])");
  flags.String("alertmanager-ca", &c.alertmanager_ca,
               "for https Alertmanagers: CA certificates (PEM) to verify them with (default:\n"
               "the system's trust store)");
  flags.String("alertmanager-cert", &c.alertmanager_cert,
               "for https Alertmanagers: client certificate (PEM) to present");
  flags.String("alertmanager-key", &c.alertmanager_key,
               "for https Alertmanagers: the client certificate's key (PEM)");
  flags.String("alert-evaluate", &c.alert_evaluate, "how often per-host events are evaluated");
  flags.String("alertmanager-resend", &c.alertmanager_resend,
               "how often active events are re-sent to Alertmanager");
  flags.String("log-origin", &c.log_origin,
               "the name of attestd's checkpoint log: each checkpoint's first line and the key\n"
               "name of its signature (default attestd/<signing key id>); witnesses know the log\n"
               "by it, so set it once");
  flags.Repeated("witness", &c.witnesses,
                 "a witness of the checkpoint log: URL,VKEY (its add-checkpoint endpoint's\n"
                 "prefix and the key attest-witness init printed); repeatable");
  flags.String("witness-ca", &c.witness_ca,
               "for https witnesses: CA certificates (PEM) to verify them with (default: the\n"
               "system's trust store)");
  flags.String("witness-retry-max", &c.witness_retry_max,
               "longest wait between retries of a witness that is down or refused");
  flags.Bool("print-verifier-key", &parsed.print_verifier_key,
             "create the checkpoint signing key in --data-dir if there is none, print the log's\n"
             "verifier key (what witnesses are given, with --log-origin) and exit");
  bool is_configured = false;  // main() acts on it (attest::IsConfiguredExit)
  flags.Bool("is-configured", &is_configured, attest::kIsConfiguredHelp);
  flags.Bool("print-default-policy", &parsed.print_default_policy,
             "print the built-in policy (used when no --policy was ever given) and exit");
  if (absl::Status s = flags.ParseWithConfig(argc, argv, &config_file); !s.ok()) return s;
  parsed.usage = flags.Usage();
  if (flags.help_requested() || flags.version_requested() || parsed.print_default_policy ||
      parsed.print_verifier_key) {
    parsed.help = flags.help_requested();
    parsed.version = flags.version_requested();
    parsed.usage = flags.Usage();
    parsed.version_line = flags.VersionLine();
    return parsed;
  }
  if (c.insecure) {
    if (!IsLoopbackAddress(c.listen)) {
      return absl::InvalidArgumentError(
          attest::StrCat("--insecure is only allowed on a loopback address, not ", c.listen,
                         " (use --tls-cert/--tls-key/--client-ca)"));
    }
  } else if (c.tls_cert.empty() || c.tls_key.empty() || c.client_ca.empty()) {
    // FailedPrecondition, not InvalidArgument: the packaged configuration is
    // in this state until the operator sets TLS up (--is-configured).
    return absl::FailedPreconditionError(
        "TLS needs --tls-cert, --tls-key and --client-ca (or --insecure on loopback)");
  }
  if (c.insecure && !c.crl.empty()) {
    return absl::InvalidArgumentError("--crl needs TLS: there are no certificates with --insecure");
  }
  if (auto d = ParseHumanDuration(c.judge_delay); !d.ok()) {
    return absl::InvalidArgumentError(attest::StrCat("--judge-delay: ", d.status().message()));
  }
  if (auto d = ParseHumanDuration(c.metrics_refresh); !d.ok() || *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--metrics-refresh: a positive duration, e.g. 15s");
  }
  for (const char* name : {"alert-evaluate", "alertmanager-resend"}) {
    const std::string& v =
        std::string_view(name) == "alert-evaluate" ? c.alert_evaluate : c.alertmanager_resend;
    if (auto d = ParseHumanDuration(v); !d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          attest::StrCat("--", name, ": a positive duration, e.g. 1m"));
    }
  }
  bool any_https = false;
  for (std::string_view url : attest::Split(c.alertmanager_url, ",")) {
    if (url.empty()) continue;
    auto u = ParseHttpUrl(url);
    if (!u.ok()) {
      return absl::InvalidArgumentError(
          attest::StrCat("--alertmanager-url: ", u.status().message()));
    }
    any_https = any_https || u->tls;
  }
  if (c.alertmanager_cert.empty() != c.alertmanager_key.empty()) {
    return absl::InvalidArgumentError("--alertmanager-cert and --alertmanager-key go together");
  }
  if (!any_https && !(c.alertmanager_ca + c.alertmanager_cert).empty()) {
    return absl::InvalidArgumentError(
        "--alertmanager-ca/--alertmanager-cert apply to https:// Alertmanager URLs, and "
        "--alertmanager-url has none");
  }
  if (auto d = ParseHumanDuration(c.hello_timeout); !d.ok() || *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--hello-timeout: a positive duration, e.g. 30s");
  }
  if (auto d = ParseHumanDuration(c.max_evidence_age); !d.ok() || *d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--max-evidence-age: a duration, e.g. 400d, or 0s for no limit");
  }
  if (!c.log_origin.empty() && !evidence::note::ValidKeyName(c.log_origin)) {
    return absl::InvalidArgumentError(
        "--log-origin: a name without spaces, \"+\" or control characters, e.g. "
        "attest.example.com/prod");
  }
  for (const std::string& w : c.witnesses) {
    if (auto t = admin::ParseWitnessTarget(w); !t.ok()) {
      return absl::InvalidArgumentError(StrCat("--witness ", w, ": ", t.status().message()));
    }
  }
  if (auto d = ParseHumanDuration(c.witness_retry_max); !d.ok() || *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--witness-retry-max: a positive duration, e.g. 5m");
  }
  if (c.max_streams_per_host < 1) {
    return absl::InvalidArgumentError("--max-streams-per-host must be >= 1");
  }
  if (c.max_message_bytes < 1024 || c.max_streams < 1 || c.burst_per_host < 0 ||
      c.rate_per_host < 0 || c.min_free_disk_mib < 0) {
    return absl::InvalidArgumentError(
        "--max-message-bytes must be >= 1024, --max-streams >= 1, rates and "
        "--min-free-disk-mib >= 0");
  }
  return parsed;
}

}  // namespace attest::daemon
