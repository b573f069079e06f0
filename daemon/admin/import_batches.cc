#include "daemon/admin/import_batches.h"

#include <map>
#include <memory>
#include <mutex>

#include "common/strings.h"

namespace attest::admin {
namespace {

constexpr char kDefaultInstance[] = "imported";

struct Outcome {
  std::mutex mu;
  absl::Status first_error;
};

}  // namespace

std::vector<ImportBatch> BuildImportBatches(
    const google::protobuf::RepeatedPtrField<v1::ImportRecord>& records,
    const ingest::Limits& limits, absl::Time now,
    const std::function<void(uint64_t line, std::string reason)>& reject) {
  std::vector<ImportBatch> batches;
  // The highest seq so far per (host, instance): the committer takes a
  // lower seq for one it already holds, so a line out of order would be
  // dropped as a duplicate without a word.
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> highest;
  // False, with the line rejected, when `seq` comes below an earlier line's
  // of the same host and instance.
  auto InOrder = [&](const v1::ImportRecord& rec, const std::string& instance, uint64_t seq) {
    auto [seen, first] = highest.try_emplace({rec.host(), instance}, seq, rec.line());
    if (first) return true;
    if (seq < seen->second.first) {
      reject(rec.line(),
             attest::StrCat("seq ", seq, " comes after seq ", seen->second.first,
                            " of the same host and instance (line ", seen->second.second,
                            "); lines must be in seq order per host and instance"));
      return false;
    }
    seen->second = {seq, rec.line()};
    return true;
  };
  for (const v1::ImportRecord& rec : records) {
    if (!ingest::IsValidHostId(rec.host())) {
      reject(rec.line(), attest::StrCat("host: \"", rec.host(), "\" is not a valid host id"));
      continue;
    }
    const std::string instance = rec.instance_id().empty() ? kDefaultInstance : rec.instance_id();
    // The same rule as a hello's: the instance id is part of store keys.
    if (!ingest::IsValidHostId(instance) || instance.size() > 128) {
      reject(rec.line(), attest::StrCat("instance_id: \"", instance,
                                        "\" must be 1-128 characters of [A-Za-z0-9._-]"));
      continue;
    }
    if (rec.has_hello()) {
      v1::Hello hello = rec.hello();
      hello.set_instance_id(instance);
      if (absl::Status s = ingest::ValidateHello(hello, now, limits); !s.ok()) {
        reject(rec.line(), std::string(s.message()));
        continue;
      }
      if (rec.hello_seq() > ingest::kMaxSeq) {
        reject(rec.line(), attest::StrCat("seq: must be at most 2^53 - 1 (", ingest::kMaxSeq, ")"));
        continue;
      }
      if (rec.hello_seq() > 0 && !InOrder(rec, instance, rec.hello_seq())) continue;
      ImportBatch& b = batches.emplace_back();
      b.request.host = rec.host();
      b.request.hello = std::move(hello);
      b.request.record_hello = true;
      b.request.hello_seq = rec.hello_seq();
      b.lines.push_back(rec.line());
      continue;
    }
    if (!rec.has_signal()) {
      reject(rec.line(), "neither a hello nor a signal");
      continue;
    }
    if (absl::Status s = ingest::ValidateSignal(rec.signal(), now, limits); !s.ok()) {
      reject(rec.line(), std::string(s.message()));
      continue;
    }
    if (!InOrder(rec, instance, rec.signal().seq())) continue;
    const bool extend = !batches.empty() && batches.back().request.host == rec.host() &&
                        batches.back().request.hello.instance_id() == instance &&
                        (batches.back().request.signals.empty() ||
                         batches.back().request.signals.back().seq() < rec.signal().seq());
    if (!extend) {
      ImportBatch& b = batches.emplace_back();
      b.request.host = rec.host();
      b.request.hello.set_instance_id(instance);
    }
    batches.back().request.signals.push_back(rec.signal());
    batches.back().lines.push_back(rec.line());
  }
  for (ImportBatch& b : batches) b.request.origin = v1::ORIGIN_IMPORTED;
  return batches;
}

absl::Status CommitImport(ingest::Committer& committer, absl::Time now,
                          google::protobuf::RepeatedPtrField<v1::ImportRecord>* records) {
  auto outcome = std::make_shared<Outcome>();
  std::vector<ImportBatch> batches =
      BuildImportBatches(*records, ingest::Limits{}, now, [&](uint64_t line, std::string why) {
        std::lock_guard lock(outcome->mu);
        if (outcome->first_error.ok()) {
          outcome->first_error =
              absl::InvalidArgumentError(attest::StrCat("record ", line, ": ", why));
        }
      });
  records->Clear();
  for (ImportBatch& b : batches) {
    b.request.done = [outcome](const ingest::CommitResult& r) {
      std::lock_guard lock(outcome->mu);
      if (!r.status.ok() && outcome->first_error.ok()) outcome->first_error = r.status;
    };
    committer.Submit(std::move(b.request));
  }
  if (!committer.WaitIdle(absl::Minutes(10))) {
    return absl::DeadlineExceededError("the committer did not drain in 10 minutes");
  }
  std::lock_guard lock(outcome->mu);
  return outcome->first_error;
}

}  // namespace attest::admin
