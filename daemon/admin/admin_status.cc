// Admin calls about now: the fleet's status and one host's detail.
#include "common/time_util.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/checkpoints.h"
#include "daemon/admin/reply.h"
#include "daemon/admin/witnessing.h"
#include "daemon/windows/now.h"
#include "daemon/windows/summary.h"

namespace attest::admin {

grpc::ServerUnaryReactor* AdminService::DescribeHost(grpc::CallbackServerContext* context,
                                                     const v1::GetHostRequest* request,
                                                     v1::HostDetail* response) {
  ATTEST_AUTHORIZE(Read);
  absl::StatusOr<v1::HostDetail> result;
  engine_.Read([&](const engine::EngineState& state) {
    result = windows::DescribeHost(state, store_, clock_.Now(), request->host());
  });
  return Reply(context, std::move(result), response);
}

grpc::ServerUnaryReactor* AdminService::GetStatus(grpc::CallbackServerContext* context,
                                                  const v1::GetStatusRequest* request,
                                                  v1::FleetStatus* response) {
  ATTEST_AUTHORIZE(Read);
  const absl::Time now = clock_.Now();
  absl::Status failed;
  engine_.Read([&](const engine::EngineState& state) {
    *response = windows::FleetStatusNow(state, now, request->max_failing_hosts());
    if (state.current_policy() == nullptr) return;
    for (const auto& [id, w] : state.windows) {
      if (now < FromProto(w.start()) || FromProto(w.end()) <= now) continue;
      v1::SummarizeRequest req;
      req.set_window(id);
      req.set_without_deviations(true);
      auto summary = windows::Summarize(state, store_, now, req);
      if (!summary.ok()) {
        failed = summary.status();
        return;
      }
      *response->add_open_windows() = std::move(*summary);
    }
  });
  if (!failed.ok()) return FinishUnary(context, failed);
  if (options_.checkpoints != nullptr) {
    auto latest = options_.checkpoints->Latest();
    if (!latest.ok()) return FinishUnary(context, latest.status());
    if (latest->has_value()) *response->mutable_latest_checkpoint() = std::move(**latest);
  }
  if (options_.witnessing != nullptr) {
    for (v1::WitnessStatus& w : options_.witnessing->Status())
      *response->add_witnesses() = std::move(w);
  }
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace attest::admin
