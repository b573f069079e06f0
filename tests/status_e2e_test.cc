// attestctl for people, against a live attestd: `status` and `hosts show`
// agree with each other and with the timeline and the report; every
// command answers --help; list commands print CSV; a drawn sample is
// recorded and listed.
#include <fstream>
#include <set>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {
namespace {

constexpr int kHosts = 8;

class StatusE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("status_e2e");
    std::ofstream(dir_ + "/policy.yaml") << kTestControls;
    daemon_ = std::make_unique<DaemonHarness>(
        dir_, nullptr,
        std::vector<std::string>{"--policy", dir_ + "/policy.yaml", "--judge-delay", "0s"});
    ASSERT_TRUE(daemon_->Start().ok()) << ReadAll(daemon_->log_path());
    // Ten days up to today's midnight, then a window open until next year.
    const int64_t today = absl::ToUnixSeconds(absl::Now()) / 86400 * 86400;
    const std::string start = FormatRfc3339(absl::FromUnixSeconds(today - 10 * 86400));
    ASSERT_EQ(LoadSimulatedFleet(daemon_->address(), dir_, kHosts, 10, 11, start), "");
    ASSERT_EQ(Run({"windows", "create", "open", "--start", start, "--end",
                   FormatRfc3339(absl::FromUnixSeconds(today + 365 * 86400))}),
              0)
        << out_ << err_;
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_TRUE(daemon_->Stop().ok());
    }
  }

  int Run(std::vector<std::string> args) {
    return Attestctl(daemon_->address(), dir_, std::move(args), &out_, &err_);
  }
  Json RunJson(std::vector<std::string> args) {
    args.push_back("--format");
    args.push_back("json");
    EXPECT_EQ(Run(args), 0) << out_ << err_;
    auto j = Json::ParseReport(out_);
    EXPECT_TRUE(j.ok()) << out_;
    return j.ok() ? *j : Json();
  }

  std::string dir_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::string out_, err_;
};

double Number(const Json& j) {
  if (auto i = j.as_int()) return static_cast<double>(*i);
  return j.as_double();
}

TEST_F(StatusE2eTest, StatusAndHostsShowAgreeWithTimelinesAndTheReport) {
  const Json status = RunJson({"status"});
  EXPECT_EQ(status.Find("hosts")->Find("in_service")->as_uint(), uint64_t{kHosts});
  EXPECT_EQ(status.Find("hosts")->Find("never_seen")->as_uint(), 0u);
  ASSERT_EQ(status.Find("controls")->as_array().size(), 4u);

  // Each host's own view, and its timeline per control.
  std::map<std::string, std::map<std::string, std::string>> state_of;  // control -> host -> state
  for (int i = 1; i <= kHosts; ++i) {
    char host[16];
    snprintf(host, sizeof host, "h%04d", i);
    const absl::Time shown_at = absl::Now();
    const Json show = RunJson({"hosts", "show", host});
    EXPECT_EQ(show.Find("host")->as_string(), host);
    EXPECT_EQ(show.Find("windows")->as_array().size(), 1u) << "in the open window";
    EXPECT_FALSE(show.Find("labels")->as_object().empty());
    for (const Json& c : show.Find("controls")->as_array()) {
      const std::string control = c.Find("control")->as_string();
      const std::string state = c.Find("state")->as_string();
      state_of[control][host] = state;
      if (c.Find("since")->is_null()) {
        EXPECT_EQ(state, "NO_EVIDENCE");
        continue;
      }
      // The timeline's run that covers now has the same state, and the run
      // of that state started at `since`. It need not be the last: today's
      // record also holds what follows if nothing arrives (NO_EVIDENCE once
      // the last evidence goes stale), so just after midnight, when the
      // fleet's evidence is minutes old, the last run lies ahead.
      const Json timeline = RunJson({"timeline", "--host", host, "--control", control});
      const auto& ivs = timeline.as_array();
      ASSERT_FALSE(ivs.empty()) << host << " " << control;
      size_t at = ivs.size() - 1;
      while (at > 0 && *ParseRfc3339(ivs[at].Find("start")->as_string()) > shown_at) --at;
      EXPECT_EQ(ivs[at].Find("state")->as_string(), state) << host << " " << control;
      std::string run_start = ivs[at].Find("start")->as_string();
      for (size_t k = at; k-- > 0;) {
        if (ivs[k].Find("state")->as_string() != state ||
            ivs[k].Find("end")->as_string() != run_start) {
          break;
        }
        run_start = ivs[k].Find("start")->as_string();
      }
      EXPECT_EQ(c.Find("since")->as_string(), run_start) << host << " " << control;
    }
  }

  // The fleet's counts are the hosts' states, and its failing hosts fail.
  for (const Json& c : status.Find("controls")->as_array()) {
    const std::string control = c.Find("control")->as_string();
    std::map<std::string, uint64_t> counts;
    for (const auto& [host, state] : state_of[control]) ++counts[state];
    EXPECT_EQ(c.Find("pass")->as_uint(), counts["PASS"]) << control;
    EXPECT_EQ(c.Find("fail")->as_uint(), counts["FAIL"]) << control;
    EXPECT_EQ(c.Find("excepted")->as_uint(), counts["EXCEPTED"]) << control;
    EXPECT_EQ(c.Find("no_evidence")->as_uint(), counts["NO_EVIDENCE"]) << control;
    for (const Json& h : c.Find("failing_hosts")->as_array()) {
      EXPECT_EQ(state_of[control][h.as_string()], "FAIL") << control;
    }
  }

  // The open window's figures so far are the report's (up to the seconds
  // that passed between the calls).
  ASSERT_EQ(status.Find("open_windows")->as_array().size(), 1u);
  const Json& open = status.Find("open_windows")->as_array()[0];
  const Json report = RunJson({"report", "--window", "open"});
  ASSERT_EQ(open.Find("controls")->as_array().size(), report.Find("controls")->as_array().size());
  for (size_t i = 0; i < report.Find("controls")->as_array().size(); ++i) {
    const Json& a = open.Find("controls")->as_array()[i];
    const Json& b = report.Find("controls")->as_array()[i];
    EXPECT_EQ(a.Find("id")->as_string(), b.Find("id")->as_string());
    // The window is open, so its in-scope time grows between the two
    // calls (attestd runs on the real clock here): by ~1e-5 a second.
    EXPECT_NEAR(Number(*a.Find("coverage")), Number(*b.Find("coverage")), 1e-3);
    EXPECT_EQ(a.Find("hosts")->as_uint(), b.Find("hosts")->as_uint());
    EXPECT_EQ(a.Find("verdict")->as_string(), b.Find("verdict")->as_string());
    EXPECT_EQ(a.Find("deviation_count")->as_uint(), b.Find("deviations")->as_array().size());
    EXPECT_TRUE(a.Find("deviations")->as_array().empty()) << "status leaves the lists out";
  }

  // CSV: a header and a row per control.
  ASSERT_EQ(Run({"status", "--format", "csv"}), 0);
  EXPECT_EQ(out_.rfind("control,tsc,pass,fail,no_evidence,excepted,", 0), 0u) << out_;
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 5);
  ASSERT_EQ(Run({"hosts", "--format", "csv"}), 0);
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), kHosts + 1);
  ASSERT_EQ(Run({"status"}), 0);
  EXPECT_NE(out_.find(StrCat(kHosts, " in service")), std::string::npos) << out_;
}

