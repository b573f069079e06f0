// The whole engine path, across processes: attestctl simulate -> import
// (in two parts, so the second is late evidence) -> approvals and an
// exception -> attestctl report --format json, checked against an
// independent per-minute recomputation from the same JSON Lines. Simulated
// times and every policy duration are whole minutes, so minute sampling is
// exact.
#include <fstream>
#include <map>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/process.h"

namespace attest {
namespace {

using testing_support::BinaryPath;
using testing_support::ChildProcess;
using testing_support::DaemonHarness;
using testing_support::FreshDir;
using testing_support::ReadAll;

constexpr int64_t kMin = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;
constexpr int kHosts = 4;
constexpr int kDays = 8;
constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
// The window starts and ends mid-day.
constexpr int64_t kWindowStart = kStart + 12 * kHour;
constexpr int64_t kWindowEnd = kStart + kDays * kDay - 6 * kHour;
// The exception: h0002's log shipping, for two days.
constexpr int64_t kExceptStart = kStart + 2 * kDay + 7 * kHour;
constexpr int64_t kExceptEnd = kStart + 4 * kDay + 7 * kHour;

std::string T(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

std::string Policy() {
  return "controls:\n"
         "  - {id: patch-sla, tsc: [CC7.1], rule: patch.security_sla,\n"
         "     params: {security_max_age: 2d, reboot_grace: 1d}, freshness: 2h}\n"
         "  - {id: log-shipping, tsc: [CC7.2], rule: logs.shipping_continuity,\n"
         "     params: {max_gap: 15m}, freshness: 30m}\n"
         "  - {id: access-approved, tsc: [CC6.2], rule: access.change_approved,\n"
         "     params: {approval_window: 24h}}\n"
         "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n"
         "  - {id: ntp, tsc: [CC7.1], rule: check.pass, params: {check: ntp}, freshness: 1h}\n"
         "windows:\n"
         "  - {id: w, start: " +
         T(kWindowStart) + ", end: " + T(kWindowEnd) +
         ", thresholds: {effectiveness: 0.99, coverage: 0.95, max_deviation: 72h}}\n";
}

struct Obs {
  int64_t t;
  uint64_t seq;
  Json line;
  std::string kind;
  const Json& body() const { return *line.Find(kind); }
};

// Per host, per minute, per control: the state letter (P F N E), from the
// DESIGN.md rules applied literally.
class Recompute {
 public:
  Recompute(const std::vector<Obs>& obs, const std::map<std::string, int64_t>& approvals,
            bool excepted_host)
      : obs_(obs), approvals_(approvals), excepted_host_(excepted_host) {}

  char State(const std::string& control, int64_t t) const {
    if (t < obs_.front().t) return 0;  // not enrolled yet
    char s = Rule(control, t);
    if (!(control == "access-approved" && s == 'F') && InGap(t)) s = 'N';
    if (s != 'P' && excepted_host_ && control == "log-shipping" && kExceptStart <= t &&
        t < kExceptEnd) {
      s = 'E';
    }
    return s;
  }

 private:
  // The last observation at or before t of a kind (and name), or -1.
  int Last(int64_t t, const std::function<bool(const Obs&)>& match) const {
    int found = -1;
    for (size_t i = 0; i < obs_.size() && obs_[i].t <= t; ++i) {
      if (match(obs_[i])) found = static_cast<int>(i);
    }
    return found;
  }

  bool InGap(int64_t t) const {
    for (size_t i = 1; i < obs_.size(); ++i) {
      if (obs_[i].seq > obs_[i - 1].seq + 1 && obs_[i - 1].seq > 0 && obs_[i - 1].t <= t &&
          t < obs_[i].t) {
        return true;
      }
    }
    return false;
  }

  char Rule(const std::string& control, int64_t t) const {
    if (control == "agent-reporting") {
      int i = Last(t, [](const Obs&) { return true; });
      return t < obs_[i].t + 15 * kMin ? 'P' : 'N';
    }
    if (control == "ntp") {
      int i = Last(t, [](const Obs& o) { return o.kind == "check"; });
      if (i < 0 || t >= obs_[i].t + kHour) return 'N';
      const std::string& st = obs_[i].body().Find("status")->as_string();
      return st == "ok" ? 'P' : st == "unknown" ? 'N' : 'F';
    }
    if (control == "log-shipping") {
      int i = Last(t, [](const Obs& o) { return o.kind == "log_shipping"; });
      if (i < 0 || t >= obs_[i].t + 30 * kMin) return 'N';
      if (!obs_[i].body().Find("active")->as_bool()) return 'F';
      auto delivered = [](const Obs& o) {
        return absl::ToUnixSeconds(*ParseRfc3339(o.body().Find("last_delivery")->as_string()));
      };
      int64_t age = obs_[i].t - delivered(obs_[i]);
      for (size_t j = i + 1; j < obs_.size(); ++j) {
        if (obs_[j].kind != "log_shipping") continue;
        if (delivered(obs_[j]) <= t) age = t - delivered(obs_[j]);
        break;
      }
      return age >= 15 * kMin ? 'F' : 'P';
    }
    if (control == "patch-sla") {
      int i = Last(t, [](const Obs& o) {
        return o.kind == "patch" ||
               (o.kind == "collector_error" && o.body().Find("collector")->as_string() == "patch");
      });
      if (i < 0 || obs_[i].kind != "patch") {
        return 'N';
      }
      if (t >= obs_[i].t + 2 * kHour) return 'N';
      // First seen: walk back over consecutive patch states.
      for (const Json& u : obs_[i].body().Find("pending")->as_array()) {
        if (!u.Find("security")->as_bool()) continue;
        const std::string& pkg = u.Find("package")->as_string();
        int64_t first = obs_[i].t;
        for (int j = i - 1; j >= 0; --j) {
          if (obs_[j].kind != "patch") continue;
          bool pending = false;
          for (const Json& v : obs_[j].body().Find("pending")->as_array()) {
            pending |= v.Find("package")->as_string() == pkg && v.Find("security")->as_bool();
          }
          if (!pending) break;
          first = obs_[j].t;
        }
        if (first + 2 * kDay <= t) return 'F';
      }
      if (obs_[i].body().Find("reboot_required")->as_bool()) {
        int64_t since = obs_[i].t;
        for (int j = i - 1; j >= 0; --j) {
          if (obs_[j].kind != "patch") continue;
          if (!obs_[j].body().Find("reboot_required")->as_bool()) break;
          since = obs_[j].t;
        }
        if (since + kDay <= t) return 'F';
      }
      return 'P';
    }
    // access-approved
    for (const Obs& o : obs_) {
      if (o.kind != "access_change" || o.t + kDay > t) continue;
      auto a = approvals_.find(o.body().Find("id")->as_string());
      if (a == approvals_.end() || a->second > t) return 'F';
    }
    return 'P';
  }

  const std::vector<Obs>& obs_;
  const std::map<std::string, int64_t>& approvals_;
  bool excepted_host_;
};

int Ctl(const std::vector<std::string>& args, const std::string& dir, std::string* out = nullptr) {
  std::vector<std::string> argv = {BinaryPath("attestctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = ChildProcess::Start(argv, dir + "/attestctl.log", dir + "/out.txt");
  if (!child.ok()) return -1;
  auto rc = child->Wait(absl::Minutes(5));
  if (out != nullptr) *out = ReadAll(dir + "/out.txt");
  return rc.ok() ? *rc : -1;
}

TEST(EnginePipelineTest, ReportMatchesAnIndependentRecomputationIncludingLateEvidence) {
  const std::string dir = FreshDir("engine_pipeline");
  std::ofstream(dir + "/policy.yaml") << Policy();
  DaemonHarness daemon(dir, nullptr, {"--policy", dir + "/policy.yaml", "--judge-delay", "0s"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const std::string sim = dir + "/sim.jsonl";
  ASSERT_EQ(Ctl({"simulate", "--hosts", std::to_string(kHosts), "--days", std::to_string(kDays),
                 "--seed", "11", "--start", T(kStart), "--out", sim},
                dir),
            0)
      << ReadAll(dir + "/attestctl.log");

  // Read the history; split each host's records: the first 60% now, the
  // rest later (late evidence, as from an agent's spool after an outage).
  std::map<std::string, std::vector<Obs>> hosts;
  std::ifstream in(sim);
  std::string line;
  std::ofstream first(dir + "/first.jsonl"), second(dir + "/second.jsonl");
  while (std::getline(in, line)) {
    auto j = Json::Parse(line);
    ASSERT_TRUE(j.ok());
    Obs o{absl::ToUnixSeconds(*ParseRfc3339(j->Find("observed_at")->as_string())),
          *j->Find("seq")->as_uint(), *j, j->Find("kind")->as_string()};
    hosts[j->Find("host")->as_string()].push_back(std::move(o));
  }
  for (const auto& [host, obs] : hosts) {
    for (size_t i = 0; i < obs.size(); ++i) {
      (i < obs.size() * 6 / 10 ? first : second) << obs[i].line.Canonical() << "\n";
    }
  }
  first.close();
  second.close();
  std::string out;
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "import", dir + "/first.jsonl"}, dir, &out), 0)
      << ReadAll(dir + "/attestctl.log");
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "report", "--window", "w"}, dir, &out), 0);
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "import", dir + "/second.jsonl"}, dir, &out), 0)
      << ReadAll(dir + "/attestctl.log");
  EXPECT_NE(out.find("rejected 0"), std::string::npos) << out;

  // Approvals: all but the last as given; the last one late, by --at.
  std::map<std::string, int64_t> approvals;
  std::ifstream ain(sim + ".approvals");
  while (std::getline(ain, line)) {
    auto j = Json::Parse(line);
    ASSERT_TRUE(j.ok());
    approvals[j->Find("change_id")->as_string()] =
        absl::ToUnixSeconds(*ParseRfc3339(j->Find("at")->as_string()));
  }
  ASSERT_GE(approvals.size(), 1u);
  ASSERT_EQ(
      Ctl({"--daemon", daemon.address(), "approve", "--from-file", sim + ".approvals"}, dir, &out),
      0)
      << ReadAll(dir + "/attestctl.log");
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "except", "create", "--control", "log-shipping",
                 "--host", "h0002", "--start", T(kExceptStart), "--end", T(kExceptEnd), "--reason",
                 "rsyslog relay migration", "--approver", "ana", "--ticket", "CHG-7"},
                dir, &out),
            0)
      << ReadAll(dir + "/attestctl.log");

  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "report", "--window", "w", "--format", "json",
                 "--group-by", "env"},
                dir, &out),
            0)
      << ReadAll(dir + "/attestctl.log");
  auto report = Json::ParseReport(TrimWhitespace(out));
  ASSERT_TRUE(report.ok()) << out;

  // The independent recomputation.
  const char* kControls[] = {"patch-sla", "log-shipping", "access-approved", "agent-reporting",
                             "ntp"};
  std::map<std::string, std::map<char, int64_t>> want;
  std::map<std::string, int> want_deviations;
  for (const auto& [host, obs] : hosts) {
    Recompute r(obs, approvals, host == "h0002");
    for (const char* c : kControls) {
      char prev = 0;
      for (int64_t t = kWindowStart; t < kWindowEnd; t += kMin) {
        const char s = r.State(c, t);
        if (s != 0) want[c][s] += kMin;
        if (s == 'F' && prev != 'F') ++want_deviations[c];
        prev = s;
      }
    }
  }
  int total_fail = 0;
  for (const Json& c : report->Find("controls")->as_array()) {
    const std::string id = c.Find("id")->as_string();
    SCOPED_TRACE(id);
    const Json& secs = *c.Find("seconds");
    EXPECT_EQ(*secs.Find("pass")->as_int(), want[id]['P']);
    EXPECT_EQ(*secs.Find("fail")->as_int(), want[id]['F']);
    EXPECT_EQ(*secs.Find("no_evidence")->as_int(), want[id]['N']);
    EXPECT_EQ(*secs.Find("excepted")->as_int(), want[id]['E']);
    EXPECT_EQ(static_cast<int>(c.Find("deviations")->as_array().size()), want_deviations[id]);
    total_fail += static_cast<int>(want[id]['F']);
    // Groups split the same seconds.
    int64_t grouped = 0;
    for (const Json& g : report->Find("groups")->as_array()) {
      for (const Json& gc : g.Find("controls")->as_array()) {
        if (gc.Find("id")->as_string() == id)
          grouped += *gc.Find("seconds")->Find("pass")->as_int();
      }
    }
    EXPECT_EQ(grouped, want[id]['P']);
  }
  // The history is rich enough for the comparison to mean something.
  EXPECT_GT(total_fail, 0);
  EXPECT_GT(want["log-shipping"]['E'], 0);
  EXPECT_GT(want["agent-reporting"]['N'], 0);

  // The same figures as CSV: a row per control (then per group and
  // control), and a second file with a row per deviation.
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "report", "--window", "w", "--format", "csv",
                 "--group-by", "env", "--out", dir + "/report.csv"},
                dir, &out),
            0)
      << ReadAll(dir + "/attestctl.log");
  const std::string csv = ReadAll(dir + "/report.csv");
  const std::string devs_csv = ReadAll(dir + "/report-deviations.csv");
  std::vector<std::string_view> rows = Split(csv, "\r\n");
  ASSERT_GT(rows.size(), 1u);
  EXPECT_EQ(rows[0].substr(0, 44), "window,group,control,title,tsc,effectiveness");
  size_t deviation_rows = 0;
  for (std::string_view row : Split(devs_csv, "\r\n")) {
    deviation_rows += !row.empty() && row.rfind("window,", 0) != 0;
  }
  size_t want_rows = 0;
  for (const auto& [control, n] : want_deviations) want_rows += static_cast<size_t>(n);
  EXPECT_EQ(deviation_rows, want_rows);
  for (const char* c : kControls) {
    const std::string prefix = StrCat("w,,", c, ",");
    auto row = std::find_if(rows.begin(), rows.end(),
                            [&](std::string_view r) { return r.rfind(prefix, 0) == 0; });
    ASSERT_NE(row, rows.end()) << c;
    // pass_seconds is the 8th field; no field before it holds a comma here.
    std::vector<std::string_view> fields = Split(*row, ",");
    ASSERT_GE(fields.size(), 11u);
    EXPECT_EQ(fields[7], std::to_string(want[c]['P'])) << *row;
    EXPECT_EQ(fields[8], std::to_string(want[c]['F'])) << *row;
  }

  // Revoking the exception from its start gives back exactly the FAIL and
  // NO_EVIDENCE time it covered: the recomputation without any exception.
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "except", "list", "--format", "json"}, dir, &out),
            0);
  const std::string id =
      Json::ParseReport(TrimWhitespace(out))->as_array().at(0).Find("id")->as_string();
  ASSERT_EQ(Ctl({"--daemon", daemon.address(), "except", "revoke", "--id", id, "--reason",
                 "raised in error", "--at", T(kExceptStart)},
                dir, &out),
            0)
      << ReadAll(dir + "/attestctl.log");
  ASSERT_EQ(
      Ctl({"--daemon", daemon.address(), "report", "--window", "w", "--format", "json"}, dir, &out),
      0);
  report = Json::ParseReport(TrimWhitespace(out));
  ASSERT_TRUE(report.ok()) << out;
  std::map<char, int64_t> unexcepted;
  for (const auto& [host, obs] : hosts) {
    Recompute r(obs, approvals, /*excepted=*/false);
    for (int64_t t = kWindowStart; t < kWindowEnd; t += kMin) {
      if (const char st = r.State("log-shipping", t); st != 0) unexcepted[st] += kMin;
    }
  }
  EXPECT_EQ(unexcepted['E'], 0);
  for (const Json& c : report->Find("controls")->as_array()) {
    if (c.Find("id")->as_string() != "log-shipping") continue;
    const Json& secs = *c.Find("seconds");
    EXPECT_EQ(*secs.Find("excepted")->as_int(), 0);
    EXPECT_EQ(*secs.Find("fail")->as_int(), unexcepted['F']);
    EXPECT_EQ(*secs.Find("no_evidence")->as_int(), unexcepted['N']);
    EXPECT_EQ(*secs.Find("pass")->as_int(), unexcepted['P']);
    EXPECT_GT(*secs.Find("fail")->as_int() + *secs.Find("no_evidence")->as_int(),
              want["log-shipping"]['F'] + want["log-shipping"]['N'])
        << "the excepted time is FAIL or NO_EVIDENCE again";
  }

  // An auditor's sample: the same seed draws the same host-days, with the
  // same evidence, after the daemon restarts.
  const std::vector<std::string> sample = {
      "--daemon", daemon.address(), "sample", "--window", "w",   "--control", "log-shipping", "--n",
      "6",        "--seed",         "7",      "--format", "json"};
  ASSERT_EQ(Ctl(sample, dir, &out), 0) << ReadAll(dir + "/attestctl.log");
  auto before = Json::ParseReport(TrimWhitespace(out));
  ASSERT_TRUE(before.ok()) << out;
  ASSERT_TRUE(daemon.Stop().ok());
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  ASSERT_EQ(Ctl(sample, dir, &out), 0) << ReadAll(dir + "/attestctl.log");
  auto after = Json::ParseReport(TrimWhitespace(out));
  ASSERT_TRUE(after.ok()) << out;
  before->as_object().erase("computed_at");
  after->as_object().erase("computed_at");
  EXPECT_EQ(after->Canonical(), before->Canonical());
  EXPECT_EQ(after->Find("items")->as_array().size(), 6u);
}

}  // namespace
}  // namespace attest
