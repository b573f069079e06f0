#include "daemon/ingest/committer.h"

#include <future>

#include "daemon/evidence/chain.h"
#include "daemon/ingest/test_signals.h"
#include "daemon/store/keys.h"
#include "daemon/store/memory_store.h"
#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

namespace ts = testing_signals;
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class CommitterTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(committer_.Start().ok()); }

  CommitResult Commit(const std::string& host, const std::string& instance,
                      std::vector<v1::Signal> signals, bool hello = false) {
    return CommitTo(committer_, host, instance, std::move(signals), hello);
  }
  // The same through `committer` (one started again on the same store).
  static CommitResult CommitTo(Committer& committer, const std::string& host,
                               const std::string& instance, std::vector<v1::Signal> signals,
                               bool hello = false) {
    std::promise<CommitResult> promise;
    CommitRequest req;
    req.host = host;
    req.hello = ts::Hello(host, instance);
    req.record_hello = hello;
    req.signals = std::move(signals);
    req.done = [&](const CommitResult& r) { promise.set_value(r); };
    committer.Submit(std::move(req));
    return promise.get_future().get();
  }

  std::vector<v1::EvidenceRecord> Records(const std::string& host) {
    std::vector<v1::EvidenceRecord> out;
    EXPECT_TRUE(store::ScanPrefix(store_, store::Family::kEvidence, store::EvidencePrefix(host),
                                  [&](std::string_view, std::string_view v) {
                                    out.emplace_back().ParseFromArray(v.data(), v.size());
                                    return true;
                                  })
                    .ok());
    return out;
  }

  store::MemoryStore store_;
  FakeClock clock_{kT0};
  Committer committer_{store_, clock_};
};

TEST_F(CommitterTest, AHostCannotStartInstancesWithoutBound) {
  for (size_t i = 0; i < kMaxInstancesPerHost; ++i) {
    ASSERT_TRUE(Commit("web-1", "i" + std::to_string(i), {}, /*hello=*/true).status.ok()) << i;
  }
  const size_t records = Records("web-1").size();
  CommitResult more = Commit("web-1", "one-too-many", {ts::Heartbeat(1, kT0)}, /*hello=*/true);
  EXPECT_EQ(more.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(more.status.message().find("has started 1024 agent instances"), std::string::npos)
      << more.status;
  EXPECT_EQ(Records("web-1").size(), records);  // nothing of it stored
  // Known instances go on, and so do other hosts.
  EXPECT_TRUE(Commit("web-1", "i7", {ts::Heartbeat(1, kT0)}).status.ok());
  EXPECT_TRUE(Commit("web-2", "one-too-many", {ts::Heartbeat(1, kT0)}, true).status.ok());
}

TEST_F(CommitterTest, StoresSignalsOnceAndAcksTheHighestSeq) {
  CommitResult hello = Commit("web-1", "i1", {}, /*hello=*/true);
  ASSERT_TRUE(hello.status.ok());
  EXPECT_EQ(hello.highest_durable_seq, 0u);
  CommitResult r = Commit("web-1", "i1", {ts::Heartbeat(1, kT0), ts::Patch(2, kT0)});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.highest_durable_seq, 2u);
  EXPECT_EQ(r.stored, 2u);
  // Resent: acked again, stored once.
  CommitResult again =
      Commit("web-1", "i1", {ts::Heartbeat(1, kT0), ts::Patch(2, kT0), ts::Heartbeat(3, kT0)});
  EXPECT_EQ(again.duplicates, 2u);
  EXPECT_EQ(again.stored, 1u);
  EXPECT_EQ(again.highest_durable_seq, 3u);
  auto records = Records("web-1");
  ASSERT_EQ(records.size(), 4u);  // hello + 3 signals
  EXPECT_EQ(records[0].body_case(), v1::EvidenceRecord::kHello);
  EXPECT_EQ(records[3].seq(), 3u);
  EXPECT_TRUE(evidence::VerifyChain(records).ok()) << evidence::VerifyChain(records);
}

TEST_F(CommitterTest, MissingSeqsBecomeOneGapRecord) {
  ASSERT_TRUE(Commit("h", "i1", {ts::Heartbeat(1, kT0)}).status.ok());
  CommitResult r = Commit("h", "i1", {ts::Heartbeat(5, kT0 + absl::Minutes(1))});
  EXPECT_EQ(r.gaps, 1u);
  EXPECT_EQ(r.missing_signals, 3u);
  auto records = Records("h");
  ASSERT_EQ(records.size(), 3u);
  ASSERT_EQ(records[1].body_case(), v1::EvidenceRecord::kGap);
  EXPECT_EQ(records[1].gap().first_seq(), 2u);
  EXPECT_EQ(records[1].gap().last_seq(), 4u);
  EXPECT_EQ(records[2].seq(), 5u);
  EXPECT_TRUE(evidence::VerifyChain(records).ok());
}

