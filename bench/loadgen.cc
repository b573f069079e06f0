// attest-loadgen: simulated agents on real gRPC streams, for benchmarks and
// the demo. Each simulated agent opens its own connection, says hello, then
// sends batches of a realistic signal mix and waits for each durable ack
// (closed loop), or, in idle mode, sends one heartbeat and holds the stream.
//
// Prints one line of key=value results on stdout.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "attest/v1/agent.grpc.pb.h"
#include "common/flags.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::loadgen {
namespace {

struct Options {
  std::string daemon = "127.0.0.1:7443";
  int64_t agents = 100;
  int64_t batch = 10;
  int64_t seconds = 10;
  int64_t batches = 0;  // per agent; 0: run for --seconds
  bool idle = false;
  int64_t interval_ms = 0;  // paced: one batch per agent per interval (0: closed loop)
  std::string host_prefix = "loadgen";
  std::string ready_file;    // idle mode: written once every stream is open
  std::string ca, cert_dir;  // TLS: CA file and a dir of host-<name>.{crt,key}
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The realistic mix: mostly heartbeats and log-shipping health, some patch
// state, checks and the odd access change.
v1::Signal MakeSignal(uint64_t seq, std::mt19937& rng, const std::string& host) {
  v1::Signal s;
  s.set_seq(seq);
  *s.mutable_observed_at() = ToProto(absl::Now());
  const int roll = static_cast<int>(rng() % 100);
  if (roll < 55) {
    s.mutable_heartbeat();
  } else if (roll < 75) {
    auto* l = s.mutable_log_shipping();
    l->set_shipper("rsyslog-central");
    l->set_unit("rsyslog.service");
    l->set_active(true);
    *l->mutable_last_delivery() = ToProto(absl::Now() - absl::Seconds(rng() % 60));
    l->set_backlog(rng() % 100);
    l->set_probe(v1::SHIPPER_PROBE_RSYSLOG_IMPSTATS);
  } else if (roll < 88) {
    auto* p = s.mutable_patch();
    p->set_os("Debian GNU/Linux 12 (bookworm)");
    p->set_kernel_running("6.1.0-26-amd64");
    p->set_kernel_latest("6.1.0-27-amd64");
    p->set_reboot_required(rng() % 4 == 0);
    p->set_package_manager(v1::PACKAGE_MANAGER_DPKG);
    p->set_installed_packages(612);
    for (int i = 0; i < static_cast<int>(rng() % 4); ++i) {
      auto* u = p->add_pending();
      u->set_package(i == 0 ? "openssl" : StrCat("libpkg", i));
      u->set_installed_version("3.0.14-1~deb12u2");
      u->set_candidate_version("3.0.15-1~deb12u1");
      u->set_security(i % 2 == 0);
      u->set_source("Debian-Security:12/stable-security");
    }
  } else if (roll < 98) {
    auto* c = s.mutable_check();
    c->set_name("disk-encryption");
    c->set_status(rng() % 20 == 0 ? v1::CHECK_STATUS_CRITICAL : v1::CHECK_STATUS_OK);
    c->set_detail("OK - all block devices are LUKS2");
  } else {
    auto* a = s.mutable_access_change();
    a->set_id(StrCat(host, "-chg-", seq));
    a->set_change(v1::ACCESS_CHANGE_KIND_KEY_ADDED);
    a->set_subject("deploy");
    a->set_before("");
    a->set_after("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
    a->set_diff("+ssh-ed25519 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s deploy@ci");
  }
  return s;
}

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int open = 0;  // streams welcomed
  std::vector<int64_t> latencies_us;
  std::atomic<uint64_t> signals{0};
  std::atomic<uint64_t> errors{0};
  std::string first_error;
  std::atomic<bool> stop{false};
};

class SimAgent : public grpc::ClientBidiReactor<v1::AgentMessage, v1::DaemonMessage> {
 public:
  SimAgent(std::shared_ptr<grpc::Channel> channel, std::string host, const Options& options,
           Shared& shared, uint32_t seed)
      : stub_(v1::AgentService::NewStub(channel)),
        host_(std::move(host)),
        options_(options),
        shared_(shared),
        rng_(seed) {
    latencies_.reserve(1024);
    stub_->async()->Stream(&context_, this);
    v1::Hello* hello = outgoing_.mutable_hello();
    hello->set_host_id(host_);
    hello->set_instance_id(StrCat(host_, "-instance"));
    hello->set_agent_version("loadgen");
    (*hello->mutable_labels())["env"] = "bench";
    // As attest-agent does, so attestd's clock-skew check is in the load.
    *hello->mutable_agent_clock() = ToProto(absl::Now());
    StartWrite(&outgoing_);
    StartRead(&reply_);
    StartCall();
  }

