#include "daemon/evidence/merkle.h"

#include "daemon/evidence/chain.h"

namespace attest::evidence::merkle {
namespace {

uint64_t SplitPoint(uint64_t n) {  // largest power of two below n (n > 1)
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::string Range(const std::vector<std::string>& leaves, uint64_t begin, uint64_t end) {
  if (end - begin == 1) return leaves[begin];
  const uint64_t k = SplitPoint(end - begin);
  return NodeHash(Range(leaves, begin, begin + k), Range(leaves, begin + k, end));
}

void SubProof(const std::vector<std::string>& leaves, uint64_t m, uint64_t begin, uint64_t end,
              bool complete, std::vector<std::string>* out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out->push_back(Range(leaves, begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(leaves, m, begin, begin + k, complete, out);
    out->push_back(Range(leaves, begin + k, end));
  } else {
    SubProof(leaves, m - k, begin + k, end, false, out);
    out->push_back(Range(leaves, begin, begin + k));
  }
}

void Path(const std::vector<std::string>& leaves, uint64_t index, uint64_t begin, uint64_t end,
          std::vector<std::string>* out) {
  if (end - begin <= 1) return;
  const uint64_t k = SplitPoint(end - begin);
  if (index < k) {
    Path(leaves, index, begin, begin + k, out);
    out->push_back(Range(leaves, begin + k, end));
  } else {
    Path(leaves, index - k, begin + k, end, out);
    out->push_back(Range(leaves, begin, begin + k));
  }
}

}  // namespace

std::vector<std::string> InclusionProof(const std::vector<std::string>& leaves, uint64_t index,
                                        uint64_t n) {
  std::vector<std::string> out;
  if (index >= n || n > leaves.size()) return out;
  Path(leaves, index, 0, n, &out);
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t n, std::string_view leaf_hash,
                     const std::vector<std::string>& proof, std::string_view root) {
  if (index >= n) return false;
  uint64_t fn = index;
  uint64_t sn = n - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0 || p.size() != leaf_hash.size()) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

std::string LeafHash(std::string_view leaf) {
  std::string data(1, '\0');
  data.append(leaf);
  return Sha256(data);
}

std::string NodeHash(std::string_view left, std::string_view right) {
  std::string data(1, '\x01');
  data.append(left);
  data.append(right);
  return Sha256(data);
}

std::string Root(const std::vector<std::string>& leaves, uint64_t n) {
  if (n == 0) return Sha256("");
  return Range(leaves, 0, n);
}

std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaves, uint64_t m,
                                          uint64_t n) {
  std::vector<std::string> out;
  if (m == 0 || m >= n) return out;
  SubProof(leaves, m, 0, n, true, &out);
  return out;
}

bool VerifyConsistency(uint64_t m, uint64_t n, std::string_view old_root, std::string_view new_root,
                       const std::vector<std::string>& proof) {
  if (m > n) return false;
  if (m == n) return proof.empty() && old_root == new_root;
  if (m == 0) return proof.empty();
  std::vector<std::string> path = proof;
  if ((m & (m - 1)) == 0) path.insert(path.begin(), std::string(old_root));  // a power of two
  if (path.empty()) return false;
  uint64_t fn = m - 1, sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace attest::evidence::merkle
