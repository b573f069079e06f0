#include "daemon/ingest/validate.h"

#include <functional>

#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

namespace ts = testing_signals;
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

v1::SignalBatch BatchOf(std::initializer_list<v1::Signal> signals) {
  v1::SignalBatch b;
  for (const auto& s : signals) *b.add_signals() = s;
  return b;
}

TEST(ValidateTest, AcceptsEveryWellFormedKind) {
  v1::SignalBatch b =
      BatchOf({ts::Heartbeat(1, kNow), ts::Patch(2, kNow), ts::AccessChange(3, kNow, "chg-1")});
  auto* log = b.add_signals();
  log->set_seq(4);
  *log->mutable_observed_at() = ToProto(kNow);
  log->mutable_log_shipping()->set_shipper("rsyslog");
  log->mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
  auto* check = b.add_signals();
  check->set_seq(5);
  *check->mutable_observed_at() = ToProto(kNow);
  check->mutable_check()->set_name("disk-encryption");
  check->mutable_check()->set_status(v1::CHECK_STATUS_UNKNOWN);
  auto* snap = b.add_signals();
  snap->set_seq(6);
  *snap->mutable_observed_at() = ToProto(kNow);
  snap->mutable_access_snapshot()->add_users()->set_name("root");
  EXPECT_TRUE(ValidateBatch(b, kNow, Limits{}).ok()) << ValidateBatch(b, kNow, Limits{});
}

TEST(ValidateTest, FutureObservedAtIsRejectedPastFiveMinutesOnly) {
  EXPECT_TRUE(ValidateBatch(BatchOf({ts::Heartbeat(1, kNow + absl::Minutes(5))}), kNow, {}).ok());
  absl::Status s = ValidateBatch(
      BatchOf({ts::Heartbeat(1, kNow + absl::Minutes(5) + absl::Seconds(1))}), kNow, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("in the future"), std::string::npos) << s;
}

TEST(ValidateTest, OnlyASignalThatCanNeverBeAcceptedIsMarkedRefused) {
  // Before 2000 (an RTC reset): never acceptable, so the agent may leave it out.
  absl::Status old = ValidateBatch(
      BatchOf({ts::Heartbeat(6, kNow), ts::Heartbeat(7, absl::UnixEpoch() + absl::Hours(1))}), kNow,
      {});
  EXPECT_EQ(RefusedSeq(old), 7u) << old;
  // Ahead of the daemon's clock: acceptable later, so it is not.
  absl::Status ahead = ValidateBatch(BatchOf({ts::Heartbeat(7, kNow + absl::Hours(1))}), kNow, {});
  EXPECT_FALSE(ahead.ok());
  EXPECT_EQ(RefusedSeq(ahead), std::nullopt);
  // Seqs out of order are the batch's fault, not a signal's.
  absl::Status order =
      ValidateBatch(BatchOf({ts::Heartbeat(7, kNow), ts::Heartbeat(7, kNow)}), kNow, {});
  EXPECT_FALSE(order.ok());
  EXPECT_EQ(RefusedSeq(order), std::nullopt);
  EXPECT_EQ(RefusedSeq(absl::OkStatus()), std::nullopt);
}

TEST(ValidateTest, UnspecifiedEnumsAreRejectedWithTheField) {
  v1::Signal patch = ts::Patch(1, kNow);
  patch.mutable_patch()->set_package_manager(v1::PACKAGE_MANAGER_UNSPECIFIED);
  absl::Status s = ValidateBatch(BatchOf({patch}), kNow, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("patch.package_manager"), std::string::npos) << s;

  v1::Signal change = ts::AccessChange(1, kNow, "c");
  change.mutable_access_change()->set_change(v1::ACCESS_CHANGE_KIND_UNSPECIFIED);
  EXPECT_FALSE(ValidateBatch(BatchOf({change}), kNow, {}).ok());

  v1::Signal unknown = ts::AccessChange(1, kNow, "c");
  unknown.mutable_access_change()->set_change(static_cast<v1::AccessChangeKind>(99));
  EXPECT_FALSE(ValidateBatch(BatchOf({unknown}), kNow, {}).ok());
}

TEST(ValidateTest, MissingRequiredFieldsAreNamed) {
  v1::Signal no_time = ts::Heartbeat(1, kNow);
  no_time.clear_observed_at();
  EXPECT_NE(ValidateBatch(BatchOf({no_time}), kNow, {}).message().find("observed_at"),
            std::string::npos);
  v1::Signal no_kind;
  no_kind.set_seq(1);
  *no_kind.mutable_observed_at() = ToProto(kNow);
  EXPECT_NE(ValidateBatch(BatchOf({no_kind}), kNow, {}).message().find("kind"), std::string::npos);
  v1::Signal no_id = ts::AccessChange(1, kNow, "");
  EXPECT_NE(ValidateBatch(BatchOf({no_id}), kNow, {}).message().find("access_change.id"),
            std::string::npos);
  v1::Signal zero_seq = ts::Heartbeat(0, kNow);
  EXPECT_FALSE(ValidateBatch(BatchOf({zero_seq}), kNow, {}).ok());
  EXPECT_FALSE(ValidateBatch(v1::SignalBatch(), kNow, {}).ok());
}

