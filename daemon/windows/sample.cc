// Auditor sampling and host timelines.
#include <algorithm>

#include "absl/time/civil_time.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/host_rules.h"
#include "daemon/engine/records.h"
#include "daemon/evidence/record_json.h"
#include "daemon/store/keys.h"
#include "daemon/windows/summary.h"

namespace attest::windows {
namespace {

using engine::DayOf;
using engine::kDaySeconds;
using engine::Seconds;

constexpr char kMethod[] =
    "population: in-scope host-days sorted by (host, day); draws: SplitMix64 seeded with the "
    "seed, uniform by rejection, partial Fisher-Yates; items in draw order";

// SplitMix64 (Steele, Lea, Flood 2014): fully specified, so any tool can
// reproduce a sample from its seed.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = Next();
    while (x >= limit);
    return x % n;
  }

 private:
  uint64_t state_;
};

std::string DayName(uint32_t day) {
  absl::CivilDay d = absl::ToCivilDay(
      absl::FromUnixSeconds(static_cast<int64_t>(day) * kDaySeconds), absl::UTCTimeZone());
  char buf[16];
  snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(), d.day());
  return buf;
}

// Whether a record is evidence for a control of this rule.
bool Relevant(const v1::EvidenceRecord& r, const engine::Control& c) {
  if (r.has_gap()) return true;
  if (!r.has_signal()) return c.rule == engine::Rule::kAgentReporting;
  const v1::Signal& s = r.signal();
  switch (c.rule) {
    case engine::Rule::kAgentReporting:
      return true;
    case engine::Rule::kPatchSecuritySla:
      return s.has_patch() ||
             (s.has_collector_error() && s.collector_error().collector() == "patch");
    case engine::Rule::kLogsShippingContinuity:
      return s.has_log_shipping() ||
             (s.has_collector_error() && s.collector_error().collector() == "log_shipping");
    case engine::Rule::kAccessChangeApproved:
    case engine::Rule::kAccessReviewPerformed:
      return s.has_access_change() || s.has_access_snapshot();
    case engine::Rule::kCheckPass:
      return s.has_check() && s.check().name() == c.check;
    case engine::Rule::kHostTimeSynced:
    case engine::Rule::kHostFirewallEnabled:
    case engine::Rule::kHostServicesRunning:
    case engine::Rule::kHostSshdPolicy:
    case engine::Rule::kHostBackupFresh:
    case engine::Rule::kHostDiskEncrypted:
    case engine::Rule::kHostMacEnforcing: {
      const std::string_view kind = engine::HostKind(c.rule);
      return evidence::SignalKind(s) == kind ||
             (s.has_collector_error() && s.collector_error().collector() == kind);
    }
  }
  return false;
}

}  // namespace

uint32_t GuidanceSampleSize(uint64_t population) {
  if (population <= 5) return static_cast<uint32_t>(population);
  if (population <= 50) return 5;
  if (population <= 250) return static_cast<uint32_t>((population + 9) / 10);
  return 25;
}

