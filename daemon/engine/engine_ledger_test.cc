// The engine's decision ledger on a store written before the ledger
// existed: its decisions are backfilled once, in the order recorded.
#include <gtest/gtest.h>

#include <vector>

#include "common/clock.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/engine/engine.h"
#include "daemon/evidence/ledger.h"
#include "daemon/store/memory_store.h"

namespace attest::engine {
namespace {

constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t kEnd = kStart + 12 * 86400;

std::string PolicyText() {
  return "controls:\n"
         "  - {id: agent-reporting, tsc: [CC7.1], rule: agent.reporting, freshness: 15m}\n"
         "windows:\n"
         "  - {id: all, start: " +
         FormatRfc3339(absl::FromUnixSeconds(kStart)) +
         ", end: " + FormatRfc3339(absl::FromUnixSeconds(kEnd)) + "}\n";
}

// A store from before the ledger: its decisions enter the ledger once, at
// the next start, in the order they were recorded and marked backfilled;
// decisions made afterwards are entered as they are made.
TEST(EngineLedgerTest, DecisionsBeforeTheLedgerAreBackfilledOnceInRecordedOrder) {
  store::MemoryStore store;
  FakeClock clock(absl::FromUnixSeconds(kEnd + 3600));
  auto policy = ParsePolicy(PolicyText(), "test.yaml");
  ASSERT_TRUE(policy.ok());
  {
    Engine old(store, clock);
    ASSERT_TRUE(old.Start().ok());
    ASSERT_TRUE(old.LoadPolicy(*policy, "test.yaml").ok());
    clock.Advance(absl::Minutes(1));
    v1::WindowDef w;
    w.set_id("api-window");
    w.mutable_start()->set_seconds(kStart);
    w.mutable_end()->set_seconds(kEnd);
    ASSERT_TRUE(old.CreateWindow(w).ok());
    old.Stop();
  }
  evidence::Ledger ledger(store);
  ASSERT_TRUE(ledger.Open().ok());
  clock.Advance(absl::Minutes(1));
  {
    Engine engine(store, clock, {.ledger = &ledger});
    ASSERT_TRUE(engine.Start().ok());
    const uint64_t backfilled = ledger.Head().length;
    EXPECT_GE(backfilled, 2u);  // the policy version, its windows, the api window
    clock.Advance(absl::Minutes(1));
    v1::Exception x;
    x.set_control("*");
    x.set_host("web-1");
    x.set_reason("r");
    x.set_approver("a");
    x.set_ticket("t");
    x.mutable_start()->set_seconds(kStart);
    x.mutable_end()->set_seconds(kEnd);
    ASSERT_TRUE(engine.CreateException(x).ok());
    EXPECT_EQ(ledger.Head().length, backfilled + 1);
    engine.Stop();
    std::vector<v1::LedgerEntry> entries;
    ASSERT_TRUE(ledger
                    .Scan(0, 0,
                          [&](v1::LedgerEntry&& e) {
                            entries.push_back(std::move(e));
                            return absl::OkStatus();
                          })
                    .ok());
    ASSERT_EQ(entries.size(), backfilled + 1);
    EXPECT_TRUE(entries.front().has_policy_version());
    for (size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(entries[i].has_backfilled_at(), i + 1 <= backfilled) << i;
      if (i > 0) {
        EXPECT_LE(FromProto(entries[i - 1].recorded_at()), FromProto(entries[i].recorded_at()));
      }
    }
    EXPECT_EQ(entries.back().exception().control(), "*");
  }
  // A second start backfills nothing again.
  Engine again(store, clock, {.ledger = &ledger});
  const uint64_t before = ledger.Head().length;
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(ledger.Head().length, before);
  again.Stop();
}

}  // namespace
}  // namespace attest::engine
