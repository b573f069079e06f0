// AdminService: what attestctl calls. Callers need an admin or auditor
// certificate (any caller in insecure loopback mode); read calls are open
// to both roles.
#ifndef ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_
#define ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_

#include <string>

#include "attest/v1/admin.grpc.pb.h"
#include "daemon/store/store.h"

namespace attest::admin {

struct AdminServiceOptions {
  bool insecure = false;
  std::string trust_domain = "attest";
};

class AdminService final : public v1::AdminService::CallbackService {
 public:
  // `store` must outlive the service.
  AdminService(store::Store& store, AdminServiceOptions options);

  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* context,
                                      const v1::ListHostsRequest* request,
                                      v1::ListHostsResponse* response) override;
  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::GetHostRequest* request,
                                    v1::HostState* response) override;
  grpc::ServerWriteReactor<v1::EvidenceRecord>* ListEvidence(
      grpc::CallbackServerContext* context, const v1::ListEvidenceRequest* request) override;

 private:
  // OK when the caller may read.
  absl::Status AuthorizeRead(grpc::CallbackServerContext* context) const;

  store::Store& store_;
  const AdminServiceOptions options_;
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_