absl::StatusOr<v1::SampleResponse> DrawSample(const engine::EngineState& state, store::Store& store,
                                              absl::Time now, const v1::SampleRequest& request) {
  auto wit = state.windows.find(request.window());
  if (wit == state.windows.end()) {
    return absl::NotFoundError(attest::StrCat("no window \"", request.window(), "\""));
  }
  const engine::Policy* policy = state.current_policy();
  if (policy == nullptr) return absl::FailedPreconditionError("no policy is loaded");
  auto cit = std::find_if(policy->controls.begin(), policy->controls.end(),
                          [&](const engine::Control& c) { return c.id == request.control(); });
  if (cit == policy->controls.end()) {
    return absl::NotFoundError(attest::StrCat("no control \"", request.control(), "\""));
  }
  const v1::WindowDef& w = wit->second;
  const Seconds start = w.start().seconds();
  const Seconds end = std::min(w.end().seconds(), absl::ToUnixSeconds(now));

  std::vector<v1::HostDay> population;
  if (end > start) {
    for (const auto& [host, eh] : state.hosts) {
      if (!engine::SelectorMatches(w.scope(), eh.labels())) continue;
      absl::Status s =
          store.Scan(store::Family::kTimeline, engine::keys::HostDayFrom(host, DayOf(start)),
                     engine::keys::HostDayFrom(host, DayOf(end - 1) + 1),
                     [&](std::string_view, std::string_view v) {
                       v1::HostDay d;
                       if (!d.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
                       if (d.control() == request.control() &&
                           engine::Total(engine::Clip(d, start, end)) > 0) {
                         population.push_back(std::move(d));
                       }
                       return true;
                     });
      if (!s.ok()) return s;
    }
  }
  v1::SampleResponse out;
  out.set_window(w.id());
  out.set_control(request.control());
  out.set_seed(request.seed());
  out.set_population(population.size());
  out.set_method(kMethod);
  *out.mutable_computed_at() = ToProto(now);
  SplitMix64 rng(request.seed());
  const uint32_t wanted = request.n() == 0 ? GuidanceSampleSize(population.size()) : request.n();
  out.set_n(wanted);
  const size_t n = std::min<size_t>(wanted, population.size());
  for (size_t i = 0; i < n; ++i) {
    std::swap(population[i], population[i + rng.Below(population.size() - i)]);
    const v1::HostDay& d = population[i];
    v1::SampleItem* item = out.add_items();
    item->set_host(d.host());
    item->set_day(DayName(d.day()));
    *item->mutable_intervals() = d.intervals();
    const Seconds day_start = static_cast<Seconds>(d.day()) * kDaySeconds;
    std::vector<uint64_t> indexes;
    absl::Status s =
        store.Scan(store::Family::kObservations, engine::keys::Observation(d.host(), day_start, 0),
                   engine::keys::Observation(d.host(), day_start + kDaySeconds, 0),
                   [&](std::string_view, std::string_view v) {
                     v1::Observation o;
                     if (o.ParseFromArray(v.data(), static_cast<int>(v.size())))
                       indexes.push_back(o.index());
                     return true;
                   });
    if (!s.ok()) return s;
    for (uint64_t index : indexes) {
      auto value = store.Get(store::Family::kEvidence, store::EvidenceKey(d.host(), index));
      if (!value.ok()) return value.status();
      v1::EvidenceRecord r;
      if (!r.ParseFromString(*value)) return absl::DataLossError("evidence record is corrupt");
      if (Relevant(r, *cit)) *item->add_evidence() = std::move(r);
    }
  }
  return out;
}

v1::SampleDraw RecordOfDraw(const v1::SampleResponse& sample, const v1::SampleRequest& request,
                            absl::Time drawn_at, const std::string& drawn_by) {
  v1::SampleDraw d;
  d.set_window(sample.window());
  d.set_control(sample.control());
  d.set_n(sample.n());  // as asked, or the guidance size for n = 0
  d.set_seed(sample.seed());
  d.set_population(sample.population());
  d.set_method(sample.method());
  *d.mutable_drawn_at() = ToProto(drawn_at);
  d.set_drawn_by(drawn_by);
  for (const v1::SampleItem& item : sample.items()) {
    v1::SampleDrawItem& i = *d.add_items();
    i.set_host(item.host());
    i.set_day(item.day());
    for (const v1::Interval& iv : item.intervals()) {
      engine::AddSeconds(i.mutable_seconds(), iv.state(), iv.end() - iv.start());
    }
    i.set_evidence_records(static_cast<uint32_t>(item.evidence_size()));
  }
  return d;
}

absl::StatusOr<v1::TimelineResponse> Timeline(store::Store& store,
                                              const v1::TimelineRequest& request) {
  const Seconds from = request.has_from() ? request.from().seconds() : 0;
  const Seconds to = request.has_to() ? request.to().seconds() : engine::kForever;
  if (to <= from) return absl::InvalidArgumentError("timeline: to must be after from");
  v1::TimelineResponse out;
  const uint32_t last_day = to >= engine::kForever ? UINT32_MAX - 1 : DayOf(to - 1);
  absl::Status s = store.Scan(
      store::Family::kTimeline, engine::keys::HostDayFrom(request.host(), DayOf(from)),
      engine::keys::HostDayFrom(request.host(), last_day + 1),
      [&](std::string_view, std::string_view v) {
        v1::HostDay d;
        if (!d.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
        if (d.control() != request.control()) return true;
        for (const v1::Interval& iv : d.intervals()) {
          const Seconds a = std::max(iv.start(), from);
          const Seconds b = std::min(iv.end(), to);
          if (a >= b) continue;
          auto* intervals = out.mutable_intervals();
          if (!intervals->empty()) {
            v1::Interval& last = *intervals->rbegin();
            if (last.end() == a && last.state() == iv.state() && last.cause() == iv.cause() &&
                last.policy_version() == iv.policy_version()) {
              last.set_end(b);
              continue;
            }
          }
          v1::Interval* piece = out.add_intervals();
          *piece = iv;
          piece->set_start(a);
          piece->set_end(b);
        }
        return true;
      });
  if (!s.ok()) return s;
  return out;
}

}  // namespace attest::windows
