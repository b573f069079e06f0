// Access reviews through the whole engine, on a fleet whose access history
// is known: a campaign with keep and revoke decisions, revocations confirmed
// on time, late and never, a campaign completed after its due date, and a
// host with no access snapshot. Every figure is checked against seconds
// worked out by hand (the comments show the arithmetic).
#include <gtest/gtest.h>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/review_population.h"
#include "daemon/engine/scan.h"
#include "daemon/evidence/ledger.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/store/memory_store.h"

namespace attest::engine {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kHour = 3600;
constexpr int64_t T0 = 1767225600;  // 2026-01-01T00:00:00Z

std::string T(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

constexpr char kPolicy[] = R"(controls:
  - id: access-review
    tsc: [CC6.2, CC6.3]
    rule: access.review_performed
    params: {cadence: 30d, due_grace: 1d, revoke_within: 2d, privileged_groups: [sudo]}
  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 2d}
windows:
  - {id: q1, start: 2026-01-01T00:00:00Z, end: 2026-04-01T00:00:00Z, scope: {env: prod}}
)";

// Who can get onto each host on day `d` (snapshots are taken at d days + 1h):
//   every host: alice, bob and deploy log in; alice is in sudo; deploy's key
//     K1 is authorized;
//   web-1: bob's key K2, until bob leaves (day 7);
//   web-2: from day 2, a sudoers line for bob (removed on day 14);
//   bob leaves every host on day 7;
//   K1 leaves web-1 on day 7 and web-2 on day 9, and never leaves web-3.
v1::AccessSnapshot AccessOn(const std::string& host, int d) {
  v1::AccessSnapshot s;
  auto user = [&](const char* name, uint32_t id) {
    auto* u = s.add_users();
    u->set_name(name);
    u->set_uid(id);
    u->set_gid(id);
    u->set_shell("/bin/bash");
    u->set_home(StrCat("/home/", name));
  };
  user("alice", 1000);
  if (d < 7) user("bob", 1001);
  user("deploy", 1002);
  auto* sudo = s.add_groups();
  sudo->set_name("sudo");
  sudo->set_gid(27);
  sudo->add_members("alice");
  auto key = [&](const char* owner, const char* fp) {
    auto* k = s.add_keys();
    k->set_user(owner);
    k->set_type("ssh-ed25519");
    k->set_fingerprint(fp);
  };
  const bool k1 = host == "web-3" || (host == "web-1" && d < 7) || (host == "web-2" && d < 9);
  if (k1) key("deploy", "SHA256:K1");
  if (host == "web-1" && d < 7) key("bob", "SHA256:K2");
  if (host == "web-2" && d >= 2 && d < 14) {
    auto* f = s.add_sudoers();
    f->set_file("etc/sudoers.d/bob");
    f->add_rules("bob ALL=(ALL:ALL) ALL");
  }
  return s;
}

const std::string kUserAlice = ReviewEntryId("user", "alice", "login shell");
const std::string kUserBob = ReviewEntryId("user", "bob", "login shell");
const std::string kUserDeploy = ReviewEntryId("user", "deploy", "login shell");
const std::string kSudoAlice = ReviewEntryId("group", "alice", "sudo");
const std::string kKeyK1 = ReviewEntryId("key", "deploy", "ssh-ed25519 SHA256:K1");
const std::string kKeyK2 = ReviewEntryId("key", "bob", "ssh-ed25519 SHA256:K2");
const std::string kSudoersBob = ReviewEntryId("sudoers", "bob", "bob ALL=(ALL:ALL) ALL");

v1::ReviewDecision Decision(const std::string& entry, v1::ReviewOutcome outcome,
                            const std::string& reviewer = "carol") {
  v1::ReviewDecision d;
  d.set_campaign("C1");
  d.set_entry(entry);
  d.set_outcome(outcome);
  d.set_reviewer(reviewer);
  d.set_reason("quarterly review");
  return d;
}

struct Span {
  int64_t start, end;
  v1::ControlState state;
  std::string cause;
};

// A store, an engine and a committer under one fake clock.
class World {
 public:
  World() : clock_(absl::FromUnixSeconds(T0)), ledger_(store_) {}

