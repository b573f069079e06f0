// The suffix rule against the judge itself: random host histories with
// signed states every four hours, each judged from its whole chain and
// from every state's suffix. Wherever the rule says a suffix suffices, the
// window's states must be the same to the second, cause for cause; and the
// rule must refuse suffixes that would really judge differently. (Each
// condition alone: suffix_rule_test.cc.)
#include "daemon/engine/suffix.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "common/strings.h"
#include "daemon/engine/judge_test_support.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using testing_support::kD;
using testing_support::kH;
using testing_support::T0;

constexpr Seconds kStateEvery = 4 * kH;
constexpr Seconds kLead = 300;  // kMaxObservationLead

// One evidence record as the suffix rule sees it: when attestd received it,
// and its observation (gap_from still to be set from the previous record).
struct Record {
  Seconds received;
  v1::Observation o;
};

Control Make(std::string id, Rule rule, Seconds fresh) {
  Control c;
  c.id = std::move(id);
  c.rule = rule;
  c.freshness = fresh >= kForever ? absl::InfiniteDuration() : absl::Seconds(fresh);
  return c;
}

// The policy before and after a change ten days into the window.
struct Policies {
  std::vector<Control> v1;
  std::vector<Control> v2;

  Policies() {
    v1.push_back(Make("agent", Rule::kAgentReporting, 30 * 60));
    Control patch = Make("patch", Rule::kPatchSecuritySla, kD);
    patch.security_max_age = absl::Hours(7 * 24);
    patch.reboot_grace = absl::Hours(48);
    v1.push_back(patch);
    Control logs = Make("logs", Rule::kLogsShippingContinuity, kH);
    logs.max_gap = absl::Hours(2);
    v1.push_back(logs);
    Control vector = Make("vector", Rule::kLogsShippingContinuity, kH);
    vector.shipper = "vector";
    vector.max_gap = absl::Hours(6);
    v1.push_back(vector);
    Control disk = Make("disk", Rule::kCheckPass, 2 * kH);
    disk.check = "disk";
    v1.push_back(disk);
    Control verify = Make("verify", Rule::kCheckPass, kD);
    verify.check = "backup_verify";
    v1.push_back(verify);
    Control time = Make("time", Rule::kHostTimeSynced, 2 * kH);
    time.require_daemon = false;
    v1.push_back(time);
    Control backup = Make("backup", Rule::kHostBackupFresh, kD);
    backup.backup_max_age = absl::Hours(48);
    v1.push_back(backup);
    Control access = Make("access", Rule::kAccessChangeApproved, 2 * kD);
    access.approval_window = absl::Hours(24);
    v1.push_back(access);
    // Without a freshness it reads only the access changes, and nothing
    // bounds when the state was signed but the rule's own condition.
    Control changes = Make("changes", Rule::kAccessChangeApproved, kForever);
    changes.approval_window = absl::Hours(24);
    v1.push_back(changes);
    // No campaign ever completes: FAIL from a cadence after enrolment.
    Control review = Make("review", Rule::kAccessReviewPerformed, kForever);
    review.review_cadence = absl::Hours(54);
    review.revoke_within = absl::Hours(24);
    v1.push_back(review);
    v2 = v1;
    v2[1].security_max_age = absl::Hours(3 * 24);
    v2[1].freshness = absl::Hours(48);
    v2[4].freshness = absl::Hours(3);
  }

  std::vector<const Control*> All() const {
    std::vector<const Control*> all;
    for (const Control& c : v1) all.push_back(&c);
    for (const Control& c : v2) all.push_back(&c);
    return all;
  }
};

