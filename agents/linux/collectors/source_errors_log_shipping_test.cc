// What the log-shipping collector does when systemctl, an impstats log, a
// journal-upload state file or a marker is missing, unreadable or malformed
// (docs/bad-input.md, "Log shipping"): each is that shipper's error, and
// the other shippers are read as usual. "Unreadable" is explained in
// source_errors_test.cc.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "agents/linux/collectors/log_shipping.h"
#include "agents/linux/collectors/registry.h"
#include "agents/linux/collectors/test_support.h"
#include "common/time_util.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;

const absl::Time kNow = absl::FromUnixSeconds(1795400000);
constexpr fs::perms kNoAccess = fs::perms::none;

absl::StatusOr<std::vector<v1::Signal>> CollectShippers(const std::string& tree,
                                                        const CommandRunner& runner,
                                                        const std::vector<std::string>& specs) {
  std::vector<ShipperConfig> shippers;
  for (const auto& spec : specs) {
    auto c = ParseShipperSpec(spec);
    if (!c.ok()) return c.status();
    shippers.push_back(*c);
  }
  LogShippingCollector collector(shippers);
  RootFs root(tree);
  return collector.Collect(CollectContext{root, runner, kNow});
}

// The error reported for the one shipper collected ("" if none). A
// shipper's error is in its own signal; the collector itself succeeds.
std::string ShipperError(const absl::StatusOr<std::vector<v1::Signal>>& signals) {
  EXPECT_TRUE(signals.ok()) << signals.status();
  if (!signals.ok() || signals->size() != 1) return "(not one signal)";
  const v1::LogShippingState& state = (*signals)[0].log_shipping();
  if (!state.error().empty()) {
    EXPECT_FALSE(state.active());  // an unknown state is not reported as running
    EXPECT_FALSE(state.has_last_delivery());
  }
  return state.error();
}

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// Fixed: the first systemctl failure used to stop the whole run, so one
// shipper's trouble voided the evidence of every shipper on the host.
TEST(SourceErrorsTest, SystemctlMissingOrTimingOutIsAnErrorOfEachShipperItWasAskedFor) {
  TempTree tree("source_errors_systemctl");
  tree.Write("var/lib/app/shipped", "");
  const timespec touched[2] = {{absl::ToUnixSeconds(kNow) - 60, 0},
                               {absl::ToUnixSeconds(kNow) - 60, 0}};  // delivered a minute ago
  ASSERT_EQ(utimensat(AT_FDCWD, (tree / "var/lib/app/shipped").c_str(), touched, 0), 0);
  LogShippingCollector collector(
      {*ParseShipperSpec("name=a,unit=a.service,probe=marker_file,path=/var/lib/app/shipped"),
       *ParseShipperSpec("name=b,probe=marker_file,path=/var/lib/app/shipped"),
       *ParseShipperSpec("name=c,unit=c.service,probe=marker_file,path=/var/lib/app/shipped")});
  RootFs root(tree.path());
  for (const absl::Status& error :
       {absl::NotFoundError("systemctl: no such program"),
        absl::DeadlineExceededError("systemctl is-active a.service: killed after 10s")}) {
    SCOPED_TRACE(error.ToString());
    ReplayRunner runner;
    runner.AddError({"systemctl", "is-active", "a.service"}, error);
    runner.Add({"systemctl", "is-active", "c.service"}, CommandResult{0, "active\n", ""});
    CollectorStats stats;
    auto signals = RunCollector(collector, CollectContext{root, runner, kNow}, stats);
    ASSERT_EQ(signals.size(), 3u);
    EXPECT_EQ(stats.failures, 0u);
    EXPECT_EQ(signals[0].log_shipping().shipper(), "a");
    EXPECT_EQ(signals[0].log_shipping().error(), error.ToString());
    EXPECT_FALSE(signals[0].log_shipping().active());
    for (const int i : {1, 2}) {  // b (no unit) and c (active) are read as usual
      EXPECT_EQ(signals[i].log_shipping().error(), "");
      EXPECT_TRUE(signals[i].log_shipping().active());
      EXPECT_TRUE(signals[i].log_shipping().has_last_delivery());
    }
  }
}

