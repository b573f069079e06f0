#include "daemon/ingest/validate.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "common/names.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/ingest/validate_internal.h"

namespace attest::ingest {
namespace {

// Earliest plausible observation; older timestamps are clock bugs.
const absl::Time kEarliest = absl::FromUnixSeconds(946684800);  // 2000-01-01
// google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31.
constexpr int64_t kTimestampMinSeconds = -62135596800;
constexpr int64_t kTimestampMaxSeconds = 253402300799;
// absl::Status payloads: the refused seq (decimal), and "this becomes
// acceptable as time passes".
constexpr char kRefusedSeqPayload[] = "type.attest.dev/refused-seq";
constexpr char kRetryLaterPayload[] = "type.attest.dev/retry-later";

}  // namespace

namespace internal {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(attest::StrCat(field, ": ", what));
}

absl::Status CheckString(std::string_view field, const std::string& value, size_t max,
                         bool required) {
  if (required && value.empty()) return Invalid(field, "required");
  if (value.size() > max) return Invalid(field, attest::StrCat("longer than ", max, " bytes"));
  return absl::OkStatus();
}

}  // namespace internal

namespace {

using internal::CheckString;
using internal::Invalid;

// A time the agent claims. `oldest`: the earliest time accepted.
absl::Status CheckTimestamp(std::string_view field, const google::protobuf::Timestamp& ts,
                            absl::Time now, absl::Time oldest, const Limits& limits) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) return Invalid(field, "nanos out of range");
  if (ts.seconds() < kTimestampMinSeconds || ts.seconds() > kTimestampMaxSeconds) {
    return Invalid(field, "not a timestamp (years 1 to 9999)");
  }
  const absl::Time t = FromProto(ts);
  if (t < kEarliest) return Invalid(field, "before 2000-01-01 (unset or a clock bug)");
  if (t < oldest) {
    return Invalid(field,
                   attest::StrCat("older than ", absl::FormatDuration(limits.max_evidence_age),
                                  " before the daemon's clock (", FormatRfc3339(t),
                                  "; attestd --max-evidence-age)"));
  }
  if (t > now + limits.max_future_skew) {
    absl::Status s =
        Invalid(field, attest::StrCat("in the future (", FormatRfc3339(t), " is more than ",
                                      absl::FormatDuration(limits.max_future_skew),
                                      " after the daemon's clock, ", FormatRfc3339(now), ")"));
    s.SetPayload(kRetryLaterPayload, absl::Cord("1"));
    return s;
  }
  return absl::OkStatus();
}

// When the observation was made: within max_evidence_age of now.
absl::Status CheckObservedTime(std::string_view field, const google::protobuf::Timestamp& ts,
                               absl::Time now, const Limits& limits) {
  const absl::Time oldest =
      limits.max_evidence_age > absl::ZeroDuration() ? now - limits.max_evidence_age : kEarliest;
  return CheckTimestamp(field, ts, now, oldest, limits);
}

}  // namespace

namespace internal {

absl::Status CheckReportedTime(std::string_view field, const google::protobuf::Timestamp& ts,
                               absl::Time now, const Limits& limits) {
  return CheckTimestamp(field, ts, now, kEarliest, limits);
}

}  // namespace internal

