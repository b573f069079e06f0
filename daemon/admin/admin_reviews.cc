// Admin calls for user access reviews, served by the engine
// (daemon/engine/engine_reviews.cc).
#include "daemon/admin/admin_service.h"
#include "daemon/admin/reply.h"

namespace attest::admin {

grpc::ServerUnaryReactor* AdminService::StartReview(grpc::CallbackServerContext* context,
                                                    const v1::StartReviewRequest* request,
                                                    v1::ReviewCampaign* response) {
  ATTEST_AUTHORIZE(Write);
  return Reply(context, engine_.StartReview(*request, *who), response);
}

grpc::ServerUnaryReactor* AdminService::DecideReview(grpc::CallbackServerContext* context,
                                                     const v1::DecideReviewRequest* request,
                                                     v1::DecideReviewResponse* response) {
  ATTEST_AUTHORIZE(Write);
  auto decided =
      engine_.DecideReview({request->decisions().begin(), request->decisions().end()}, *who);
  if (!decided.ok()) return FinishUnary(context, decided.status());
  for (auto& d : *decided) *response->add_decisions() = std::move(d);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ListReviews(grpc::CallbackServerContext* context,
                                                    const v1::ListReviewsRequest*,
                                                    v1::ListReviewsResponse* response) {
  ATTEST_AUTHORIZE(Read);
  for (auto& r : engine_.Reviews()) *response->add_reviews() = std::move(r);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetReview(grpc::CallbackServerContext* context,
                                                  const v1::GetReviewRequest* request,
                                                  v1::ReviewDetail* response) {
  ATTEST_AUTHORIZE(Read);
  return Reply(context, engine_.Review(request->id()), response);
}

}  // namespace attest::admin
