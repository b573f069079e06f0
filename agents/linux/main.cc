// attest-agent: see --help.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "agents/linux/collectors/access.h"
#include "agents/linux/collectors/access_watch.h"
#include "agents/linux/collectors/registry.h"
#include "agents/linux/config.h"
#include "agents/linux/spool/spool.h"
#include "agents/linux/uplink/uplink.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/version.h"
#include "google/protobuf/stubs/logging.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

// protobuf's own log lines go to the agent's log, not bare to stderr. It
// writes one for each string that is not UTF-8 when the spool serializes a
// signal to repair it: expected, and the spool warns once per signal itself.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (message.find("invalid UTF-8 data") != std::string::npos) {
    spdlog::debug("protobuf: {}", message);
    return;
  }
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      spdlog::info("protobuf: {}", message);
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      spdlog::warn("protobuf: {}", message);
      break;
    default:
      spdlog::error("protobuf: {} ({}:{})", message, file, line);
      break;
  }
}

std::string BootId(const RootFs& root) {
  auto id = root.ReadFile("/proc/sys/kernel/random/boot_id", 4096);
  if (!id.ok()) return "";
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int Main(int argc, char** argv) {
  // One malloc arena: the agent allocates little, from a dozen threads
  // (gRPC's, the collectors'), and per-thread arenas would each keep their
  // own freed pages resident (about 0.7 MiB of its ~21 MiB RSS).
  mallopt(M_ARENA_MAX, 1);
  // Fixed thresholds: by default glibc raises both after the first large
  // free, so the hourly patch run (a 1 MiB dpkg status and its index) would
  // leave about 1 MiB of freed heap resident until the next one. Fixed,
  // large buffers are mapped and returned, and the heap's top is trimmed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  google::protobuf::SetLogHandler(&ProtobufLog);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto parsed = ParseAgentArgs(argc, argv);
  if (ArgvHas(argc, argv, "--is-configured")) {
    return IsConfiguredExit("attest-agent", parsed.status());
  }
  if (!parsed.ok()) {
    fprintf(stderr, "attest-agent: %s\n", std::string(parsed.status().message()).c_str());
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
  const AgentConfig& config = parsed->config;
  if (absl::Status s = InitLogging("attest-agent", config.log_format, config.log_level); !s.ok()) {
    fprintf(stderr, "attest-agent: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  SpoolOptions spool_options{.dir = config.spool_dir,
                             .max_bytes = static_cast<uint64_t>(config.spool_max_bytes),
                             .segment_bytes = std::min<uint64_t>(
                                 4ull << 20, static_cast<uint64_t>(config.spool_max_bytes) / 4),
                             .fsync = config.spool_fsync,
                             .consumers = config.daemons};
  auto spool = Spool::Open(spool_options);
  if (!spool.ok()) {
    spdlog::critical("cannot open spool: {}", spool.status().ToString());
    return 1;
  }

  RootFs root(config.root);
  v1::Hello hello;
  hello.set_agent_version(kVersion);
  hello.set_instance_id((*spool)->instance_id());
  hello.set_boot_id(BootId(root));
  if (config.insecure) hello.set_host_id(config.host_id);
  for (const auto& [k, v] : config.labels) (*hello.mutable_labels())[k] = v;

  std::vector<std::unique_ptr<Uplink>> uplinks;
  for (const auto& daemon : config.daemons) {
    UplinkOptions options{.daemon = daemon,
                          .insecure = config.insecure,
                          .tls_cert = config.tls_cert,
                          .tls_key = config.tls_key,
                          .ca = config.ca,
                          .server_name = config.server_name,
                          .hello = hello,
                          .max_backoff = config.max_backoff};
    auto channel = MakeDaemonChannel(options);
    if (!channel.ok()) {
      spdlog::critical("{}", channel.status().ToString());
      return 2;
    }
    uplinks.push_back(std::make_unique<Uplink>(options, *channel, **spool));
  }

  ProcessRunner runner;
  AccessCollector* access = nullptr;
  Spool& spool_ref = **spool;
  Scheduler scheduler(BuildCollectors(config, &access), root, runner, SystemClock(),
                      [&spool_ref](std::vector<v1::Signal> batch) {
                        const size_t n = batch.size();
                        auto last = spool_ref.Append(std::move(batch));
                        if (!last.ok()) {
                          // Kept in memory and written with the next batch
                          // once the disk takes writes again.
                          spdlog::error("spool append of {} signals failed ({} waiting): {}", n,
                                        spool_ref.Stats().pending_signals,
                                        last.status().ToString());
                        }
                      });
  AccessWatcher watcher([&] { scheduler.Trigger("access"); });
  if (access != nullptr && config.inotify) {
    if (absl::Status s = watcher.Start(); !s.ok()) {
      spdlog::warn("inotify unavailable ({}); access changes are seen at each rescan",
                   s.ToString());
    } else {
      access->OnWatchPaths([&watcher, &root](std::vector<WatchedDir> dirs) {
        for (auto& d : dirs) d.path = root.Path(d.path);
        watcher.Watch(dirs);
      });
    }
  }

  spdlog::info("attest-agent {} instance {} root {} shipping to {}", kVersion,
               (*spool)->instance_id(), config.root, config.daemons.size());
  std::vector<std::thread> threads;
  for (auto& u : uplinks) threads.emplace_back([&u] { u->Run(); });
  std::thread scheduler_thread([&] { scheduler.Run(); });

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, stopping", received == SIGTERM ? "SIGTERM" : "SIGINT");
  scheduler.Stop();
  scheduler_thread.join();
  watcher.Stop();
  spool_ref.Shutdown();
  for (auto& u : uplinks) u->Stop();
  for (auto& t : threads) t.join();
  const SpoolStats stats = spool_ref.Stats();
  spdlog::info("stopped; spool holds {} bytes, newest seq {}", stats.bytes, stats.last_seq);
  return 0;
}

}  // namespace
}  // namespace attest::agent

int main(int argc, char** argv) { return attest::agent::Main(argc, argv); }
