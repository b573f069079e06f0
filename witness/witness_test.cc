#include "witness/witness.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/merkle.h"

namespace attest::witness {
namespace {

namespace note = evidence::note;
namespace merkle = evidence::merkle;

constexpr char kOrigin[] = "attest.example/prod";

std::string Dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/witness_test/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::unique_ptr<evidence::SigningKey> Key(const std::string& dir, const std::string& name) {
  auto k = evidence::SigningKey::LoadOrCreate(dir + "/" + name);
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

note::VerifierKey Vkey(const evidence::SigningKey& key, const std::string& name, uint8_t type) {
  note::VerifierKey v;
  v.name = name;
  v.type = type;
  v.public_key = key.raw_public_key();
  v.key_id = note::KeyId(name, type, v.public_key);
  return v;
}

struct Fixture {
  std::string dir = Dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::unique_ptr<evidence::SigningKey> log_key = Key(dir, "log.key");
  FakeClock clock{absl::FromUnixSeconds(1'767'225'600)};
  std::vector<std::string> leaves;

  Fixture() {
    for (int i = 0; i < 20; ++i) leaves.push_back(merkle::LeafHash("state " + std::to_string(i)));
  }
  std::unique_ptr<Witness> Make() {
    auto w = std::make_unique<Witness>(
        dir + "/state", "witness.example/w1", Key(dir, "w.key"),
        std::vector<Log>{{kOrigin, {Vkey(*log_key, kOrigin, note::kEd25519)}}}, clock);
    EXPECT_TRUE(w->Open().ok());
    return w;
  }
  std::string Checkpoint(uint64_t size, const std::string& root, const evidence::SigningKey& key,
                         const std::string& origin = kOrigin) {
    note::Note n;
    n.text = note::Checkpoint{origin, size, root, {}}.Format();
    n.signatures.push_back(
        {origin, note::KeyId(origin, note::kEd25519, key.raw_public_key()), key.Sign(n.text)});
    return n.Format();
  }
  std::string Request(uint64_t old_size, uint64_t size,
                      const std::vector<std::string>* other = nullptr) {
    const auto& ls = other ? *other : leaves;
    std::string body = StrCat("old ", old_size, "\n");
    for (const auto& h : merkle::ConsistencyProof(ls, old_size, size)) {
      body += Base64Encode(h) + "\n";
    }
    return body + "\n" + Checkpoint(size, merkle::Root(ls, size), *log_key);
  }
};

TEST(WitnessTest, CosignsOnlyWhatExtendsWhatItCosignedAndRemembersItAcrossRestarts) {
  Fixture f;
  auto w = f.Make();
  Response r = w->AddCheckpoint(f.Request(0, 3));
  ASSERT_EQ(r.status, 200) << r.body;
  // The response is a cosignature line over the checkpoint, at the clock's time.
  auto n = note::Parse(f.Checkpoint(3, merkle::Root(f.leaves, 3), *f.log_key) + r.body);
  ASSERT_TRUE(n.ok()) << n.status();
  auto wv = note::ParseVerifierKey(w->VerifierKey());
  ASSERT_TRUE(wv.ok());
  uint64_t t = 0;
  EXPECT_TRUE(note::VerifySignature(*n, *wv, &t).ok());
  EXPECT_EQ(t, 1'767'225'600u);

  // The same size again: cosigned again (a lost response can be retried).
  EXPECT_EQ(w->AddCheckpoint(f.Request(3, 3)).status, 200);
  // A fork at the same size: another history of 3 leaves.
  std::vector<std::string> forked = f.leaves;
  forked[1] = merkle::LeafHash("forged");
  r = w->AddCheckpoint(f.Request(3, 3, &forked));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("forked"), std::string::npos) << r.body;
  // A fork that grows: its proof from size 3 cannot verify.
  r = w->AddCheckpoint(f.Request(3, 8, &forked));
  EXPECT_EQ(r.status, 422) << r.body;
  // A rollback: an old size above the new size, or a stale old size.
  EXPECT_EQ(w->AddCheckpoint(f.Request(3, 2)).status, 400);
  r = w->AddCheckpoint(f.Request(0, 2));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "text/x.tlog.size");
  EXPECT_EQ(r.body, "3\n");
  // Extending is cosigned.
  f.clock.Advance(absl::Hours(24));
  EXPECT_EQ(w->AddCheckpoint(f.Request(3, 8)).status, 200);

  // After a restart the witness still knows size 8 and still refuses a
  // rollback to 3.
  w.reset();
  auto again = f.Make();
  r = again->AddCheckpoint(f.Request(3, 5));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "8\n");
  EXPECT_EQ(again->AddCheckpoint(f.Request(8, 12)).status, 200);
  // Its latest checkpoint carries the log's signature and its own.
  r = again->GetCheckpoint(HexEncode(evidence::Sha256(kOrigin)));
  ASSERT_EQ(r.status, 200);
  auto kept = note::Parse(r.body);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(note::ParseCheckpoint(kept->text)->size, 12u);
  EXPECT_TRUE(note::VerifySignature(*kept, Vkey(*f.log_key, kOrigin, note::kEd25519)).ok());
  EXPECT_TRUE(note::VerifySignature(*kept, *wv).ok());
  EXPECT_EQ(again->GetCheckpoint(std::string(64, '0')).status, 404);
}

TEST(WitnessTest, RefusesWhatItCannotTrustWithTheSpecifiedStatus) {
  Fixture f;
  auto w = f.Make();
  auto other_key = Key(f.dir, "other.key");
  const std::string root3 = merkle::Root(f.leaves, 3);
  // The log's key id with a signature over something else.
  std::string tampered = f.Checkpoint(3, root3, *f.log_key);
  tampered.replace(tampered.size() - 6, 4, "AAAA");
  struct Case {
    std::string body;
    int status;
    std::string why;
  } cases[] = {
      {"old 0\n\n" + f.Checkpoint(3, root3, *f.log_key, "other.example/log"), 404, "unknown log"},
      {"old 0\n\n" + f.Checkpoint(3, root3, *other_key), 403, "no signature by a key"},
      {"old 0\n\n" + tampered, 403, "does not verify"},
      {"old 01\n\n" + f.Checkpoint(3, root3, *f.log_key), 400, "leading zeroes"},
      {"old 0\n" + f.Checkpoint(3, root3, *f.log_key), 400, ""},
      {"0\n\n" + f.Checkpoint(3, root3, *f.log_key), 400, "old <size>"},
      {"old 0\nnot base64\n\n" + f.Checkpoint(3, root3, *f.log_key), 400, "base64 of 32 bytes"},
      {"old 0\n" + Base64Encode(root3) + "\n\n" + f.Checkpoint(3, root3, *f.log_key), 422,
       "proof is empty"},
      {"old 0\n\n" + f.Checkpoint(0, root3, *f.log_key), 422, "empty tree"},
      {"old 0\n\nno signature\n", 400, "checkpoint"},
      {std::string(kMaxRequestBytes + 1, 'x'), 413, "at most"},
  };
  for (const Case& c : cases) {
    Response r = w->AddCheckpoint(c.body);
    EXPECT_EQ(r.status, c.status) << r.body << " for " << c.body.substr(0, 80);
    EXPECT_NE(r.body.find(c.why), std::string::npos) << r.body;
  }
  std::string many = "old 3\n";
  for (size_t i = 0; i <= kMaxProofLines; ++i) many += Base64Encode(root3) + "\n";
  EXPECT_EQ(w->AddCheckpoint(many + "\n" + f.Checkpoint(3, root3, *f.log_key)).status, 400);
  // Nothing was stored by any of them: the first real checkpoint is
  // accepted from size 0.
  EXPECT_EQ(w->AddCheckpoint(f.Request(0, 3)).status, 200);
}

TEST(WitnessTest, AStateFileNotSignedByTheLogStopsTheWitness) {
  Fixture f;
  auto w = f.Make();
  ASSERT_EQ(w->AddCheckpoint(f.Request(0, 3)).status, 200);
  w.reset();
  auto other = Key(f.dir, "other.key");
  const std::string path = f.dir + "/state/" + HexEncode(evidence::Sha256(kOrigin)) + ".checkpoint";
  ASSERT_TRUE(std::filesystem::exists(path));
  { std::ofstream(path) << f.Checkpoint(1, merkle::Root(f.leaves, 1), *other); }
  Witness again(f.dir + "/state", "witness.example/w1", Key(f.dir, "w.key"),
                {{kOrigin, {Vkey(*f.log_key, kOrigin, note::kEd25519)}}}, f.clock);
  EXPECT_EQ(again.Open().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace attest::witness
