// attestd's /metrics, scraped over HTTP from a real daemon fed with a
// simulated fleet: the exposition passes `promtool check metrics`, and the
// compliance figures equal what `attestctl report` says.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/ingest/test_signals.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

// Sample values by their full series text (name{labels}).
std::map<std::string, double> Samples(const std::string& exposition) {
  std::map<std::string, double> out;
  for (std::string_view line : Split(exposition, "\n")) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[std::string(line.substr(0, space))] = std::stod(std::string(line.substr(space + 1)));
  }
  return out;
}

// A report number: JSON has no separate integer type, the parser does.
double Number(const Json& j) {
  if (auto i = j.as_int()) return static_cast<double>(*i);
  return j.as_double();
}

TEST(MetricsE2eTest, ScrapePassesPromtoolAndMatchesTheReport) {
  const std::string dir = FreshDir("metrics_e2e");
  std::ofstream(dir + "/policy.yaml")
      << "controls:\n"
         "  - {id: patch-sla, tsc: [CC7.1, CC8.1], rule: patch.security_sla,\n"
         "     params: {security_max_age: 2d}, freshness: 2h}\n"
         "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
         "     params: {max_gap: 15m}, freshness: 30m}\n"
         "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
         "     params: {approval_window: 24h}}\n"
         "windows:\n"
         "  - {id: h1, start: 2026-01-01T00:00:00Z, end: 2026-07-01T00:00:00Z}\n";
  DaemonHarness daemon(dir, nullptr,
                       {"--policy", dir + "/policy.yaml", "--judge-delay", "0s", "--metrics-listen",
                        "127.0.0.1:0", "--metrics-refresh", "200ms"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  ASSERT_FALSE(daemon.metrics_address().empty());
  const std::string ctl = BinaryPath("attestctl");
  ASSERT_EQ(RunTool({ctl, "simulate", "--hosts", "6", "--days", "5", "--seed", "5", "--start",
                     "2026-01-01T00:00:00Z", "--out", dir + "/sim.jsonl"},
                    dir),
            0);
  std::string out;
  ASSERT_EQ(RunTool({ctl, "--daemon", daemon.address(), "import", dir + "/sim.jsonl"}, dir, &out),
            0);
  uint64_t accepted = 0;
  ASSERT_EQ(sscanf(out.c_str(), "accepted %lu", &accepted), 1) << out;
  ASSERT_EQ(
      RunTool({ctl, "--daemon", daemon.address(), "report", "--window", "h1", "--format", "json"},
              dir, &out),
      0);
  auto report = Json::ParseReport(out);
  ASSERT_TRUE(report.ok()) << report.status();

  // The figures are recomputed every 200 ms; wait for one that began after
  // the import and the report were done (the refresh stamps when it ran).
  // Six stale hosts alone is not enough: a refresh that ran while the
  // import's last batches were being judged already counts six.
  const double imported_at = static_cast<double>(absl::ToUnixMillis(absl::Now())) / 1000;
  std::map<std::string, double> samples;
  std::string scrape;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto body = HttpGet(daemon.metrics_address(), "/metrics");
    ASSERT_TRUE(body.ok()) << body.status();
    scrape = *body;
    samples = Samples(scrape);
    if (samples["attest_fleet_hosts{status=\"stale\"}"] == 6 &&
        samples["attest_metrics_refreshed_timestamp_seconds"] > imported_at) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(samples["attest_fleet_hosts{status=\"stale\"}"], 6) << scrape;
  // Every accepted record but the 6 hellos is a signal.
  EXPECT_EQ(samples["attest_ingest_signals_stored_total"], static_cast<double>(accepted - 6));
  for (const Json& c : report->Find("controls")->as_array()) {
    const std::string id = c.Find("id")->as_string();
    const std::string labels = StrCat("{window=\"h1\",control=\"", id, "\"}");
    EXPECT_NEAR(samples["attest_window_effectiveness" + labels], Number(*c.Find("effectiveness")),
                1e-12)
        << id;
    EXPECT_NEAR(samples["attest_window_coverage" + labels], Number(*c.Find("coverage")), 1e-12)
        << id;
    EXPECT_EQ(samples["attest_window_deviations" + labels],
              static_cast<double>(c.Find("deviations")->as_array().size()))
        << id;
    EXPECT_EQ(samples[StrCat("attest_window_state_seconds{window=\"h1\",control=\"", id,
                             "\",state=\"pass\"}")],
              static_cast<double>(*c.Find("seconds")->Find("pass")->as_int()))
        << id;
  }
  // The window ended: nothing remains.
  EXPECT_EQ(samples["attest_window_remaining_seconds{window=\"h1\"}"], 0);

  // promtool, from Debian's prometheus package, lints the live scrape.
  std::ofstream(dir + "/scrape.txt") << scrape;
  ASSERT_EQ(
      RunTool({"/bin/sh", "-c", "promtool check metrics < " + dir + "/scrape.txt"}, dir, &out), 0)
      << out << ReadAll(dir + "/tool.log");
  EXPECT_TRUE(daemon.Stop().ok());
}

// attestd names an agent whose clock is off its own: counted in /metrics
// while the agent is connected, named in its log and in `attestctl hosts
// show`. A clock within a minute is not counted, and the agent's clock is
// not kept in the evidence.
TEST(MetricsE2eTest, AnAgentClockOffAttestdsIsCountedLoggedAndShown) {
  const std::string dir = FreshDir("metrics_clock_skew");
  DaemonHarness daemon(dir, nullptr, {"--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  auto connect = [&](const std::string& host, absl::Duration off) {
    auto agent = std::make_unique<TestAgent>(DaemonHarness::InsecureChannelTo(daemon.address()));
    v1::Hello hello = testing_signals::Hello(host, "inst-" + host);
    *hello.mutable_agent_clock() = ToProto(absl::Now() + off);
    EXPECT_TRUE(agent->Hello(hello)) << host;
    return agent;
  };
  const std::string ahead = "attest_ingest_agents_clock_skewed{direction=\"ahead\"}";
  const std::string behind = "attest_ingest_agents_clock_skewed{direction=\"behind\"}";
  auto scrape = [&] {
    absl::StatusOr<std::string> body = HttpGet(daemon.metrics_address(), "/metrics");
    EXPECT_TRUE(body.ok()) << body.status();
    return Samples(body.ok() ? *body : "");
  };
  std::map<std::string, double> samples = scrape();
  EXPECT_EQ(samples[ahead], 0);
  EXPECT_EQ(samples[behind], 0);

  auto fast = connect("fast-1", absl::Hours(2));
  auto slow = connect("slow-1", -absl::Minutes(3));
  auto fine = connect("fine-1", absl::Seconds(20));
  // Each Welcome follows the hello's registration, so the counts are there.
  samples = scrape();
  EXPECT_EQ(samples[ahead], 1);
  EXPECT_EQ(samples[behind], 1);
  const std::string log = ReadAll(daemon.log_path());
  EXPECT_NE(log.find("host fast-1's clock is 2h ahead of attestd's"), std::string::npos) << log;
  EXPECT_NE(log.find("host slow-1's clock is 3m behind attestd's"), std::string::npos) << log;
  EXPECT_EQ(log.find("host fine-1's clock"), std::string::npos) << log;

  const std::string ctl = BinaryPath("attestctl");
  std::string out;
  ASSERT_EQ(RunTool({ctl, "--daemon", daemon.address(), "hosts", "show", "fast-1"}, dir, &out), 0);
  EXPECT_NE(out.find("clock           2h ahead of attestd's (at its hello, "), std::string::npos)
      << out;
  ASSERT_EQ(RunTool({ctl, "--daemon", daemon.address(), "hosts", "show", "fine-1"}, dir, &out), 0);
  EXPECT_NE(out.find("clock           within 1m of attestd's"), std::string::npos) << out;
  ASSERT_EQ(
      RunTool({ctl, "--daemon", daemon.address(), "hosts", "show", "slow-1", "--format", "json"},
              dir, &out),
      0);
  absl::StatusOr<Json> json = Json::Parse(out);
  ASSERT_TRUE(json.ok()) << json.status() << out;
  ASSERT_TRUE((*json)["clock_skew_ms"].as_int().has_value()) << out;
  EXPECT_NEAR(static_cast<double>(*(*json)["clock_skew_ms"].as_int()), -180000, 5000);

  // The count goes with the agent's stream.
  EXPECT_TRUE(fast->Finish().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (scrape()[ahead] != 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  samples = scrape();
  EXPECT_EQ(samples[ahead], 0);
  EXPECT_EQ(samples[behind], 1);

  int hellos = 0;
  for (const v1::EvidenceRecord& r : daemon.Evidence("fast-1")) {
    if (!r.has_hello()) continue;
    ++hellos;
    EXPECT_FALSE(r.hello().has_agent_clock());
  }
  EXPECT_EQ(hellos, 1);
  EXPECT_TRUE(slow->Finish().ok());
  EXPECT_TRUE(fine->Finish().ok());
  EXPECT_EQ(*daemon.Stop(), 0);
}

}  // namespace
}  // namespace attest::testing_support
