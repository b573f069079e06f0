#include "agents/linux/collectors/log_shipping.h"

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "agents/linux/collectors/checks.h"
#include "agents/linux/collectors/test_support.h"
#include "common/time_util.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795400000);

TEST(ImpstatsTest, RecordedReceiverOutageShowsDeliveriesStopAndBacklogGrow) {
  const std::string log = ReadFixture("rsyslog/impstats-receiver-stopped.log");
  ImpstatsReading r = ParseImpstats(log, "fwd-central", absl::UTCTimeZone());
  ASSERT_TRUE(r.found);
  ASSERT_TRUE(r.last_delivery.has_value());
  // Message 3 was delivered at 02:35:47 (per the queue counters); 4-6 never were.
  EXPECT_EQ(FormatRfc3339(*r.last_delivery), "2026-11-23T02:35:47Z");
  EXPECT_EQ(r.backlog, 3u);
  EXPECT_FALSE(ParseImpstats(log, "no-such-action", absl::UTCTimeZone()).found);
}

TEST(ImpstatsTest, AWholeFileCountsDeliveriesBeforeTheFirstLine) {
  const std::string text =
      "Mon Nov 23 02:00:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", \"size\": 0, "
      "\"enqueued\": 1 }\n";
  EXPECT_FALSE(ParseImpstats(text, "a", absl::UTCTimeZone()).last_delivery.has_value());
  EXPECT_EQ(FormatRfc3339(*ParseImpstats(text, "a", absl::UTCTimeZone(), true).last_delivery),
            "2026-11-23T02:00:00Z");
}

TEST(ImpstatsTest, CounterResetCountsAsADelivery) {
  const std::string text =
      "Mon Nov 23 02:00:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", \"size\": 0, "
      "\"enqueued\": 50 }\n"
      "Mon Nov 23 02:01:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", \"size\": 0, "
      "\"enqueued\": 2 }\n"
      "{ torn line\n";
  ImpstatsReading r = ParseImpstats(text, "a", absl::UTCTimeZone());
  EXPECT_EQ(FormatRfc3339(*r.last_delivery), "2026-11-23T02:01:00Z");
}

TEST(JournalUploadTest, CursorTimeIsTheLastDelivery) {
  auto t = ParseJournalUploadState(ReadFixture("journal-upload/state"));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ(FormatRfc3339(**t), "2025-02-20T22:07:41.301376Z");
  auto none = ParseJournalUploadState("# nothing\n");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
}

TEST(ShipperSpecTest, ParsesAndRejects) {
  auto c = ParseShipperSpec(
      "name=central,unit=rsyslog.service,probe=rsyslog_impstats,"
      "path=/var/log/rsyslog-stats.log,action=fwd-central");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->action, "fwd-central");
  EXPECT_FALSE(ParseShipperSpec("name=x,probe=carrier_pigeon,path=/x").ok());
  EXPECT_FALSE(ParseShipperSpec("name=x,probe=rsyslog_impstats,path=/x").ok());  // no action
  EXPECT_FALSE(ParseShipperSpec("name=x,probe=marker_file,path=relative").ok());
  EXPECT_FALSE(ParseShipperSpec("name=x,probe=marker_file,path=/x,colour=red").ok());
}

TEST(LogShippingCollectorTest, UnitStateAndProbesThroughRoot) {
  const std::string tree = testing::TempDir() + "/log_shipping_tree";
  std::filesystem::remove_all(tree);
  std::filesystem::create_directories(tree + "/var/lib/app");
  std::ofstream(tree + "/var/lib/app/shipped");
  // std::filesystem's clock is not the Unix epoch one: go through now.
  const auto at = [](absl::Time t) {
    return std::filesystem::file_time_type::clock::now() +
           absl::ToChronoNanoseconds(t - absl::Now());
  };
  std::filesystem::last_write_time(tree + "/var/lib/app/shipped", at(kNow - absl::Minutes(1)));
  std::ofstream(tree + "/var/lib/app/future");  // touched while the clock was a day fast
  std::filesystem::last_write_time(tree + "/var/lib/app/future", at(kNow + absl::Hours(24)));
  std::filesystem::copy(FixturePath("journal-upload/state"), tree + "/var/lib/app/state");
  ReplayRunner runner;
  runner.Add({"systemctl", "is-active", "vector.service"}, CommandResult{3, "inactive\n", ""});
  LogShippingCollector collector(
      {*ParseShipperSpec(
           "name=vector,unit=vector.service,probe=marker_file,path=/var/lib/app/shipped"),
       *ParseShipperSpec("name=journal,probe=journal_upload,path=/var/lib/app/state"),
       *ParseShipperSpec("name=never,probe=journal_upload,path=/var/lib/app/missing"),
       *ParseShipperSpec("name=future,probe=marker_file,path=/var/lib/app/future")});
  RootFs root(tree);
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 4u);
  EXPECT_FALSE((*signals)[0].log_shipping().active());
  EXPECT_NEAR((*signals)[0].log_shipping().last_delivery().seconds(),
              absl::ToUnixSeconds(kNow - absl::Minutes(1)), 1);
  EXPECT_TRUE((*signals)[1].log_shipping().active());
  EXPECT_EQ((*signals)[1].log_shipping().last_delivery().seconds(), 1740089261);
  EXPECT_FALSE((*signals)[2].log_shipping().has_last_delivery());  // never delivered
  // A day ahead proves nothing, and attestd would refuse it.
  EXPECT_FALSE((*signals)[3].log_shipping().has_last_delivery());
  std::filesystem::remove_all(tree);
}

TEST(ChecksCollectorTest, NagiosExitCodesTimeoutsAndSkippedFiles) {
  const std::string dir = testing::TempDir() + "/checks_d";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto script = [&](const std::string& name, const std::string& body, bool exec = true) {
    std::ofstream(dir + "/" + name) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(dir + "/" + name, exec ? std::filesystem::perms::owner_all
                                                        : std::filesystem::perms::owner_read);
  };
  script("a-ok", "echo 'OK - disk encrypted'; echo second line; exit 0");
  script("b-warn", "echo 'WARNING - 80% full'; exit 1");
  script("c-crit", "echo 'CRITICAL - backup 3 days old'; exit 2");
  script("d-unknown", "echo 'UNKNOWN - no data'; exit 3");
  script("e-weird", "echo odd; exit 7");
  script("f-slow", "sleep 30");
  script("g-not-executable", "exit 0", /*exec=*/false);
  script(".hidden", "exit 0");
  // Generous for the fast checks under ASan on a busy machine; "f-slow" sleeps 30 s.
  ChecksCollector collector(dir, absl::Seconds(3));
  RootFs root("/");
  ProcessRunner runner;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 6u);
  auto status = [&](int i) { return (*signals)[i].check().status(); };
  EXPECT_EQ(status(0), v1::CHECK_STATUS_OK);
  EXPECT_EQ((*signals)[0].check().detail(), "OK - disk encrypted");
  EXPECT_EQ(status(1), v1::CHECK_STATUS_WARNING);
  EXPECT_EQ(status(2), v1::CHECK_STATUS_CRITICAL);
  EXPECT_EQ(status(3), v1::CHECK_STATUS_UNKNOWN);
  EXPECT_EQ(status(4), v1::CHECK_STATUS_UNKNOWN);
  EXPECT_EQ((*signals)[4].check().detail(), "exit 7: odd");
  EXPECT_EQ(status(5), v1::CHECK_STATUS_UNKNOWN);
  EXPECT_NE((*signals)[5].check().detail().find("killed"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attest::agent
