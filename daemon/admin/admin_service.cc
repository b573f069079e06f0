#include "daemon/admin/admin_service.h"

#include <deque>
#include <functional>
#include <mutex>

#include "common/strings.h"
#include "daemon/admin/reply.h"
#include "daemon/admin/write_reactor.h"
#include "daemon/ingest/identity.h"
#include "daemon/store/keys.h"

namespace attest::admin {
namespace {

// OK while the caller may go on reading: a streaming read checks it before
// every message, so a certificate revoked mid-stream (CRL reload) ends it.
using StillAllowed = std::function<absl::Status()>;

// Streams one host's evidence, reading the store a page at a time so that
// a long chain never sits in memory whole.
class EvidenceWriter final : public WriteReactor<v1::EvidenceRecord> {
 public:
  EvidenceWriter(store::Store& store, std::string host, uint64_t from_index, uint64_t limit,
                 StillAllowed still_allowed)
      : still_allowed_(std::move(still_allowed)),
        store_(store),
        host_(std::move(host)),
        next_index_(std::max<uint64_t>(1, from_index)),
        remaining_(limit == 0 ? UINT64_MAX : limit) {
    Next();
  }

 private:
  void WriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Next();
  }

  static constexpr size_t kPage = 256;

  void Next() {
    if (absl::Status s = still_allowed_(); !s.ok()) {
      Finish(ToGrpc(s));
      return;
    }
    if (page_.empty() && remaining_ > 0 && !exhausted_) {
      if (absl::Status s = Fill(); !s.ok()) {
        Finish(ToGrpc(s));
        return;
      }
    }
    if (page_.empty() || remaining_ == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    current_ = std::move(page_.front());
    page_.pop_front();
    --remaining_;
    StartWrite(&current_);
  }

  absl::Status Fill() {
    absl::Status parse = absl::OkStatus();
    absl::Status s =
        store_.Scan(store::Family::kEvidence, store::EvidenceKey(host_, next_index_),
                    store::PrefixEnd(store::EvidencePrefix(host_)),
                    [&](std::string_view, std::string_view value) {
                      v1::EvidenceRecord r;
                      if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                        parse = absl::DataLossError(attest::StrCat("evidence record ", next_index_,
                                                                   " of ", host_, " is corrupt"));
                        return false;
                      }
                      next_index_ = r.index() + 1;
                      page_.push_back(std::move(r));
                      return page_.size() < kPage;
                    });
    if (page_.size() < kPage) exhausted_ = true;
    return s.ok() ? parse : s;
  }

  const StillAllowed still_allowed_;
  store::Store& store_;
  const std::string host_;
  uint64_t next_index_;
  uint64_t remaining_;
  bool exhausted_ = false;
  std::deque<v1::EvidenceRecord> page_;
  v1::EvidenceRecord current_;
};

// The same records as stored (serialized), many to a message: the fast
// path for exports, where one message per record costs more than the
// record itself.
class EvidencePageWriter final : public WriteReactor<v1::EvidencePage> {
 public:
  EvidencePageWriter(store::Store& store, std::string host, uint64_t from_index,
                     StillAllowed still_allowed)
      : still_allowed_(std::move(still_allowed)),
        store_(store),
        host_(std::move(host)),
        next_index_(std::max<uint64_t>(1, from_index)) {
    Next();
  }

 private:
  void WriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Next();
  }

  static constexpr int kRecords = 1024;
  static constexpr size_t kBytes = 1 << 20;

  void Next() {
    page_.Clear();
    if (absl::Status s = still_allowed_(); !s.ok()) {
      Finish(ToGrpc(s));
      return;
    }
    if (exhausted_) {
      Finish(grpc::Status::OK);
      return;
    }
    size_t bytes = 0;
    absl::Status bad = absl::OkStatus();
    absl::Status s = store_.Scan(
        store::Family::kEvidence, store::EvidenceKey(host_, next_index_),
        store::PrefixEnd(store::EvidencePrefix(host_)),
        [&](std::string_view key, std::string_view value) {
          auto index = store::EvidenceKeyIndex(key);
          if (!index) {
            bad = absl::DataLossError(attest::StrCat("evidence key of ", host_, " is corrupt"));
            return false;
          }
          next_index_ = *index + 1;
          page_.add_records(value.data(), value.size());
          bytes += value.size();
          return page_.records_size() < kRecords && bytes < kBytes;
        });
    if (!s.ok() || !bad.ok()) {
      Finish(ToGrpc(s.ok() ? bad : s));
      return;
    }
    if (page_.records_size() < kRecords && bytes < kBytes) exhausted_ = true;
    if (page_.records_size() == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&page_);
  }

  const StillAllowed still_allowed_;
  store::Store& store_;
  const std::string host_;
  uint64_t next_index_;
  bool exhausted_ = false;
  v1::EvidencePage page_;
};