TEST(ValidateTest, SizesAndOrderAreEnforced) {
  Limits small;
  small.max_signals_per_batch = 2;
  EXPECT_FALSE(ValidateBatch(BatchOf({ts::Heartbeat(1, kNow), ts::Heartbeat(2, kNow),
                                      ts::Heartbeat(3, kNow)}),
                             kNow, small)
                   .ok());
  v1::Signal big = ts::AccessChange(1, kNow, "c");
  big.mutable_access_change()->set_diff(std::string(70 * 1024, 'x'));
  EXPECT_FALSE(ValidateBatch(BatchOf({big}), kNow, {}).ok());
  absl::Status order =
      ValidateBatch(BatchOf({ts::Heartbeat(2, kNow), ts::Heartbeat(2, kNow)}), kNow, {});
  EXPECT_NE(order.message().find("not increasing"), std::string::npos) << order;
}

TEST(ValidateTest, HelloNeedsInstanceAndVersion) {
  EXPECT_TRUE(ValidateHello(ts::Hello("web-1", "inst-1"), kNow, {}).ok());
  v1::Hello h = ts::Hello("web-1", "");
  EXPECT_NE(ValidateHello(h, kNow, {}).message().find("instance_id"), std::string::npos);
  h = ts::Hello("bad host/../x", "inst");
  EXPECT_NE(ValidateHello(h, kNow, {}).message().find("host_id"), std::string::npos);
  h = ts::Hello("web-1", "inst");
  h.clear_agent_version();
  EXPECT_FALSE(ValidateHello(h, kNow, {}).ok());
}

TEST(ValidateTest, HelloAgentClockTakesAnyTimestampButNotAMalformedOne) {
  v1::Hello h = ts::Hello("web-1", "inst");
  h.mutable_agent_clock()->set_seconds(0);  // a dead RTC: 1970, reported, not refused
  EXPECT_TRUE(ValidateHello(h, kNow, {}).ok());
  h.mutable_agent_clock()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z
  EXPECT_TRUE(ValidateHello(h, kNow, {}).ok());
  h.mutable_agent_clock()->set_seconds(253402300800);
  EXPECT_EQ(ValidateHello(h, kNow, {}).message(),
            "hello.agent_clock: not a timestamp (years 1 to 9999)");
  h.mutable_agent_clock()->set_seconds(1700000000);
  h.mutable_agent_clock()->set_nanos(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHello(h, kNow, {})));
  h.mutable_agent_clock()->set_nanos(1000000000);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHello(h, kNow, {})));
}

TEST(ValidateTest, HelloLabelsOverTheLimitsAreRefused) {
  auto message = [](const v1::Hello& h) {
    return std::string(ValidateHello(h, kNow, {}).message());
  };
  v1::Hello many = ts::Hello("web-1", "inst");
  for (int i = 0; i < 64; ++i) (*many.mutable_labels())["k" + std::to_string(i)] = "v";
  EXPECT_EQ(message(many), "hello.labels: more than 64 labels");
  v1::Hello empty_key = ts::Hello("web-1", "inst");
  (*empty_key.mutable_labels())[""] = "v";
  EXPECT_EQ(message(empty_key), "hello.labels: keys are 1-63 bytes");
  v1::Hello long_key = ts::Hello("web-1", "inst");
  (*long_key.mutable_labels())[std::string(64, 'k')] = "v";
  EXPECT_EQ(message(long_key), "hello.labels: keys are 1-63 bytes");
  v1::Hello long_value = ts::Hello("web-1", "inst");
  (*long_value.mutable_labels())["k"] = std::string(257, 'v');
  EXPECT_EQ(message(long_value), "hello.labels: values are at most 256 bytes");
  (*long_value.mutable_labels())["k"] = std::string(256, 'v');  // the limit itself is fine
  EXPECT_TRUE(ValidateHello(long_value, kNow, {}).ok());
}