TEST_F(CommitterTest, ANewInstanceStartsItsOwnSequence) {
  ASSERT_TRUE(Commit("h", "old", {ts::Heartbeat(1, kT0), ts::Heartbeat(2, kT0)}).status.ok());
  CommitResult r = Commit("h", "new", {ts::Heartbeat(1, kT0)}, /*hello=*/true);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(committer_.HighestDurableSeq("h", "old"), 2u);
  EXPECT_EQ(committer_.HighestDurableSeq("h", "new"), 1u);
  EXPECT_TRUE(evidence::VerifyChain(Records("h")).ok());
}

TEST_F(CommitterTest, AnUnchangedHelloIsNotStoredTwice) {
  Commit("h", "i1", {}, true);
  Commit("h", "i1", {}, true);
  EXPECT_EQ(Records("h").size(), 1u);
  v1::Hello relabelled = ts::Hello("h", "i1");
  (*relabelled.mutable_labels())["env"] = "staging";
  std::promise<CommitResult> p;
  CommitRequest req{.host = "h", .hello = relabelled, .record_hello = true};
  req.done = [&](const CommitResult& r) { p.set_value(r); };
  committer_.Submit(std::move(req));
  p.get_future().get();
  EXPECT_EQ(Records("h").size(), 2u);
}

