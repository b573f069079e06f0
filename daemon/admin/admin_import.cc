// Import: interchange records through the same validation, dedup and hash
// chain as live ingest, marked imported.
#include <atomic>
#include <memory>

#include "common/strings.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/reply.h"
#include "daemon/ingest/validate.h"

namespace attest::admin {
namespace {

constexpr char kDefaultInstance[] = "imported";

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

  struct Pending {
    ingest::CommitRequest request;
    std::vector<uint64_t> lines;
  };
  std::vector<Pending> batches;
  for (const v1::ImportRecord& rec : request->records()) {
    if (!ingest::IsValidHostId(rec.host())) {
      reject(rec.line(), attest::StrCat("host: \"", rec.host(), "\" is not a valid host id"));
      continue;
    }
    const std::string instance = rec.instance_id().empty() ? kDefaultInstance : rec.instance_id();
    if (rec.has_hello()) {
      v1::Hello hello = rec.hello();
      hello.set_instance_id(instance);
      if (absl::Status s = ingest::ValidateHello(hello, limits_); !s.ok()) {
        reject(rec.line(), std::string(s.message()));
        continue;
      }
      Pending& p = batches.emplace_back();
      p.request.host = rec.host();
      p.request.hello = std::move(hello);
      p.request.record_hello = true;
      p.lines.push_back(rec.line());
      continue;
    }
    if (!rec.has_signal()) {
      reject(rec.line(), "neither a hello nor a signal");
      continue;
    }
    if (absl::Status s = ingest::ValidateSignal(rec.signal(), now, limits_); !s.ok()) {
      reject(rec.line(), std::string(s.message()));
      continue;
    }
    const bool extend = !batches.empty() && batches.back().request.host == rec.host() &&
                        batches.back().request.hello.instance_id() == instance &&
                        (batches.back().request.signals.empty() ||
                         batches.back().request.signals.back().seq() < rec.signal().seq());
    if (!extend) {
      Pending& p = batches.emplace_back();
      p.request.host = rec.host();
      p.request.hello.set_instance_id(instance);
    }
    batches.back().request.signals.push_back(rec.signal());
    batches.back().lines.push_back(rec.line());
  }

  auto* reactor = context->DefaultReactor();
  if (batches.empty()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto call = std::make_shared<ImportCall>();
  call->reactor = reactor;
  call->response = response;
  call->pending = batches.size();
  for (Pending& p : batches) {
    p.request.origin = v1::ORIGIN_IMPORTED;
    p.request.done = [call, lines = std::move(p.lines)](const ingest::CommitResult& r) {
      call->Done(r, lines);
    };
    committer_.Submit(std::move(p.request));
  }
  return reactor;
}

}  // namespace attest::admin
