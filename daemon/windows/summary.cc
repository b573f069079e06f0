#include "daemon/windows/summary.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/records.h"
#include "daemon/engine/scan.h"
#include "daemon/store/keys.h"
#include "daemon/windows/verdict.h"

namespace attest::windows {
namespace {

using engine::DayOf;
using engine::kDaySeconds;
using engine::Seconds;

struct Span {
  Seconds start;
  Seconds end;  // min(window end, now)
};

v1::ControlSummary Start(const engine::Control& c, const std::vector<std::string>& versions) {
  v1::ControlSummary cs;
  cs.set_id(c.id);
  cs.set_title(c.title);
  for (const auto& t : c.tsc) cs.add_tsc(t);
  for (const auto& v : versions) cs.add_policy_versions(v);
  cs.mutable_seconds();
  return cs;
}

// The versions in force at some point of the span.
std::vector<std::string> VersionsIn(const engine::EngineState& state, Span span) {
  std::vector<std::string> out;
  for (size_t i = 0; i < state.policies.size(); ++i) {
    const Seconds start = i == 0 ? 0 : state.policies[i].record.loaded_at().seconds();
    const Seconds end = i + 1 < state.policies.size()
                            ? state.policies[i + 1].record.loaded_at().seconds()
                            : engine::kForever;
    // A version recorded again under a newer judgement is listed once.
    const std::string& version = state.policies[i].record.version();
    if (start < span.end && end > span.start && (out.empty() || out.back() != version)) {
      out.push_back(version);
    }
  }
  return out;
}

// A host in the window's scope, with its view (null: never judged).
struct InScope {
  const std::string* host;
  const engine::HostView* view;
  uint32_t rank;  // position in host order
};

std::vector<InScope> HostsInScope(const engine::EngineState& state, const v1::WindowDef& w) {
  std::vector<InScope> out;
  for (const auto& [host, eh] : state.hosts) {
    if (!engine::SelectorMatches(w.scope(), eh.labels())) continue;
    auto view = state.views.find(host);
    out.push_back({&host, view == state.views.end() ? nullptr : &view->second,
                   static_cast<uint32_t>(out.size())});
  }
  return out;
}

// A deviation clipped to the span, pointing into the engine's state.
struct Hit {
  Seconds start;
  Seconds end;
  uint32_t rank;  // the host's, so that (start, rank) is (start, host) order
  const std::string* host;
  const std::string* cause;
};

// Deviations of `control` within the span on the hosts in scope, longer
// than the control's grace, in (start, host) order.
std::vector<Hit> Deviations(const std::vector<InScope>& hosts, const engine::Control& c,
                            Span span) {
  const Seconds grace = engine::ToSeconds(c.grace);
  std::vector<Hit> hits;
  for (const InScope& h : hosts) {
    if (h.view == nullptr) continue;
    auto runs = h.view->deviations.find(c.id);
    if (runs == h.view->deviations.end()) continue;
    for (const engine::DeviationRun& r : runs->second) {
      const Seconds a = std::max(r.start, span.start);
      const Seconds b = std::min(r.end, span.end);
      if (b <= a || b - a <= grace) continue;
      hits.push_back({a, b, h.rank, h.host, &r.cause});
    }
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) {
    return x.start != y.start ? x.start < y.start : x.rank < y.rank;
  });
  return hits;
}

void AddDeviation(v1::ControlSummary* cs, const Hit& h) {
  v1::DeviationSummary* d = cs->add_deviations();
  d->set_host(*h.host);
  d->mutable_start()->set_seconds(h.start);
  d->mutable_end()->set_seconds(h.end);
  d->set_cause(*h.cause);
  d->set_seconds(h.end - h.start);
}

// Seconds from per-host day records of hosts in scope, within [from, to).
template <typename Sink>
absl::Status HostSeconds(store::Store& store, const engine::EngineState& state,
                         const v1::WindowDef& w, uint32_t first_day, uint32_t last_day,
                         Seconds from, Seconds to, Sink sink) {
  for (const auto& entry : state.hosts) {
    // Named references, not a structured binding: clang 14 cannot capture one.
    const std::string& host = entry.first;
    const auto& eh = entry.second;
    if (!engine::SelectorMatches(w.scope(), eh.labels())) continue;
    absl::Status s = store.Scan(
        store::Family::kTimeline, engine::keys::HostDayFrom(host, first_day),
        engine::keys::HostDayFrom(host, last_day + 1), [&](std::string_view, std::string_view v) {
          v1::HostDay d;
          if (!d.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
          v1::StateSeconds c = engine::Clip(d, from, to);
          if (engine::Total(c) > 0) sink(host, eh, d, c);
          return true;
        });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// One control's figures over the window (full days from the aggregates,
// the day in progress and the deviations from the hosts' views).
absl::StatusOr<v1::ControlSummary> SummarizeControl(
    const engine::Control& c, store::Store& store, const v1::WindowDef& w, Span span, Seconds now_s,
    const std::vector<std::string>& versions, const std::vector<InScope>& in_scope, bool daily) {
  v1::ControlSummary cs = Start(c, versions);
  auto add_day = [&](uint32_t day, const v1::StateSeconds& secs) {
    if (!daily) return;
    v1::DayFigures* d = cs.add_days();
    d->set_day(FormatRfc3339(absl::FromUnixSeconds(static_cast<int64_t>(day) * kDaySeconds))
                   .substr(0, 10));
    *d->mutable_seconds() = secs;
  };
  if (span.end > span.start) {
    const uint32_t first_day = DayOf(span.start);
    const uint32_t last_day = DayOf(span.end - 1);
    // A day is complete when its part of the window is in the past.
    const uint32_t open_day = DayOf(now_s);
    const bool has_open_day =
        last_day == open_day &&
        std::min<Seconds>(w.end().seconds(), (open_day + 1) * kDaySeconds) > now_s;
    absl::Status s =
        store.Scan(store::Family::kRollup, engine::keys::WindowDay(w.id(), c.id, first_day),
                   engine::keys::WindowDay(w.id(), c.id, last_day + 1),
                   [&](std::string_view key, std::string_view v) {
                     if (has_open_day && key == engine::keys::WindowDay(w.id(), c.id, open_day))
                       return true;
                     v1::WindowDay agg;
                     if (!agg.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
                     engine::AddSeconds(cs.mutable_seconds(), agg.seconds());
                     // The key ends with the day (big-endian 32 bits).
                     uint32_t day = 0;
                     for (size_t i = key.size() - 4; i < key.size(); ++i) {
                       day = (day << 8) | static_cast<unsigned char>(key[i]);
                     }
                     add_day(day, agg.seconds());
                     cs.set_hosts(std::max(cs.hosts(), agg.hosts()));
                     return true;
                   });
    if (!s.ok()) return s;
    if (has_open_day) {
      // The day in progress, clipped to now, from the hosts' views (a
      // host judged past today, i.e. with evidence from the future, is
      // read from the store).
      const Seconds from = std::max<Seconds>(span.start, open_day * kDaySeconds);
      uint32_t hosts = 0;
      v1::StateSeconds today;
      for (const InScope& h : in_scope) {
        if (h.view == nullptr || h.view->day < open_day) continue;
        auto add = [&](const v1::HostDay& d) {
          if (d.control() != c.id) return;
          v1::StateSeconds secs = engine::Clip(d, from, span.end);
          if (engine::Total(secs) == 0) return;
          engine::AddSeconds(cs.mutable_seconds(), secs);
          engine::AddSeconds(&today, secs);
          ++hosts;
        };
        if (h.view->day == open_day) {
          for (const v1::HostDay& d : h.view->day_records) add(d);
          continue;
        }
        s = engine::ScanMessages<v1::HostDay>(
            store, store::Family::kTimeline, engine::keys::HostDayFrom(*h.host, open_day),
            engine::keys::HostDayFrom(*h.host, open_day + 1), add);
        if (!s.ok()) return s;
      }
      cs.set_hosts(std::max(cs.hosts(), hosts));
      add_day(open_day, today);
    }
    const std::vector<Hit> hits = Deviations(in_scope, c, span);
    cs.mutable_deviations()->Reserve(static_cast<int>(hits.size()));
    for (const Hit& h : hits) AddDeviation(&cs, h);
  }
  FinishControl(&cs, w.thresholds());
  return cs;
}

}  // namespace

absl::StatusOr<v1::WindowSummary> Summarize(const engine::EngineState& state, store::Store& store,
                                            absl::Time now, const v1::SummarizeRequest& request) {
  auto wit = state.windows.find(request.window());
  if (wit == state.windows.end()) {
    return absl::NotFoundError(attest::StrCat("no window \"", request.window(), "\""));
  }
  const engine::Policy* policy = state.current_policy();
  if (policy == nullptr)
    return absl::FailedPreconditionError("no policy is loaded (attestd --policy)");
  const v1::WindowDef& w = wit->second;
  const Seconds now_s = absl::ToUnixSeconds(now);
  const Span span{w.start().seconds(), std::min(w.end().seconds(), now_s)};
  v1::WindowSummary out;
  *out.mutable_window() = w;
  *out.mutable_computed_at() = ToProto(now);
  *out.mutable_evaluated_until() = ToProto(absl::FromUnixSeconds(std::max(span.start, span.end)));
  const std::vector<std::string> versions = VersionsIn(state, span);
  const std::vector<InScope> in_scope = HostsInScope(state, w);

  // Controls are independent: each is summarized on its own thread (a
  // large fleet's deviation lists dominate the cost).
  std::vector<std::future<absl::StatusOr<v1::ControlSummary>>> parts;
  for (const engine::Control& c : policy->controls) {
    parts.push_back(std::async(std::launch::async, [&, control = &c] {
      return SummarizeControl(*control, store, w, span, now_s, versions, in_scope, request.daily());
    }));
  }
  absl::Status failed;
  for (auto& part : parts) {
    absl::StatusOr<v1::ControlSummary> cs = part.get();
    if (!cs.ok()) {
      failed.Update(cs.status());
      continue;
    }
    *out.add_controls() = std::move(*cs);
  }
  if (!failed.ok()) return failed;

  if (!request.group_by().empty() && span.end > span.start) {
    out.set_group_by(request.group_by());
    std::map<std::string, std::map<std::string, v1::ControlSummary>> by_group;
    std::map<std::string, std::string> group_of;
    for (const auto& [host, eh] : state.hosts) {
      auto it = eh.labels().find(request.group_by());
      group_of[host] = it == eh.labels().end() ? "" : it->second;
    }
    auto group = [&](const std::string& value, const engine::Control& c) -> v1::ControlSummary& {
      auto& m = by_group[value];
      auto it = m.find(c.id);
      if (it == m.end()) it = m.emplace(c.id, Start(c, versions)).first;
      return it->second;
    };
    for (const engine::Control& c : policy->controls) {
      std::map<std::string, std::set<std::string>> hosts_in;
      absl::Status s =
          HostSeconds(store, state, w, DayOf(span.start), DayOf(span.end - 1), span.start, span.end,
                      [&](const std::string& host, const v1::EngineHost&, const v1::HostDay& d,
                          const v1::StateSeconds& secs) {
                        if (d.control() != c.id) return;
                        v1::ControlSummary& cs = group(group_of[host], c);
                        engine::AddSeconds(cs.mutable_seconds(), secs);
                        hosts_in[group_of[host]].insert(host);
                      });
      if (!s.ok()) return s;
      for (const auto& [value, hosts] : hosts_in) {
        group(value, c).set_hosts(static_cast<uint32_t>(hosts.size()));
      }
      for (const Hit& h : Deviations(in_scope, c, span))
        AddDeviation(&group(group_of[*h.host], c), h);
    }
    for (auto& [value, controls] : by_group) {
      v1::GroupSummary* g = out.add_groups();
      g->set_value(value);
      for (const engine::Control& c : policy->controls) {
        v1::ControlSummary cs = controls.count(c.id) ? controls[c.id] : Start(c, versions);
        FinishControl(&cs, w.thresholds());
        *g->add_controls() = std::move(cs);
      }
    }
  }
  if (request.without_deviations()) {  // deviation_count stays
    for (v1::ControlSummary& cs : *out.mutable_controls()) cs.clear_deviations();
    for (v1::GroupSummary& g : *out.mutable_groups()) {
      for (v1::ControlSummary& cs : *g.mutable_controls()) cs.clear_deviations();
    }
  }
  return out;
}

}  // namespace attest::windows
