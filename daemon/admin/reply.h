// Finishing admin calls: absl::Status -> grpc::Status, same code and text.
#ifndef ATTEST_DAEMON_ADMIN_REPLY_H_
#define ATTEST_DAEMON_ADMIN_REPLY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attest::admin {

inline grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                             const absl::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// Finishes with `result`'s status, copying its value into `response`.
template <typename T>
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, absl::StatusOr<T> result,
                                T* response) {
  if (result.ok()) *response = std::move(*result);
  return FinishUnary(context, result.status());
}

// In an AdminService method: finish with the refusal unless the caller may
// read (Read) or write (Write); `who` is the caller's name after it.
#define ATTEST_AUTHORIZE(kind)         \
  auto who = Authorize##kind(context); \
  if (!who.ok()) return FinishUnary(context, who.status())

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_REPLY_H_