// A store lookup of a host that failed: NOT_FOUND naming it, or the error.
absl::Status NoHost(const std::string& host, const absl::Status& lookup) {
  if (lookup.code() != absl::StatusCode::kNotFound) return lookup;
  return absl::NotFoundError(attest::StrCat("no host \"", host, "\""));
}

}  // namespace

AdminService::AdminService(store::Store& store, engine::Engine& engine,
                           ingest::Committer& committer, const Clock& clock,
                           AdminServiceOptions options)
    : store_(store),
      engine_(engine),
      committer_(committer),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<std::string> AdminService::AuthorizeRead(
    grpc::CallbackServerContext* context) const {
  if (options_.insecure) return std::string("loopback");
  auto peer = ingest::IdentityFromAuthContext(context->auth_context().get(), options_.trust_domain,
                                              options_.revocations);
  if (!peer.ok()) return peer.status();
  if (peer->role == ingest::Role::kHost) {
    return absl::PermissionDeniedError(
        attest::StrCat("host certificate \"", peer->name, "\" cannot use the admin API"));
  }
  return attest::StrCat(ingest::RoleName(peer->role), ":", peer->name);
}

absl::StatusOr<std::string> AdminService::AuthorizeWrite(
    grpc::CallbackServerContext* context) const {
  if (options_.insecure) return std::string("loopback");
  auto peer = ingest::IdentityFromAuthContext(context->auth_context().get(), options_.trust_domain,
                                              options_.revocations);
  if (!peer.ok()) return peer.status();
  if (peer->role == ingest::Role::kHost) {
    return absl::PermissionDeniedError(
        attest::StrCat("host certificate \"", peer->name, "\" cannot use the admin API"));
  }
  if (peer->role != ingest::Role::kAdmin) {
    return absl::PermissionDeniedError(attest::StrCat(
        ingest::RoleName(peer->role), " \"", peer->name, "\" may only read; this needs an admin"));
  }
  return attest::StrCat("admin:", peer->name);
}

std::function<absl::Status()> AdminService::StillAllowedFor(
    grpc::CallbackServerContext* context) const {
  const ingest::Revocations* revocations = options_.revocations;
  if (options_.insecure || revocations == nullptr) return [] { return absl::OkStatus(); };
  auto peer = ingest::IdentityFromAuthContext(context->auth_context().get(), options_.trust_domain);
  const std::string serial = peer.ok() ? peer->serial : "";
  return [revocations, serial] { return revocations->CheckSerial(serial); };
}

grpc::ServerUnaryReactor* AdminService::ListHosts(grpc::CallbackServerContext* context,
                                                  const v1::ListHostsRequest*,
                                                  v1::ListHostsResponse* response) {
  if (auto who = AuthorizeRead(context); !who.ok()) return FinishUnary(context, who.status());
  absl::Status parse = absl::OkStatus();
  absl::Status s =
      store_.Scan(store::Family::kHosts, "", "", [&](std::string_view key, std::string_view value) {
        if (!response->add_hosts()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse = absl::DataLossError(attest::StrCat("host state of ", key, " is corrupt"));
          return false;
        }
        return true;
      });
  return FinishUnary(context, s.ok() ? parse : s);
}

absl::Status AdminService::KnownHost(const std::string& host) {
  auto value = store_.Get(store::Family::kHosts, host);
  return value.ok() ? absl::OkStatus() : NoHost(host, value.status());
}

grpc::ServerUnaryReactor* AdminService::GetHost(grpc::CallbackServerContext* context,
                                                const v1::GetHostRequest* request,
                                                v1::HostState* response) {
  if (auto who = AuthorizeRead(context); !who.ok()) return FinishUnary(context, who.status());
  auto value = store_.Get(store::Family::kHosts, request->host());
  if (!value.ok()) return FinishUnary(context, NoHost(request->host(), value.status()));
  if (!response->ParseFromString(*value)) {
    return FinishUnary(context, absl::DataLossError("host state is corrupt"));
  }
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::EvidenceRecord>* AdminService::ListEvidence(
    grpc::CallbackServerContext* context, const v1::ListEvidenceRequest* request) {
  if (auto who = AuthorizeRead(context); !who.ok()) {
    return new RefusedWrite<v1::EvidenceRecord>(who.status());
  }
  if (absl::Status known = KnownHost(request->host()); !known.ok()) {
    return new RefusedWrite<v1::EvidenceRecord>(known);
  }
  return new EvidenceWriter(store_, request->host(), request->from_index(), request->limit(),
                            StillAllowedFor(context));
}

grpc::ServerWriteReactor<v1::EvidencePage>* AdminService::ListEvidencePages(
    grpc::CallbackServerContext* context, const v1::ListEvidenceRequest* request) {
  if (auto who = AuthorizeRead(context); !who.ok()) {
    return new RefusedWrite<v1::EvidencePage>(who.status());
  }
  return new EvidencePageWriter(store_, request->host(), request->from_index(),
                                StillAllowedFor(context));
}

}  // namespace attest::admin
