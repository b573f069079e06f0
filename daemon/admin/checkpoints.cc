#include "daemon/admin/checkpoints.h"

#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/merkle.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::admin {
namespace {

std::string Key(uint64_t sequence) {
  std::string k;
  store::AppendBigEndian64(&k, sequence);
  return k;
}

absl::StatusOr<v1::Checkpoint> Parse(std::string_view value) {
  v1::Checkpoint c;
  if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("a stored checkpoint is corrupt");
  }
  return c;
}

}  // namespace

Checkpoints::Checkpoints(store::Store& store, const Clock& clock,
                         std::unique_ptr<evidence::SigningKey> key, evidence::Ledger* ledger,
                         std::string origin)
    : store_(store),
      clock_(clock),
      key_(std::move(key)),
      ledger_(ledger),
      origin_(origin.empty() ? StrCat("attestd/", key_->key_id()) : std::move(origin)) {}

std::string Checkpoints::VerifierKey() const {
  evidence::note::VerifierKey k;
  k.name = origin_;
  k.type = evidence::note::kEd25519;
  k.public_key = key_->raw_public_key();
  k.key_id = evidence::note::KeyId(k.name, k.type, k.public_key);
  return k.Format();
}

absl::Status Checkpoints::Open() {
  std::lock_guard lock(mu_);
  leaves_.clear();
  store::WriteBatch missing;
  absl::Status inner;
  absl::Status s = store_.Scan(
      store::Family::kCheckpoints, "", "", [&](std::string_view, std::string_view value) {
        auto c = Parse(value);
        if (!c.ok()) {
          inner = c.status();
          return false;
        }
        if (c->sequence() != leaves_.size() + 1) {
          inner = absl::DataLossError(
              StrCat("checkpoint ", c->sequence(), " follows checkpoint ", leaves_.size()));
          return false;
        }
        leaves_.push_back(evidence::merkle::LeafHash(evidence::StateLeaf(*c)));
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  // States are recomputed from the checkpoints; the stored leaf hashes are
  // for other readers and must agree.
  s = store_.Scan(
      store::Family::kStates, "", "", [&](std::string_view key, std::string_view value) {
        uint64_t seq = 0;
        for (char ch : key) seq = (seq << 8) | static_cast<unsigned char>(ch);
        if (seq == 0 || seq > leaves_.size() || leaves_[seq - 1] != value) {
          inner = absl::DataLossError(
              StrCat("the stored state of checkpoint ", seq, " does not match the checkpoint"));
          return false;
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  for (size_t i = 0; i < leaves_.size(); ++i)
    missing.Put(store::Family::kStates, Key(i + 1), leaves_[i]);
  if (!leaves_.empty()) {
    if (s = store_.Write(missing, {.sync = true}); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpoints::Latest() {
  auto last = store_.Last(store::Family::kCheckpoints, "", std::string(9, '\xff'));
  if (!last.ok()) {
    if (last.status().code() == absl::StatusCode::kNotFound) return std::optional<v1::Checkpoint>();
    return last.status();
  }
  auto c = Parse(last->second);
  if (!c.ok()) return c.status();
  return std::optional<v1::Checkpoint>(std::move(*c));
}

absl::StatusOr<v1::Checkpoint> Checkpoints::Get(uint64_t sequence) {
  auto value = store_.Get(store::Family::kCheckpoints, Key(sequence));
  if (!value.ok()) {
    if (value.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(StrCat("no checkpoint ", sequence));
    }
    return value.status();
  }
  return Parse(*value);
}

absl::StatusOr<v1::Checkpoint> Checkpoints::Create() {
  auto c = CreateLocked();
  if (c.ok() && on_created_) on_created_();
  return c;
}

absl::StatusOr<v1::Checkpoint> Checkpoints::CreateLocked() {
  std::lock_guard lock(mu_);
  v1::Checkpoint c;
  c.set_sequence(leaves_.size() + 1);
  c.mutable_created_at()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
  // The ledger's head first: a decision stored meanwhile is in the next
  // checkpoint, never half in this one.
  const evidence::LedgerHead ledger =
      ledger_ != nullptr ? ledger_->Head() : evidence::LedgerHead{0, evidence::GenesisHash()};
  absl::Status inner;
  bool committed_access = true;
  // Host keys sort by host: the heads come out in order.
  absl::Status s =
      store_.Scan(store::Family::kHosts, "", "", [&](std::string_view, std::string_view value) {
        v1::HostState h;
        if (!h.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("a stored host state is corrupt");
          return false;
        }
        if (h.chain_length() == 0) return true;
        v1::ChainHead* head = c.add_heads();
        head->set_host(h.host());
        head->set_length(h.chain_length());
        head->set_hash(h.chain_head());
        *head->mutable_labels() = h.labels();
        head->set_access_changes(h.access_changes());
        head->set_access_changes_hash(h.access_changes_hash());
        if (!evidence::AccessCommitmentCurrent(h)) committed_access = false;
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  if (committed_access) {
    c.set_state_version(2);
  } else {
    // The committer brings every host's commitment up to its chain when it
    // starts; a state without a current one gets a v1 state rather than a
    // false one.
    spdlog::warn("checkpoint {}: a host state lacks a current access-change commitment; state v1",
                 c.sequence());
    for (v1::ChainHead& head : *c.mutable_heads()) {
      head.clear_access_changes();
      head.clear_access_changes_hash();
    }
  }
  evidence::SignCheckpoint(*key_, &c);  // format 1's root and signature, for older readers
  c.set_heads_root(evidence::HeadsRoot(c.heads()));
  c.set_ledger_length(ledger.length);
  c.set_ledger_head(ledger.hash);
  std::vector<std::string> leaves = leaves_;
  leaves.push_back(evidence::merkle::LeafHash(evidence::StateLeaf(c)));
  c.set_log_root(evidence::merkle::Root(leaves, leaves.size()));
  evidence::note::Checkpoint body;
  body.origin = origin_;
  body.size = leaves.size();
  body.root = c.log_root();
  evidence::note::Note note;
  note.text = body.Format();
  evidence::note::Signature sig;
  sig.name = origin_;
  sig.key_id = evidence::note::KeyId(origin_, evidence::note::kEd25519, key_->raw_public_key());
  sig.blob = key_->Sign(note.text);
  note.signatures.push_back(std::move(sig));
  c.set_note(note.Format());
  store::WriteBatch batch;
  batch.Put(store::Family::kCheckpoints, Key(c.sequence()), c.SerializeAsString());
  batch.Put(store::Family::kStates, Key(c.sequence()), leaves.back());
  if (s = store_.Write(batch, {.sync = true}); !s.ok()) return s;
  leaves_ = std::move(leaves);
  spdlog::info("checkpoint {}: {} chain heads and {} ledger entries signed (key {})", c.sequence(),
               c.heads_size(), c.ledger_length(), key_->key_id());
  return c;
}

absl::StatusOr<std::vector<v1::Checkpoint>> Checkpoints::List(uint64_t from, uint64_t to,
                                                              size_t limit) {
  std::vector<v1::Checkpoint> out;
  absl::Status inner;
  absl::Status s = store_.Scan(store::Family::kCheckpoints, Key(std::max<uint64_t>(from, 1)),
                               to == 0 || to == UINT64_MAX ? std::string() : Key(to + 1),
                               [&](std::string_view, std::string_view value) {
                                 if (limit > 0 && out.size() == limit) return false;
                                 auto c = Parse(value);
                                 if (!c.ok()) {
                                   inner = c.status();
                                   return false;
                                 }
                                 out.push_back(std::move(*c));
                                 return true;
                               });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  return out;
}

absl::Status Checkpoints::CreateDaily() {
  auto latest = Latest();
  if (!latest.ok()) return latest.status();
  const int64_t today = absl::ToUnixSeconds(clock_.Now()) / 86400;
  if (latest->has_value() && (*latest)->created_at().seconds() / 86400 >= today) {
    return absl::OkStatus();
  }
  return Create().status();
}

absl::StatusOr<std::vector<std::string>> Checkpoints::ConsistencyProof(uint64_t m, uint64_t n) {
  std::lock_guard lock(mu_);
  if (m > n || n > leaves_.size()) {
    return absl::InvalidArgumentError(StrCat("no consistency proof from size ", m, " to ", n,
                                             " (the log has ", leaves_.size(), ")"));
  }
  return evidence::merkle::ConsistencyProof(leaves_, m, n);
}

absl::Status Checkpoints::AddCosignatures(uint64_t sequence,
                                          const std::vector<evidence::note::Signature>& lines) {
  std::lock_guard lock(mu_);
  auto c = Get(sequence);
  if (!c.ok()) return c.status();
  auto note = evidence::note::Parse(c->note());
  if (!note.ok())
    return absl::DataLossError(StrCat("checkpoint ", sequence, ": ", note.status().message()));
  bool changed = false;
  for (const auto& line : lines) {
    bool have = false;
    for (const auto& s : note->signatures) {
      have = have || (s.name == line.name && s.key_id == line.key_id && s.blob == line.blob);
    }
    if (!have) {
      note->signatures.push_back(line);
      changed = true;
    }
  }
  if (!changed) return absl::OkStatus();
  c->set_note(note->Format());
  store::WriteBatch batch;
  batch.Put(store::Family::kCheckpoints, Key(sequence), c->SerializeAsString());
  return store_.Write(batch, {.sync = true});
}

}  // namespace attest::admin
