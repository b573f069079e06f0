// attest-agent-day: attest-agent's own collectors, configured by attest-agent's
// own flags (its default intervals unless --interval says otherwise), run on
// this host under a simulated clock for --days days, as the agent's scheduler
// runs them, over the --days days that end an hour ago. Every signal they
// send is written to --out, length-delimited
// (a varint size, then the Signal), for attest-agent-day-records.
//
//   attest-agent-day --days=N --out=FILE [attest-agent flags...]
//
// Prints one line: signals=N days=D per_day=X, then per collector its runs
// and its skips (the heartbeat skips while other signals go out).
// Built against protobuf's lite runtime, like the agent.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "agents/linux/collectors/command.h"
#include "agents/linux/collectors/registry.h"
#include "agents/linux/collectors/root_fs.h"
#include "agents/linux/config.h"
#include "common/clock.h"
#include "spdlog/spdlog.h"

namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attest::agent;
  int64_t days = 1;
  std::string out;
  std::vector<char*> agent_args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a.rfind("--days=", 0) == 0) {
      days = std::stoll(std::string(a.substr(7)));
    } else if (a.rfind("--out=", 0) == 0) {
      out = std::string(a.substr(6));
    } else {
      agent_args.push_back(argv[i]);
    }
  }
  auto parsed = ParseAgentArgs(static_cast<int>(agent_args.size()), agent_args.data());
  if (!parsed.ok() || out.empty() || days < 1) {
    fprintf(stderr, "usage: attest-agent-day --days=N --out=FILE [attest-agent flags]: %s\n",
            parsed.ok() ? "" : std::string(parsed.status().message()).c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::err);  // a collector's failure is a signal too
  const AgentConfig& c = parsed->config;
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) {
    fprintf(stderr, "attest-agent-day: cannot write %s\n", out.c_str());
    return 1;
  }
  RootFs root(c.root);
  ProcessRunner runner;
  // Days that have passed: attestd takes them as the past they are.
  attest::FakeClock clock(absl::Now() - absl::Hours(24 * days + 1));
  AccessCollector* access = nullptr;
  uint64_t signals = 0;
  std::string buf;
  Scheduler scheduler(BuildCollectors(c, &access), root, runner, clock,
                      [&](std::vector<attest::v1::Signal> batch) {
                        for (const attest::v1::Signal& s : batch) {
                          buf.clear();
                          const std::string bytes = s.SerializeAsString();
                          PutVarint(&buf, bytes.size());
                          buf += bytes;
                          file.write(buf.data(), static_cast<std::streamsize>(buf.size()));
                          ++signals;
                        }
                      });
  const absl::Time end = clock.Now() + absl::Hours(24 * days);
  while (clock.Now() < end) {
    const absl::Time next = scheduler.RunDue();
    if (next == absl::InfiniteFuture()) break;
    clock.Set(std::max(next, clock.Now()));
  }
  file.close();
  if (!file) {
    fprintf(stderr, "attest-agent-day: writing %s failed\n", out.c_str());
    return 1;
  }
  printf("signals=%llu days=%lld per_day=%.0f\n", static_cast<unsigned long long>(signals),
         static_cast<long long>(days), static_cast<double>(signals) / static_cast<double>(days));
  for (const auto& [name, stats] : scheduler.Stats()) {
    printf("collector=%s runs=%llu skipped=%llu failures=%llu\n", name.c_str(),
           static_cast<unsigned long long>(stats.runs),
           static_cast<unsigned long long>(stats.skipped),
           static_cast<unsigned long long>(stats.failures));
  }
  return 0;
}
