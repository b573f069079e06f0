// attestd's configuration: flags, or a YAML file with the same names.
#ifndef ATTEST_DAEMON_CONFIG_H_
#define ATTEST_DAEMON_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attest::daemon {

struct Config {
  std::string listen = "127.0.0.1:7443";
  std::string data_dir = "/var/lib/attest";
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  bool insecure = false;
  std::string trust_domain = "attest";
  std::string crl;  // PEM CRL(s) of the client CA; empty: no revocation list
  int64_t max_message_bytes = 4 << 20;
  int64_t min_free_disk_mib = 256;  // writes refused below this much free space
  int64_t max_streams = 20000;
  // Concurrent streams one host identity may hold; a newer one closes the
  // oldest (RESOURCE_EXHAUSTED), so one certificate cannot fill max_streams.
  int64_t max_streams_per_host = 4;
  // How long a stream may stay open without sending its hello.
  std::string hello_timeout = "30s";
  // Oldest observed_at accepted on streams and in imports ("0s": any time
  // after 2000-01-01).
  std::string max_evidence_age = "0s";
  int64_t rate_per_host = 2000;
  int64_t burst_per_host = 20000;
  std::string log_format = "text";
  std::string log_level = "info";
  // When set, the bound address is written here once attestd accepts
  // connections (for supervisors and tests that use port 0).
  std::string ready_file;
  // The policy file (controls and windows); reloaded on SIGHUP.
  std::string policy;
  // How long new evidence may wait before it is judged (coalesces a busy
  // host's batches); reads always judge everything pending first.
  std::string judge_delay = "5s";
  // Prometheus /metrics on this address ("" = off; port 0 picks one).
  std::string metrics_listen;
  // How often the compliance figures behind /metrics are recomputed.
  std::string metrics_refresh = "15s";
  // Alertmanagers for per-host events (comma-separated http[s]://HOST[:PORT]
  // base URLs; "" = none), how often events are evaluated, and how often
  // active ones are re-sent. For https: the CA that signed their
  // certificates ("" = the system's trust store) and a client certificate.
  std::string alertmanager_url;
  std::string alertmanager_ca;
  std::string alertmanager_cert;
  std::string alertmanager_key;
  std::string alert_evaluate = "30s";
  // The name of attestd's log of checkpoints: the first line of each C2SP
  // checkpoint and the key name of attestd's signature ("": attestd/<key id>).
  std::string log_origin;
  // Witnesses of the checkpoint log, each "URL,VKEY" (attest-witness init
  // prints the VKEY); the CA of https witnesses ("" = the system's trust
  // store); the longest wait between retries of a witness that failed.
  std::vector<std::string> witnesses;
  std::string witness_ca;
  std::string witness_retry_max = "5m";
  std::string alertmanager_resend = "1m";
};

// Outcome of parsing the command line.
struct ParsedArgs {
  Config config;
  bool help = false;
  bool version = false;               // --version
  bool print_default_policy = false;  // --print-default-policy: print it and exit
  // --print-verifier-key: create the checkpoint key in --data-dir if there
  // is none, print the log's verifier key (for witnesses) and exit.
  bool print_verifier_key = false;
  std::string usage;
  std::string version_line;
};

// Parses flags (and --config FILE). InvalidArgument for anything unusable:
// unknown flags, bad values, TLS files missing, --insecure on a non-loopback
// address, neither TLS nor --insecure.
absl::StatusOr<ParsedArgs> ParseArgs(int argc, char** argv);

}  // namespace attest::daemon

#endif  // ATTEST_DAEMON_CONFIG_H_
