#include "daemon/ingest/committer.h"

#include <pthread.h>

#include <chrono>

#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "daemon/store/keys.h"
#include "spdlog/spdlog.h"

namespace attest::ingest {
namespace {

// True when a hello says something the host's state does not yet record.
bool HelloChanged(const v1::HostState& state, const v1::Hello& hello) {
  if (state.chain_length() == 0) return true;
  if (state.instance_id() != hello.instance_id() ||
      state.agent_version() != hello.agent_version() || state.boot_id() != hello.boot_id()) {
    return true;
  }
  if (static_cast<size_t>(state.labels_size()) != static_cast<size_t>(hello.labels_size())) {
    return true;
  }
  for (const auto& [k, v] : hello.labels()) {
    auto it = state.labels().find(k);
    if (it == state.labels().end() || it->second != v) return true;
  }
  return false;
}

// Appends one record to `state`'s chain and to the batch.
void AppendRecord(v1::EvidenceRecord record, v1::HostState& state, store::WriteBatch& batch) {
  record.set_index(state.chain_length() + 1);
  const std::string& prev =
      state.chain_length() == 0 ? evidence::GenesisHash() : state.chain_head();
  evidence::LinkRecord(prev, &record);
  state.set_chain_length(record.index());
  state.set_chain_head(record.hash());
  if (state.access_changes_hash().empty()) state.set_access_changes_hash(evidence::GenesisHash());
  if (evidence::IsAccessChange(record)) {
    state.set_access_changes(state.access_changes() + 1);
    state.set_access_changes_hash(
        evidence::FoldAccessChange(state.access_changes_hash(), record.hash()));
  }
  state.set_access_changes_through(record.index());
  batch.Put(store::Family::kEvidence, store::EvidenceKey(state.host(), record.index()),
            record.SerializeAsString());
}

// Drops the fields of a hello (and of its timestamps) that this attestd
// does not know. Map entries keep none: their parser drops them.
void DiscardUnknownHelloFields(v1::Hello* hello) {
  auto clear = [](google::protobuf::Message* m) {
    m->GetReflection()->MutableUnknownFields(m)->Clear();
  };
  clear(hello);
  if (hello->has_sent_at()) clear(hello->mutable_sent_at());
  if (hello->has_agent_clock()) clear(hello->mutable_agent_clock());
}

// Seqs are at most 2^53 - 1, but one host may start many instances: a total
// of missing signals stops at the largest value instead of wrapping.
uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// Appends the gap record for seqs highest + 1 .. next - 1 of `instance`,
// which never arrived, dated by what came after them.
void AppendGap(const CommitRequest& req, const std::string& instance, uint64_t highest,
               uint64_t next, const google::protobuf::Timestamp& observed_at,
               const google::protobuf::Timestamp& received_at, v1::HostState& state,
               store::WriteBatch& batch, CommitResult& result) {
  v1::EvidenceRecord gap;
  gap.set_host(req.host);
  gap.set_instance_id(instance);
  gap.set_seq(highest + 1);
  *gap.mutable_observed_at() = observed_at;
  *gap.mutable_received_at() = received_at;
  gap.set_origin(req.origin);
  gap.mutable_gap()->set_first_seq(highest + 1);
  gap.mutable_gap()->set_last_seq(next - 1);
  const uint64_t missing = next - 1 - highest;
  result.missing_signals = SaturatingAdd(result.missing_signals, missing);
  state.set_gap_signals(SaturatingAdd(state.gap_signals(), missing));
  AppendRecord(std::move(gap), state, batch);
  ++result.gaps;
}

// A host state without an access-change commitment for its whole chain
// (stored before attestd kept one, or appended to by an older attestd
// after a downgrade): computes it from the chain, when attestd starts.
absl::Status AddAccessCommitment(store::Store& store, v1::HostState& state) {
  uint64_t count = 0;
  std::string acc = evidence::GenesisHash();
  uint64_t last = 0;
  absl::Status inner;
  absl::Status s = store::ScanPrefix(
      store, store::Family::kEvidence, store::EvidencePrefix(state.host()),
      [&](std::string_view key, std::string_view value) {
        v1::EvidenceRecord r;
        if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError(attest::StrCat("record ", key, " is corrupt"));
          return false;
        }
        last = r.index();
        if (last > state.chain_length()) return false;
        if (evidence::IsAccessChange(r)) {
          ++count;
          acc = evidence::FoldAccessChange(acc, r.hash());
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  if (last < state.chain_length()) {
    return absl::DataLossError(attest::StrCat("the chain of ", state.host(), " ends at record ",
                                              last, ", its state says ", state.chain_length()));
  }
  state.set_access_changes(count);
  state.set_access_changes_hash(acc);
  state.set_access_changes_through(state.chain_length());
  return absl::OkStatus();
}

size_t RequestBytes(const CommitRequest& r) {
  size_t bytes = r.hello.ByteSizeLong();
  for (const auto& s : r.signals) bytes += s.ByteSizeLong();
  return bytes;
}

}  // namespace

Committer::Committer(store::Store& store, const Clock& clock, CommitterOptions options)
    : store_(store), clock_(clock), options_(options) {}

Committer::~Committer() { Stop(); }

absl::Status Committer::Start() {
  std::unordered_map<std::string, v1::HostState> loaded;
  absl::Status parse_error = absl::OkStatus();
  absl::Status s =
      store_.Scan(store::Family::kHosts, "", "", [&](std::string_view key, std::string_view value) {
        v1::HostState state;
        if (!state.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError(attest::StrCat("host state of ", key, " is corrupt"));
          return false;
        }
        loaded.emplace(std::string(key), std::move(state));
        return true;
      });
  if (!s.ok()) return s;
  if (!parse_error.ok()) return parse_error;
  store::WriteBatch upgraded;
  size_t upgraded_hosts = 0;
  for (auto& [host, state] : loaded) {
    if (evidence::AccessCommitmentCurrent(state)) continue;
    if (s = AddAccessCommitment(store_, state); !s.ok()) return s;
    upgraded.Put(store::Family::kHosts, host, state.SerializeAsString());
    ++upgraded_hosts;
  }
  if (upgraded_hosts > 0) {
    if (s = store_.Write(upgraded, store::WriteOptions{.sync = true}); !s.ok()) return s;
    spdlog::info("access-change commitment computed from the chains of {} hosts", upgraded_hosts);
  }
  std::lock_guard lock(mu_);
  hosts_ = std::move(loaded);
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "attest-commit");
    Run();
  });
  acker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "attest-ack");
    RunAcker();
  });
  return absl::OkStatus();
}

