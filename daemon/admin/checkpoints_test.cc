#include "daemon/admin/checkpoints.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/merkle.h"
#include "daemon/store/keys.h"
#include "daemon/store/memory_store.h"

namespace attest::admin {
namespace {

namespace note = evidence::note;

std::unique_ptr<evidence::SigningKey> Key() {
  const std::string dir = ::testing::TempDir() + "/checkpoints_test";
  std::filesystem::create_directories(dir);
  auto k = evidence::SigningKey::LoadOrCreate(dir + "/k");
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

// A store that an attestd from before format 2 left: one host, and a
// format 1 checkpoint. The next checkpoint turns it into state 1 of the
// log ("attest-state-v0"), signs size 2, and proves 1 -> 2 consistent.
TEST(CheckpointsTest, AStoreFromBeforeTheLogContinuesItAndEveryCheckpointIsANote) {
  store::MemoryStore store;
  FakeClock clock(absl::FromUnixSeconds(1'767'225'600));
  v1::HostState h;
  h.set_host("web-1");
  h.set_chain_length(3);
  h.set_chain_head(evidence::Sha256("head"));
  (*h.mutable_labels())["env"] = "prod";
  store::WriteBatch batch;
  batch.Put(store::Family::kHosts, "web-1", h.SerializeAsString());
  v1::Checkpoint old;
  old.set_sequence(1);
  old.mutable_created_at()->set_seconds(1'767'139'200);
  auto* head = old.add_heads();
  head->set_host("web-1");
  head->set_length(2);
  head->set_hash(evidence::Sha256("older head"));
  auto key = Key();
  evidence::SignCheckpoint(*key, &old);
  std::string k;
  store::AppendBigEndian64(&k, 1);
  batch.Put(store::Family::kCheckpoints, k, old.SerializeAsString());
  ASSERT_TRUE(store.Write(batch, {}).ok());

  evidence::Ledger ledger(store);
  ASSERT_TRUE(ledger.Open().ok());
  Checkpoints checkpoints(store, clock, std::move(key), &ledger, "attest.test/prod");
  ASSERT_TRUE(checkpoints.Open().ok());
  int notified = 0;
  checkpoints.OnCreated([&] { ++notified; });
  auto c = checkpoints.Create();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(c->sequence(), 2u);
  ASSERT_EQ(c->heads_size(), 1);
  EXPECT_EQ(c->heads(0).labels().at("env"), "prod");
  EXPECT_NE(evidence::StateLeaf(old).find("\"format\":\"attest-state-v0\""), std::string::npos);
  // The note: size 2, the root over both states, signed under the origin.
  auto n = note::Parse(c->note());
  ASSERT_TRUE(n.ok()) << n.status();
  auto body = note::ParseCheckpoint(n->text);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->origin, "attest.test/prod");
  EXPECT_EQ(body->size, 2u);
  const std::vector<std::string> leaves = {evidence::merkle::LeafHash(evidence::StateLeaf(old)),
                                           evidence::merkle::LeafHash(evidence::StateLeaf(*c))};
  EXPECT_EQ(body->root, evidence::merkle::Root(leaves, 2));
  auto vkey = note::ParseVerifierKey(checkpoints.VerifierKey());
  ASSERT_TRUE(vkey.ok());
  EXPECT_TRUE(note::VerifySignature(*n, *vkey).ok());
  auto proof = checkpoints.ConsistencyProof(1, 2);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(evidence::merkle::VerifyConsistency(1, 2, evidence::merkle::Root(leaves, 1),
                                                  body->root, *proof));
  EXPECT_FALSE(checkpoints.ConsistencyProof(1, 3).ok());
  // Reopened, the log continues at size 3; a stored state that does not
  // match its checkpoint stops it.
  Checkpoints again(store, clock, Key(), &ledger, "attest.test/prod");
  ASSERT_TRUE(again.Open().ok());
  EXPECT_EQ(again.Create()->sequence(), 3u);
  store::WriteBatch bad;
  bad.Put(store::Family::kStates, k, evidence::Sha256("not the leaf"));
  ASSERT_TRUE(store.Write(bad, {}).ok());
  Checkpoints broken(store, clock, Key(), &ledger, "attest.test/prod");
  EXPECT_EQ(broken.Open().code(), absl::StatusCode::kDataLoss);
}

void PutHost(store::Store& store, const std::string& host, bool with_commitment) {
  v1::HostState h;
  h.set_host(host);
  h.set_chain_length(5);
  h.set_chain_head(evidence::Sha256(host));
  if (with_commitment) {
    h.set_access_changes(2);
    h.set_access_changes_hash(evidence::Sha256("acc of " + host));
    h.set_access_changes_through(5);
  }
  store::WriteBatch batch;
  batch.Put(store::Family::kHosts, host, h.SerializeAsString());
  ASSERT_TRUE(store.Write(batch, {}).ok());
}

// attest-state-v2: every head leaf carries its host's access-change
// commitment; a store where one host lacks it gets a v1 state, never a
// commitment attestd did not compute.
TEST(CheckpointsTest, StatesCommitToEachHostsAccessChangesWhenEveryHostHasThem) {
  store::MemoryStore store;
  FakeClock clock(absl::FromUnixSeconds(1'767'225'600));
  PutHost(store, "web-1", true);
  PutHost(store, "web-2", true);
  evidence::Ledger ledger(store);
  ASSERT_TRUE(ledger.Open().ok());
  Checkpoints checkpoints(store, clock, Key(), &ledger, "attest.test/prod");
  ASSERT_TRUE(checkpoints.Open().ok());
  auto c = checkpoints.Create();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state_version(), 2u);
  EXPECT_NE(evidence::StateLeaf(*c).find("\"format\":\"attest-state-v2\""), std::string::npos);
  const std::string leaf = evidence::HeadLeaf(c->heads(0));
  EXPECT_EQ(leaf, "{\"access_changes\":2,\"access_changes_hash\":\"" +
                      HexEncode(evidence::Sha256("acc of web-1")) + "\",\"hash\":\"" +
                      HexEncode(evidence::Sha256("web-1")) +
                      "\",\"host\":\"web-1\",\"labels\":{},\"length\":5}");
  // The commitment is under the heads root: another count, another root.
  v1::Checkpoint other = *c;
  other.mutable_heads(0)->set_access_changes(1);
  EXPECT_NE(evidence::HeadsRoot(other.heads()), c->heads_root());

  // A commitment that covers less than the chain (an older attestd
  // appended after a downgrade) is not signed either.
  PutHost(store, "web-3", true);
  {
    v1::HostState stale;
    ASSERT_TRUE(stale.ParseFromString(*store.Get(store::Family::kHosts, "web-3")));
    stale.set_chain_length(7);
    store::WriteBatch batch;
    batch.Put(store::Family::kHosts, "web-3", stale.SerializeAsString());
    ASSERT_TRUE(store.Write(batch, {}).ok());
  }
  auto stale_state = checkpoints.Create();
  ASSERT_TRUE(stale_state.ok());
  EXPECT_EQ(stale_state->state_version(), 0u);
  EXPECT_EQ(evidence::HeadLeaf(stale_state->heads(2)).find("access_changes"), std::string::npos);

  PutHost(store, "web-3", false);
  auto v1_state = checkpoints.Create();
  ASSERT_TRUE(v1_state.ok());
  EXPECT_EQ(v1_state->state_version(), 0u);
  EXPECT_NE(evidence::StateLeaf(*v1_state).find("\"format\":\"attest-state-v1\""),
            std::string::npos);
  EXPECT_EQ(evidence::HeadLeaf(v1_state->heads(0)).find("access_changes"), std::string::npos);
}

}  // namespace
}  // namespace attest::admin