  void Start() {
    ASSERT_TRUE(ledger_.Open().ok());
    engine_ = std::make_unique<Engine>(store_, clock_, EngineOptions{.ledger = &ledger_});
    ingest::CommitterOptions options;
    options.on_durable = [this](const std::vector<std::string>& hosts) {
      for (const auto& h : hosts) engine_->NotifyEvidence(h);
    };
    committer_ = std::make_unique<ingest::Committer>(store_, clock_, options);
    ASSERT_TRUE(engine_->Start().ok());
    ASSERT_TRUE(committer_->Start().ok());
    auto policy = ParsePolicy(kPolicy, "test.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    ASSERT_TRUE(engine_->LoadPolicy(*policy, "test.yaml").ok());
  }
  void Stop() {
    committer_->Stop();
    engine_->Stop();
  }

  void At(int64_t t) { clock_.Set(absl::FromUnixSeconds(t)); }

  // Hellos, and web-4's one heartbeat (it never sends an access snapshot).
  void Enrol() {
    google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
    for (const char* host : {"web-1", "web-2", "web-3", "web-4"}) {
      v1::ImportRecord& r = *records.Add();
      r.set_line(static_cast<uint64_t>(records.size()));
      r.set_host(host);
      *r.mutable_hello() = testing_signals::Hello(host, "");
      *r.mutable_hello()->mutable_sent_at() = ToProto(absl::FromUnixSeconds(T0 + kHour));
    }
    v1::ImportRecord& hb = *records.Add();
    hb.set_line(5);
    hb.set_host("web-4");
    *hb.mutable_signal() = testing_signals::Heartbeat(1, absl::FromUnixSeconds(T0 + kHour));
    Import(records);
  }

  // The snapshots of days from..to of web-1..3.
  void Snapshots(int from, int to) {
    google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
    for (const char* host : {"web-1", "web-2", "web-3"}) {
      for (int d = from; d <= to; ++d) {
        v1::ImportRecord& r = *records.Add();
        r.set_line(static_cast<uint64_t>(records.size()));
        r.set_host(host);
        v1::Signal& s = *r.mutable_signal();
        s.set_seq(static_cast<uint64_t>(d + 1));
        *s.mutable_observed_at() = ToProto(absl::FromUnixSeconds(T0 + d * kDay + kHour));
        *s.mutable_access_snapshot() = AccessOn(host, d);
      }
    }
    Import(records);
  }

  void Import(google::protobuf::RepeatedPtrField<v1::ImportRecord>& records) {
    ASSERT_TRUE(admin::CommitImport(*committer_, clock_.Now(), &records).ok());
    engine_->Sync();
  }

  absl::StatusOr<std::vector<v1::ReviewDecision>> Decide(std::vector<v1::ReviewDecision> d,
                                                         const std::string& who = "admin:dave") {
    return engine_->DecideReview(std::move(d), who);
  }

  // The control's intervals on `host`, adjacent equal ones merged.
  std::vector<Span> Timeline(const std::string& host) {
    engine_->Sync();
    std::vector<Span> out;
    EXPECT_TRUE(ScanPrefixMessages<v1::HostDay>(
                    store_, store::Family::kTimeline, keys::Str(host),
                    [&](v1::HostDay&& d) {
                      if (d.control() != "access-review") return;
                      for (const v1::Interval& iv : d.intervals()) {
                        if (!out.empty() && out.back().end == iv.start() &&
                            out.back().state == iv.state() && out.back().cause == iv.cause()) {
                          out.back().end = iv.end();
                        } else {
                          out.push_back({iv.start(), iv.end(), iv.state(), iv.cause()});
                        }
                      }
                    })
                    .ok());
    return out;
  }

  store::MemoryStore store_;
  FakeClock clock_;
  evidence::Ledger ledger_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ingest::Committer> committer_;
};

class ReviewWorld : public ::testing::Test, public World {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }
};

void ExpectRuns(const std::vector<Span>& got, const std::vector<Span>& want,
                const std::string& host) {
  ASSERT_EQ(got.size(), want.size()) << host;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(T(got[i].start), T(want[i].start)) << host << " run " << i;
    EXPECT_EQ(T(got[i].end), T(want[i].end)) << host << " run " << i;
    EXPECT_EQ(got[i].state, want[i].state) << host << " run " << i << ": " << got[i].cause;
    EXPECT_EQ(got[i].cause, want[i].cause) << host << " run " << i;
  }
}

