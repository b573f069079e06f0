#include "daemon/engine/observations.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "daemon/engine/host_rules.h"

namespace attest::engine {

void AdvanceFacts(v1::JudgeFacts* f, const v1::Observation& o) {
  const Seconds t = o.t();
  if (o.what_case() != v1::Observation::kGapFrom) f->set_last_any(t);
  switch (o.what_case()) {
    case v1::Observation::kPatch: {
      auto* p = f->mutable_patch();
      google::protobuf::Map<std::string, int64_t> first_seen;
      for (const std::string& pkg : o.patch().security_pending()) {
        auto it = p->first_seen().find(pkg);
        first_seen[pkg] = it != p->first_seen().end() ? it->second : t;
      }
      p->mutable_first_seen()->swap(first_seen);
      if (!o.patch().reboot_required()) {
        p->set_reboot_since(0);
      } else if (p->reboot_since() == 0) {
        p->set_reboot_since(t);
      }
      p->set_t(t);
      break;
    }
    case v1::Observation::kLog:
      (*f->mutable_logs())[o.log().shipper()] = o.log();
      (*f->mutable_log_t())[o.log().shipper()] = t;
      break;
    case v1::Observation::kCheck:
      (*f->mutable_checks())[o.check().name()] = o;
      break;
    case v1::Observation::kAccess:
      f->set_last_access(t);
      break;
    case v1::Observation::kCollectorError:
      (*f->mutable_collector_error())[o.collector_error()] = t;
      break;
    case v1::Observation::kHost:
      (*f->mutable_host())[HostFactKey(o.host())] = o;
      break;
    default:
      break;
  }
}

void AdvanceFactsThrough(v1::JudgeFacts* f, ObservationSpan observations) {
  // The last observation of each replaced key, found from the end (a
  // hash set: a host chooses how many check names it reports in a day).
  absl::flat_hash_set<std::pair<int, std::string>> seen;
  std::vector<const v1::Observation*> last;
  for (size_t i = observations.size(); i-- > 0;) {
    const v1::Observation* it = &observations[i];
    std::pair<int, std::string> key{it->what_case(), ""};
    switch (it->what_case()) {
      case v1::Observation::kLog:
        key.second = it->log().shipper();
        break;
      case v1::Observation::kCheck:
        key.second = it->check().name();
        break;
      case v1::Observation::kHost:
        key.second = HostFactKey(it->host());
        break;
      default:
        continue;
    }
    if (!seen.insert(std::move(key)).second) continue;
    last.push_back(it);
  }
  // Everything else in order (a patch state's first-seen times depend on
  // the states before it); those kinds are never gaps.
  for (const v1::Observation& o : observations) {
    switch (o.what_case()) {
      case v1::Observation::kLog:
      case v1::Observation::kCheck:
      case v1::Observation::kHost:
        f->set_last_any(o.t());
        break;
      default:
        AdvanceFacts(f, o);
        break;
    }
  }
  const int64_t last_any = f->last_any();
  for (const v1::Observation* o : last) AdvanceFacts(f, *o);
  f->set_last_any(last_any);
}

bool ObservationFromRecord(const v1::EvidenceRecord& r, Seconds gap_from, v1::Observation* out) {
  out->Clear();
  out->set_index(r.index());
  out->set_t(r.observed_at().seconds());
  if (r.has_hello()) {
    out->set_any(true);
    return true;
  }
  if (r.has_gap()) {
    out->set_gap_from(std::min(gap_from, out->t()));
    return true;
  }
  if (!r.has_signal()) return false;
  const v1::Signal& s = r.signal();
  switch (s.kind_case()) {
    case v1::Signal::kPatch: {
      auto* p = out->mutable_patch();
      for (const v1::PendingUpdate& u : s.patch().pending()) {
        if (u.security()) p->add_security_pending(u.package());
      }
      std::sort(p->mutable_security_pending()->begin(), p->mutable_security_pending()->end());
      p->set_reboot_required(s.patch().reboot_required());
      return true;
    }
    case v1::Signal::kLogShipping: {
      auto* l = out->mutable_log();
      l->set_shipper(s.log_shipping().shipper());
      l->set_active(s.log_shipping().active());
      l->set_error(s.log_shipping().error());
      if (s.log_shipping().has_last_delivery()) {
        l->set_last_delivery(s.log_shipping().last_delivery().seconds());
      }
      return true;
    }
    case v1::Signal::kCheck:
      out->mutable_check()->set_name(s.check().name());
      out->mutable_check()->set_status(s.check().status());
      out->mutable_check()->set_detail(s.check().detail());
      return true;
    case v1::Signal::kAccessChange: {
      auto* a = out->mutable_access();
      a->set_id(s.access_change().id());
      a->set_change(s.access_change().change());
      a->set_subject(s.access_change().subject());
      return true;
    }
    case v1::Signal::kAccessSnapshot:
      out->mutable_access()->set_snapshot(true);
      return true;
    case v1::Signal::kCollectorError:
      out->set_collector_error(s.collector_error().collector());
      return true;
    case v1::Signal::kHeartbeat:
      out->set_any(true);
      return true;
    case v1::Signal::kTimeSync:
    case v1::Signal::kFirewall:
    case v1::Signal::kServices:
    case v1::Signal::kSshd:
    case v1::Signal::kBackup:
    case v1::Signal::kDiskEncryption:
    case v1::Signal::kMac:
      *out->mutable_host() = s;
      out->mutable_host()->clear_observed_at();  // the observation's t says it
      out->mutable_host()->clear_seq();
      return true;
    default:
      return false;
  }
}

}  // namespace attest::engine