// Each field rule, by the message that names the field.
TEST(ValidateTest, EveryFieldRuleNamesItsField) {
  struct Case {
    std::string name;
    v1::Signal signal;
    std::string message;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, v1::Signal s, std::string message) {
    cases.push_back({std::move(name), std::move(s), std::move(message)});
  };
  v1::Signal s = ts::Heartbeat(1, absl::FromUnixSeconds(946684799));  // 1999-12-31T23:59:59Z
  add("before 2000", s, "observed_at: before 2000-01-01 (unset or a clock bug)");
  s = ts::Heartbeat(1, kNow);
  s.mutable_observed_at()->set_nanos(-1);
  add("negative nanos", s, "observed_at: nanos out of range");
  s.mutable_observed_at()->set_nanos(1000000000);
  add("nanos of a whole second", s, "observed_at: nanos out of range");
  s = ts::Patch(1, kNow);
  for (int i = 0; i <= 20000; ++i) {
    auto* u = s.mutable_patch()->add_pending();
    u->set_package("p" + std::to_string(i));
    u->set_candidate_version("1");
  }
  add("pending over 20000", s, "patch.pending: more than 20000");
  s = ts::Heartbeat(1, kNow);
  for (int i = 0; i <= 100000; ++i) s.mutable_access_snapshot()->add_users()->set_name("u");
  add("snapshot over 100000", s, "access_snapshot: more than 100000");
  v1::Signal log = ts::Heartbeat(1, kNow);
  log.mutable_log_shipping()->set_shipper("rsyslog");
  log.mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
  s = log;
  *s.mutable_log_shipping()->mutable_last_delivery() = ToProto(kNow + absl::Minutes(6));
  add("delivery ahead", s, "log_shipping.last_delivery: in the future");
  *s.mutable_log_shipping()->mutable_last_delivery() = ToProto(absl::FromUnixSeconds(100));
  add("delivery before 2000", s, "log_shipping.last_delivery: before 2000-01-01");
  s = log;
  s.mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_UNSPECIFIED);
  add("probe unspecified", s, "log_shipping.probe: UNSPECIFIED or unknown");
  s = log;
  s.mutable_log_shipping()->set_shipper(std::string(257, 's'));
  add("shipper long", s, "log_shipping.shipper: longer than 256 bytes");
  s = log;
  s.mutable_log_shipping()->set_error(std::string(Limits().max_string_bytes + 1, 'e'));
  add("shipper error long", s, "log_shipping.error: longer than");
  s = ts::Heartbeat(1, kNow);
  s.mutable_check()->set_name("disk");
  add("check status unspecified", s, "check.status: UNSPECIFIED or unknown");
  s.mutable_check()->set_status(v1::CHECK_STATUS_OK);
  s.mutable_check()->set_name(std::string(257, 'c'));
  add("check name long", s, "check.name: longer than 256 bytes");
  s = ts::Patch(1, kNow);
  s.mutable_patch()->set_os(std::string(4097, 'o'));
  add("os long", s, "patch.os: longer than 4096 bytes");
  s.mutable_patch()->clear_os();
  add("os missing", s, "patch.os: required");
  s = ts::AccessChange(1, kNow, std::string(129, 'i'));
  add("change id long", s, "access_change.id: longer than 128 bytes");
  s = ts::AccessChange(1, kNow, "c");
  s.mutable_access_change()->set_subject(std::string(1025, 's'));
  add("subject long", s, "access_change.subject: longer than 1024 bytes");
  s = ts::Heartbeat(1, kNow);
  s.mutable_collector_error()->set_error("boom");
  add("collector missing", s, "collector_error.collector: required");

  for (const Case& c : cases) {
    const absl::Status status = ValidateBatch(BatchOf({c.signal}), kNow, {});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(status.message().find(c.message), std::string::npos)
        << c.name << ": " << status.message();
  }
}

TEST(ValidateTest, HostIds) {
  EXPECT_TRUE(IsValidHostId("web-01.prod_eu"));
  EXPECT_FALSE(IsValidHostId(""));
  EXPECT_FALSE(IsValidHostId(std::string(254, 'a')));
  EXPECT_FALSE(IsValidHostId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidHostId("a/b"));
}

TEST(ValidateTest, MaxEvidenceAgeBoundsTheOldestObservation) {
  Limits limits;
  limits.max_evidence_age = absl::Hours(24 * 400);
  const absl::Time oldest = kNow - limits.max_evidence_age;
  EXPECT_TRUE(ValidateBatch(BatchOf({ts::Heartbeat(1, oldest)}), kNow, limits).ok());
  absl::Status s =
      ValidateBatch(BatchOf({ts::Heartbeat(1, oldest - absl::Seconds(1))}), kNow, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("observed_at: older than 9600h"), std::string::npos) << s;
  EXPECT_EQ(RefusedSeq(s), 1u);  // never acceptable later: the agent leaves it out
  // A hello is dated by sent_at: the same bound.
  v1::Hello h = ts::Hello("web-1", "inst-1");
  *h.mutable_sent_at() = ToProto(oldest - absl::Hours(1));
  EXPECT_NE(ValidateHello(h, kNow, limits).message().find("hello.sent_at: older than"),
            std::string::npos);
  // Without the flag only 2000-01-01 bounds it; a last delivery is never
  // bounded by age (an old delivery is a fact about the shipper).
  EXPECT_TRUE(ValidateHello(h, kNow, {}).ok());
  v1::Signal log = ts::Heartbeat(1, kNow);
  log.mutable_log_shipping()->set_shipper("rsyslog");
  log.mutable_log_shipping()->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
  *log.mutable_log_shipping()->mutable_last_delivery() = ToProto(absl::FromUnixSeconds(946684800));
  EXPECT_TRUE(ValidateBatch(BatchOf({log}), kNow, limits).ok());
}

