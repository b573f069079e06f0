#include "daemon/evidence/ledger.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/store/memory_store.h"
#include "google/protobuf/util/message_differencer.h"

namespace attest::evidence {
namespace {

google::protobuf::Timestamp Ts(int64_t s, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(s);
  t.set_nanos(nanos);
  return t;
}

// One entry of every kind, every field set.
std::vector<v1::LedgerEntry> EveryKind() {
  std::vector<v1::LedgerEntry> out;
  v1::LedgerEntry e;
  *e.mutable_recorded_at() = Ts(1'767'225'600, 500);
  auto* p = e.mutable_policy_version();
  p->set_version("sha256:0123456789abcdef");
  *p->mutable_loaded_at() = Ts(1'767'225'600);
  p->set_file("/etc/attest/policy.yaml");
  p->set_source("controls:\n  - id: \"x\"\t\x01 \xc3\xa9\n");
  out.push_back(e);
  e.Clear();
  *e.mutable_recorded_at() = Ts(1'767'225'601);
  auto* w = e.mutable_window();
  w->set_id("q1");
  *w->mutable_start() = Ts(1'767'225'600);
  *w->mutable_end() = Ts(1'775'001'600);
  (*w->mutable_scope())["env"] = "prod";
  (*w->mutable_scope())["tier"] = "web";
  w->mutable_thresholds()->set_effectiveness(0.95);
  w->mutable_thresholds()->set_coverage(1);
  w->mutable_thresholds()->set_max_deviation_seconds(86400);
  w->set_origin("api");
  *w->mutable_created_at() = Ts(1'767'225'601);
  out.push_back(e);
  e.Clear();
  *e.mutable_recorded_at() = Ts(1'767'225'602);
  auto* a = e.mutable_approval();
  a->set_change_id("web-1/u1");
  a->set_host("web-1");
  a->set_ticket("CHG-1");
  a->set_approver("alice");
  *a->mutable_approved_at() = Ts(1'767'000'000);
  *a->mutable_recorded_at() = Ts(1'767'225'602);
  a->set_revoked(true);
  a->set_recorded_by("spiffe://attest/admin/alice");
  out.push_back(e);
  e.Clear();
  *e.mutable_recorded_at() = Ts(1'767'225'603);
  auto* x = e.mutable_exception();
  x->set_id("EX-1/revoked@1");
  x->set_control("patch-sla");
  (*x->mutable_selector())["env"] = "dev";
  x->set_reason("vendor");
  x->set_approver("bob");
  x->set_ticket("RISK-2");
  *x->mutable_start() = Ts(1'767'225'600);
  *x->mutable_end() = Ts(1'768'225'600);
  *x->mutable_recorded_at() = Ts(1'767'225'603);
  x->set_recorded_by("admin");
  x->set_revokes("EX-1");
  *x->mutable_revoked_at() = Ts(1'767'300'000);
  out.push_back(e);
  e.Clear();
  *e.mutable_recorded_at() = Ts(1'767'225'604);
  *e.mutable_backfilled_at() = Ts(1'767'325'604);
  auto* d = e.mutable_decommission();
  d->set_host("web-2");
  *d->mutable_at() = Ts(1'767'200'000);
  *d->mutable_recorded_at() = Ts(1'767'225'604);
  d->set_recorded_by("admin");
  out.push_back(e);
  e.Clear();
  *e.mutable_recorded_at() = Ts(1'767'225'605);
  auto* sd = e.mutable_sample();
  sd->set_window("q1");
  sd->set_control("patch-sla");
  sd->set_n(2);
  sd->set_seed(18446744073709551615ull);
  sd->set_population(90);
  sd->set_method("sha256-rank");
  *sd->mutable_drawn_at() = Ts(1'767'225'605);
  sd->set_drawn_by("auditor");
  auto* item = sd->add_items();
  item->set_host("web-1");
  item->set_day("2026-01-02");
  item->mutable_seconds()->set_pass(86000);
  item->mutable_seconds()->set_fail(400);
  item->set_evidence_records(1440);
  out.push_back(e);
  return out;
}

TEST(LedgerJsonTest, EveryKindRoundTripsThroughItsCanonicalLine) {
  std::string prev = GenesisHash();
  uint64_t index = 0;
  for (v1::LedgerEntry e : EveryKind()) {
    e.set_index(++index);
    e.set_prev_hash(prev);
    e.set_hash(LedgerHash(prev, e));
    prev = e.hash();
    const std::string line = CanonicalLedgerEntry(e, /*with_links=*/true);
    auto j = Json::Parse(line);
    ASSERT_TRUE(j.ok()) << line;
    EXPECT_EQ(j->Canonical(), line) << "not canonical: " << line;
    auto back = ParseLedgerLine(line);
    ASSERT_TRUE(back.ok()) << back.status() << " in " << line;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, e)) << line;
    EXPECT_EQ(LedgerHash(back->prev_hash(), *back), back->hash());
  }
}

TEST(LedgerJsonTest, TheDocumentedFormOfAWindow) {
  v1::LedgerEntry e = EveryKind()[1];
  e.set_index(2);
  EXPECT_EQ(CanonicalLedgerEntry(e, false),
            "{\"index\":2,\"kind\":\"window\",\"recorded_at\":\"2026-01-01T00:00:01Z\","
            "\"window\":{\"created_at\":\"2026-01-01T00:00:01Z\",\"end\":\"2026-04-01T00:00:00Z\","
            "\"id\":\"q1\",\"origin\":\"api\",\"scope\":{\"env\":\"prod\",\"tier\":\"web\"},"
            "\"start\":\"2026-01-01T00:00:00Z\",\"thresholds\":{\"coverage\":\"1\","
            "\"effectiveness\":\"0.95\",\"max_deviation_seconds\":86400}}}");
}

TEST(LedgerJsonTest, BadLinesAreRefusedNamingTheField) {
  v1::LedgerEntry e = EveryKind()[2];
  e.set_index(1);
  e.set_prev_hash(GenesisHash());
  e.set_hash(LedgerHash(GenesisHash(), e));
  const std::string good = CanonicalLedgerEntry(e, true);
  auto with = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct Case {
    std::string line;
    std::string why;
  } cases[] = {
      {with("\"kind\":\"approval\"", "\"kind\":\"bribe\""), "kind: unknown decision"},
      {with("\"ticket\"", "\"tickets\""), "approval.tickets: unknown field"},
      {with("\"revoked\":true", "\"revoked\":1"), "approval.revoked: must be true or false"},
      {with("\"index\":1", "\"index\":0"), "index: must be a positive integer"},
      {with("\"approved_at\":\"2025", "\"approved_at\":\"x2025"), "approval.approved_at"},
      {with("\"hash\":\"", "\"hash\":\"0"), "hash: must be 64 lowercase hex digits"},
      {"[]", "must be a JSON object"},
      {"{\"kind\":\"approval\"}", "required"},
  };
  for (const Case& c : cases) {
    auto r = ParseLedgerLine(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_NE(std::string(r.status().message()).find(c.why), std::string::npos)
        << r.status() << " for " << c.line;
  }
}

TEST(LedgerTest, EntriesChainSurviveReopeningAndAFailedWriteChangesNothing) {
  store::MemoryStore store;
  Ledger ledger(store);
  ASSERT_TRUE(ledger.Open().ok());
  EXPECT_EQ(ledger.Head().length, 0u);
  EXPECT_EQ(ledger.Head().hash, GenesisHash());
  const auto kinds = EveryKind();
  for (size_t i = 0; i < 3; ++i) {
    store::WriteBatch batch;
    batch.Put(store::Family::kMeta, "decision" + std::to_string(i), "stored with it");
    ASSERT_TRUE(ledger.Commit(kinds[i], std::move(batch)).ok());
  }
  EXPECT_EQ(ledger.Head().length, 3u);
  EXPECT_TRUE(store.Get(store::Family::kMeta, "decision2").ok());
  // A write that fails stores neither the decision nor its entry.
  store.FailWrites(absl::UnavailableError("disk full"));
  store::WriteBatch batch;
  batch.Put(store::Family::kMeta, "decision3", "lost");
  EXPECT_FALSE(ledger.Commit(kinds[3], std::move(batch)).ok());
  store.FailWrites(absl::OkStatus());
  EXPECT_EQ(ledger.Head().length, 3u);
  EXPECT_FALSE(store.Get(store::Family::kMeta, "decision3").ok());
  // Reopened, the head is the same, and the entries link from genesis.
  Ledger again(store);
  ASSERT_TRUE(again.Open().ok());
  EXPECT_EQ(again.Head().length, 3u);
  EXPECT_EQ(again.Head().hash, ledger.Head().hash);
  std::string prev = GenesisHash();
  uint64_t n = 0;
  ASSERT_TRUE(again
                  .Scan(0, 0,
                        [&](v1::LedgerEntry&& e) {
                          EXPECT_EQ(e.index(), ++n);
                          EXPECT_EQ(e.prev_hash(), prev);
                          EXPECT_EQ(LedgerHash(prev, e), e.hash());
                          prev = e.hash();
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(n, 3u);
  n = 0;
  ASSERT_TRUE(again
                  .Scan(2, 2,
                        [&](v1::LedgerEntry&& e) {
                          EXPECT_EQ(e.index(), 2u);
                          ++n;
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(n, 1u);
  // An entry edited in the store is caught when the ledger opens.
  v1::LedgerEntry last;
  ASSERT_TRUE(last.ParseFromString(
      *store.Get(store::Family::kLedger, std::string("\0\0\0\0\0\0\0\x03", 8))));
  last.mutable_approval()->set_approver("mallory");
  store::WriteBatch edit;
  edit.Put(store::Family::kLedger, std::string("\0\0\0\0\0\0\0\x03", 8), last.SerializeAsString());
  ASSERT_TRUE(store.Write(edit, {}).ok());
  Ledger edited(store);
  EXPECT_EQ(edited.Open().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace attest::evidence