TEST_F(StatusE2eTest, ASampleDrawIsRecordedAndListed) {
  const Json sample =
      RunJson({"sample", "--window", "open", "--control", "patch-sla", "--n", "5", "--seed", "9"});
  const Json draws = RunJson({"samples", "--window", "open"});
  ASSERT_EQ(draws.as_array().size(), 1u);
  const Json& d = draws.as_array()[0];
  EXPECT_EQ(d.Find("seed")->as_uint(), 9u);
  EXPECT_EQ(d.Find("drawn_by")->as_string(), "loopback");
  ASSERT_EQ(d.Find("items")->as_array().size(), sample.Find("items")->as_array().size());
  for (size_t i = 0; i < d.Find("items")->as_array().size(); ++i) {
    const Json& a = d.Find("items")->as_array()[i];
    const Json& b = sample.Find("items")->as_array()[i];
    EXPECT_EQ(a.Find("host")->as_string(), b.Find("host")->as_string());
    EXPECT_EQ(a.Find("day")->as_string(), b.Find("day")->as_string());
    EXPECT_EQ(a.Find("evidence_records")->as_uint(), b.Find("evidence")->as_array().size());
  }
  EXPECT_TRUE(RunJson({"samples", "--window", "another"}).as_array().empty());

  // Without --n: the audit guidance size for the population, recorded as n.
  const Json guided = RunJson({"sample", "--window", "open", "--control", "patch-sla"});
  const uint64_t population = *guided.Find("population")->as_uint();
  const size_t expected = population <= 5     ? population
                          : population <= 50  ? 5
                          : population <= 250 ? (population + 9) / 10
                                              : 25;
  EXPECT_EQ(guided.Find("items")->as_array().size(), expected) << population;
  const Json after = RunJson({"samples", "--window", "open"});
  ASSERT_EQ(after.as_array().size(), 2u);
  EXPECT_EQ(*after.as_array()[1].Find("n")->as_uint(), expected);
}

TEST_F(StatusE2eTest, UsageErrorsAndHelp) {
  EXPECT_EQ(Run({"hosts", "show", "nope"}), 1);
  EXPECT_NE(err_.find("no host \"nope\""), std::string::npos) << err_;
  EXPECT_EQ(Run({"hosts", "show"}), 2);
  EXPECT_EQ(Run({"status", "extra"}), 2);
  EXPECT_EQ(Run({"status", "--format", "html"}), 2);
  for (const char* cmd :
       {"status", "hosts", "evidence", "import", "report", "approve", "except", "windows", "sample",
        "samples", "timeline", "simulate", "export", "verify", "signing-key", "pki"}) {
    EXPECT_EQ(Run({cmd, "--help"}), 0) << cmd;
    EXPECT_EQ(out_.rfind(StrCat("Usage: attestctl ", cmd), 0), 0u) << out_;
  }
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_NE(out_.find("Exit codes: 0 ok, 1 findings"), std::string::npos);
  // Unreachable: 3.
  EXPECT_EQ(Attestctl("127.0.0.1:1", dir_, {"status"}, &out_, &err_), 3) << err_;
}

}  // namespace
}  // namespace attest::testing_support