// A host's history: a heartbeat every few minutes to an hour, with the
// other signals mixed in, silences of hours to days, pending packages that
// stay for days to months, a shipper and a check that stop for good.
class History {
 public:
  History(uint64_t seed, Seconds days) : rng_(seed), end_(T0 + days * kD) {
    Seconds r = T0 + Uniform(0, kD);
    const Seconds vector_stops = T0 + Uniform(days / 3, days + 20) * kD;
    const Seconds verify_stops = T0 + Uniform(days / 2, days + 20) * kD;
    uint64_t change = 0;
    while (r < end_) {
      if (Chance(0.0015)) r += Uniform(2 * kH, 4 * kD);  // the agent is silent
      r += Uniform(60, kH);
      Record rec{r, {}};
      v1::Observation& o = rec.o;
      o.set_t(r - (Chance(0.1) ? Uniform(-kLead, 0) : Uniform(0, 600)));
      const double pick = Uniform(0, 999) / 1000.0;
      if (pick < 0.35) {
        o.set_any(true);
      } else if (pick < 0.45) {
        Patch(&o);
      } else if (pick < 0.55) {
        auto* l = o.mutable_log();
        l->set_shipper(r < vector_stops && Chance(0.5) ? "vector" : "rsyslog");
        l->set_active(!Chance(0.03));
        if (Chance(0.02)) l->set_error("journal unreadable");
        l->set_last_delivery(Chance(0.05) ? o.t() - 3 * kH : o.t() - Uniform(0, 600));
      } else if (pick < 0.65) {
        auto* c = o.mutable_check();
        c->set_name(r < verify_stops && Chance(0.4) ? "backup_verify" : "disk");
        c->set_status(Chance(0.9)
                          ? v1::CHECK_STATUS_OK
                          : (Chance(0.5) ? v1::CHECK_STATUS_CRITICAL : v1::CHECK_STATUS_UNKNOWN));
      } else if (pick < 0.72) {
        auto* t = o.mutable_host()->mutable_time_sync();
        t->set_synchronized(!Chance(0.05));
        t->set_est_error_us(Chance(0.05) ? 500000 : 2000);
      } else if (pick < 0.78) {
        auto* b = o.mutable_host()->mutable_backup();
        b->set_name("restic");
        last_backup_ = Chance(0.7) ? o.t() - Uniform(0, 6 * kH) : last_backup_;
        if (last_backup_ > 0) b->mutable_last_success()->set_seconds(last_backup_);
      } else if (pick < 0.83) {
        auto* a = o.mutable_access();
        a->set_snapshot(true);
      } else if (pick < 0.835) {
        auto* a = o.mutable_access();
        a->set_id("c" + std::to_string(++change));
        a->set_change(v1::ACCESS_CHANGE_KIND_USER_ADDED);
        a->set_subject("u" + std::to_string(change));
        if (!Chance(0.2)) approvals_[a->id()].push_back({o.t() + Uniform(0, 30 * kH), true});
      } else if (pick < 0.86) {
        static const char* kCollectors[] = {"checks", "patch",     "log_shipping",
                                            "backup", "time_sync", "access"};
        o.set_collector_error(kCollectors[Uniform(0, 5)]);
      } else if (pick < 0.865) {
        o.set_gap_from(0);  // set from the previous record when judged
      } else {
        o.set_any(true);
      }
      o.set_index(records_.size() + 1);
      records_.push_back(std::move(rec));
    }
  }

  // The observations of the records from `first` (a 0-based position) on,
  // sorted as the engine reads them. A gap runs from the previous record's
  // time, as the engine indexes it; the first record has none before it.
  std::vector<v1::Observation> From(size_t first) const {
    std::vector<v1::Observation> out;
    for (size_t i = first; i < records_.size(); ++i) {
      v1::Observation o = records_[i].o;
      if (o.what_case() == v1::Observation::kGapFrom) {
        o.set_gap_from(std::min(i > first ? records_[i - 1].o.t() : o.t(), o.t()));
      }
      out.push_back(std::move(o));
    }
    std::sort(out.begin(), out.end(), [](const v1::Observation& a, const v1::Observation& b) {
      return a.t() != b.t() ? a.t() < b.t() : a.index() < b.index();
    });
    return out;
  }

  // The 0-based position of the head record of the state made at `created`.
  std::optional<size_t> HeadAt(Seconds created) const {
    auto it = std::upper_bound(records_.begin(), records_.end(), created,
                               [](Seconds t, const Record& r) { return t < r.received; });
    if (it == records_.begin()) return std::nullopt;
    return static_cast<size_t>(it - records_.begin()) - 1;
  }

  const ApprovalsByChange& approvals() const { return approvals_; }

