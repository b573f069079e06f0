// Server-streaming reactors whose reactions run one after another: the
// handler starts the first write, each OnWriteDone starts the next or
// finishes, and OnDone deletes the reactor. gRPC orders those steps (the
// reactor is complete before its first reaction, a write before its
// OnWriteDone, Finish before OnDone), so the reactors need no lock; the
// wrappers here say so to ThreadSanitizer, which cannot see gRPC's own
// synchronisation (common/tsan.h).
#ifndef ATTEST_DAEMON_ADMIN_WRITE_REACTOR_H_
#define ATTEST_DAEMON_ADMIN_WRITE_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "common/tsan.h"
#include "daemon/admin/reply.h"

namespace attest::admin {

template <typename Response>
class WriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  void OnWriteDone(bool ok) final {
    TsanAcquire(this);
    WriteDone(ok);
  }
  void OnDone() final {
    TsanAcquire(this);
    delete this;
  }

 protected:
  // The last write completed (ok), or the client went away (!ok).
  virtual void WriteDone(bool /*ok*/) {}
  void StartWrite(const Response* response) {
    TsanRelease(this);
    grpc::ServerWriteReactor<Response>::StartWrite(response);
  }
  void Finish(grpc::Status status) {
    TsanRelease(this);
    grpc::ServerWriteReactor<Response>::Finish(std::move(status));
  }
};

// Ends the call at once with `status`: a refused or unknown request.
template <typename Response>
class RefusedWrite final : public WriteReactor<Response> {
 public:
  explicit RefusedWrite(const absl::Status& status) { this->Finish(ToGrpc(status)); }
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_WRITE_REACTOR_H_
