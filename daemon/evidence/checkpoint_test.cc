#include "daemon/evidence/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "daemon/evidence/chain.h"

namespace attest::evidence {
namespace {

std::string TempPath(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/checkpoint_test";
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir + "/" + name);
  return dir + "/" + name;
}

v1::Checkpoint WithHeads(int n) {
  v1::Checkpoint c;
  c.set_sequence(7);
  c.mutable_created_at()->set_seconds(1'767'225'600);
  for (int i = 0; i < n; ++i) {
    v1::ChainHead* h = c.add_heads();
    h->set_host((i < 10 ? "h0" : "h") + std::to_string(i));  // host order
    h->set_length(100 + i);
    h->set_hash(Sha256("record " + std::to_string(i)));
  }
  return c;
}

std::string Leaf(const v1::ChainHead& h) {
  std::string d(1, '\0');
  d += h.host() + std::string(1, '\0');
  for (int i = 7; i >= 0; --i) d.push_back(static_cast<char>((h.length() >> (8 * i)) & 0xff));
  return Sha256(d + h.hash());
}

TEST(CheckpointTest, TheTreeHasTheDocumentedShape) {
  const v1::Checkpoint c = WithHeads(3);
  const std::string node = [](const std::string& l, const std::string& r) {
    return Sha256(std::string(1, '\x01') + l + r);
  }(Sha256(std::string(1, '\x01') + Leaf(c.heads(0)) + Leaf(c.heads(1))), Leaf(c.heads(2)));
  EXPECT_EQ(MerkleRoot(c.heads()), node);
  EXPECT_EQ(MerkleRoot(WithHeads(1).heads()), Leaf(WithHeads(1).heads(0)));
  EXPECT_EQ(MerkleRoot(WithHeads(0).heads()), Sha256(""));
}

TEST(CheckpointTest, SignedCheckpointsVerifyAndEveryChangeIsCaught) {
  auto key = SigningKey::LoadOrCreate(TempPath("k1.pem"));
  ASSERT_TRUE(key.ok()) << key.status();
  for (int n : {0, 1, 2, 5, 16, 17}) {
    v1::Checkpoint c = WithHeads(n);
    SignCheckpoint(**key, &c);
    EXPECT_TRUE(VerifyCheckpoint(c, (*key)->public_key_pem()).ok()) << n;
  }
  v1::Checkpoint good = WithHeads(5);
  SignCheckpoint(**key, &good);
  std::vector<std::function<void(v1::Checkpoint*)>> edits = {
      [](v1::Checkpoint* c) { c->mutable_heads(2)->set_length(999); },
      [](v1::Checkpoint* c) { c->mutable_heads(4)->set_hash(Sha256("forged")); },
      [](v1::Checkpoint* c) { c->mutable_heads(0)->set_host("h000"); },
      [](v1::Checkpoint* c) { c->mutable_heads()->RemoveLast(); },
      [](v1::Checkpoint* c) { c->mutable_heads()->SwapElements(1, 2); },
      [](v1::Checkpoint* c) { c->set_sequence(8); },
      [](v1::Checkpoint* c) { c->mutable_created_at()->set_seconds(1); },
      [](v1::Checkpoint* c) { (*c->mutable_signature())[3] ^= 1; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    v1::Checkpoint c = good;
    edits[i](&c);
    EXPECT_FALSE(VerifyCheckpoint(c, (*key)->public_key_pem()).ok()) << "edit " << i;
  }
  // Another daemon's key does not verify it.
  auto other = SigningKey::LoadOrCreate(TempPath("k2.pem"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->key_id(), (*key)->key_id());
  const absl::Status s = VerifyCheckpoint(good, (*other)->public_key_pem());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("signed with key"), std::string::npos) << s;
}

TEST(CheckpointTest, TheKeyIsCreatedOnceWithMode0600AndReloaded) {
  const std::string path = TempPath("k3.pem");
  auto first = SigningKey::LoadOrCreate(path);
  ASSERT_TRUE(first.ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = SigningKey::LoadOrCreate(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->key_id(), (*first)->key_id());
  EXPECT_EQ((*again)->public_key_pem(), (*first)->public_key_pem());
  auto id = KeyId((*first)->public_key_pem());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, (*first)->key_id());
  EXPECT_FALSE(KeyId("not a key").ok());
}

}  // namespace
}  // namespace attest::evidence