TEST_F(CommitterTest, AFailedWriteAcksNothingAndChangesNothing) {
  ASSERT_TRUE(Commit("h", "i1", {ts::Heartbeat(1, kT0)}).status.ok());
  store_.FailWrites(absl::UnavailableError("No space left on device"));
  CommitResult failed = Commit("h", "i1", {ts::Heartbeat(2, kT0)});
  EXPECT_EQ(failed.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(committer_.HighestDurableSeq("h", "i1"), 1u);
  store_.FailWrites(absl::OkStatus());
  // The resend after recovery is stored, and the chain has no hole.
  CommitResult ok = Commit("h", "i1", {ts::Heartbeat(2, kT0)});
  EXPECT_EQ(ok.stored, 1u);
  EXPECT_EQ(ok.gaps, 0u);
  EXPECT_TRUE(evidence::VerifyChain(Records("h")).ok());
}

TEST_F(CommitterTest, ManyConcurrentRequestsShareSyncs) {
  constexpr int kHosts = 200;
  std::vector<std::promise<CommitResult>> promises(kHosts);
  const int syncs_before = store_.synced_writes();
  for (int i = 0; i < kHosts; ++i) {
    CommitRequest req;
    req.host = "h" + std::to_string(i);
    req.hello = ts::Hello(req.host, "i");
    req.signals = {ts::Heartbeat(1, kT0)};
    req.done = [&promises, i](const CommitResult& r) { promises[i].set_value(r); };
    committer_.Submit(std::move(req));
  }
  for (auto& p : promises) EXPECT_EQ(p.get_future().get().highest_durable_seq, 1u);
  EXPECT_LT(store_.synced_writes() - syncs_before, kHosts);
}

TEST_F(CommitterTest, StateSurvivesARestartFromTheStore) {
  ASSERT_TRUE(Commit("h", "i1", {ts::Heartbeat(1, kT0), ts::Heartbeat(2, kT0)}).status.ok());
  committer_.Stop();
  Committer restarted(store_, clock_);
  ASSERT_TRUE(restarted.Start().ok());
  EXPECT_EQ(restarted.HighestDurableSeq("h", "i1"), 2u);
  CommitResult r = CommitTo(restarted, "h", "i1", {ts::Heartbeat(2, kT0), ts::Heartbeat(3, kT0)});
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_TRUE(evidence::VerifyChain(Records("h")).ok());
}

v1::HostState StoredState(store::Store& store, const std::string& host) {
  v1::HostState state;
  auto value = store.Get(store::Family::kHosts, host);
  EXPECT_TRUE(value.ok()) << value.status();
  if (value.ok()) state.ParseFromString(*value);
  return state;
}

// Writes `state` back as another attestd would have left it.
void StoreState(store::Store& store, const v1::HostState& state) {
  store::WriteBatch b;
  b.Put(store::Family::kHosts, state.host(), state.SerializeAsString());
  ASSERT_TRUE(store.Write(b, {}).ok());
}

// What the committer's count and hash must be: folded from the chain.
std::pair<uint64_t, std::string> FoldedFromChain(const std::vector<v1::EvidenceRecord>& chain) {
  uint64_t count = 0;
  std::string acc = evidence::GenesisHash();
  for (const v1::EvidenceRecord& r : chain) {
    if (!r.has_signal() || !r.signal().has_access_change()) continue;
    ++count;
    acc = evidence::Sha256(acc + r.hash());
  }
  return {count, acc};
}

TEST_F(CommitterTest, EachHostStateCommitsToItsAccessChanges) {
  ASSERT_TRUE(Commit("web-1", "i1", {ts::Heartbeat(1, kT0)}, /*hello=*/true).status.ok());
  v1::HostState state = StoredState(store_, "web-1");
  EXPECT_EQ(state.access_changes(), 0u);
  EXPECT_EQ(state.access_changes_hash(), evidence::GenesisHash());
  ASSERT_TRUE(Commit("web-1", "i1",
                     {ts::AccessChange(2, kT0, "a1"), ts::Heartbeat(3, kT0),
                      ts::AccessChange(4, kT0, "a2")})
                  .status.ok());
  // Another host's changes are its own.
  ASSERT_TRUE(Commit("web-2", "i1", {ts::AccessChange(1, kT0, "b1")}, true).status.ok());
  const auto chain = Records("web-1");
  state = StoredState(store_, "web-1");
  EXPECT_EQ(state.access_changes(), 2u);
  EXPECT_EQ(std::make_pair(state.access_changes(), state.access_changes_hash()),
            FoldedFromChain(chain));
  EXPECT_EQ(StoredState(store_, "web-2").access_changes(), 1u);
  EXPECT_NE(StoredState(store_, "web-2").access_changes_hash(), state.access_changes_hash());
}

TEST_F(CommitterTest, AStateStoredWithoutTheAccessCommitmentGetsItFromTheChainAtStart) {
  ASSERT_TRUE(Commit("web-1", "i1",
                     {ts::AccessChange(1, kT0, "a1"), ts::Heartbeat(2, kT0),
                      ts::AccessChange(3, kT0, "a2"), ts::AccessChange(4, kT0, "a3")},
                     /*hello=*/true)
                  .status.ok());
  committer_.Stop();
  // As an attestd from before the commitment stored it.
  v1::HostState old = StoredState(store_, "web-1");
  old.clear_access_changes();
  old.clear_access_changes_hash();
  StoreState(store_, old);
  Committer restarted(store_, clock_);
  ASSERT_TRUE(restarted.Start().ok());
  const v1::HostState upgraded = StoredState(store_, "web-1");
  EXPECT_EQ(upgraded.access_changes(), 3u);
  EXPECT_EQ(std::make_pair(upgraded.access_changes(), upgraded.access_changes_hash()),
            FoldedFromChain(Records("web-1")));
  // And the next change folds onto it.
  ASSERT_TRUE(CommitTo(restarted, "web-1", "i1", {ts::AccessChange(5, kT0, "a4")}).status.ok());
  const v1::HostState after = StoredState(store_, "web-1");
  EXPECT_EQ(after.access_changes(), 4u);
  EXPECT_EQ(std::make_pair(after.access_changes(), after.access_changes_hash()),
            FoldedFromChain(Records("web-1")));
}

// After a downgrade, an older attestd appends and writes the state back
// with the commitment fields it does not know unchanged: a commitment that
// covers less than the chain is recomputed at start.
TEST_F(CommitterTest, ACommitmentBehindItsChainIsRecomputedAtStart) {
  ASSERT_TRUE(Commit("web-1", "i1",
                     {ts::AccessChange(1, kT0, "a1"), ts::Heartbeat(2, kT0),
                      ts::AccessChange(3, kT0, "a2")},
                     /*hello=*/true)
                  .status.ok());
  committer_.Stop();
  v1::HostState stale = StoredState(store_, "web-1");
  ASSERT_EQ(stale.access_changes_through(), stale.chain_length());
  // As the older attestd left it: the last access change not folded in.
  stale.set_access_changes(1);
  stale.set_access_changes_through(stale.chain_length() - 1);
  StoreState(store_, stale);
  Committer restarted(store_, clock_);
  ASSERT_TRUE(restarted.Start().ok());
  const v1::HostState fixed = StoredState(store_, "web-1");
  EXPECT_EQ(fixed.access_changes(), 2u);
  EXPECT_EQ(fixed.access_changes_through(), fixed.chain_length());
  EXPECT_EQ(std::make_pair(fixed.access_changes(), fixed.access_changes_hash()),
            FoldedFromChain(Records("web-1")));
}

TEST_F(CommitterTest, NothingCommitsWhilePausedAndWhatQueuedFollowsAfter) {
  ASSERT_TRUE(Commit("h", "i1", {ts::Heartbeat(1, kT0)}).status.ok());
  std::promise<CommitResult> acked;
  committer_.WhilePaused([&] {
    CommitRequest req;
    req.host = "h";
    req.hello = ts::Hello("h", "i1");
    req.signals = {ts::Heartbeat(2, kT0)};
    req.done = [&](const CommitResult& r) { acked.set_value(r); };
    committer_.Submit(std::move(req));
    // Unpaused, the committer would commit and go idle well within this;
    // paused, it must not start.
    EXPECT_FALSE(committer_.WaitIdle(absl::Milliseconds(200)));
    EXPECT_EQ(Records("h").size(), 1u);
  });
  CommitResult r = acked.get_future().get();
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.highest_durable_seq, 2u);
  EXPECT_EQ(Records("h").size(), 2u);
}

TEST_F(CommitterTest, SubmitAfterStopIsRefusedAtOnce) {
  committer_.Stop();
  CommitResult r = Commit("h", "i1", {ts::Heartbeat(1, kT0)});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace attest::ingest
