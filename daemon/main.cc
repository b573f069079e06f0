// attestd: the central daemon. See --help.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/clock.h"
#include "common/flags.h"
#include "common/logging.h"
#include "daemon/config.h"
#include "daemon/engine/default_policy.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/note.h"
#include "daemon/server.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread starts, so only sigwait
  // below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto parsed = attest::daemon::ParseArgs(argc, argv);
  if (attest::ArgvHas(argc, argv, "--is-configured")) {
    return attest::IsConfiguredExit("attestd", parsed.status());
  }
  if (!parsed.ok()) {
    fprintf(stderr, "attestd: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->help) {
    fputs(parsed->usage.c_str(), stdout);
    return 0;
  }
  if (parsed->version) {
    fputs(parsed->version_line.c_str(), stdout);
    return 0;
  }
  if (parsed->print_verifier_key) {
    const attest::daemon::Config& c = parsed->config;
    std::error_code ec;
    std::filesystem::create_directories(c.data_dir, ec);
    auto key = attest::evidence::SigningKey::LoadOrCreate(c.data_dir + "/checkpoint-signing.key");
    if (!key.ok()) {
      fprintf(stderr, "attestd: %s\n", std::string(key.status().message()).c_str());
      return 1;
    }
    if (!c.log_origin.empty() && !attest::evidence::note::ValidKeyName(c.log_origin)) {
      fprintf(stderr, "attestd: --log-origin: not a valid key name\n");
      return 2;
    }
    attest::evidence::note::VerifierKey v;
    v.name = c.log_origin.empty() ? "attestd/" + (*key)->key_id() : c.log_origin;
    v.type = attest::evidence::note::kEd25519;
    v.public_key = (*key)->raw_public_key();
    v.key_id = attest::evidence::note::KeyId(v.name, v.type, v.public_key);
    printf("%s\n", v.Format().c_str());
    return 0;
  }
  if (parsed->print_default_policy) {
    fputs(attest::engine::kDefaultPolicy, stdout);
    return 0;
  }
  const attest::daemon::Config& config = parsed->config;
  if (absl::Status s = attest::InitLogging("attestd", config.log_format, config.log_level);
      !s.ok()) {
    fprintf(stderr, "attestd: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  // Each agent holds a connection: use every file descriptor we may.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  // Tests move a whole attestd through months (tests/window_sized_bundle_test.cc).
  std::unique_ptr<attest::FileClock> test_clock;
  if (const char* path = getenv("ATTESTD_TEST_CLOCK_FILE"); path != nullptr && *path != '\0') {
    test_clock = std::make_unique<attest::FileClock>(path);
    spdlog::warn("the clock is read from {} (ATTESTD_TEST_CLOCK_FILE): for tests only", path);
  }
  attest::daemon::Server server(config, test_clock ? *test_clock : attest::SystemClock());
  if (absl::Status s = server.Start(); !s.ok()) {
    spdlog::critical("cannot start: {}", s.ToString());
    return server.refused_configuration() ? 2 : 1;
  }
  if (!config.ready_file.empty()) {
    const std::string tmp = config.ready_file + ".tmp";
    std::ofstream ready(tmp);
    ready << server.bound_address() << "\n";
    // A second line names the /metrics address when metrics are on.
    if (!server.metrics_address().empty()) ready << "metrics " << server.metrics_address() << "\n";
    ready.close();
    std::rename(tmp.c_str(), config.ready_file.c_str());
  }
  int received = 0;
  for (;;) {
    sigwait(&signals, &received);
    if (received != SIGHUP) break;
    if (!config.crl.empty()) {
      if (absl::Status s = server.ReloadCrl(); !s.ok()) {
        spdlog::error("CRL refused: {}; keeping the last good revocation list",
                      std::string(s.message()));
      }
    }
    if (config.policy.empty()) {
      spdlog::warn("SIGHUP: no --policy file to reload");
    } else if (absl::Status s = server.ReloadPolicy(); !s.ok()) {
      spdlog::error("{}; keeping the last good policy version", std::string(s.message()));
    }
  }
  spdlog::info("received {}, stopping", received == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Shutdown();
  return 0;
}
