// Admin calls for checkpoints, the signing key, decommission records and an
// export's cut.
#include <chrono>

#include "daemon/admin/admin_service.h"
#include "daemon/admin/checkpoints.h"
#include "daemon/admin/reply.h"
#include "daemon/engine/records.h"
#include "daemon/engine/scan.h"
#include "daemon/ingest/committer.h"
#include "daemon/windows/summary.h"
#include "spdlog/spdlog.h"

namespace attest::admin {

grpc::ServerUnaryReactor* AdminService::ListDecommissions(grpc::CallbackServerContext* context,
                                                          const v1::ListDecommissionsRequest*,
                                                          v1::ListDecommissionsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  return FinishUnary(context, ReadDecommissions(response->mutable_decommissions()));
}

absl::Status AdminService::ReadDecommissions(
    google::protobuf::RepeatedPtrField<v1::Decommission>* out) {
  return engine::ScanPrefixMessages<v1::Decommission>(
      store_, store::Family::kDecommissions, "",
      [&](v1::Decommission&& d) { *out->Add() = std::move(d); });
}

grpc::ServerUnaryReactor* AdminService::CreateCheckpoint(grpc::CallbackServerContext* context,
                                                         const v1::CreateCheckpointRequest*,
                                                         v1::Checkpoint* response) {
  ATTEST_AUTHORIZE(Write);
  if (options_.checkpoints == nullptr) {
    return FinishUnary(context, absl::UnimplementedError("this attestd keeps no checkpoints"));
  }
  return Reply(context, options_.checkpoints->Create(), response);
}

grpc::ServerUnaryReactor* AdminService::ListCheckpoints(grpc::CallbackServerContext* context,
                                                        const v1::ListCheckpointsRequest* request,
                                                        v1::ListCheckpointsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  if (options_.checkpoints == nullptr) return FinishUnary(context, absl::OkStatus());
  auto list = options_.checkpoints->List(request->from_sequence(), request->to_sequence(),
                                         request->limit() + (request->limit() > 0 ? 1 : 0));
  if (!list.ok()) return FinishUnary(context, list.status());
  if (request->limit() > 0 && list->size() > request->limit()) {
    list->pop_back();
    response->set_more(true);
  }
  for (v1::Checkpoint& c : *list) {
    if (request->leaves_only()) {
      c.set_state_leaf(evidence::StateLeaf(c));
      c.clear_heads();
    }
    *response->add_checkpoints() = std::move(c);
  }
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetSigningKey(grpc::CallbackServerContext* context,
                                                      const v1::GetSigningKeyRequest*,
                                                      v1::SigningKey* response) {
  ATTEST_AUTHORIZE(Read);
  if (options_.checkpoints == nullptr) {
    return FinishUnary(context, absl::UnimplementedError("this attestd keeps no checkpoints"));
  }
  response->set_public_key_pem(options_.checkpoints->key().public_key_pem());
  response->set_key_id(options_.checkpoints->key().key_id());
  response->set_origin(options_.checkpoints->origin());
  response->set_verifier_key(options_.checkpoints->VerifierKey());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ListLedger(grpc::CallbackServerContext* context,
                                                   const v1::ListLedgerRequest* request,
                                                   v1::ListLedgerResponse* response) {
  ATTEST_AUTHORIZE(Read);
  if (options_.ledger == nullptr) return FinishUnary(context, absl::OkStatus());
  // The whole ledger in one reply: decisions are made by people, a few a
  // day; the reply is bounded by gRPC's message size (attestctl reads it
  // in pages of 10,000 entries).
  constexpr uint64_t kPage = 10000;
  const uint64_t from = std::max<uint64_t>(1, request->from_index());
  uint64_t to = from + kPage - 1;
  if (request->to_index() != 0) to = std::min(to, request->to_index());
  absl::Status s = options_.ledger->Scan(from, to, [&](v1::LedgerEntry&& e) {
    *response->add_entries() = std::move(e);
    return absl::OkStatus();
  });
  return FinishUnary(context, s);
}

grpc::ServerUnaryReactor* AdminService::GetConsistencyProof(
    grpc::CallbackServerContext* context, const v1::ConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  ATTEST_AUTHORIZE(Read);
  if (options_.checkpoints == nullptr) {
    return FinishUnary(context, absl::UnimplementedError("this attestd keeps no checkpoints"));
  }
  uint64_t n = request->new_size();
  if (n == 0) {
    auto latest = options_.checkpoints->Latest();
    if (!latest.ok()) return FinishUnary(context, latest.status());
    n = latest->has_value() ? (*latest)->sequence() : 0;
  }
  auto proof = options_.checkpoints->ConsistencyProof(request->old_size(), n);
  if (!proof.ok()) return FinishUnary(context, proof.status());
  response->set_old_size(request->old_size());
  response->set_new_size(n);
  for (std::string& h : *proof) response->add_hashes(std::move(h));
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::CutExport(grpc::CallbackServerContext* context,
                                                  const v1::CutExportRequest* request,
                                                  v1::BundleManifest* response) {
  ATTEST_AUTHORIZE(Write);  // it creates a checkpoint
  if (options_.checkpoints == nullptr) {
    return FinishUnary(context, absl::UnimplementedError("this attestd keeps no checkpoints"));
  }
  v1::BundleManifest& m = *response;
  absl::Status status;
  // Held between commits, every durable group has been handed to the engine,
  // and the engine's read judges all of it first: the checkpoint's heads are
  // exactly the evidence the summary is computed from. Ingest waits for the
  // checkpoint's synced write and one summary (bench/report_bench measures
  // the summary); agents' acks are that much later.
  std::chrono::steady_clock::time_point held;
  committer_.WhilePaused([&] {
    held = std::chrono::steady_clock::now();
    engine_.Read([&](const engine::EngineState& state) {
      // An unknown window is refused before a checkpoint is signed for it.
      auto window = state.windows.find(request->window());
      if (window == state.windows.end()) {
        status = absl::NotFoundError(attest::StrCat("no window \"", request->window(), "\""));
        return;
      }
      *m.mutable_window() = window->second;
      auto checkpoint = options_.checkpoints->Create();
      if (!checkpoint.ok()) {
        status = checkpoint.status();
        return;
      }
      *m.mutable_checkpoint() = std::move(*checkpoint);
      v1::SummarizeRequest summarize;
      summarize.set_window(request->window());
      auto summary = windows::Summarize(state, store_, clock_.Now(), summarize);
      if (!summary.ok()) {
        status = summary.status();
        return;
      }
      *m.mutable_summary() = std::move(*summary);
      // On the engine thread these run inline, on the same state.
      for (auto& v : engine_.PolicyVersions()) *m.add_policy_versions() = std::move(v);
      for (auto& a : engine_.Approvals("")) *m.add_approvals() = std::move(a);
      for (auto& x : engine_.Exceptions()) *m.add_exceptions() = std::move(x);
      status = ReadDecommissions(m.mutable_decommissions());
      // In scope: a chain at the checkpoint, and the labels the engine
      // judged the host's window membership by.
      for (const v1::ChainHead& head : m.checkpoint().heads()) {
        auto host = state.hosts.find(head.host());
        if (host == state.hosts.end()) continue;
        if (engine::SelectorMatches(m.window().scope(), host->second.labels())) {
          m.add_hosts()->set_host(head.host());
        }
      }
    });
  });
  const auto held_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - held)
          .count();
  if (!status.ok()) return FinishUnary(context, status);
  spdlog::info("export of window {} cut at checkpoint {} ({} hosts in scope); ingest held {} ms",
               request->window(), m.checkpoint().sequence(), m.hosts_size(), held_ms);
  m.set_public_key_pem(options_.checkpoints->key().public_key_pem());
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace attest::admin
