// RFC 6962 (section 2.1) Merkle trees, as C2SP tlog-checkpoint uses them:
//   leaf hash = SHA-256(0x00 || leaf bytes)
//   node hash = SHA-256(0x01 || left || right)
// A tree of n > 1 leaves splits at k, the largest power of two below n;
// the empty tree's hash is SHA-256 of nothing. Hashes are 32 raw bytes.
#ifndef ATTEST_DAEMON_EVIDENCE_MERKLE_H_
#define ATTEST_DAEMON_EVIDENCE_MERKLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attest::evidence::merkle {

std::string LeafHash(std::string_view leaf);
std::string NodeHash(std::string_view left, std::string_view right);

// The root over leaf hashes [0, n) of `leaves` (n <= leaves.size()).
std::string Root(const std::vector<std::string>& leaves, uint64_t n);

// RFC 6962 section 2.1.2 PROOF(m, D[n]): the hashes that prove the tree
// of the first m leaves is a prefix of the tree of the first n. Empty when
// m is 0 or m == n. Requires m <= n <= leaves.size().
std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaves, uint64_t m,
                                          uint64_t n);

// RFC 9162 section 2.1.4.2: true when `proof` shows that the tree of size
// m with root `old_root` is a prefix of the tree of size n with root
// `new_root`. m == 0 is consistent with any tree (and needs no proof).
bool VerifyConsistency(uint64_t m, uint64_t n, std::string_view old_root, std::string_view new_root,
                       const std::vector<std::string>& proof);

// RFC 6962 section 2.1.1 PATH(m, D[n]): the audit path of leaf `index` in
// the tree of the first n leaves, from the leaf up. Requires index < n <=
// leaves.size().
std::vector<std::string> InclusionProof(const std::vector<std::string>& leaves, uint64_t index,
                                        uint64_t n);

// RFC 9162 section 2.1.3.2: true when `proof` leads from `leaf_hash` at
// `index` to `root`, the root of a tree of n leaves.
bool VerifyInclusion(uint64_t index, uint64_t n, std::string_view leaf_hash,
                     const std::vector<std::string>& proof, std::string_view root);

}  // namespace attest::evidence::merkle

#endif  // ATTEST_DAEMON_EVIDENCE_MERKLE_H_
