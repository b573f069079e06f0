// Shard merging: seconds and deviations add up, figures and the verdict are
// recomputed from them, and shards that disagree about the window are
// refused.
#include "daemon/windows/verdict.h"

#include <gtest/gtest.h>

namespace attest::windows {
namespace {

v1::WindowSummary Shard(int64_t pass, int64_t fail, int64_t start, const std::string& host) {
  v1::WindowSummary s;
  s.mutable_window()->set_id("q1");
  s.mutable_window()->mutable_thresholds()->set_effectiveness(0.9);
  s.mutable_window()->mutable_thresholds()->set_coverage(0.9);
  s.mutable_window()->mutable_thresholds()->set_max_deviation_seconds(3600);
  v1::ControlSummary* c = s.add_controls();
  c->set_id("patch-sla");
  c->mutable_seconds()->set_pass(pass);
  c->mutable_seconds()->set_fail(fail);
  c->set_hosts(1);
  c->add_policy_versions("sha256:a");
  v1::DeviationSummary* d = c->add_deviations();
  d->set_host(host);
  d->mutable_start()->set_seconds(start);
  d->set_seconds(fail);
  FinishControl(c, s.window().thresholds());
  return s;
}

TEST(VerdictTest, ShardsAddUpAndTheVerdictIsRecomputed) {
  // Each shard alone is effective enough; together they are not.
  const v1::WindowSummary a = Shard(95, 5, 200, "b-host");
  const v1::WindowSummary b = Shard(80, 20, 100, "a-host");
  EXPECT_EQ(a.controls(0).verdict(), kOperatedEffectively);
  auto m = MergeShardSummaries({a, b});
  ASSERT_TRUE(m.ok()) << m.status();
  const v1::ControlSummary& c = m->controls(0);
  EXPECT_EQ(c.seconds().pass(), 175);
  EXPECT_EQ(c.seconds().fail(), 25);
  EXPECT_EQ(c.hosts(), 2u);
  EXPECT_DOUBLE_EQ(c.effectiveness(), 175.0 / 200.0);
  EXPECT_EQ(c.verdict(), kExceptionsNoted);
  ASSERT_EQ(c.findings_size(), 1);
  EXPECT_EQ(c.findings(0), "effectiveness 87.50% is below 90.00%");
  ASSERT_EQ(c.deviations_size(), 2);
  EXPECT_EQ(c.deviations(0).host(), "a-host") << "deviations in start order";
  EXPECT_EQ(c.policy_versions_size(), 1);
}

TEST(VerdictTest, ShardsThatDisagreeAboutTheWindowAreRefused) {
  v1::WindowSummary a = Shard(1, 0, 0, "h");
  v1::WindowSummary b = Shard(1, 0, 0, "h");
  b.mutable_window()->mutable_thresholds()->set_coverage(0.5);
  EXPECT_FALSE(MergeShardSummaries({a, b}).ok());
  b = a;
  b.mutable_window()->set_origin("api");  // how it was created does not matter
  EXPECT_TRUE(MergeShardSummaries({a, b}).ok());
  EXPECT_FALSE(MergeShardSummaries({}).ok());
}

}  // namespace
}  // namespace attest::windows