 private:
  Seconds Uniform(Seconds lo, Seconds hi) {
    return std::uniform_int_distribution<Seconds>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Pending security packages come and go; one may stay for months.
  void Patch(v1::Observation* o) {
    static const char* kPackages[] = {"openssl", "libc6", "sudo", "curl", "tzdata"};
    if (Chance(0.01)) pending_.insert(kPackages[Uniform(0, 4)]);
    if (Chance(0.0005)) pending_.insert(Chance(0.5) ? "linux-image-amd64" : "openssh-server");
    std::erase_if(pending_, [&](const std::string& p) {
      return Chance(p.starts_with("linux") || p.starts_with("openssh") ? 0.002 : 0.05);
    });
    if (Chance(reboot_ ? 0.03 : 0.004)) reboot_ = !reboot_;  // a reboot is due for hours
    auto* p = o->mutable_patch();
    for (const std::string& name : pending_) p->add_security_pending(name);
    p->set_reboot_required(reboot_);
  }

  std::mt19937_64 rng_;
  Seconds end_;
  std::vector<Record> records_;
  std::set<std::string> pending_;
  bool reboot_ = false;
  Seconds last_backup_ = 0;
  ApprovalsByChange approvals_;
};

using Judged = std::map<std::string, std::vector<v1::Interval>>;

// A control's intervals, every field the window summary reads.
std::string Text(const std::vector<v1::Interval>& intervals) {
  std::string s;
  for (const v1::Interval& iv : intervals) {
    s += StrCat("[", CauseTime(iv.start()), ", ", CauseTime(iv.end()), ") ",
                testing_support::Letter(iv.state()), " ", iv.policy_version(), " ", iv.cause(),
                "\n");
  }
  return s;
}

bool Same(const Judged& a, const Judged& b) {
  for (const auto& [control, intervals] : a) {
    if (Text(intervals) != Text(b.at(control))) return false;
  }
  return true;
}

// Every control's intervals until `to`, judged from `observations` with
// nothing known before them.
Judged Judge(const std::vector<v1::Observation>& observations,
             const std::vector<v1::Observation>& changes, const Policies& policies,
             const ApprovalsByChange& approvals, Seconds window_start, Seconds to) {
  const Seconds switch_at = window_start + 10 * kD;
  Judged out;
  const v1::JudgeFacts none;
  for (size_t i = 0; i < policies.v1.size(); ++i) {
    JudgeInput in;
    in.facts = &none;
    in.observations = observations;
    in.access_changes = changes;
    in.scope_start = observations.front().t();
    in.from = DayStart(in.scope_start);
    in.to = to;
    in.segments = {PolicySegment{0, switch_at, &policies.v1[i], "v1"},
                   PolicySegment{switch_at, kForever, &policies.v2[i], "v2"}};
    if (i == 1) in.exceptions = {{window_start + 3 * kD, window_start + 5 * kD, "exception EX-1"}};
    in.approvals = &approvals;
    out[policies.v1[i].id] = JudgeControl(in);
  }
  return out;
}

// Each control's FAIL intervals, with their causes.
Judged Failures(Judged judged) {
  for (auto& [control, intervals] : judged) {
    std::erase_if(intervals,
                  [](const v1::Interval& iv) { return iv.state() != v1::CONTROL_STATE_FAIL; });
  }
  return judged;
}

// The intervals from `from` on.
Judged From(const Judged& judged, Seconds from) {
  Judged out;
  for (const auto& [control, intervals] : judged) {
    std::vector<v1::Interval>& got = out[control];
    for (v1::Interval iv : intervals) {
      if (iv.end() <= from) continue;
      iv.set_start(std::max(iv.start(), from));
      got.push_back(std::move(iv));
    }
  }
  return out;
}

std::vector<v1::Observation> Changes(const std::vector<v1::Observation>& observations) {
  std::vector<v1::Observation> changes;
  for (const v1::Observation& o : observations) {
    if (o.has_access() && !o.access().snapshot()) changes.push_back(o);
  }
  return changes;
}

struct Tally {
  int suffices = 0;
  int refused = 0;
  int refused_and_different = 0;  // of those judged
  int fixed_early = 0;            // accepted suffixes fixed from before the window's start
  std::map<std::string, int> refused_why;
  std::vector<Seconds> latest_lead;  // window start - the latest sufficient state, per host
};

// Judges one host whole and from every state in the `look_back` before the
// window's start, checking the rule against what the judge says.
void CheckHost(uint64_t seed, Seconds days, Seconds window_days, Seconds look_back, Tally* tally) {
  const Policies policies;
  const History history(seed, days);
  const Seconds window_start = T0 + (days - window_days) * kD + 7 * kH + 13 * 60;
  const Seconds to = T0 + days * kD;
  const std::vector<v1::Observation> whole = history.From(0);
  const std::vector<v1::Observation> changes = Changes(whole);
  const Judged all = Judge(whole, changes, policies, history.approvals(), window_start, to);
  const Judged want = From(all, window_start);

  std::optional<Seconds> latest;
  int checked = 0;  // refused states
  for (Seconds created = (window_start / kStateEvery) * kStateEvery;
       created > window_start - look_back; created -= kStateEvery) {
    const std::optional<size_t> head = history.HeadAt(created);
    if (!head.has_value()) break;
    const std::vector<v1::Observation> suffix = history.From(*head);
    SuffixInput in;
    in.prefix_bound = created + kLead;
    in.window_start = window_start;
    in.controls = policies.All();
    in.observations = suffix;
    const absl::Status rule = SuffixSuffices(in);
    if (!rule.ok()) {
      ++tally->refused;
      ++tally->refused_why[std::string(rule.message().substr(0, 24))];
    }
    // Refused states are judged too, to show that refusals matter, but not
    // every one of every host.
    if (!rule.ok() && checked++ % 4 != 0) continue;
    const Judged got = Judge(suffix, changes, policies, history.approvals(), window_start, to);
    if (rule.ok()) {
      ++tally->suffices;
      if (!latest.has_value()) {
        latest = created;
        // Per control, every state from the moment the rule fixes that
        // control, and the FAIL states from the moment it fixes them (what
        // a deviation in progress at the window's start needs).
        SuffixInput one = in;
        for (size_t i = 0; i < policies.v1.size(); ++i) {
          one.controls = {&policies.v1[i], &policies.v2[i]};
          const std::string& id = policies.v1[i].id;
          for (const bool fail_runs_only : {false, true}) {
            one.fail_runs_only = fail_runs_only;
            const std::optional<Seconds> from = EarliestSufficient(one);
            ASSERT_TRUE(from.has_value());
            auto states = [&](const Judged& judged) {
              const Judged clipped = From(judged, *from);
              return Text((fail_runs_only ? Failures(clipped) : clipped).at(id));
            };
            ASSERT_EQ(states(all), states(got))
                << "seed " << seed << ", control " << id << ", from " << CauseTime(*from)
                << (fail_runs_only ? ", FAIL states" : "");
          }
        }
      }
      // The same from the window's start, and from the earliest moment
      // the rule fixes.
      const std::optional<Seconds> fixed = EarliestSufficient(in);
      ASSERT_TRUE(fixed.has_value() && *fixed <= window_start);
      tally->fixed_early += *fixed < window_start;
      for (const Seconds from : {window_start, *fixed}) {
        const Judged a = From(all, from);
        const Judged b = From(got, from);
        for (const auto& [control, intervals] : a) {
          ASSERT_EQ(Text(intervals), Text(b.at(control)))
              << "seed " << seed << ", control " << control << ", state at " << CauseTime(created)
              << ", from " << CauseTime(from);
        }
      }
    } else if (!Same(want, From(got, window_start))) {
      ++tally->refused_and_different;
    }
  }
  if (latest.has_value()) tally->latest_lead.push_back(window_start - *latest);
}

TEST(SuffixTest, SufficientSuffixesJudgeTheWindowAsTheWholeChain) {
  Tally tally;
  constexpr int kHosts = 12;
  for (uint64_t seed = 1; seed <= kHosts; ++seed) {
    CheckHost(seed, /*days=*/75, /*window_days=*/30, /*look_back=*/20 * kD, &tally);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::string why = StrCat(tally.suffices, " sufficed; ", tally.refused, " refused, of which ",
                           tally.refused_and_different, " judged differently:\n");
  for (const auto& [reason, n] : tally.refused_why) StrAppend(&why, reason, "...: ", n, "\n");
  // Not vacuous: many suffixes pass, and the rule refuses suffixes that
  // really would judge the window differently.
  EXPECT_GT(tally.suffices, 100) << why;
  EXPECT_GT(tally.refused_and_different, 0) << why;
  EXPECT_GT(tally.fixed_early * 2, tally.suffices) << why;
  // And a bundle's size follows the window: for two hosts in three the
  // state used is within four days of the window's start (the longest
  // freshness is two days; the rest wait for a pending package's run).
  const auto near = std::count_if(tally.latest_lead.begin(), tally.latest_lead.end(),
                                  [](Seconds lead) { return lead <= 4 * kD; });
  EXPECT_GE(near * 3, kHosts * 2) << why;
}

TEST(SuffixTest, AYearOfHistoryBeforeTheWindow) {
  Tally tally;
  CheckHost(/*seed=*/2026, /*days=*/395, /*window_days=*/30, /*look_back=*/5 * kD, &tally);
  EXPECT_GT(tally.suffices, 0);
}

}  // namespace
}  // namespace attest::engine