TEST(SourceErrorsTest, ImpstatsMissingIsNotFoundAndUnreadableIsPermissionDenied) {
  TempTree tree("source_errors_impstats");
  ReplayRunner runner;
  const std::vector<std::string> specs = {
      "name=central,probe=rsyslog_impstats,path=/var/log/rsyslog-stats.log,action=fwd-central"};
  const std::string missing = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(missing, "NOT_FOUND: ")) << missing;
  EXPECT_NE(missing.find("/var/log/rsyslog-stats.log"), std::string::npos) << missing;

  tree.Write("var/log/rsyslog-stats.log", ReadFixture("rsyslog/impstats-receiver-stopped.log"));
  EXPECT_EQ(ShipperError(CollectShippers(tree.path(), runner, specs)), "");
  tree.Chmod("var/log/rsyslog-stats.log", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string unreadable = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(unreadable, "PERMISSION_DENIED: ")) << unreadable;
  EXPECT_NE(unreadable.find("/var/log/rsyslog-stats.log"), std::string::npos) << unreadable;
}

TEST(SourceErrorsTest, ImpstatsLinesWithAnUnparseableTimeAreSkipped) {
  const std::string good =
      "Mon Nov 23 02:00:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 0, \"enqueued\": 1 }\n";
  const std::string bad_times =
      "Mon Nov 99 02:01:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 4, \"enqueued\": 9 }\n"
      "yesterday: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 5, \"enqueued\": 10 }\n";
  ImpstatsReading r = ParseImpstats(good + bad_times, "a", absl::UTCTimeZone(), true);
  ASSERT_TRUE(r.found);
  ASSERT_TRUE(r.last_delivery.has_value());
  EXPECT_EQ(FormatRfc3339(*r.last_delivery), "2026-11-23T02:00:00Z");
  EXPECT_EQ(r.backlog, 0u);  // not the 4 or 5 of the skipped lines
  EXPECT_FALSE(ParseImpstats(bad_times, "a", absl::UTCTimeZone(), true).found);

  // Only such lines: the collector finds no impstats for the action.
  TempTree tree("source_errors_impstats_times");
  tree.Write("var/log/stats.log", bad_times);
  ReplayRunner runner;
  const std::string error = ShipperError(CollectShippers(
      tree.path(), runner, {"name=a,probe=rsyslog_impstats,path=/var/log/stats.log,action=a"}));
  EXPECT_TRUE(StartsWith(error, "NOT_FOUND: ")) << error;
  EXPECT_NE(error.find("no impstats for \"a queue\""), std::string::npos) << error;
}

TEST(SourceErrorsTest, JournalUploadStateUnreadableIsPermissionDenied) {
  TempTree tree("source_errors_journal_unreadable");
  tree.CopyFixture("journal-upload/state", "var/lib/systemd/journal-upload/state");
  tree.Chmod("var/lib/systemd/journal-upload/state", kNoAccess);
  ReplayRunner runner;
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string error = ShipperError(
      CollectShippers(tree.path(), runner,
                      {"name=j,probe=journal_upload,path=/var/lib/systemd/journal-upload/state"}));
  EXPECT_TRUE(StartsWith(error, "PERMISSION_DENIED: ")) << error;
  EXPECT_NE(error.find("journal-upload/state"), std::string::npos) << error;
}

// Fixed: such a cursor used to read as "never delivered", without an error.
TEST(SourceErrorsTest, JournalUploadCursorWithANonHexTimeIsThatShippersError) {
  TempTree tree("source_errors_journal_non_hex");
  ReplayRunner runner;
  for (const std::string& t : std::vector<std::string>{"62e9a1z4c1e80", "", "10000000000000000"}) {
    SCOPED_TRACE(t);
    tree.Write("state", "LAST_CURSOR=s=739ad463;i=4ece7;b=6c7c6013;m=5d9e7c2f;t=" + t + ";x=2d\n");
    EXPECT_EQ(ShipperError(CollectShippers(tree.path(), runner,
                                           {"name=j,probe=journal_upload,path=/state"})),
              "DATA_LOSS: /state: LAST_CURSOR t=" + t + " is not hex microseconds");
  }
}

TEST(SourceErrorsTest, MarkerMissingIsNeverDeliveredAndUnstatableMarkerIsAnError) {
  TempTree tree("source_errors_marker");
  fs::create_directories(tree / "var/lib/app");
  ReplayRunner runner;
  const std::vector<std::string> specs = {"name=m,probe=marker_file,path=/var/lib/app/shipped"};
  auto missing = CollectShippers(tree.path(), runner, specs);
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->size(), 1u);
  EXPECT_FALSE((*missing)[0].log_shipping().has_last_delivery());

  tree.Write("var/lib/app/shipped", "");
  tree.Chmod("var/lib/app", kNoAccess);  // stat of the marker: EACCES, not ENOENT
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string unstatable = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(unstatable, "PERMISSION_DENIED: ")) << unstatable;
  EXPECT_NE(unstatable.find("/var/lib/app/shipped"), std::string::npos) << unstatable;
}

}  // namespace
}  // namespace attest::agent
