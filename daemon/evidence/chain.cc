#include "daemon/evidence/chain.h"

#include <openssl/evp.h>

#include "common/strings.h"
#include "daemon/evidence/record_json.h"

namespace attest::evidence {

const std::string& GenesisHash() {
  static const std::string* genesis = new std::string(kHashBytes, '\0');
  return *genesis;
}

std::string Sha256(std::string_view data) {
  // Fetched once: EVP_sha256() would look the implementation up on every
  // call, which costs as much as hashing a record.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &len, sha256, nullptr) != 1) {
    // OpenSSL cannot hash: nothing about the evidence can be trusted.
    abort();
  }
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string ChainHash(std::string_view prev_hash, const v1::EvidenceRecord& record) {
  thread_local std::string data;  // reused: this runs for every stored record
  data.assign(prev_hash.data(), prev_hash.size());
  AppendCanonicalRecord(&data, record, /*with_links=*/false);
  return Sha256(data);
}

void LinkRecord(std::string_view prev_hash, v1::EvidenceRecord* record) {
  record->set_prev_hash(std::string(prev_hash));
  record->set_hash(ChainHash(prev_hash, *record));
}

bool IsAccessChange(const v1::EvidenceRecord& record) {
  return record.has_signal() && record.signal().has_access_change();
}

std::string FoldAccessChange(std::string_view acc, std::string_view record_hash) {
  std::string data(acc);
  data.append(record_hash);
  return Sha256(data);
}

bool AccessCommitmentCurrent(const v1::HostState& state) {
  return state.access_changes_hash().size() == kHashBytes &&
         state.access_changes_through() == state.chain_length();
}

absl::Status VerifyChain(const std::vector<v1::EvidenceRecord>& records) {
  std::string prev = GenesisHash();
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const std::string where = attest::StrCat("host ", r.host(), " record ", r.index());
    if (r.index() != i + 1) {
      return absl::DataLossError(attest::StrCat(where, ": expected index ", i + 1));
    }
    if (r.prev_hash() != prev) {
      return absl::DataLossError(attest::StrCat(where, ": prev_hash does not link to record ", i));
    }
    if (ChainHash(prev, r) != r.hash()) {
      return absl::DataLossError(attest::StrCat(where, ": content does not match its hash"));
    }
    prev = r.hash();
  }
  return absl::OkStatus();
}

}  // namespace attest::evidence
