// AdminService: what attestctl calls. Callers need an admin or auditor
// certificate (any caller in insecure loopback mode); read calls are open
// to both roles.
#ifndef ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_
#define ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_

#include <functional>
#include <string>

#include "attest/v1/admin.grpc.pb.h"
#include "common/clock.h"
#include "daemon/engine/engine.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/revocation.h"
#include "daemon/ingest/validate.h"
#include "daemon/store/store.h"

namespace attest::admin {

class Checkpoints;
class Witnessing;

struct AdminServiceOptions {
  bool insecure = false;
  std::string trust_domain = "attest";
  const ingest::Revocations* revocations = nullptr;  // not owned; null: none revoked
  Checkpoints* checkpoints = nullptr;      // must outlive the service; null: no checkpoints
  evidence::Ledger* ledger = nullptr;      // must outlive the service; null: no ledger
  const Witnessing* witnessing = nullptr;  // must outlive the service; null: no witnesses
  ingest::Limits limits;                   // for imports: the agent stream's bounds
};

class AdminService final : public v1::AdminService::CallbackService {
 public:
  // Everything passed must outlive the service.
  AdminService(store::Store& store, engine::Engine& engine, ingest::Committer& committer,
               const Clock& clock, AdminServiceOptions options);

  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* context,
                                      const v1::ListHostsRequest* request,
                                      v1::ListHostsResponse* response) override;
  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::GetHostRequest* request,
                                    v1::HostState* response) override;
  // admin_status.cc
  grpc::ServerUnaryReactor* DescribeHost(grpc::CallbackServerContext* context,
                                         const v1::GetHostRequest* request,
                                         v1::HostDetail* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::FleetStatus* response) override;

  grpc::ServerWriteReactor<v1::EvidenceRecord>* ListEvidence(
      grpc::CallbackServerContext* context, const v1::ListEvidenceRequest* request) override;
  grpc::ServerWriteReactor<v1::EvidencePage>* ListEvidencePages(
      grpc::CallbackServerContext* context, const v1::ListEvidenceRequest* request) override;

  // admin_import.cc
  grpc::ServerUnaryReactor* Import(grpc::CallbackServerContext* context,
                                   const v1::ImportRequest* request,
                                   v1::ImportResponse* response) override;

  // admin_records.cc
  grpc::ServerUnaryReactor* CreateWindow(grpc::CallbackServerContext* context,
                                         const v1::WindowDef* request,
                                         v1::WindowDef* response) override;
  grpc::ServerUnaryReactor* ListWindows(grpc::CallbackServerContext* context,
                                        const v1::ListWindowsRequest* request,
                                        v1::ListWindowsResponse* response) override;
  grpc::ServerUnaryReactor* Summarize(grpc::CallbackServerContext* context,
                                      const v1::SummarizeRequest* request,
                                      v1::WindowSummary* response) override;
  grpc::ServerUnaryReactor* Sample(grpc::CallbackServerContext* context,
                                   const v1::SampleRequest* request,
                                   v1::SampleResponse* response) override;
  grpc::ServerUnaryReactor* ListSamples(grpc::CallbackServerContext* context,
                                        const v1::ListSamplesRequest* request,
                                        v1::ListSamplesResponse* response) override;
  grpc::ServerUnaryReactor* GetTimeline(grpc::CallbackServerContext* context,
                                        const v1::TimelineRequest* request,
                                        v1::TimelineResponse* response) override;
  grpc::ServerUnaryReactor* Approve(grpc::CallbackServerContext* context,
                                    const v1::Approval* request, v1::Approval* response) override;
  grpc::ServerUnaryReactor* ListApprovals(grpc::CallbackServerContext* context,
                                          const v1::ListApprovalsRequest* request,
                                          v1::ListApprovalsResponse* response) override;
  grpc::ServerUnaryReactor* CreateException(grpc::CallbackServerContext* context,
                                            const v1::Exception* request,
                                            v1::Exception* response) override;
  grpc::ServerUnaryReactor* RevokeException(grpc::CallbackServerContext* context,
                                            const v1::RevokeExceptionRequest* request,
                                            v1::Exception* response) override;
  grpc::ServerUnaryReactor* ListExceptions(grpc::CallbackServerContext* context,
                                           const v1::ListExceptionsRequest* request,
                                           v1::ListExceptionsResponse* response) override;
  grpc::ServerUnaryReactor* DecommissionHost(grpc::CallbackServerContext* context,
                                             const v1::Decommission* request,
                                             v1::Decommission* response) override;
  grpc::ServerUnaryReactor* ListPolicyVersions(grpc::CallbackServerContext* context,
                                               const v1::ListPolicyVersionsRequest* request,
                                               v1::ListPolicyVersionsResponse* response) override;

  // admin_checkpoints.cc
  grpc::ServerUnaryReactor* ListDecommissions(grpc::CallbackServerContext* context,
                                              const v1::ListDecommissionsRequest* request,
                                              v1::ListDecommissionsResponse* response) override;
  grpc::ServerUnaryReactor* CreateCheckpoint(grpc::CallbackServerContext* context,
                                             const v1::CreateCheckpointRequest* request,
                                             v1::Checkpoint* response) override;
  grpc::ServerUnaryReactor* ListCheckpoints(grpc::CallbackServerContext* context,
                                            const v1::ListCheckpointsRequest* request,
                                            v1::ListCheckpointsResponse* response) override;
  grpc::ServerUnaryReactor* GetSigningKey(grpc::CallbackServerContext* context,
                                          const v1::GetSigningKeyRequest* request,
                                          v1::SigningKey* response) override;
  grpc::ServerUnaryReactor* ListLedger(grpc::CallbackServerContext* context,
                                       const v1::ListLedgerRequest* request,
                                       v1::ListLedgerResponse* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* context,
                                                const v1::ConsistencyProofRequest* request,
                                                v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* CutExport(grpc::CallbackServerContext* context,
                                      const v1::CutExportRequest* request,
                                      v1::BundleManifest* response) override;

  // admin_reviews.cc
  grpc::ServerUnaryReactor* StartReview(grpc::CallbackServerContext* context,
                                        const v1::StartReviewRequest* request,
                                        v1::ReviewCampaign* response) override;
  grpc::ServerUnaryReactor* DecideReview(grpc::CallbackServerContext* context,
                                         const v1::DecideReviewRequest* request,
                                         v1::DecideReviewResponse* response) override;
  grpc::ServerUnaryReactor* ListReviews(grpc::CallbackServerContext* context,
                                        const v1::ListReviewsRequest* request,
                                        v1::ListReviewsResponse* response) override;
  grpc::ServerUnaryReactor* GetReview(grpc::CallbackServerContext* context,
                                      const v1::GetReviewRequest* request,
                                      v1::ReviewDetail* response) override;

 private:
  // The caller's name when it may read (admin or auditor), or may write
  // (admin only); "loopback" in insecure mode.
  absl::StatusOr<std::string> AuthorizeRead(grpc::CallbackServerContext* context) const;
  absl::StatusOr<std::string> AuthorizeWrite(grpc::CallbackServerContext* context) const;
  // For a streaming read: OK while the caller's certificate is not revoked.
  std::function<absl::Status()> StillAllowedFor(grpc::CallbackServerContext* context) const;
  // OK when `host` has stored records; NOT_FOUND `no host "H"` otherwise.
  absl::Status KnownHost(const std::string& host);
  // Every decommission record, in the order stored.
  absl::Status ReadDecommissions(google::protobuf::RepeatedPtrField<v1::Decommission>* out);

  store::Store& store_;
  engine::Engine& engine_;
  ingest::Committer& committer_;
  const Clock& clock_;
  const AdminServiceOptions options_;
};

}  // namespace attest::admin

#endif  // ATTEST_DAEMON_ADMIN_ADMIN_SERVICE_H_