  void Stop() { context_.TryCancel(); }

  bool paced() const { return options_.interval_ms > 0; }

  // Paced mode: called by the ticker thread; sends the next batch when one
  // is due and the previous one has been acked.
  void Tick(absl::Time now) {
    std::lock_guard lock(mu_);
    if (!welcomed_ || awaiting_ack_ || done_ || shared_.stop || now < next_due_) return;
    if (options_.batches > 0 && batches_done_ >= options_.batches) return;
    next_due_ = std::max(next_due_ + absl::Milliseconds(options_.interval_ms), now);
    SendBatchLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::lock_guard lock(mu_);
    if (reply_.has_welcome()) {
      seq_ = reply_.welcome().highest_durable_seq();
      welcomed_ = true;
      next_due_ =
          absl::Now() + absl::Milliseconds(rng_() % std::max<int64_t>(1, options_.interval_ms));
      std::lock_guard shared_lock(shared_.mu);
      ++shared_.open;
      shared_.cv.notify_all();
    } else if (reply_.has_ack()) {
      latencies_.push_back(absl::ToInt64Microseconds(absl::Now() - sent_at_));
      shared_.signals += static_cast<uint64_t>(batch_size());
      ++batches_done_;
      awaiting_ack_ = false;
    }
    const bool finished_batches = options_.batches > 0 && batches_done_ >= options_.batches;
    if (paced() && !finished_batches) {
      StartRead(&reply_);  // the ticker sends
    } else if (!shared_.stop && !finished_batches) {
      SendBatchLocked();
      StartRead(&reply_);
    } else {
      WritesDoneLocked();
      StartRead(&reply_);
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    write_in_flight_ = false;
    if (!ok) return;
    if (send_pending_) {
      send_pending_ = false;
      outgoing_.Swap(&next_);
      StartWrite(&outgoing_);
      write_in_flight_ = true;
    } else if (writes_done_pending_) {
      writes_done_pending_ = false;
      StartWritesDone();
    }
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    {
      std::lock_guard lock(shared_.mu);
      if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
        ++shared_.errors;
        if (shared_.first_error.empty()) {
          shared_.first_error = StrCat(host_, ": ", status.error_message());
        }
      }
      shared_.latencies_us.insert(shared_.latencies_us.end(), latencies_.begin(), latencies_.end());
      ++shared_.done;
    }
    shared_.cv.notify_all();
  }

 private:
  int64_t batch_size() const { return options_.idle ? 1 : options_.batch; }

  // Builds the next batch in next_; outgoing_ belongs to gRPC until
  // OnWriteDone.
  void SendBatchLocked() {
    next_.Clear();
    for (int64_t i = 0; i < batch_size(); ++i) {
      *next_.mutable_batch()->add_signals() =
          options_.idle ? HeartbeatSignal(++seq_) : MakeSignal(++seq_, rng_, host_);
    }
    awaiting_ack_ = true;
    sent_at_ = absl::Now();
    // gRPC allows one outstanding write; an ack can overtake OnWriteDone.
    if (write_in_flight_) {
      send_pending_ = true;
    } else {
      write_in_flight_ = true;
      outgoing_.Swap(&next_);
      StartWrite(&outgoing_);
    }
  }

  void WritesDoneLocked() {
    if (write_in_flight_) {
      writes_done_pending_ = true;
    } else {
      StartWritesDone();
    }
  }
  static v1::Signal HeartbeatSignal(uint64_t seq) {
    v1::Signal s;
    s.set_seq(seq);
    *s.mutable_observed_at() = ToProto(absl::Now());
    s.mutable_heartbeat();
    return s;
  }

