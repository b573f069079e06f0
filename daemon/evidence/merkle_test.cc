#include "daemon/evidence/merkle.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace attest::evidence::merkle {
namespace {

// The eight leaves of Certificate Transparency's test tree (RFC 6962's
// reference implementation), whose roots and proofs are published.
std::vector<std::string> CtLeaves() {
  const std::vector<std::string> data = {
      "",
      std::string(1, '\x00'),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  std::vector<std::string> out;
  for (const std::string& d : data) out.push_back(LeafHash(d));
  return out;
}

std::string Hex(const std::string& s) { return HexEncode(s); }

TEST(MerkleTest, RootsMatchTheCertificateTransparencyVectors) {
  const auto leaves = CtLeaves();
  const char* roots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (uint64_t n = 1; n <= 8; ++n) EXPECT_EQ(Hex(Root(leaves, n)), roots[n - 1]) << n;
  EXPECT_EQ(Hex(Root(leaves, 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleTest, ConsistencyProofsMatchTheCertificateTransparencyVectors) {
  const auto leaves = CtLeaves();
  auto hex = [](const std::vector<std::string>& proof) {
    std::vector<std::string> out;
    for (const auto& h : proof) out.push_back(HexEncode(h));
    return out;
  };
  EXPECT_EQ(hex(ConsistencyProof(leaves, 1, 8)),
            (std::vector<std::string>{
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(hex(ConsistencyProof(leaves, 6, 8)),
            (std::vector<std::string>{
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(hex(ConsistencyProof(leaves, 2, 5)),
            (std::vector<std::string>{
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
}

TEST(MerkleTest, EveryProofVerifiesAndEveryAlterationFails) {
  std::vector<std::string> leaves;
  for (int i = 0; i < 40; ++i) leaves.push_back(LeafHash("leaf " + std::to_string(i)));
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    const std::string new_root = Root(leaves, n);
    for (uint64_t m = 0; m <= n; ++m) {
      const std::string old_root = Root(leaves, m);
      const auto proof = ConsistencyProof(leaves, m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, new_root, proof)) << m << " -> " << n;
      if (m == 0) continue;
      // A different history of the same size is refused ...
      std::vector<std::string> forked = leaves;
      forked[m - 1] = LeafHash("forged");
      EXPECT_FALSE(VerifyConsistency(m, n, Root(forked, m), new_root, proof)) << m << " " << n;
      if (m == n) continue;
      // ... so is any changed proof hash or a proof cut short. (A root does
      // not commit to its tree's size: the signed checkpoint does.)
      for (size_t i = 0; i < proof.size(); ++i) {
        auto bad = proof;
        bad[i][0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, bad)) << m << " " << n << " " << i;
      }
      auto shorter = proof;
      shorter.pop_back();
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, shorter)) << m << " " << n;
    }
  }
  EXPECT_FALSE(VerifyConsistency(5, 4, Root(leaves, 5), Root(leaves, 4), {}));
  EXPECT_FALSE(VerifyConsistency(0, 4, Root(leaves, 0), Root(leaves, 4), {LeafHash("x")}));
}

// Every leaf's audit path in every tree size leads to the root; a changed
// leaf, proof hash, index or size does not.
TEST(MerkleTest, InclusionProofsLeadToTheRootAndNothingElseDoes) {
  std::vector<std::string> leaves;
  for (int i = 0; i < 17; ++i) leaves.push_back(LeafHash(std::to_string(i)));
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    const std::string root = Root(leaves, n);
    for (uint64_t i = 0; i < n; ++i) {
      const auto proof = InclusionProof(leaves, i, n);
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], proof, root)) << i << " of " << n;
      EXPECT_FALSE(VerifyInclusion(i, n, LeafHash("forged"), proof, root)) << i << " of " << n;
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, leaves[i], proof, root)) << i << " of " << n;
      }
      for (size_t p = 0; p < proof.size(); ++p) {
        auto bad = proof;
        bad[p][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], bad, root)) << i << " " << n << " " << p;
      }
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], shorter, root)) << i << " of " << n;
      }
    }
  }
  // A known answer: leaf 2 of 5 needs leaf 3, the pair (0, 1) and leaf 4.
  const auto proof = InclusionProof(leaves, 2, 5);
  ASSERT_EQ(proof.size(), 3u);
  EXPECT_EQ(proof[0], leaves[3]);
  EXPECT_EQ(proof[1], NodeHash(leaves[0], leaves[1]));
  EXPECT_EQ(proof[2], leaves[4]);
  EXPECT_FALSE(VerifyInclusion(5, 5, leaves[2], proof, Root(leaves, 5)));
}

}  // namespace
}  // namespace attest::evidence::merkle
