// Admin calls served by the engine and the windows module.
#include <algorithm>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/reply.h"
#include "daemon/engine/engine_keys.h"
#include "daemon/engine/scan.h"
#include "daemon/windows/summary.h"

namespace attest::admin {
grpc::ServerUnaryReactor* AdminService::CreateWindow(grpc::CallbackServerContext* context,
                                                     const v1::WindowDef* request,
                                                     v1::WindowDef* response) {
  ATTEST_AUTHORIZE(Write);
  return Reply(context, engine_.CreateWindow(*request), response);
}

grpc::ServerUnaryReactor* AdminService::ListWindows(grpc::CallbackServerContext* context,
                                                    const v1::ListWindowsRequest*,
                                                    v1::ListWindowsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  for (auto& w : engine_.Windows()) *response->add_windows() = std::move(w);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::Summarize(grpc::CallbackServerContext* context,
                                                  const v1::SummarizeRequest* request,
                                                  v1::WindowSummary* response) {
  ATTEST_AUTHORIZE(Read);
  absl::StatusOr<v1::WindowSummary> result;
  engine_.Read([&](const engine::EngineState& state) {
    result = windows::Summarize(state, store_, clock_.Now(), *request);
  });
  return Reply(context, std::move(result), response);
}

grpc::ServerUnaryReactor* AdminService::Sample(grpc::CallbackServerContext* context,
                                               const v1::SampleRequest* request,
                                               v1::SampleResponse* response) {
  ATTEST_AUTHORIZE(Read);
  absl::StatusOr<v1::SampleResponse> result;
  const absl::Time now = clock_.Now();
  engine_.Read([&](const engine::EngineState& state) {
    result = windows::DrawSample(state, store_, now, *request);
  });
  if (!result.ok()) return FinishUnary(context, result.status());
  // The draw is part of the audit trail: recorded (synced) before the
  // caller sees the sample.
  const v1::SampleDraw draw = windows::RecordOfDraw(*result, *request, now, *who);
  store::WriteBatch batch;
  batch.Put(store::Family::kSamples,
            engine::keys::SampleDrawKey(draw.window(), absl::ToUnixNanos(now), draw.control()),
            draw.SerializeAsString());
  absl::Status written;
  if (options_.ledger != nullptr) {
    v1::LedgerEntry entry;
    *entry.mutable_recorded_at() = ToProto(now);
    *entry.mutable_sample() = draw;
    written = options_.ledger->Commit(std::move(entry), std::move(batch));
  } else {
    written = store_.Write(batch, store::WriteOptions{});
  }
  if (!written.ok()) return FinishUnary(context, written);
  *response = std::move(*result);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ListSamples(grpc::CallbackServerContext* context,
                                                    const v1::ListSamplesRequest* request,
                                                    v1::ListSamplesResponse* response) {
  ATTEST_AUTHORIZE(Read);
  const std::string prefix =
      request->window().empty() ? std::string() : engine::keys::Str(request->window());
  absl::Status s = engine::ScanPrefixMessages<v1::SampleDraw>(
      store_, store::Family::kSamples, prefix,
      [&](v1::SampleDraw&& d) { *response->add_draws() = std::move(d); });
  return FinishUnary(context, s);
}

grpc::ServerUnaryReactor* AdminService::GetTimeline(grpc::CallbackServerContext* context,
                                                    const v1::TimelineRequest* request,
                                                    v1::TimelineResponse* response) {
  ATTEST_AUTHORIZE(Read);
  absl::StatusOr<v1::TimelineResponse> result;
  engine_.Read([&](const engine::EngineState& state) {
    // An unknown host or control would read as an empty timeline, which
    // looks like "no evidence" rather than a typo.
    if (!state.hosts.contains(request->host())) {
      result = absl::NotFoundError(attest::StrCat("no host \"", request->host(), "\""));
      return;
    }
    const std::vector<std::string> controls = state.ControlIds();
    if (std::find(controls.begin(), controls.end(), request->control()) == controls.end()) {
      result = absl::NotFoundError(attest::StrCat("no control \"", request->control(), "\""));
      return;
    }
    result = windows::Timeline(store_, *request);
  });
  return Reply(context, std::move(result), response);
}

grpc::ServerUnaryReactor* AdminService::Approve(grpc::CallbackServerContext* context,
                                                const v1::Approval* request,
                                                v1::Approval* response) {
  ATTEST_AUTHORIZE(Write);
  v1::Approval approval = *request;
  approval.set_recorded_by(*who);
  return Reply(context, engine_.Approve(std::move(approval)), response);
}

grpc::ServerUnaryReactor* AdminService::ListApprovals(grpc::CallbackServerContext* context,
                                                      const v1::ListApprovalsRequest* request,
                                                      v1::ListApprovalsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  for (auto& a : engine_.Approvals(request->change_id())) *response->add_approvals() = std::move(a);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::CreateException(grpc::CallbackServerContext* context,
                                                        const v1::Exception* request,
                                                        v1::Exception* response) {
  ATTEST_AUTHORIZE(Write);
  v1::Exception exception = *request;
  exception.set_recorded_by(*who);
  return Reply(context, engine_.CreateException(std::move(exception)), response);
}

grpc::ServerUnaryReactor* AdminService::RevokeException(grpc::CallbackServerContext* context,
                                                        const v1::RevokeExceptionRequest* request,
                                                        v1::Exception* response) {
  ATTEST_AUTHORIZE(Write);
  return Reply(context, engine_.RevokeException(*request, *who), response);
}

grpc::ServerUnaryReactor* AdminService::ListExceptions(grpc::CallbackServerContext* context,
                                                       const v1::ListExceptionsRequest*,
                                                       v1::ListExceptionsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  for (auto& x : engine_.Exceptions()) *response->add_exceptions() = std::move(x);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::DecommissionHost(grpc::CallbackServerContext* context,
                                                         const v1::Decommission* request,
                                                         v1::Decommission* response) {
  ATTEST_AUTHORIZE(Write);
  v1::Decommission d = *request;
  d.set_recorded_by(*who);
  return Reply(context, engine_.Decommission(std::move(d)), response);
}

grpc::ServerUnaryReactor* AdminService::ListPolicyVersions(
    grpc::CallbackServerContext* context, const v1::ListPolicyVersionsRequest*,
    v1::ListPolicyVersionsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  for (auto& v : engine_.PolicyVersions()) *response->add_versions() = std::move(v);
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace attest::admin