namespace {

using internal::CheckReportedTime;

#define ATTEST_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

absl::Status ValidatePatch(const v1::PatchState& p, const Limits& l) {
  if (p.package_manager() == v1::PACKAGE_MANAGER_UNSPECIFIED ||
      !v1::PackageManager_IsValid(p.package_manager())) {
    return Invalid("patch.package_manager", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("patch.os", p.os(), l.max_string_bytes, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("patch.kernel_running", p.kernel_running(), l.max_string_bytes, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("patch.kernel_latest", p.kernel_latest(), l.max_string_bytes, false));
  if (static_cast<size_t>(p.pending_size()) > l.max_pending_updates) {
    return Invalid("patch.pending",
                   attest::StrCat("more than ", l.max_pending_updates, " entries"));
  }
  for (int i = 0; i < p.pending_size(); ++i) {
    const auto& u = p.pending(i);
    const std::string f = attest::StrCat("patch.pending[", i, "]");
    ATTEST_RETURN_IF_ERROR(CheckString(f + ".package", u.package(), l.max_string_bytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString(f + ".candidate_version", u.candidate_version(), l.max_string_bytes, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString(f + ".installed_version", u.installed_version(), l.max_string_bytes, false));
    ATTEST_RETURN_IF_ERROR(CheckString(f + ".source", u.source(), l.max_string_bytes, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateLogShipping(const v1::LogShippingState& s, absl::Time now,
                                 absl::Time observed_at, const Limits& l) {
  if (s.probe() == v1::SHIPPER_PROBE_UNSPECIFIED || !v1::ShipperProbe_IsValid(s.probe())) {
    return Invalid("log_shipping.probe", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.shipper", s.shipper(), 256, true));
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.unit", s.unit(), 256, false));
  ATTEST_RETURN_IF_ERROR(CheckString("log_shipping.error", s.error(), l.max_string_bytes, false));
  if (s.has_last_delivery()) {
    ATTEST_RETURN_IF_ERROR(
        CheckReportedTime("log_shipping.last_delivery", s.last_delivery(), now, l));
    // A delivery the shipper made after the observation was taken is a
    // claim about the future of that observation: it would make a
    // backdated state look fresh.
    if (FromProto(s.last_delivery()) > observed_at + l.max_future_skew) {
      return Invalid("log_shipping.last_delivery",
                     attest::StrCat("more than ", absl::FormatDuration(l.max_future_skew),
                                    " after the signal's observed_at"));
    }
  }
  if (s.backlog() > kMaxSeq) {
    return Invalid("log_shipping.backlog", "must be at most 2^53 - 1 (exact in JSON)");
  }
  return absl::OkStatus();
}

absl::Status ValidateAccessChange(const v1::AccessChange& c, const Limits& l) {
  if (c.change() == v1::ACCESS_CHANGE_KIND_UNSPECIFIED ||
      !v1::AccessChangeKind_IsValid(c.change())) {
    return Invalid("access_change.change", "UNSPECIFIED or unknown");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.id", c.id(), 128, true));
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.subject", c.subject(), 1024, true));
  ATTEST_RETURN_IF_ERROR(
      CheckString("access_change.before", c.before(), l.max_string_bytes, false));
  ATTEST_RETURN_IF_ERROR(CheckString("access_change.after", c.after(), l.max_string_bytes, false));
  return CheckString("access_change.diff", c.diff(), l.max_diff_bytes, false);
}

absl::Status ValidateSnapshot(const v1::AccessSnapshot& s, const Limits& l) {
  // Every entry counts against the limit, group members and sudoers rules
  // included: each is something the engine and a review may have to read.
  size_t entries =
      static_cast<size_t>(s.users_size()) + s.groups_size() + s.sudoers_size() + s.keys_size();
  for (const auto& g : s.groups()) entries += static_cast<size_t>(g.members_size());
  for (const auto& e : s.sudoers()) entries += static_cast<size_t>(e.rules_size());
  if (entries > l.max_snapshot_entries) {
    return Invalid("access_snapshot",
                   attest::StrCat("more than ", l.max_snapshot_entries,
                                  " entries (users, groups, group members, sudoers files and "
                                  "rules, keys)"));
  }
  for (const auto& u : s.users()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.name", u.name(), 256, true));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.shell", u.shell(), 4096, false));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.users.home", u.home(), 4096, false));
  }
  for (const auto& g : s.groups()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.groups.name", g.name(), 256, true));
    for (const std::string& m : g.members()) {
      ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.groups.members", m, 256, true));
    }
  }
  for (const auto& e : s.sudoers()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.sudoers.file", e.file(), 1024, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.sudoers.fingerprint", e.fingerprint(), 256, false));
    for (const std::string& r : e.rules()) {
      ATTEST_RETURN_IF_ERROR(
          CheckString("access_snapshot.sudoers.rules", r, l.max_string_bytes, false));
    }
  }
  for (const auto& k : s.keys()) {
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.keys.user", k.user(), 256, true));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.keys.fingerprint", k.fingerprint(), 256, true));
    ATTEST_RETURN_IF_ERROR(CheckString("access_snapshot.keys.type", k.type(), 256, false));
    ATTEST_RETURN_IF_ERROR(
        CheckString("access_snapshot.keys.comment", k.comment(), l.max_string_bytes, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateKind(const v1::Signal& s, absl::Time now, const Limits& l) {
  switch (s.kind_case()) {
    case v1::Signal::kPatch:
      return ValidatePatch(s.patch(), l);
    case v1::Signal::kLogShipping:
      return ValidateLogShipping(s.log_shipping(), now, FromProto(s.observed_at()), l);
    case v1::Signal::kAccessChange:
      return ValidateAccessChange(s.access_change(), l);
    case v1::Signal::kAccessSnapshot:
      return ValidateSnapshot(s.access_snapshot(), l);
    case v1::Signal::kCheck:
      if (s.check().status() == v1::CHECK_STATUS_UNSPECIFIED ||
          !v1::CheckStatus_IsValid(s.check().status())) {
        return Invalid("check.status", "UNSPECIFIED or unknown");
      }
      ATTEST_RETURN_IF_ERROR(CheckString("check.name", s.check().name(), 256, true));
      return CheckString("check.detail", s.check().detail(), l.max_string_bytes, false);
    case v1::Signal::kHeartbeat:
      return absl::OkStatus();
    case v1::Signal::kTimeSync:
    case v1::Signal::kFirewall:
    case v1::Signal::kServices:
    case v1::Signal::kSshd:
    case v1::Signal::kBackup:
    case v1::Signal::kDiskEncryption:
    case v1::Signal::kMac:
      return internal::ValidateHostState(s, now, l);
    case v1::Signal::kCollectorError:
      ATTEST_RETURN_IF_ERROR(
          CheckString("collector_error.collector", s.collector_error().collector(), 256, true));
      return CheckString("collector_error.error", s.collector_error().error(), l.max_string_bytes,
                         false);
    case v1::Signal::KIND_NOT_SET:
      break;
  }
  return Invalid("kind", "required (none set, or unknown to this daemon)");
}

}  // namespace

bool IsValidHostId(std::string_view id) { return attest::IsValidHostId(id); }

absl::Status ValidateHello(const v1::Hello& hello, absl::Time now, const Limits& limits) {
  if (!hello.host_id().empty() && !IsValidHostId(hello.host_id())) {
    return Invalid("hello.host_id", "must be 1-253 characters of [A-Za-z0-9._-]");
  }
  if (!IsValidHostId(hello.instance_id()) || hello.instance_id().size() > 128) {
    return Invalid("hello.instance_id", "required, 1-128 characters of [A-Za-z0-9._-]");
  }
  ATTEST_RETURN_IF_ERROR(CheckString("hello.agent_version", hello.agent_version(), 64, true));
  ATTEST_RETURN_IF_ERROR(CheckString("hello.boot_id", hello.boot_id(), 64, false));
  if (static_cast<size_t>(hello.labels_size()) > limits.max_labels) {
    return Invalid("hello.labels", attest::StrCat("more than ", limits.max_labels, " labels"));
  }
  for (const auto& [key, value] : hello.labels()) {
    const absl::Status label = CheckLabel(key, value);
    if (!label.ok()) return Invalid("hello.labels", std::string(label.message()));
  }
  if (hello.has_agent_clock()) {
    // Any time a Timestamp can hold: a host clock in 1970 or years ahead is
    // what this field is for. It dates nothing.
    const google::protobuf::Timestamp& c = hello.agent_clock();
    if (c.nanos() < 0 || c.nanos() > 999999999 || c.seconds() < kTimestampMinSeconds ||
        c.seconds() > kTimestampMaxSeconds) {
      return Invalid("hello.agent_clock", "not a timestamp (years 1 to 9999)");
    }
  }
  if (hello.has_sent_at()) {
    // It dates the hello record, so it is bounded like any observation.
    ATTEST_RETURN_IF_ERROR(CheckObservedTime("hello.sent_at", hello.sent_at(), now, limits));
  }
  return absl::OkStatus();
}

absl::Status ValidateSignal(const v1::Signal& signal, absl::Time now, const Limits& limits) {
  if (signal.seq() == 0) return Invalid("seq", "must be at least 1");
  if (signal.seq() > kMaxSeq) {
    return Invalid("seq", attest::StrCat("must be at most 2^53 - 1 (", kMaxSeq, ")"));
  }
  if (!signal.has_observed_at()) return Invalid("observed_at", "required");
  ATTEST_RETURN_IF_ERROR(CheckObservedTime("observed_at", signal.observed_at(), now, limits));
  return ValidateKind(signal, now, limits);
}

std::optional<uint64_t> RefusedSeq(const absl::Status& status) {
  auto payload = status.GetPayload(kRefusedSeqPayload);  // absl::optional in Debian's abseil
  uint64_t seq = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seq)) return std::nullopt;
  return seq;
}

absl::Status ValidateBatch(const v1::SignalBatch& batch, absl::Time now, const Limits& limits) {
  if (batch.signals_size() == 0) return Invalid("batch", "has no signals");
  if (static_cast<size_t>(batch.signals_size()) > limits.max_signals_per_batch) {
    return Invalid("batch", attest::StrCat("more than ", limits.max_signals_per_batch, " signals"));
  }
  uint64_t previous = 0;
  for (int i = 0; i < batch.signals_size(); ++i) {
    const v1::Signal& s = batch.signals(i);
    if (absl::Status st = ValidateSignal(s, now, limits); !st.ok()) {
      absl::Status refused = absl::InvalidArgumentError(
          attest::StrCat("signal[", i, "] (seq ", s.seq(), "): ", st.message()));
      if (s.seq() > 0 && !st.GetPayload(kRetryLaterPayload)) {
        refused.SetPayload(kRefusedSeqPayload, absl::Cord(std::to_string(s.seq())));
      }
      return refused;
    }
    if (s.seq() <= previous) {
      return absl::InvalidArgumentError(attest::StrCat(
          "signal[", i, "] (seq ", s.seq(), "): seq not increasing (previous ", previous, ")"));
    }
    previous = s.seq();
  }
  return absl::OkStatus();
}

}  // namespace attest::ingest
