#include "daemon/admin/checkpoints.h"

#include "common/strings.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::admin {
namespace {

std::string Key(uint64_t sequence) {
  std::string k;
  store::AppendBigEndian64(&k, sequence);
  return k;
}

}  // namespace

Checkpoints::Checkpoints(store::Store& store, const Clock& clock,
                         std::unique_ptr<evidence::SigningKey> key)
    : store_(store), clock_(clock), key_(std::move(key)) {}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpoints::Latest() {
  std::optional<v1::Checkpoint> latest;
  absl::Status inner;
  absl::Status s = store_.Scan(
      store::Family::kCheckpoints, "", "", [&](std::string_view, std::string_view value) {
        v1::Checkpoint c;
        if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("a stored checkpoint is corrupt");
          return false;
        }
        latest = std::move(c);
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  return latest;
}

absl::StatusOr<v1::Checkpoint> Checkpoints::Create() {
  std::lock_guard lock(mu_);
  auto latest = Latest();
  if (!latest.ok()) return latest.status();
  v1::Checkpoint c;
  c.set_sequence(latest->has_value() ? (*latest)->sequence() + 1 : 1);
  c.mutable_created_at()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
  absl::Status inner;
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
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  evidence::SignCheckpoint(*key_, &c);
  store::WriteBatch batch;
  batch.Put(store::Family::kCheckpoints, Key(c.sequence()), c.SerializeAsString());
  if (s = store_.Write(batch, {.sync = true}); !s.ok()) return s;
  spdlog::info("checkpoint {}: {} chain heads signed (key {})", c.sequence(), c.heads_size(),
               key_->key_id());
  return c;
}

absl::StatusOr<std::vector<v1::Checkpoint>> Checkpoints::List() {
  std::vector<v1::Checkpoint> out;
  absl::Status inner;
  absl::Status s = store_.Scan(
      store::Family::kCheckpoints, "", "", [&](std::string_view, std::string_view value) {
        v1::Checkpoint& c = out.emplace_back();
        if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("a stored checkpoint is corrupt");
          return false;
        }
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

}  // namespace attest::admin