  std::mutex mu_;
  bool welcomed_ = false;
  bool awaiting_ack_ = false;
  bool done_ = false;
  bool write_in_flight_ = true;  // the hello, started in the constructor
  bool send_pending_ = false;
  bool writes_done_pending_ = false;
  absl::Time next_due_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  grpc::ClientContext context_;
  std::string host_;
  const Options& options_;
  Shared& shared_;
  std::mt19937 rng_;
  v1::AgentMessage outgoing_;
  v1::AgentMessage next_;
  v1::DaemonMessage reply_;
  uint64_t seq_ = 0;
  int64_t batches_done_ = 0;
  absl::Time sent_at_;
  std::vector<int64_t> latencies_;
};

std::shared_ptr<grpc::Channel> Connect(const Options& o, const std::string& host, int index) {
  grpc::ChannelArguments args;
  args.SetInt("attest.loadgen.connection", index);  // one connection per agent
  if (o.ca.empty()) {
    return grpc::CreateCustomChannel(o.daemon, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(o.ca);
  ssl.pem_cert_chain = ReadFile(StrCat(o.cert_dir, "/host-", host, ".crt"));
  ssl.pem_private_key = ReadFile(StrCat(o.cert_dir, "/host-", host, ".key"));
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(o.daemon, grpc::SslCredentials(ssl), args);
}

int64_t Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return v[idx];
}

int Main(int argc, char** argv) {
  Options o;
  FlagSet flags("attest-loadgen", "[flags]\n\nSimulated agents against a running attestd.");
  flags.String("daemon", &o.daemon, "attestd address");
  flags.Int("agents", &o.agents, "concurrent agent streams, one connection each");
  flags.Int("batch", &o.batch, "signals per batch");
  flags.Int("seconds", &o.seconds, "how long to send (closed loop), or hold streams (idle)");
  flags.Int("batches", &o.batches, "batches per agent, then stop (0: use --seconds)");
  flags.Bool("idle", &o.idle, "heartbeats only: one per agent per --interval-ms (default 30 s)");
  flags.Int("interval-ms", &o.interval_ms,
            "paced: one batch per agent per interval (0: closed loop)");
  flags.String("host-prefix", &o.host_prefix, "host ids are <prefix>-<n>");
  flags.String("ready-file", &o.ready_file, "idle mode: written once all streams are welcomed");
  flags.String("ca", &o.ca, "TLS: CA certificate (else insecure)");
  flags.String("cert-dir", &o.cert_dir, "TLS: directory with host-<id>.crt/.key");
  if (absl::Status s = flags.Parse(argc, argv); !s.ok()) {
    fprintf(stderr, "attest-loadgen: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (o.idle && o.interval_ms == 0) o.interval_ms = 30000;
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  Shared shared;
  std::vector<std::unique_ptr<SimAgent>> agents;
  const absl::Time start = absl::Now();
  for (int i = 0; i < o.agents; ++i) {
    const std::string host = StrCat(o.host_prefix, "-", i);
    agents.push_back(std::make_unique<SimAgent>(Connect(o, host, i), host, o, shared, 1000 + i));
  }
  {
    std::unique_lock lock(shared.mu);
    shared.cv.wait_for(lock, std::chrono::seconds(120),
                       [&] { return shared.open + shared.done >= static_cast<int>(o.agents); });
  }
  const double connect_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (o.idle && !o.ready_file.empty()) std::ofstream(o.ready_file) << shared.open << "\n";
  const absl::Time measure_start = absl::Now();
  std::thread ticker;
  if (o.interval_ms > 0) {
    ticker = std::thread([&] {
      while (!shared.stop) {
        const absl::Time now = absl::Now();
        for (auto& a : agents) a->Tick(now);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  {
    std::unique_lock lock(shared.mu);
    shared.cv.wait_for(lock, std::chrono::seconds(o.seconds),
                       [&] { return shared.done >= static_cast<int>(o.agents); });
  }
  shared.stop = true;
  if (ticker.joinable()) ticker.join();
  for (auto& a : agents) a->Stop();
  {
    std::unique_lock lock(shared.mu);
    shared.cv.wait(lock, [&] { return shared.done >= static_cast<int>(o.agents); });
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - measure_start);
  std::vector<int64_t>& lat = shared.latencies_us;
  printf(
      "agents=%lld open=%d connect_s=%.2f seconds=%.2f signals=%llu signals_per_s=%.0f "
      "acks=%zu p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%llu%s%s\n",
      static_cast<long long>(o.agents), shared.open, connect_seconds, seconds,
      static_cast<unsigned long long>(shared.signals.load()),
      static_cast<double>(shared.signals.load()) / std::max(seconds, 1e-9), lat.size(),
      static_cast<double>(Percentile(lat, 0.50)) / 1000.0,
      static_cast<double>(Percentile(lat, 0.90)) / 1000.0,
      static_cast<double>(Percentile(lat, 0.99)) / 1000.0,
      static_cast<double>(Percentile(lat, 1.0)) / 1000.0,
      static_cast<unsigned long long>(shared.errors.load()),
      shared.first_error.empty() ? "" : " first_error=", shared.first_error.c_str());
  return shared.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace attest::loadgen

int main(int argc, char** argv) { return attest::loadgen::Main(argc, argv); }