void Committer::Submit(CommitRequest request) {
  {
    std::lock_guard lock(mu_);
    if (started_ && !stopping_) {
      queue_.push_back(std::move(request));
      wake_.notify_one();
      return;
    }
  }
  CommitResult result;
  result.status = absl::UnavailableError("attestd is shutting down");
  request.done(result);
}

void Committer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  thread_.join();  // commits everything queued
  {
    std::lock_guard lock(mu_);
    acker_stopping_ = true;
    ack_wake_.notify_one();
  }
  acker_.join();  // then acknowledges it
}

uint64_t Committer::HighestDurableSeq(const std::string& host, const std::string& instance) const {
  std::lock_guard lock(mu_);
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return 0;
  auto seq = it->second.highest_seq_by_instance().find(instance);
  return seq == it->second.highest_seq_by_instance().end() ? 0 : seq->second;
}

void Committer::WhilePaused(const std::function<void()>& fn) {
  {
    std::unique_lock lock(mu_);
    ++pauses_;
    between_groups_.wait(lock, [&] { return !committing_; });
  }
  fn();
  std::lock_guard lock(mu_);
  if (--pauses_ == 0) wake_.notify_all();
}

bool Committer::WaitIdle(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
    return queue_.empty() && !committing_ && acks_.empty() && !acking_;
  });
}

void Committer::RunAcker() {
  while (true) {
    Outcome outcome;
    {
      std::unique_lock lock(mu_);
      acking_ = false;
      if (acks_.empty() && queue_.empty() && !committing_) idle_.notify_all();
      ack_wake_.wait(lock, [&] { return acker_stopping_ || !acks_.empty(); });
      if (acks_.empty()) return;  // stopping, and everything acknowledged
      outcome = std::move(acks_.front());
      acks_.pop_front();
      acking_ = true;
    }
    for (size_t i = 0; i < outcome.group.size(); ++i) outcome.group[i].done(outcome.results[i]);
  }
}

