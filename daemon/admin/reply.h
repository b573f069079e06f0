// Finishing admin calls: absl::Status -> grpc::Status, same code and text.
#ifndef ATTEST_DAEMON_ADMIN_REPLY_H_
#define ATTEST_DAEMON_ADMIN_REPLY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"

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

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_REPLY_H_
