// Observations the engine must not judge. attestd refuses any time before
// 2000-01-01 or more than 5 minutes ahead of its clock at the edge, but an
// older attestd stored a hello's sent_at unchecked: one hello dated
// 9999-12-31 made the engine judge every day up to it, and a store holding
// it blew up again at every start. Such observations stay in the evidence
// chain (the chain is what the host sent), and are left out of judging.
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/scan.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::engine {

namespace {

// True when `o` is dated before 2000 (a negative time sorts last) or more
// than kMaxObservationLead after its evidence record was received.
bool AheadOfReceipt(store::Store& store, const std::string& host, const v1::Observation& o) {
  if (o.t() < kEarliestObservation) return true;
  auto value = store.Get(store::Family::kEvidence, store::EvidenceKey(host, o.index()));
  v1::EvidenceRecord r;
  if (!value.ok() || !r.ParseFromString(*value)) return false;  // cannot tell: keep it
  return o.t() > r.received_at().seconds() + absl::ToInt64Seconds(kMaxObservationLead);
}

}  // namespace

absl::Status Engine::QuarantineUnjudgeable() {
  const int64_t latest =
      absl::ToUnixSeconds(clock_.Now()) + absl::ToInt64Seconds(kMaxObservationLead);
  for (auto& [host_key, eh] : state_.hosts) {
    if (eh.indexed_through() == 0) continue;
    const std::string& host = host_key;  // clang 14 cannot capture a binding
    store::WriteBatch batch;
    uint64_t found = 0;
    int64_t first_bad = 0;
    // Keys order t as an unsigned number: [0, 2000) sits first, and both
    // the future and negative times sit last. Two seeks find them all.
    // `ahead`: the range after now + lead. attestd's own clock may be behind
    // (it started before time sync), so an observation there is left out
    // only if it was also ahead of when its record was received, the rule
    // indexing applies; the others are real evidence and stay.
    auto drop = [&](std::string_view begin, std::string_view end, bool ahead) {
      return store_.Scan(store::Family::kObservations, begin, end,
                         [&](std::string_view key, std::string_view value) {
                           v1::Observation o;
                           if (!o.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                             return true;
                           }
                           if (ahead && !AheadOfReceipt(store_, host, o)) return true;
                           if (found++ == 0) first_bad = o.t();
                           batch.Delete(store::Family::kObservations, std::string(key));
                           return true;
                         });
    };
    for (const auto& [prefix, key] :
         {std::pair{keys::ObservationPrefix(host), &keys::Observation},
          std::pair{keys::AccessChangePrefix(host), &keys::AccessChange}}) {
      absl::Status s = drop(key(host, 0, 0), key(host, kEarliestObservation, 0), false);
      if (s.ok()) s = drop(key(host, latest + 1, 0), store::PrefixEnd(prefix), true);
      if (!s.ok()) return s;
    }
    if (found == 0) continue;
    // Enrolment is the earliest observation left; judge the host again
    // from there, which also replaces any day records the bad ones made.
    int64_t enrolled = 0;
    absl::Status s =
        store_.Scan(store::Family::kObservations, keys::Observation(host, kEarliestObservation, 0),
                    store::PrefixEnd(keys::ObservationPrefix(host)),
                    [&](std::string_view, std::string_view value) {
                      v1::Observation o;
                      if (o.ParseFromArray(value.data(), static_cast<int>(value.size())))
                        enrolled = o.t();
                      return false;
                    });
    if (!s.ok()) return s;
    eh.set_quarantined(eh.quarantined() + found);
    eh.set_enrolled(enrolled);
    eh.set_pending_from(enrolled);
    if (eh.last_record_t() > latest || eh.last_record_t() < kEarliestObservation) {
      eh.set_last_record_t(enrolled);
    }
    batch.Put(store::Family::kEngineHosts, host, eh.SerializeAsString());
    if (s = store_.Write(batch, {.sync = true}); !s.ok()) return s;
    spdlog::warn(
        "host {}: {} stored observations are dated where no rule may judge them (the first at "
        "{}; judged are 2000-01-01 to 5m after receipt): an older attestd stored them. They stay "
        "in the evidence chain, are left out of judging (quarantined), and the host is judged "
        "again from {}",
        host, found, FormatRfc3339(absl::FromUnixSeconds(first_bad)),
        enrolled == 0 ? "its next observation" : FormatRfc3339(absl::FromUnixSeconds(enrolled)));
  }
  return absl::OkStatus();
}

}  // namespace attest::engine
