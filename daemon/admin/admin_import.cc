// Import: interchange records through the same validation, dedup and hash
// chain as live ingest, marked imported.
#include <atomic>
#include <memory>

#include "common/strings.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/import_batches.h"
#include "daemon/admin/reply.h"
#include "daemon/ingest/validate.h"

namespace attest::admin {
namespace {

// Collects commit outcomes; the last one to arrive finishes the call.
struct ImportCall {
  grpc::ServerUnaryReactor* reactor;
  v1::ImportResponse* response;
  std::mutex mu;
  size_t pending = 0;
  uint64_t valid = 0;

  void Done(const ingest::CommitResult& r, const std::vector<uint64_t>& lines) {
    bool last;
    {
      std::lock_guard lock(mu);
      if (r.status.ok()) {
        response->set_duplicates(response->duplicates() + r.duplicates);
        response->set_gaps(response->gaps() + r.gaps);
        response->set_accepted(response->accepted() + lines.size() - r.duplicates);
      } else {
        for (uint64_t line : lines) {
          auto* rej = response->add_rejected();
          rej->set_line(line);
          rej->set_reason(attest::StrCat("not stored: ", r.status.message()));
        }
      }
      last = --pending == 0;
    }
    if (last) {
      std::sort(response->mutable_rejected()->begin(), response->mutable_rejected()->end(),
                [](const auto& a, const auto& b) { return a.line() < b.line(); });
      reactor->Finish(grpc::Status::OK);
    }
  }
};

}  // namespace

grpc::ServerUnaryReactor* AdminService::Import(grpc::CallbackServerContext* context,
                                               const v1::ImportRequest* request,
                                               v1::ImportResponse* response) {
  auto who = AuthorizeWrite(context);
  if (!who.ok()) return FinishUnary(context, who.status());
  const absl::Time now = clock_.Now();
  auto reject = [&](uint64_t line, std::string reason) {
    auto* r = response->add_rejected();
    r->set_line(line);
    r->set_reason(std::move(reason));
  };

  std::vector<ImportBatch> batches =
      BuildImportBatches(request->records(), options_.limits, now, reject);

  auto* reactor = context->DefaultReactor();
  if (batches.empty()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto call = std::make_shared<ImportCall>();
  call->reactor = reactor;
  call->response = response;
  call->pending = batches.size();
  for (ImportBatch& p : batches) {
    p.request.done = [call, lines = std::move(p.lines)](const ingest::CommitResult& r) {
      call->Done(r, lines);
    };
    committer_.Submit(std::move(p.request));
  }
  return reactor;
}

}  // namespace attest::admin
