// The delivery schedule: sent at once, re-sent while active, resolved with
// endsAt, retried with backoff, nothing lost while an Alertmanager is down.
// The real Alertmanager is tests/alertmanager_e2e_test.cc; here the POST is
// a recorder so that time can be moved by hand.
#include "daemon/alerts/dispatcher.h"

#include <gtest/gtest.h>

#include <set>

#include "common/json.h"
#include "common/time_util.h"

namespace attest::alerts {
namespace {

constexpr char kA[] = "http://127.0.0.1:9093";
constexpr char kB[] = "http://127.0.0.1:9094";

Event MakeEvent(const std::string& host, const std::string& change) {
  Event e;
  e.labels = {{"alertname", kAccessChangeUnapproved}, {"host", host}, {"change_id", change}};
  e.annotations = {{"summary", "s"}};
  e.starts_at = 1'700'000'000;
  return e;
}

struct Posted {
  std::string url;
  Json body;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void Make(std::vector<std::string> urls = {kA}) {
    DispatcherOptions o;
    o.urls = std::move(urls);
    o.resend = absl::Minutes(1);
    o.min_backoff = absl::Seconds(1);
    o.max_backoff = absl::Seconds(8);
    auto d = Dispatcher::Create([this] { return events_; }, clock_, o,
                                [this](const std::string& url, const std::string& body) {
                                  auto j = Json::ParseReport(body);
                                  EXPECT_TRUE(j.ok()) << body;
                                  posted_.push_back({url, *j});
                                  return down_.count(url) ? absl::UnavailableError("down")
                                                          : absl::OkStatus();
                                });
    ASSERT_TRUE(d.ok()) << d.status();
    d_ = std::move(*d);
  }
  // The endsAt of each alert in a body, by change id.
  static std::map<std::string, std::string> EndsAt(const Json& body) {
    std::map<std::string, std::string> out;
    for (const Json& a : body.as_array()) {
      out[a.Find("labels")->Find("change_id")->as_string()] = a.Find("endsAt")->as_string();
    }
    return out;
  }
  std::string At(absl::Duration d) { return FormatRfc3339(start_ + d); }

  const absl::Time start_ = absl::FromUnixSeconds(1'700'000'000);
  FakeClock clock_{start_};
  std::vector<Event> events_;
  std::set<std::string> down_;
  std::vector<Posted> posted_;
  std::unique_ptr<Dispatcher> d_;
};

TEST_F(DispatcherTest, SendsAtOnceResendsWhileActiveAndResolvesOnce) {
  Make();
  d_->Evaluate();
  EXPECT_EQ(d_->Deliver(), 0);
  EXPECT_TRUE(posted_.empty()) << "nothing active, nothing sent";

  events_ = {MakeEvent("h1", "c1")};
  d_->Evaluate();
  d_->Deliver();
  ASSERT_EQ(posted_.size(), 1u);
  EXPECT_EQ(posted_[0].url, kA);
  EXPECT_EQ(EndsAt(posted_[0].body),
            (std::map<std::string, std::string>{{"c1", At(absl::Minutes(4))}}));

  clock_.Advance(absl::Seconds(59));
  d_->Evaluate();
  d_->Deliver();
  EXPECT_EQ(posted_.size(), 1u) << "not re-sent before the resend interval";
  clock_.Advance(absl::Seconds(1));
  d_->Deliver();
  ASSERT_EQ(posted_.size(), 2u);
  EXPECT_EQ(EndsAt(posted_[1].body)["c1"], At(absl::Minutes(5)));

  clock_.Advance(absl::Seconds(10));
  events_.clear();
  d_->Evaluate();
  d_->Deliver();
  ASSERT_EQ(posted_.size(), 3u) << "a resolution is news: sent at once";
  EXPECT_EQ(EndsAt(posted_[2].body)["c1"], At(absl::Seconds(70)));
  EXPECT_EQ(d_->pending_resolutions(kA), 0u);
  clock_.Advance(absl::Minutes(5));
  d_->Evaluate();
  d_->Deliver();
  EXPECT_EQ(posted_.size(), 3u) << "a delivered resolution is not sent again";
}

TEST_F(DispatcherTest, BacksOffWhileDownAndDeliversEverythingWhenBack) {
  Make();
  events_ = {MakeEvent("h1", "c1"), MakeEvent("h2", "c2")};
  down_.insert(kA);
  d_->Evaluate();
  EXPECT_EQ(d_->Deliver(), 1);
  // Resolve c1 while the Alertmanager is down.
  events_ = {MakeEvent("h2", "c2")};
  clock_.Advance(absl::Milliseconds(100));
  d_->Evaluate();
  EXPECT_EQ(d_->pending_resolutions(kA), 1u);

  // Each failure doubles the backoff (1, 2, 4, 8, 8 s), with jitter in
  // [backoff / 2, backoff]; the pending resolution stays.
  absl::Duration expect = absl::Seconds(1);
  for (int i = 0; i < 5; ++i) {
    const absl::Time due = d_->NextDue();
    EXPECT_GE(due - clock_.Now(), expect / 2 - absl::Milliseconds(100)) << i;
    EXPECT_LE(due - clock_.Now(), expect) << i;
    clock_.Set(due - absl::Milliseconds(1));
    const size_t before = posted_.size();
    d_->Deliver();
    EXPECT_EQ(posted_.size(), before) << "not before its time";
    clock_.Set(due);
    EXPECT_EQ(d_->Deliver(), 1);
    expect = std::min(2 * expect, absl::Seconds(8));
  }
  EXPECT_EQ(d_->pending_resolutions(kA), 1u);

  down_.clear();
  clock_.Set(d_->NextDue());
  EXPECT_EQ(d_->Deliver(), 0);
  const auto ends = EndsAt(posted_.back().body);
  EXPECT_EQ(ends.at("c1"), At(absl::Milliseconds(100))) << "resolved when it was found gone";
  EXPECT_EQ(ends.at("c2"), FormatRfc3339(clock_.Now() + absl::Minutes(4)));
  EXPECT_EQ(d_->pending_resolutions(kA), 0u);
  // Back on the normal schedule.
  EXPECT_EQ(d_->NextDue(), clock_.Now() + absl::Minutes(1));
}

TEST_F(DispatcherTest, EachAlertmanagerKeepsItsOwnResolutions) {
  Make({kA, kB});
  events_ = {MakeEvent("h1", "c1")};
  d_->Evaluate();
  d_->Deliver();
  down_.insert(kB);
  events_.clear();
  d_->Evaluate();
  EXPECT_EQ(d_->Deliver(), 1);
  EXPECT_EQ(d_->pending_resolutions(kA), 0u);
  EXPECT_EQ(d_->pending_resolutions(kB), 1u);
  // A change that comes back before B hears of its end is active again,
  // not resolved.
  events_ = {MakeEvent("h1", "c1")};
  d_->Evaluate();
  EXPECT_EQ(d_->pending_resolutions(kB), 0u);
  EXPECT_EQ(EndsAt(*Json::ParseReport(d_->Body(kB)))["c1"],
            FormatRfc3339(clock_.Now() + absl::Minutes(4)));
}

TEST_F(DispatcherTest, RefusesUrlsItCannotUse) {
  for (const char* url : {"ftp://am:9093", "am:9093", "http://am:", "http://am:x"}) {
    DispatcherOptions o;
    o.urls = {url};
    EXPECT_FALSE(Dispatcher::Create([] { return std::vector<Event>{}; }, SystemClock(), o).ok())
        << url;
  }
}

}  // namespace
}  // namespace attest::alerts
