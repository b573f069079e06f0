#include "daemon/engine/records.h"

#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"

namespace attest::engine {

v1::WindowDef WindowFromPolicy(const Window& w, absl::Time now) {
  v1::WindowDef def;
  def.set_id(w.id);
  *def.mutable_start() = ToProto(w.start);
  *def.mutable_end() = ToProto(w.end);
  for (const auto& [k, v] : w.scope) (*def.mutable_scope())[k] = v;
  def.mutable_thresholds()->set_effectiveness(w.thresholds.effectiveness);
  def.mutable_thresholds()->set_coverage(w.thresholds.coverage);
  def.mutable_thresholds()->set_max_deviation_seconds(ToSeconds(w.thresholds.max_deviation));
  def.set_origin("policy");
  *def.mutable_created_at() = ToProto(now);
  return def;
}

bool SameWindow(const v1::WindowDef& a, const v1::WindowDef& b) {
  std::map<std::string, std::string> sa(a.scope().begin(), a.scope().end());
  std::map<std::string, std::string> sb(b.scope().begin(), b.scope().end());
  return a.id() == b.id() && a.start().seconds() == b.start().seconds() &&
         a.end().seconds() == b.end().seconds() && sa == sb &&
         a.thresholds().SerializeAsString() == b.thresholds().SerializeAsString();
}

bool SelectorMatches(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::optional<ExceptionSpan> ExceptionFor(const v1::Exception& x, const std::string& host,
                                          const Labels& labels, const std::string& control) {
  if (x.control() != control && x.control() != "*") return std::nullopt;
  if (!x.host().empty() ? x.host() != host : !SelectorMatches(x.selector(), labels)) {
    return std::nullopt;
  }
  ExceptionSpan span;
  span.start = x.start().seconds();
  span.end = x.end().seconds();
  if (x.has_revoked_at()) span.end = std::min(span.end, x.revoked_at().seconds());
  if (span.end <= span.start) return std::nullopt;
  span.cause = attest::StrCat("exception ", x.id(), ": ", x.reason(), " (", x.ticket(),
                              ", approved by ", x.approver(), ")");
  return span;
}

void AddSeconds(v1::StateSeconds* s, v1::ControlState state, int64_t n) {
  switch (state) {
    case v1::CONTROL_STATE_PASS:
      s->set_pass(s->pass() + n);
      break;
    case v1::CONTROL_STATE_FAIL:
      s->set_fail(s->fail() + n);
      break;
    case v1::CONTROL_STATE_EXCEPTED:
      s->set_excepted(s->excepted() + n);
      break;
    default:
      s->set_no_evidence(s->no_evidence() + n);
      break;
  }
}

void AddSeconds(v1::StateSeconds* s, const v1::StateSeconds& o, int sign) {
  s->set_pass(s->pass() + sign * o.pass());
  s->set_fail(s->fail() + sign * o.fail());
  s->set_no_evidence(s->no_evidence() + sign * o.no_evidence());
  s->set_excepted(s->excepted() + sign * o.excepted());
}

int64_t Total(const v1::StateSeconds& s) {
  return s.pass() + s.fail() + s.no_evidence() + s.excepted();
}

v1::StateSeconds Clip(const v1::HostDay& day, Seconds from, Seconds to) {
  v1::StateSeconds out;
  for (const v1::Interval& iv : day.intervals()) {
    const Seconds a = std::max(iv.start(), from);
    const Seconds b = std::min(iv.end(), to);
    if (a < b) AddSeconds(&out, iv.state(), b - a);
  }
  return out;
}

}  // namespace attest::engine
