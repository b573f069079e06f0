// Admin calls for checkpoints, the signing key and decommission records.
#include "daemon/admin/admin_service.h"
#include "daemon/admin/checkpoints.h"
#include "daemon/admin/reply.h"
#include "daemon/engine/scan.h"

namespace attest::admin {

grpc::ServerUnaryReactor* AdminService::ListDecommissions(grpc::CallbackServerContext* context,
                                                          const v1::ListDecommissionsRequest*,
                                                          v1::ListDecommissionsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  absl::Status s = engine::ScanPrefixMessages<v1::Decommission>(
      store_, store::Family::kDecommissions, "",
      [&](v1::Decommission&& d) { *response->add_decommissions() = std::move(d); });
  return FinishUnary(context, s);
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
                                                        const v1::ListCheckpointsRequest*,
                                                        v1::ListCheckpointsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  if (options_.checkpoints == nullptr) return FinishUnary(context, absl::OkStatus());
  auto list = options_.checkpoints->List();
  if (!list.ok()) return FinishUnary(context, list.status());
  for (v1::Checkpoint& c : *list) *response->add_checkpoints() = std::move(c);
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
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace attest::admin