TEST_F(ReviewWorld, HandComputedCampaign) {
  At(T0 + 5 * kDay + 12 * kHour);
  Enrol();
  Snapshots(0, 5);
  v1::StartReviewRequest start;
  start.set_id("C1");
  start.set_window("q1");
  *start.mutable_due() = ToProto(absl::FromUnixSeconds(T0 + 10 * kDay));
  (*start.mutable_selector())["env"] = "prod";
  start.add_reviewers("carol");
  start.add_reviewers("bob");
  auto campaign = engine_->StartReview(start, "admin:dave");
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  // 4 hosts in scope, web-4 without a snapshot; 7 entries: users alice,
  // bob, deploy and alice in sudo (3 hosts each), K1 (3 hosts), K2 (web-1),
  // the sudoers line (web-2).
  EXPECT_EQ(campaign->hosts(), 4u);
  EXPECT_EQ(campaign->hosts_without_snapshot(), 1u);
  EXPECT_EQ(campaign->entries(), 7u);
  EXPECT_EQ(campaign->started_at().seconds(), T0 + 5 * kDay + 12 * kHour);
  auto detail = engine_->Review("C1");
  ASSERT_TRUE(detail.ok());
  std::map<std::string, int> hosts_of;
  for (const auto& e : detail->entries()) hosts_of[e.id()] = e.hosts_size();
  EXPECT_EQ(hosts_of, (std::map<std::string, int>{{kUserAlice, 3},
                                                  {kUserBob, 3},
                                                  {kUserDeploy, 3},
                                                  {kSudoAlice, 3},
                                                  {kKeyK1, 3},
                                                  {kKeyK2, 1},
                                                  {kSudoersBob, 1}}));
  // The population is stored as started and its digest is in the ledger.
  std::vector<v1::ReviewHost> rhosts(detail->hosts().begin(), detail->hosts().end());
  std::vector<v1::ReviewEntry> rentries(detail->entries().begin(), detail->entries().end());
  EXPECT_EQ(PopulationSha256({rhosts, rentries}), campaign->population_sha256());

  // A duplicate id is refused, and so is a reviewer deciding on their own
  // access (bob on bob's key), even as part of a larger call.
  EXPECT_EQ(engine_->StartReview(start, "admin:dave").status().code(),
            absl::StatusCode::kAlreadyExists);
  auto own = Decide({Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP, "bob"),
                     Decision(kKeyK2, v1::REVIEW_OUTCOME_KEEP, "bob")});
  EXPECT_EQ(own.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(own.status().message()).find("decision 2:"), std::string::npos)
      << own.status();
  // ... or whose certificate is theirs, whatever reviewer name it gives.
  own = Decide({Decision(kSudoAlice, v1::REVIEW_OUTCOME_KEEP)}, "admin:alice");
  EXPECT_EQ(own.status().code(), absl::StatusCode::kPermissionDenied) << own.status();
  // Someone not named a reviewer of the campaign.
  EXPECT_EQ(Decide({Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP, "mallory")}).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Nothing of a refused call was stored (the first decision was fine).
  EXPECT_EQ(engine_->Review("C1")->decisions_size(), 0);
  EXPECT_EQ(ledger_.Head().length, 3u);  // policy, window, campaign

  At(T0 + 6 * kDay + 12 * kHour);
  Snapshots(6, 6);
  auto first = Decide(
      {Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP), Decision(kSudoAlice, v1::REVIEW_OUTCOME_KEEP),
       Decision(kUserDeploy, v1::REVIEW_OUTCOME_KEEP), Decision(kKeyK1, v1::REVIEW_OUTCOME_REVOKE),
       Decision(kUserBob, v1::REVIEW_OUTCOME_REVOKE)});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)[0].decided_at().seconds(), T0 + 6 * kDay + 12 * kHour);
  EXPECT_EQ((*first)[0].recorded_by(), "admin:dave");
  EXPECT_EQ(ledger_.Head().length, 8u);
  // Deciding one entry twice.
  EXPECT_EQ(Decide({Decision(kKeyK1, v1::REVIEW_OUTCOME_KEEP)}).status().code(),
            absl::StatusCode::kAlreadyExists);

  At(T0 + 12 * kDay + 12 * kHour);
  Snapshots(7, 12);
  auto status = engine_->Reviews();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_TRUE(status[0].overdue());  // due day 10, two entries open
  EXPECT_EQ(status[0].open(), 2u);
  auto second = Decide({Decision(kKeyK2, v1::REVIEW_OUTCOME_REVOKE),
                        Decision(kSudoersBob, v1::REVIEW_OUTCOME_REVOKE)});
  ASSERT_TRUE(second.ok()) << second.status();
  // Completed: a decision after that is refused.
  EXPECT_EQ(Decide({Decision(kKeyK2, v1::REVIEW_OUTCOME_KEEP)}).status().code(),
            absl::StatusCode::kFailedPrecondition);

  At(T0 + 45 * kDay);
  Snapshots(13, 20);
  const int64_t E = T0 + kHour;  // first observation of every host
  const int64_t start_c1 = T0 + 5 * kDay + 12 * kHour;
  const int64_t revoke1 = T0 + 6 * kDay + 12 * kHour;  // K1 and bob revoked
  const int64_t late1 = revoke1 + 2 * kDay;            // revoke_within 2d
  const int64_t overdue = T0 + 11 * kDay;              // due day 10 + due_grace 1d
  const int64_t completed = T0 + 12 * kDay + 12 * kHour;
  const int64_t lapse = completed + 30 * kDay;  // cadence 30d
  const int64_t end = T0 + 46 * kDay;           // judged through the end of today
  const std::string k1 = "key of deploy ssh-ed25519 SHA256:K1 revoked in campaign C1 at " +
                         T(revoke1) + ", still on the host after 2d";
  const std::string due =
      "campaign C1 due " + T(T0 + 10 * kDay) + " with this host's access entries undecided";
  const std::string stale =
      "last access review, campaign C1, completed " + T(completed) + ": more than 30d ago";
  // web-1: K1 and bob gone with the day-7 snapshot, before their deadline;
  // K2 undecided from day 11 until the campaign completed.
  ExpectRuns(Timeline("web-1"),
             {{E, overdue, v1::CONTROL_STATE_PASS, ""},
              {overdue, completed, v1::CONTROL_STATE_FAIL, due},
              {completed, lapse, v1::CONTROL_STATE_PASS, ""},
              {lapse, end, v1::CONTROL_STATE_FAIL, stale}},
             "web-1");
  // web-2: K1 left with the day-9 snapshot, after its deadline (late).
  ExpectRuns(Timeline("web-2"),
             {{E, late1, v1::CONTROL_STATE_PASS, ""},
              {late1, T0 + 9 * kDay + kHour, v1::CONTROL_STATE_FAIL, k1},
              {T0 + 9 * kDay + kHour, overdue, v1::CONTROL_STATE_PASS, ""},
              {overdue, completed, v1::CONTROL_STATE_FAIL, due},
              {completed, lapse, v1::CONTROL_STATE_PASS, ""},
              {lapse, end, v1::CONTROL_STATE_FAIL, stale}},
             "web-2");
  // web-3: K1 never left.
  ExpectRuns(Timeline("web-3"),
             {{E, late1, v1::CONTROL_STATE_PASS, ""}, {late1, end, v1::CONTROL_STATE_FAIL, k1}},
             "web-3");
  // web-4: no access snapshot at the campaign's start.
  ExpectRuns(Timeline("web-4"),
             {{E, start_c1, v1::CONTROL_STATE_PASS, ""},
              {start_c1, end, v1::CONTROL_STATE_NO_EVIDENCE,
               "no access snapshot of the host at the start of campaign C1"}},
             "web-4");

  status = engine_->Reviews();
  ASSERT_EQ(status.size(), 1u);
  const v1::ReviewStatus& st = status[0];
  EXPECT_EQ(st.decided(), 7u);
  EXPECT_EQ(st.open(), 0u);
  EXPECT_FALSE(st.overdue());
  EXPECT_EQ(st.completed_at().seconds(), completed);
  EXPECT_EQ(st.kept(), 3u);
  EXPECT_EQ(st.revoked(), 4u);
  // K1 x3, bob x3, K2, the sudoers line; all but K1 on web-3 confirmed;
  // late: K1 on web-2 (confirmed late) and on web-3 (never).
  EXPECT_EQ(st.revocations(), 8u);
  EXPECT_EQ(st.revocations_confirmed(), 7u);
  EXPECT_EQ(st.revocations_late(), 2u);
  detail = engine_->Review("C1");
  ASSERT_TRUE(detail.ok());
  std::map<std::pair<std::string, std::string>, int64_t> confirmed;
  for (const auto& r : detail->revocations()) {
    confirmed[{r.entry(), r.host()}] = r.has_confirmed_at() ? r.confirmed_at().seconds() : -1;
  }
  EXPECT_EQ(confirmed[std::make_pair(kKeyK1, std::string("web-1"))], T0 + 7 * kDay + kHour);
  EXPECT_EQ(confirmed[std::make_pair(kKeyK1, std::string("web-2"))], T0 + 9 * kDay + kHour);
  EXPECT_EQ(confirmed[std::make_pair(kKeyK1, std::string("web-3"))], -1);
  EXPECT_EQ(confirmed[std::make_pair(kUserBob, std::string("web-3"))], T0 + 7 * kDay + kHour);
  // K2 was gone since day 7; the first snapshot after its revoke is day 13.
  EXPECT_EQ(confirmed[std::make_pair(kKeyK2, std::string("web-1"))], T0 + 13 * kDay + kHour);
  EXPECT_EQ(confirmed[std::make_pair(kSudoersBob, std::string("web-2"))], T0 + 14 * kDay + kHour);

  // A bundle's replay: the same records, then the campaign and decisions
  // as recorded, give the same timelines (verify relies on it).
  {
    World replay;
    replay.Start();
    replay.At(T0 + 45 * kDay);
    replay.Enrol();
    replay.Snapshots(0, 20);
    std::vector<v1::ReviewDecision> recorded(detail->decisions().begin(),
                                             detail->decisions().end());
    std::sort(recorded.begin(), recorded.end(), [](const auto& a, const auto& b) {
      return a.decided_at().seconds() < b.decided_at().seconds();
    });
    ASSERT_TRUE(replay.engine_
                    ->RestoreReview(*campaign, {detail->hosts().begin(), detail->hosts().end()},
                                    {detail->entries().begin(), detail->entries().end()})
                    .ok());
    ASSERT_TRUE(replay.engine_->RestoreReviewDecisions(recorded).ok());
    for (const char* host : {"web-1", "web-2", "web-3", "web-4"}) {
      const auto a = Timeline(host), b = replay.Timeline(host);
      ASSERT_EQ(a.size(), b.size()) << host;
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].start, b[i].start) << host;
        EXPECT_EQ(a[i].end, b[i].end) << host;
        EXPECT_EQ(a[i].cause, b[i].cause) << host;
      }
    }
    EXPECT_EQ(replay.engine_->Reviews()[0].SerializeAsString(), st.SerializeAsString());
    replay.Stop();
  }

  // Restarted, the engine has the same campaign and the same confirmations.
  committer_->Stop();
  engine_->Stop();
  engine_ = std::make_unique<Engine>(store_, clock_, EngineOptions{.ledger = &ledger_});
  ASSERT_TRUE(engine_->Start().ok());
  auto again = engine_->Reviews();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].SerializeAsString(), st.SerializeAsString());
  committer_ = std::make_unique<ingest::Committer>(store_, clock_, ingest::CommitterOptions{});
  ASSERT_TRUE(committer_->Start().ok());
}

