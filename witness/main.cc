// attest-witness: a C2SP tlog-witness for attestd's checkpoint logs, run by
// a party the operator does not control. See --help and docs/witness.md.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "common/clock.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/net.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "witness/http_server.h"
#include "witness/witness.h"

namespace {

constexpr char kSynopsis[] =
    "init --key FILE --name NAME | serve [--config FILE] [flags]\n\n"
    "A transparency-log witness (C2SP tlog-witness) for attestd's checkpoint logs.\n"
    "It cosigns a log's checkpoint only when a consistency proof shows that it extends\n"
    "the last one it cosigned, and keeps that one on disk before it answers.\n\n"
    "  init    create the witness key (if there is none) and print its verifier key\n"
    "  serve   serve POST /add-checkpoint and GET /<origin hash>/checkpoint\n\n"
    "Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration or usage.";

int Usage(const std::string& why) {
  fprintf(stderr, "attest-witness: %s\n", why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string config_file, key_path, name, state_dir = "/var/lib/attest-witness", ready_file;
  std::string log_format = "text", log_level = "info";
  std::vector<std::string> logs;
  attest::witness::ServerOptions server;
  bool insecure = false, is_configured = false;
  int64_t max_connections = 64;
  attest::FlagSet flags("attest-witness", kSynopsis);
  flags.String("config", &config_file, "YAML file with any of these settings (flags win)");
  flags.String("key", &key_path, "the witness's Ed25519 key (PEM; init creates it, mode 0600)");
  flags.String("name", &name,
               "the witness's key name, e.g. witness.auditor.example/w1 (no spaces or \"+\")");
  flags.String("state-dir", &state_dir,
               "where the last cosigned checkpoint of each log is kept (and every one, in order)");
  flags.Repeated("log", &logs,
                 "a log to witness: attestd's verifier key (attestctl signing-key --vkey); its\n"
                 "name is the log's origin (repeatable)");
  flags.String("listen", &server.listen, "HTTP(S) address, HOST:PORT (port 0 picks one)");
  flags.String("tls-cert", &server.tls_cert, "TLS certificate chain (PEM)");
  flags.String("tls-key", &server.tls_key, "its private key (PEM)");
  flags.Bool("insecure", &insecure, "plain HTTP, allowed on a loopback address only");
  flags.Int("max-connections", &max_connections,
            "most concurrent connections; more are closed at once");
  flags.String("ready-file", &ready_file, "write the bound address here once serving");
  flags.String("log-format", &log_format, "text or json");
  flags.String("log-level", &log_level, "trace, debug, info, warn or error");
  flags.Bool("is-configured", &is_configured,
             "serve: exit 0 if the key, --name, a --log and TLS are set, 1 naming what is\n"
             "missing if not (for systemd's ExecCondition=)");
  std::vector<std::string> args;
  if (absl::Status s = flags.Parse(argc, argv, &args); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  if (flags.help_requested()) {
    fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (flags.version_requested()) {
    fputs(flags.VersionLine().c_str(), stdout);
    return 0;
  }
  if (!config_file.empty()) {
    if (absl::Status s = flags.LoadConfigFile(config_file); !s.ok()) {
      return is_configured ? 0 : Usage(std::string(s.message()));
    }
  }
  if (is_configured) {
    std::string missing;
    if (key_path.empty() || access(key_path.c_str(), F_OK) != 0) {
      missing = "no key (attest-witness init --key FILE --name NAME)";
    } else if (name.empty()) {
      missing = "no --name";
    } else if (logs.empty()) {
      missing = "no --log (attestd --print-verifier-key prints one)";
    } else if (!insecure && (server.tls_cert.empty() || server.tls_key.empty())) {
      missing = "TLS needs --tls-cert and --tls-key";
    }
    if (missing.empty()) return 0;
    fprintf(stderr, "attest-witness: not configured yet: %s\n", missing.c_str());
    return 1;
  }
  if (args.size() != 1 || (args[0] != "init" && args[0] != "serve")) {
    return Usage("usage: attest-witness init --key FILE --name NAME | serve ... (see --help)");
  }
  if (key_path.empty()) return Usage("--key is required");
  if (!attest::evidence::note::ValidKeyName(name)) {
    return Usage("--name: a key name without spaces, \"+\" or control characters is required");
  }
  if (absl::Status s = attest::InitLogging("attest-witness", log_format, log_level); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  auto key = attest::evidence::SigningKey::LoadOrCreate(key_path);
  if (!key.ok()) {
    fprintf(stderr, "attest-witness: %s\n", std::string(key.status().message()).c_str());
    return 1;
  }
  std::vector<attest::witness::Log> parsed_logs;
  for (const std::string& vkey : logs) {
    auto k = attest::evidence::note::ParseVerifierKey(vkey);
    if (!k.ok() || k->type != attest::evidence::note::kEd25519) {
      return Usage(attest::StrCat(
          "--log ", vkey, ": ",
          k.ok() ? "not a log's Ed25519 key (type 0x01)" : std::string(k.status().message())));
    }
    bool merged = false;
    for (auto& l : parsed_logs) {
      if (l.origin == k->name) {
        l.keys.push_back(*k);
        merged = true;
      }
    }
    if (!merged) parsed_logs.push_back({k->name, {*k}});
  }
  // Tests move a witness through months with attestd
  // (tests/window_sized_bundle_test.cc): its cosignatures carry that time.
  std::unique_ptr<attest::FileClock> test_clock;
  if (const char* path = getenv("ATTEST_WITNESS_TEST_CLOCK_FILE");
      path != nullptr && *path != '\0') {
    test_clock = std::make_unique<attest::FileClock>(path);
    fprintf(stderr,
            "attest-witness: the clock is read from %s (ATTEST_WITNESS_TEST_CLOCK_FILE): for "
            "tests only\n",
            path);
  }
  attest::witness::Witness witness(state_dir, name, std::move(*key), std::move(parsed_logs),
                                   test_clock ? *test_clock : attest::SystemClock());
  if (args[0] == "init") {
    printf("%s\n", witness.VerifierKey().c_str());
    return 0;
  }
  if (logs.empty()) return Usage("serve needs at least one --log");
  if (insecure != server.tls_cert.empty() || server.tls_cert.empty() != server.tls_key.empty()) {
    return Usage("serve needs --tls-cert and --tls-key (or --insecure on a loopback address)");
  }
  if (insecure && !attest::IsLoopbackAddress(server.listen)) {
    return Usage("--insecure is only allowed on a loopback address");
  }
  if (max_connections < 1) return Usage("--max-connections must be >= 1");
  server.max_connections = static_cast<size_t>(max_connections);
  if (absl::Status s = witness.Open(); !s.ok()) {
    spdlog::critical("cannot start: {}", s.ToString());
    return 1;
  }
  attest::witness::HttpServer http(witness, server);
  auto bound = http.Start();
  if (!bound.ok()) {
    spdlog::critical("cannot start: {}", bound.status().ToString());
    return absl::IsInvalidArgument(bound.status()) ? 2 : 1;
  }
  spdlog::info("attest-witness {} listening on {} ({}) for {} log(s)", witness.VerifierKey(),
               *bound, insecure ? "plain HTTP" : "TLS", logs.size());
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << *bound << "\n";
    std::rename(tmp.c_str(), ready_file.c_str());
  }
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, stopping", received == SIGTERM ? "SIGTERM" : "SIGINT");
  http.Stop();
  return 0;
}