TEST(ValidateTest, SnapshotStringsAndCountsAreBounded) {
  auto snapshot = [](const std::function<void(v1::AccessSnapshot*)>& fill) {
    v1::Signal s = ts::Heartbeat(1, kNow);
    fill(s.mutable_access_snapshot());
    return ValidateBatch(BatchOf({s}), kNow, {});
  };
  EXPECT_TRUE(snapshot([](auto* a) { a->add_users()->set_name("root"); }).ok());
  const std::vector<std::pair<std::function<void(v1::AccessSnapshot*)>, std::string>> cases = {
      {[](auto* a) {
         auto* u = a->add_users();
         u->set_name("x");
         u->set_shell(std::string(4097, 's'));
       },
       "access_snapshot.users.shell: longer than 4096 bytes"},
      {[](auto* a) {
         auto* u = a->add_users();
         u->set_name("x");
         u->set_home(std::string(4097, 'h'));
       },
       "access_snapshot.users.home"},
      {[](auto* a) {
         auto* g = a->add_groups();
         g->set_name("sudo");
         g->add_members(std::string(257, 'm'));
       },
       "access_snapshot.groups.members: longer than 256 bytes"},
      {[](auto* a) {
         auto* g = a->add_groups();
         g->set_name("sudo");
         g->add_members("");
       },
       "access_snapshot.groups.members: required"},
      {[](auto* a) {
         auto* e = a->add_sudoers();
         e->set_file("/etc/sudoers");
         e->add_rules(std::string(4097, 'r'));
       },
       "access_snapshot.sudoers.rules"},
      {[](auto* a) {
         auto* e = a->add_sudoers();
         e->set_file("/etc/sudoers");
         e->set_fingerprint(std::string(257, 'f'));
       },
       "access_snapshot.sudoers.fingerprint"},
      {[](auto* a) {
         auto* k = a->add_keys();
         k->set_user("u");
         k->set_fingerprint("SHA256:x");
         k->set_comment(std::string(4097, 'c'));
       },
       "access_snapshot.keys.comment"},
      {[](auto* a) {
         auto* e = a->add_sudoers();
         e->set_file("/etc/sudoers");
         for (int i = 0; i < 100000; ++i) e->add_rules("ALL");
       },
       "access_snapshot: more than 100000 entries"},
  };
  for (const auto& [fill, message] : cases) {
    absl::Status s = snapshot(fill);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_NE(s.message().find(message), std::string::npos) << s;
  }
}

TEST(ValidateTest, SeqsStopAtTwoToTheFiftyThirdMinusOne) {
  EXPECT_TRUE(ValidateBatch(BatchOf({ts::Heartbeat(kMaxSeq, kNow)}), kNow, {}).ok());
  for (uint64_t seq : {kMaxSeq + 1, uint64_t{1} << 63, UINT64_MAX}) {
    absl::Status s = ValidateBatch(BatchOf({ts::Heartbeat(seq, kNow)}), kNow, {});
    EXPECT_NE(s.message().find("seq: must be at most 2^53 - 1"), std::string::npos) << s;
    EXPECT_EQ(RefusedSeq(s), seq);
  }
}

TEST(ValidateTest, ALastDeliveryAfterItsObservationOrAnInexactBacklogIsRefused) {
  auto log = [](absl::Time observed, absl::Time delivered, uint64_t backlog) {
    v1::Signal s = ts::Heartbeat(1, observed);
    auto* l = s.mutable_log_shipping();
    l->set_shipper("rsyslog");
    l->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
    *l->mutable_last_delivery() = ToProto(delivered);
    l->set_backlog(backlog);
    return ValidateBatch(BatchOf({s}), kNow, {});
  };
  const absl::Time day_ago = kNow - absl::Hours(24);
  EXPECT_TRUE(log(day_ago, day_ago + absl::Minutes(5), kMaxSeq).ok());
  absl::Status s = log(day_ago, kNow, 0);  // a backdated state claiming a fresh delivery
  EXPECT_NE(s.message().find("log_shipping.last_delivery: more than 5m after the signal's"),
            std::string::npos)
      << s;
  s = log(kNow, kNow, kMaxSeq + 1);
  EXPECT_NE(s.message().find("log_shipping.backlog: must be at most 2^53 - 1"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace attest::ingest