// An agent may report a removal as a change alone: KEY_REMOVED (owner and
// fingerprint) or USER_REMOVED confirms the entries it removes by itself.
TEST_F(ReviewWorld, AChangeAloneConfirmsAKeyOrAUserRemoval) {
  At(T0 + 2 * kDay + 12 * kHour);
  Enrol();
  Snapshots(0, 2);
  v1::StartReviewRequest start;
  start.set_id("C1");
  start.set_window("q1");
  *start.mutable_due() = ToProto(absl::FromUnixSeconds(T0 + 10 * kDay));
  ASSERT_TRUE(engine_->StartReview(start, "admin:dave").ok());
  auto decided = Decide({Decision(kKeyK2, v1::REVIEW_OUTCOME_REVOKE),
                         Decision(kUserDeploy, v1::REVIEW_OUTCOME_REVOKE),
                         Decision(kSudoersBob, v1::REVIEW_OUTCOME_REVOKE)});
  ASSERT_TRUE(decided.ok()) << decided.status();
  At(T0 + 4 * kDay);
  google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
  auto change = [&](const std::string& host, uint64_t seq, int64_t t, v1::AccessChangeKind kind,
                    const std::string& subject, const std::string& before) {
    v1::ImportRecord& r = *records.Add();
    r.set_line(static_cast<uint64_t>(records.size()));
    r.set_host(host);
    v1::Signal& s = *r.mutable_signal();
    s.set_seq(seq);
    *s.mutable_observed_at() = ToProto(absl::FromUnixSeconds(t));
    v1::AccessChange* c = s.mutable_access_change();
    c->set_id(StrCat(host, "-", seq));
    c->set_change(kind);
    c->set_subject(subject);
    c->set_before(before);
  };
  // web-1: bob's key goes (a KEY_REMOVED of another fingerprint first).
  change("web-1", 4, T0 + 3 * kDay, v1::ACCESS_CHANGE_KIND_KEY_REMOVED, "bob", "SHA256:other");
  change("web-1", 5, T0 + 3 * kDay + kHour, v1::ACCESS_CHANGE_KIND_KEY_REMOVED, "bob", "SHA256:K2");
  // web-2: deploy is removed; a SUDOERS_CHANGED names only the file.
  change("web-2", 4, T0 + 3 * kDay + 2 * kHour, v1::ACCESS_CHANGE_KIND_USER_REMOVED, "deploy",
         "uid=1002");
  change("web-2", 5, T0 + 3 * kDay + 3 * kHour, v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED,
         "etc/sudoers.d/bob", "sha256:1");
  Import(records);
  auto detail = engine_->Review("C1");
  ASSERT_TRUE(detail.ok());
  std::map<std::pair<std::string, std::string>, int64_t> confirmed;
  for (const auto& r : detail->revocations()) {
    confirmed[{r.entry(), r.host()}] = r.has_confirmed_at() ? r.confirmed_at().seconds() : -1;
  }
  EXPECT_EQ(confirmed[std::make_pair(kKeyK2, std::string("web-1"))], T0 + 3 * kDay + kHour);
  EXPECT_EQ(confirmed[std::make_pair(kUserDeploy, std::string("web-2"))],
            T0 + 3 * kDay + 2 * kHour);
  EXPECT_EQ(confirmed[std::make_pair(kUserDeploy, std::string("web-1"))], -1);
  EXPECT_EQ(confirmed[std::make_pair(kSudoersBob, std::string("web-2"))], -1);
}