void Committer::Run() {
  std::vector<CommitRequest> group;
  while (true) {
    {
      std::unique_lock lock(mu_);
      committing_ = false;
      between_groups_.notify_all();
      if (queue_.empty() && acks_.empty() && !acking_) idle_.notify_all();
      wake_.wait(lock, [&] { return pauses_ == 0 && (stopping_ || !queue_.empty()); });
      if (queue_.empty() && stopping_) return;
      size_t bytes = 0;
      while (!queue_.empty() && (group.empty() || bytes < options_.max_group_bytes)) {
        bytes += RequestBytes(queue_.front());
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      committing_ = true;
    }
    CommitGroup(group);
    group.clear();
  }
}

void Committer::CommitGroup(std::vector<CommitRequest>& group) {
  const absl::Time now = clock_.Now();
  const google::protobuf::Timestamp received_at = ToProto(now);
  // Hosts this group touches: copies, published only after the write lands,
  // so that a failed write leaves the durable state exactly as it was.
  std::unordered_map<std::string, v1::HostState> touched;
  std::vector<CommitResult> results(group.size());
  store::WriteBatch batch;

  for (size_t i = 0; i < group.size(); ++i) {
    CommitRequest& req = group[i];
    CommitResult& result = results[i];
    auto [it, fresh] = touched.try_emplace(req.host);
    v1::HostState& state = it->second;
    if (fresh) {
      std::lock_guard lock(mu_);
      auto known = hosts_.find(req.host);
      if (known != hosts_.end()) {
        state = known->second;
      } else {
        state.set_host(req.host);
        *state.mutable_first_seen() = received_at;
      }
    }
    const std::string& instance = req.hello.instance_id();
    if (state.highest_seq_by_instance().count(instance) == 0 &&
        static_cast<size_t>(state.highest_seq_by_instance_size()) >= kMaxInstancesPerHost) {
      // Every instance keeps its highest seq in the host's state, which is
      // rewritten with each batch: a host cannot grow it without bound.
      result.status = absl::ResourceExhaustedError(
          attest::StrCat("host ", req.host, " has started ", kMaxInstancesPerHost,
                         " agent instances (spool directories) already; attestd takes no more"));
      continue;
    }
    if (req.record_hello && HelloChanged(state, req.hello)) {
      v1::EvidenceRecord record;
      record.set_host(req.host);
      record.set_instance_id(instance);
      record.set_seq(req.hello_seq);  // 0 unless an imported line gave the hello one
      *record.mutable_observed_at() = req.hello.has_sent_at() ? req.hello.sent_at() : received_at;
      *record.mutable_received_at() = received_at;
      record.set_origin(req.origin);
      *record.mutable_hello() = req.hello;
      record.mutable_hello()->clear_host_id();  // the record's host field is the identity
      // Fields this attestd does not know are not in the record's canonical
      // (hashed) form, so they are not kept either. By hand: the reflective
      // DiscardUnknownFields rebuilds the labels map's repeated view, and
      // with Debian's libprotobuf that crashed under ThreadSanitizer.
      DiscardUnknownHelloFields(record.mutable_hello());
      AppendRecord(std::move(record), state, batch);
      state.set_instance_id(instance);
      state.set_agent_version(req.hello.agent_version());
      state.set_boot_id(req.hello.boot_id());
      *state.mutable_labels() = req.hello.labels();
    }
    if (req.record_hello && req.clock_skew) {
      state.set_clock_skew_ms(absl::ToInt64Milliseconds(*req.clock_skew));
      *state.mutable_clock_read_at() = received_at;
    }
    uint64_t& highest = (*state.mutable_highest_seq_by_instance())[instance];
    if (req.record_hello && req.hello_seq > highest) {
      if (req.hello_seq > highest + 1) {
        AppendGap(req, instance, highest, req.hello_seq, req.hello.sent_at(), received_at, state,
                  batch, result);
      }
      highest = req.hello_seq;
    }
    for (v1::Signal& signal : req.signals) {
      if (signal.seq() <= highest) {
        ++result.duplicates;
        continue;
      }
      if (signal.seq() > highest + 1) {
        AppendGap(req, instance, highest, signal.seq(), signal.observed_at(), received_at, state,
                  batch, result);
      }
      v1::EvidenceRecord record;
      record.set_host(req.host);
      record.set_instance_id(instance);
      record.set_seq(signal.seq());
      *record.mutable_observed_at() = signal.observed_at();
      *record.mutable_received_at() = received_at;
      record.set_origin(req.origin);
      highest = signal.seq();
      *record.mutable_signal() = std::move(signal);
      record.mutable_signal()->DiscardUnknownFields();  // as for the hello, above
      AppendRecord(std::move(record), state, batch);
      ++result.stored;
    }
    result.highest_durable_seq = highest;
    *state.mutable_last_seen() = received_at;
  }
  for (const auto& [host, state] : touched) {
    batch.Put(store::Family::kHosts, host, state.SerializeAsString());
  }

  const auto write_start = std::chrono::steady_clock::now();
  absl::Status status = store_.Write(batch, store::WriteOptions{.sync = true});
  if (options_.metrics != nullptr) {
    options_.metrics->WalSync(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());
    if (status.ok()) {
      for (const CommitResult& r : results)
        options_.metrics->Committed(r.stored, r.duplicates, r.gaps);
    }
  }
  if (status.ok()) {
    std::vector<std::string> hosts;
    hosts.reserve(touched.size());
    {
      std::lock_guard lock(mu_);
      for (auto& [host, state] : touched) {
        hosts.push_back(host);
        hosts_[host] = std::move(state);
      }
    }
    if (options_.on_durable) options_.on_durable(hosts);
  } else {
    spdlog::error("evidence write failed, {} requests not acknowledged: {}", group.size(),
                  status.ToString());
  }
  if (!status.ok()) {
    for (auto& r : results) {
      r = CommitResult{};
      r.status = absl::UnavailableError(
          attest::StrCat("evidence could not be made durable: ", status.message()));
    }
  }
  std::lock_guard lock(mu_);
  acks_.push_back(Outcome{std::move(group), std::move(results)});
  ack_wake_.notify_one();
}

}  // namespace attest::ingest
