#include "daemon/evidence/ledger.h"

#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/store/keys.h"

namespace attest::evidence {
namespace {

std::string Key(uint64_t index) {
  std::string k;
  store::AppendBigEndian64(&k, index);
  return k;
}

}  // namespace

Ledger::Ledger(store::Store& store) : store_(store) { head_.hash = GenesisHash(); }

absl::Status Ledger::Open() {
  LedgerHead head{0, GenesisHash()};
  auto last = store_.Last(store::Family::kLedger, "", std::string(9, '\xff'));
  if (!last.ok() && last.status().code() != absl::StatusCode::kNotFound) return last.status();
  if (last.ok()) {
    v1::LedgerEntry e;
    if (!e.ParseFromString(last->second)) {
      return absl::DataLossError("the last ledger entry is corrupt");
    }
    if (LedgerHash(e.prev_hash(), e) != e.hash()) {
      return absl::DataLossError(
          StrCat("ledger entry ", e.index(), ": content does not match its hash"));
    }
    head = {e.index(), e.hash()};
  }
  std::lock_guard lock(mu_);
  head_ = std::move(head);
  return absl::OkStatus();
}

absl::Status Ledger::Commit(v1::LedgerEntry entry, store::WriteBatch batch) {
  std::vector<v1::LedgerEntry> one;
  one.push_back(std::move(entry));
  return CommitAll(std::move(one), std::move(batch));
}

absl::Status Ledger::CommitAll(std::vector<v1::LedgerEntry> entries, store::WriteBatch batch) {
  for (const v1::LedgerEntry& e : entries) {
    if (e.decision_case() == v1::LedgerEntry::DECISION_NOT_SET || !e.has_recorded_at()) {
      return absl::InternalError("a ledger entry needs its decision and recorded_at");
    }
  }
  std::lock_guard lock(mu_);
  LedgerHead head = head_;
  for (v1::LedgerEntry& e : entries) {
    e.set_index(head.length + 1);
    e.set_prev_hash(head.hash);
    e.clear_hash();
    e.set_hash(LedgerHash(head.hash, e));
    batch.Put(store::Family::kLedger, Key(e.index()), e.SerializeAsString());
    head = {e.index(), e.hash()};
  }
  if (absl::Status s = store_.Write(batch, {.sync = true}); !s.ok()) return s;
  head_ = std::move(head);
  return absl::OkStatus();
}

LedgerHead Ledger::Head() const {
  std::lock_guard lock(mu_);
  return head_;
}

absl::Status Ledger::Scan(uint64_t from, uint64_t to,
                          const std::function<absl::Status(v1::LedgerEntry&&)>& visit) const {
  absl::Status inner;
  const std::string end = to == 0 ? std::string() : Key(to + 1);
  absl::Status s =
      store_.Scan(store::Family::kLedger, Key(from == 0 ? 1 : from), end,
                  [&](std::string_view, std::string_view value) {
                    v1::LedgerEntry e;
                    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                      inner = absl::DataLossError("a ledger entry is corrupt");
                      return false;
                    }
                    inner = visit(std::move(e));
                    return inner.ok();
                  });
  return s.ok() ? inner : s;
}

}  // namespace attest::evidence
