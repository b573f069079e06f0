#include "daemon/windows/verdict.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "common/strings.h"
#include "google/protobuf/util/message_differencer.h"

namespace attest::windows {
namespace {

std::string Percent(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f%%", v * 100);
  return buf;
}

std::string Hours(int64_t s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1fh", static_cast<double>(s) / 3600);
  return buf;
}

int64_t Total(const v1::StateSeconds& s) {
  return s.pass() + s.fail() + s.no_evidence() + s.excepted();
}

void Add(v1::StateSeconds* to, const v1::StateSeconds& s) {
  to->set_pass(to->pass() + s.pass());
  to->set_fail(to->fail() + s.fail());
  to->set_no_evidence(to->no_evidence() + s.no_evidence());
  to->set_excepted(to->excepted() + s.excepted());
}

// Adds `from`'s controls into `into` (matched by id, first-seen order).
void MergeControls(const google::protobuf::RepeatedPtrField<v1::ControlSummary>& from,
                   google::protobuf::RepeatedPtrField<v1::ControlSummary>* into) {
  for (const v1::ControlSummary& c : from) {
    auto it = std::find_if(into->begin(), into->end(),
                           [&](const v1::ControlSummary& x) { return x.id() == c.id(); });
    if (it == into->end()) {
      v1::ControlSummary& n = *into->Add();
      n.set_id(c.id());
      n.set_title(c.title());
      *n.mutable_tsc() = c.tsc();
      it = into->end() - 1;
    }
    Add(it->mutable_seconds(), c.seconds());
    it->set_hosts(it->hosts() + c.hosts());
    // Daily figures (the report's heatmap) add up day by day.
    std::map<std::string, v1::StateSeconds> days;
    for (const v1::DayFigures& d : it->days()) days[d.day()] = d.seconds();
    for (const v1::DayFigures& d : c.days()) Add(&days[d.day()], d.seconds());
    it->clear_days();
    for (const auto& [day, secs] : days) {
      v1::DayFigures* d = it->add_days();
      d->set_day(day);
      *d->mutable_seconds() = secs;
    }
    for (const auto& d : c.deviations()) *it->add_deviations() = d;
    for (const std::string& v : c.policy_versions()) {
      if (std::find(it->policy_versions().begin(), it->policy_versions().end(), v) ==
          it->policy_versions().end()) {
        it->add_policy_versions(v);
      }
    }
  }
}

void FinishAll(google::protobuf::RepeatedPtrField<v1::ControlSummary>* controls,
               const v1::WindowThresholds& t) {
  for (v1::ControlSummary& c : *controls) {
    std::stable_sort(c.mutable_deviations()->begin(), c.mutable_deviations()->end(),
                     [](const auto& a, const auto& b) {
                       return std::make_tuple(a.start().seconds(), a.start().nanos(), a.host()) <
                              std::make_tuple(b.start().seconds(), b.start().nanos(), b.host());
                     });
    FinishControl(&c, t);
  }
}

}  // namespace

void FinishControl(v1::ControlSummary* cs, const v1::WindowThresholds& t) {
  const v1::StateSeconds& s = cs->seconds();
  cs->clear_findings();
  cs->clear_effectiveness();
  cs->set_in_scope_seconds(Total(s));
  if (s.pass() + s.fail() > 0) {
    cs->set_effectiveness(static_cast<double>(s.pass()) / static_cast<double>(s.pass() + s.fail()));
  }
  cs->set_coverage(cs->in_scope_seconds() == 0
                       ? 0.0
                       : static_cast<double>(s.pass() + s.fail() + s.excepted()) /
                             static_cast<double>(cs->in_scope_seconds()));
  if (cs->in_scope_seconds() == 0) cs->add_findings("no host was in scope");
  if (!cs->has_effectiveness()) {
    cs->add_findings("no PASS or FAIL evidence: effectiveness cannot be shown");
  } else if (cs->effectiveness() < t.effectiveness()) {
    cs->add_findings(attest::StrCat("effectiveness ", Percent(cs->effectiveness()), " is below ",
                                    Percent(t.effectiveness())));
  }
  if (cs->coverage() < t.coverage()) {
    cs->add_findings(
        attest::StrCat("coverage ", Percent(cs->coverage()), " is below ", Percent(t.coverage())));
  }
  int over = 0;
  int64_t longest = 0;
  for (const auto& d : cs->deviations()) {
    longest = std::max<int64_t>(longest, d.seconds());
    if (d.seconds() > t.max_deviation_seconds()) ++over;
  }
  if (over > 0) {
    cs->add_findings(attest::StrCat(over, " deviation(s) longer than the ",
                                    Hours(t.max_deviation_seconds()), " tolerance (longest ",
                                    Hours(longest), ")"));
  }
  cs->set_verdict(cs->findings().empty() ? kOperatedEffectively : kExceptionsNoted);
  cs->set_deviation_count(static_cast<uint32_t>(cs->deviations_size()));
}

absl::StatusOr<v1::WindowSummary> MergeShardSummaries(
    const std::vector<v1::WindowSummary>& shards) {
  if (shards.empty()) return absl::InvalidArgumentError("no summaries to merge");
  v1::WindowSummary out;
  *out.mutable_window() = shards[0].window();
  out.set_group_by(shards[0].group_by());
  google::protobuf::util::MessageDifferencer same;
  same.IgnoreField(v1::WindowDef::descriptor()->FindFieldByName("origin"));
  same.IgnoreField(v1::WindowDef::descriptor()->FindFieldByName("created_at"));
  for (const v1::WindowSummary& s : shards) {
    if (!same.Compare(s.window(), out.window())) {
      return absl::InvalidArgumentError(attest::StrCat(
          "the daemons define window ", out.window().id(), " differently (",
          s.window().ShortDebugString(), " vs ", out.window().ShortDebugString(), ")"));
    }
    if (s.group_by() != out.group_by()) {
      return absl::InvalidArgumentError("the summaries are grouped by different labels");
    }
    if (!out.has_computed_at() || s.computed_at().seconds() > out.computed_at().seconds()) {
      *out.mutable_computed_at() = s.computed_at();
    }
    if (!out.has_evaluated_until() ||
        s.evaluated_until().seconds() < out.evaluated_until().seconds()) {
      *out.mutable_evaluated_until() = s.evaluated_until();
    }
    for (const v1::ControlSummary& c : s.controls()) {
      if (c.deviation_count() != static_cast<uint32_t>(c.deviations_size())) {
        return absl::InvalidArgumentError(
            "a summary without its deviation lists cannot be merged (verdicts need them)");
      }
    }
    MergeControls(s.controls(), out.mutable_controls());
    for (const v1::GroupSummary& g : s.groups()) {
      auto it = std::find_if(out.mutable_groups()->begin(), out.mutable_groups()->end(),
                             [&](const v1::GroupSummary& x) { return x.value() == g.value(); });
      if (it == out.mutable_groups()->end()) {
        out.add_groups()->set_value(g.value());
        it = out.mutable_groups()->end() - 1;
      }
      MergeControls(g.controls(), it->mutable_controls());
    }
  }
  FinishAll(out.mutable_controls(), out.window().thresholds());
  std::sort(out.mutable_groups()->begin(), out.mutable_groups()->end(),
            [](const auto& a, const auto& b) { return a.value() < b.value(); });
  for (v1::GroupSummary& g : *out.mutable_groups()) {
    FinishAll(g.mutable_controls(), out.window().thresholds());
  }
  return out;
}

}  // namespace attest::windows