TEST_F(ReviewWorld, BadRequestsAreRefusedAndStoreNothing) {
  At(T0 + 2 * kDay);
  Enrol();
  Snapshots(0, 1);
  v1::StartReviewRequest start;
  start.set_id("C1");
  start.set_window("q1");
  *start.mutable_due() = ToProto(absl::FromUnixSeconds(T0 + 10 * kDay));
  auto code = [&](const v1::StartReviewRequest& r) {
    return engine_->StartReview(r, "admin:dave").status().code();
  };
  v1::StartReviewRequest bad = start;
  bad.set_window("nope");
  EXPECT_EQ(code(bad), absl::StatusCode::kNotFound);
  bad = start;
  *bad.mutable_due() = ToProto(absl::FromUnixSeconds(T0 + kDay));  // in the past
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  bad = start;
  bad.set_id("-x");
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  bad = start;
  bad.add_reviewers(std::string(200, 'r'));
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Reviews().size(), 0u);
  ASSERT_TRUE(engine_->StartReview(start, "admin:dave").ok());

  EXPECT_EQ(Decide({}).status().code(), absl::StatusCode::kInvalidArgument);
  v1::ReviewDecision unknown_campaign = Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP);
  unknown_campaign.set_campaign("C9");
  EXPECT_EQ(Decide({unknown_campaign}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Decide({Decision("e000000000000", v1::REVIEW_OUTCOME_KEEP)}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Decide({Decision(kUserAlice, v1::REVIEW_OUTCOME_UNSPECIFIED)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::ReviewDecision dated = Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP);
  *dated.mutable_decided_at() = ToProto(absl::FromUnixSeconds(T0));
  EXPECT_EQ(Decide({dated}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decide({Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP),
                    Decision(kUserAlice, v1::REVIEW_OUTCOME_REVOKE)})
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  std::vector<v1::ReviewDecision> many(10001, Decision(kUserAlice, v1::REVIEW_OUTCOME_KEEP));
  EXPECT_EQ(Decide(many).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Review("C1")->decisions_size(), 0);
  EXPECT_EQ(engine_->Review("C9").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attest::engine
