#include "bench/engine_world.h"

#include "common/strings.h"
#include "daemon/engine/records.h"
#include "daemon/engine/scan.h"
#include "daemon/store/keys.h"

namespace attest::bench {
namespace {

// Writes in batches of this many records (the clone writes ~15M).
constexpr size_t kCloneBatch = 20000;

}  // namespace

absl::Status CloneHosts(store::Store& store, const std::vector<std::string>& templates, int count,
                        int shards) {
  struct Template {
    v1::EngineHost host;
    v1::HostState state;  // ingest's record: labels, chain head
    std::vector<v1::HostDay> days;
    std::vector<v1::DeviationRecord> deviations;
  };
  std::vector<Template> all;
  for (const std::string& name : templates) {
    Template& t = all.emplace_back();
    absl::Status s = engine::ScanPrefixMessages<v1::EngineHost>(store, store::Family::kEngineHosts,
                                                                name, [&](v1::EngineHost&& eh) {
                                                                  if (eh.host() == name)
                                                                    t.host = std::move(eh);
                                                                  return absl::OkStatus();
                                                                });
    if (!s.ok()) return s;
    if (t.host.host().empty()) return absl::NotFoundError(attest::StrCat("no host ", name));
    auto state = store.Get(store::Family::kHosts, name);
    if (!state.ok()) return state.status();
    if (!t.state.ParseFromString(*state)) return absl::DataLossError("corrupt host state");
    s = engine::ScanPrefixMessages<v1::HostDay>(store, store::Family::kTimeline,
                                                engine::keys::Str(name), [&](v1::HostDay&& d) {
                                                  t.days.push_back(std::move(d));
                                                  return absl::OkStatus();
                                                });
    if (!s.ok()) return s;
    s = engine::ScanPrefixMessages<v1::DeviationRecord>(store, store::Family::kDeviations, "",
                                                        [&](v1::DeviationRecord&& d) {
                                                          if (d.host() == name)
                                                            t.deviations.push_back(std::move(d));
                                                          return absl::OkStatus();
                                                        });
    if (!s.ok()) return s;
  }

  store::WriteBatch batch;
  size_t in_batch = 0;
  auto flush = [&](bool force) -> absl::Status {
    if (in_batch == 0 || (!force && in_batch < kCloneBatch)) return absl::OkStatus();
    absl::Status s = store.Write(batch, {.sync = false});
    batch = store::WriteBatch();
    in_batch = 0;
    return s;
  };
  for (int k = 0; k < count; ++k) {
    Template& t = all[static_cast<size_t>(k) % all.size()];
    const std::string host = attest::StrCat("c", k, "-", t.host.host());
    v1::EngineHost eh = t.host;
    eh.set_host(host);
    // Every shard holds clones of every template.
    (*eh.mutable_labels())["shard"] =
        attest::StrCat("s", (static_cast<size_t>(k) / all.size()) % static_cast<size_t>(shards));
    batch.Put(store::Family::kEngineHosts, host, eh.SerializeAsString());
    v1::HostState hs = t.state;
    hs.set_host(host);
    *hs.mutable_labels() = eh.labels();
    batch.Put(store::Family::kHosts, host, hs.SerializeAsString());
    for (v1::HostDay& d : t.days) {
      d.set_host(host);
      batch.Put(store::Family::kTimeline, engine::keys::HostDay(host, d.day(), d.control()),
                d.SerializeAsString());
    }
    for (v1::DeviationRecord& d : t.deviations) {
      d.set_host(host);
      batch.Put(store::Family::kDeviations, engine::keys::Deviation(d.control(), host, d.start()),
                d.SerializeAsString());
    }
    in_batch += 1 + t.days.size() + t.deviations.size();
    if (absl::Status s = flush(false); !s.ok()) return s;
  }
  if (absl::Status s = flush(true); !s.ok()) return s;
  // One sync at the end makes the whole clone durable.
  return store.Write(store::WriteBatch(), {.sync = true});
}

absl::StatusOr<NaiveFigures> NaiveSummary(store::Store& store, const engine::EngineState& state,
                                          const v1::WindowDef& window, int64_t to) {
  NaiveFigures out;
  const int64_t from = window.start().seconds();
  to = std::min<int64_t>(to, window.end().seconds());
  for (const auto& [host, eh] : state.hosts) {
    if (!engine::SelectorMatches(window.scope(), eh.labels())) continue;
    absl::Status s =
        store.Scan(store::Family::kTimeline, engine::keys::HostDayFrom(host, engine::DayOf(from)),
                   engine::keys::HostDayFrom(host, engine::DayOf(to - 1) + 1),
                   [&](std::string_view, std::string_view v) {
                     v1::HostDay d;
                     if (!d.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
                     engine::AddSeconds(&out.seconds[d.control()], engine::Clip(d, from, to));
                     return true;
                   });
    if (!s.ok()) return s;
    for (const engine::Control& c : state.current_policy()->controls) {
      s = engine::ScanPrefixMessages<v1::DeviationRecord>(
          store, store::Family::kDeviations, engine::keys::DeviationHostPrefix(c.id, host),
          [&](v1::DeviationRecord&& d) {
            if (d.start() < to && d.end() > from) ++out.deviations;
            return absl::OkStatus();
          });
      if (!s.ok()) return s;
    }
  }
  return out;
}

}  // namespace attest::bench
