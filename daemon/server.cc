#include "daemon/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <thread>

#include "common/files.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/version.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/checkpoints.h"
#include "daemon/admin/witnessing.h"
#include "daemon/alerts/dispatcher.h"
#include "daemon/engine/default_policy.h"
#include "daemon/engine/engine.h"
#include "daemon/ingest/agent_service.h"
#include "daemon/ingest/committer.h"
#include "daemon/ingest/revocation.h"
#include "daemon/metrics/compliance.h"
#include "daemon/metrics/ingest_metrics.h"
#include "daemon/store/rocksdb_store.h"
#include "spdlog/spdlog.h"

namespace attest::daemon {
namespace {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const Config& c) {
  if (c.insecure) return grpc::InsecureServerCredentials();
  auto pem = ReadTlsPem(c.client_ca, c.tls_cert, c.tls_key);
  if (!pem.ok()) return pem.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pem->ca;
  options.pem_key_cert_pairs.push_back({pem->key, pem->cert});
  return grpc::SslServerCredentials(options);
}

}  // namespace

struct Server::Parts {
  ingest::Revocations revocations;  // first: the services below point at it
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<metrics::IngestMetrics> ingest_metrics =
      std::make_unique<metrics::IngestMetrics>(*registry);
  std::shared_ptr<metrics::ComplianceCollector> compliance;
  std::unique_ptr<alerts::Dispatcher> alerts;
  std::unique_ptr<admin::Checkpoints> checkpoints;
  std::unique_ptr<admin::Witnessing> witnessing;
  std::thread checkpointer;  // the daily checkpoint; shares refresher_mu/wake/stop
  std::unique_ptr<prometheus::Exposer> exposer;
  std::thread refresher;
  std::mutex refresher_mu;
  std::condition_variable refresher_wake;
  bool refresher_stop = false;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<evidence::Ledger> ledger;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<ingest::Committer> committer;
  std::unique_ptr<ingest::AgentService> agent_service;
  std::unique_ptr<admin::AdminService> admin_service;
  std::unique_ptr<grpc::Server> grpc_server;
  bool shut_down = false;
};

Server::Server(Config config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), parts_(std::make_unique<Parts>()) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  // The files the operator named are read first, before the store opens: one
  // that is missing, unreadable, not PEM or not the certificate's key is bad
  // configuration, as for the agent and attestctl (exit 2: systemd's
  // RestartPreventExitStatus stops retrying what only an edit can fix).
  auto creds = Credentials(config_);
  if (!creds.ok()) return RefuseConfiguration(creds.status());
  if (!config_.crl.empty()) {
    if (absl::Status s = ReloadCrl(); !s.ok()) return RefuseConfiguration(s);
  }
  auto alertmanager_tls = ReadClientTlsPem(config_.alertmanager_ca, config_.alertmanager_cert,
                                           config_.alertmanager_key);
  if (!alertmanager_tls.ok()) return RefuseConfiguration(alertmanager_tls.status());
  auto store = store::OpenRocksDbStore(
      config_.data_dir,
      {.min_free_bytes = static_cast<uint64_t>(std::max<int64_t>(0, config_.min_free_disk_mib))
                         << 20});
  if (!store.ok()) return store.status();
  parts_->store = std::move(*store);
  engine::EngineOptions engine_options;
  engine_options.judge_delay = *ParseHumanDuration(config_.judge_delay);
  parts_->ledger = std::make_unique<evidence::Ledger>(*parts_->store);
  if (absl::Status s = parts_->ledger->Open(); !s.ok()) return s;
  engine_options.ledger = parts_->ledger.get();
  parts_->engine = std::make_unique<engine::Engine>(*parts_->store, clock_, engine_options);
  if (absl::Status s = parts_->engine->Start(); !s.ok()) return s;
  if (!config_.policy.empty()) {
    if (absl::Status s = ReloadPolicy(); !s.ok()) {
      if (parts_->engine->PolicyVersions().empty()) {
        return absl::IsInvalidArgument(s) ? RefuseConfiguration(s) : s;
      }
      spdlog::error("{}; judging with the last good policy version", std::string(s.message()));
    }
  } else if (parts_->engine->PolicyVersions().empty()) {
    // Never given a policy: judge with the built-in one until a file comes.
    auto policy = engine::ParsePolicy(engine::kDefaultPolicy, engine::kDefaultPolicyName);
    if (!policy.ok()) return policy.status();
    if (absl::Status s = parts_->engine->LoadPolicy(*policy, engine::kDefaultPolicyName); !s.ok()) {
      return s;
    }
    spdlog::info("no --policy: judging with the built-in policy (attestd --print-default-policy)");
  }
  // A store from an older attestd: its policy judged from now on under the
  // newest judgement, recorded in the ledger.
  if (absl::Status s = parts_->engine->AdoptNewestJudgement(); !s.ok()) return s;
  // With metrics off, ingest does not update them at all.
  metrics::IngestMetrics* ingest_metrics =
      config_.metrics_listen.empty() ? nullptr : parts_->ingest_metrics.get();
  ingest::CommitterOptions committer_options;
  committer_options.metrics = ingest_metrics;
  committer_options.on_durable = [engine = parts_->engine.get()](const auto& hosts) {
    for (const std::string& host : hosts) engine->NotifyEvidence(host);
  };
  parts_->committer =
      std::make_unique<ingest::Committer>(*parts_->store, clock_, committer_options);
  if (absl::Status s = parts_->committer->Start(); !s.ok()) return s;

  ingest::AgentServiceOptions agent_options;
  agent_options.insecure = config_.insecure;
  agent_options.trust_domain = config_.trust_domain;
  agent_options.revocations = &parts_->revocations;
  agent_options.max_streams = static_cast<size_t>(config_.max_streams);
  agent_options.max_streams_per_host = static_cast<size_t>(config_.max_streams_per_host);
  agent_options.hello_timeout = *ParseHumanDuration(config_.hello_timeout);
  agent_options.limits.max_evidence_age = *ParseHumanDuration(config_.max_evidence_age);
  agent_options.max_message_bytes = static_cast<size_t>(config_.max_message_bytes);
  agent_options.rate_per_host = static_cast<double>(config_.rate_per_host);
  agent_options.burst_per_host = static_cast<double>(config_.burst_per_host);
  agent_options.metrics = ingest_metrics;
  parts_->agent_service =
      std::make_unique<ingest::AgentService>(*parts_->committer, clock_, agent_options);
  // The checkpoint signing key lives beside the store, created at first start.
  auto key = evidence::SigningKey::LoadOrCreate(config_.data_dir + "/checkpoint-signing.key");
  if (!key.ok()) return key.status();
  parts_->checkpoints = std::make_unique<admin::Checkpoints>(
      *parts_->store, clock_, std::move(*key), parts_->ledger.get(), config_.log_origin);
  if (absl::Status s = parts_->checkpoints->Open(); !s.ok()) return s;
  {
    std::vector<admin::WitnessTarget> witnesses;
    for (const std::string& w : config_.witnesses)
      witnesses.push_back(*admin::ParseWitnessTarget(w));
    auto ca = ReadClientTlsPem(config_.witness_ca, "", "");
    if (!ca.ok()) return RefuseConfiguration(ca.status());
    admin::WitnessingOptions options;
    options.tls = HttpTls{ca->ca, "", ""};
    options.max_backoff = *ParseHumanDuration(config_.witness_retry_max);
    options.min_backoff = std::min(options.max_backoff, absl::Seconds(1));
    options.registry = parts_->registry.get();
    parts_->witnessing = std::make_unique<admin::Witnessing>(*parts_->checkpoints,
                                                             std::move(witnesses), clock_, options);
    parts_->checkpoints->OnCreated([w = parts_->witnessing.get()] { w->Notify(); });
  }
  parts_->admin_service = std::make_unique<admin::AdminService>(
      *parts_->store, *parts_->engine, *parts_->committer, clock_,
      admin::AdminServiceOptions{.insecure = config_.insecure,
                                 .trust_domain = config_.trust_domain,
                                 .revocations = &parts_->revocations,
                                 .checkpoints = parts_->checkpoints.get(),
                                 .ledger = parts_->ledger.get(),
                                 .witnessing = parts_->witnessing.get(),
                                 .limits = agent_options.limits});

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config_.listen, *creds, &port);
  builder.RegisterService(parts_->agent_service.get());
  builder.RegisterService(parts_->admin_service.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
  // Without this gRPC sets SO_REUSEPORT, and a second attestd would silently
  // share the port (and half the agents) instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive: the daemon pings idle agents to find dead peers, and refuses
  // agents that ping more often than every 10 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  parts_->grpc_server = builder.BuildAndStart();
  if (!parts_->grpc_server || port == 0) {
    parts_->grpc_server.reset();
    return absl::UnavailableError(
        attest::StrCat("cannot listen on ", config_.listen, " (address in use or not available)"));
  }
  const std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
  bound_address_ = attest::StrCat(host, ":", port);
  if (config_.insecure) {
    spdlog::warn(
        "INSECURE MODE: no TLS and no client authentication; agents name their own host. "
        "For loopback development only.");
  }
  spdlog::info("attestd listening on {} (store {})", bound_address_, config_.data_dir);
  if (absl::Status s = StartAlerts(*alertmanager_tls); !s.ok()) return s;
  StartCheckpointer();
  parts_->witnessing->Start();
  if (!config_.witnesses.empty()) {
    spdlog::info("checkpoints of log {} go to {} witness(es)", parts_->checkpoints->origin(),
                 config_.witnesses.size());
  }
  if (!config_.metrics_listen.empty()) return StartMetrics();
  return absl::OkStatus();
}

void Server::StartCheckpointer() {
  parts_->checkpointer = std::thread([parts = parts_.get(), &clock = clock_] {
    std::unique_lock lock(parts->refresher_mu);
    for (;;) {
      lock.unlock();
      if (absl::Status s = parts->checkpoints->CreateDaily(); !s.ok()) {
        spdlog::error("daily checkpoint: {}", s.ToString());
      }
      lock.lock();
      // Until just after the next UTC midnight (at most an hour: clocks jump).
      const int64_t now = absl::ToUnixSeconds(clock.Now());
      const int64_t wait = std::min<int64_t>(86400 - now % 86400 + 1, 3600);
      if (parts->refresher_wake.wait_for(lock, std::chrono::seconds(wait),
                                         [parts] { return parts->refresher_stop; })) {
        return;
      }
    }
  });
}

absl::Status Server::StartAlerts(const TlsPem& tls) {
  alerts::DispatcherOptions options;
  for (std::string_view url : attest::Split(config_.alertmanager_url, ",")) {
    if (!url.empty()) options.urls.emplace_back(url);
  }
  if (options.urls.empty()) return absl::OkStatus();
  options.tls = HttpTls{tls.ca, tls.cert, tls.key};
  options.evaluate_every = *ParseHumanDuration(config_.alert_evaluate);
  options.resend = *ParseHumanDuration(config_.alertmanager_resend);
  options.max_backoff = std::min(options.resend, absl::Minutes(1));
  options.min_backoff = std::min(options.max_backoff, absl::Seconds(1));
  options.registry = parts_->registry.get();
  auto source = [engine = parts_->engine.get(), store = parts_->store.get(),
                 &clock = clock_]() -> absl::StatusOr<std::vector<alerts::Event>> {
    absl::StatusOr<std::vector<alerts::Event>> events;
    const int64_t now = absl::ToUnixSeconds(clock.Now());
    engine->Read([&](const engine::EngineState& state) {
      events = alerts::ActiveEvents(state, *store, now);
    });
    return events;
  };
  auto dispatcher = alerts::Dispatcher::Create(source, clock_, options);
  if (!dispatcher.ok()) return dispatcher.status();
  parts_->alerts = std::move(*dispatcher);
  parts_->alerts->Start();
  spdlog::info("per-host events go to {}", config_.alertmanager_url);
  return absl::OkStatus();
}

absl::Status Server::StartMetrics() {
  parts_->compliance = std::make_shared<metrics::ComplianceCollector>(
      *parts_->engine, *parts_->store, clock_, kVersion);
  parts_->compliance->Refresh();
  try {
    parts_->exposer = std::make_unique<prometheus::Exposer>(config_.metrics_listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        attest::StrCat("cannot serve metrics on ", config_.metrics_listen, ": ", e.what()));
  }
  parts_->exposer->RegisterCollectable(parts_->registry);
  parts_->exposer->RegisterCollectable(parts_->compliance);
  const std::vector<int> ports = parts_->exposer->GetListeningPorts();
  const std::string host = config_.metrics_listen.substr(0, config_.metrics_listen.rfind(':'));
  metrics_address_ = attest::StrCat(host, ":", ports.empty() ? 0 : ports.front());
  const absl::Duration every = *ParseHumanDuration(config_.metrics_refresh);
  parts_->refresher = std::thread([parts = parts_.get(), every] {
    std::unique_lock lock(parts->refresher_mu);
    while (!parts->refresher_wake.wait_for(lock, absl::ToChronoMilliseconds(every),
                                           [parts] { return parts->refresher_stop; })) {
      lock.unlock();
      parts->compliance->Refresh();
      lock.lock();
    }
  });
  spdlog::info("metrics on http://{}/metrics", metrics_address_);
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  if (parts_->grpc_server) {
    spdlog::info("shutting down: draining {} agent streams", parts_->agent_service->StreamCount());
    parts_->agent_service->Drain();
    // Streams stop reading; let every batch already taken in become durable
    // and acked before the connections go.
    if (!parts_->committer->WaitIdle(absl::Seconds(10))) {
      spdlog::warn("in-flight batches still committing after 10s; shutting down anyway");
    }
    parts_->grpc_server->Shutdown(std::chrono::system_clock::now() +
                                  std::chrono::milliseconds(500));
    parts_->grpc_server->Wait();
  }
  {
    std::lock_guard lock(parts_->refresher_mu);
    parts_->refresher_stop = true;
  }
  parts_->refresher_wake.notify_all();
  if (parts_->refresher.joinable()) parts_->refresher.join();
  if (parts_->checkpointer.joinable()) parts_->checkpointer.join();
  if (parts_->witnessing) parts_->witnessing->Stop();
  if (parts_->alerts) parts_->alerts->Stop();
  parts_->exposer.reset();
  if (parts_->committer) parts_->committer->Stop();
  if (parts_->engine) parts_->engine->Stop();
  if (parts_->store) {
    if (absl::Status s = parts_->store->Close(); !s.ok()) {
      spdlog::error("closing the store: {}", s.ToString());
    }
  }
  spdlog::info("attestd stopped");
}

absl::Status Server::RefuseConfiguration(absl::Status status) {
  refused_configuration_ = true;
  return status;
}

absl::Status Server::ReloadCrl() {
  if (config_.crl.empty()) return absl::FailedPreconditionError("no --crl file was given");
  if (absl::Status s = parts_->revocations.Load(config_.crl, config_.client_ca); !s.ok()) {
    return s;
  }
  spdlog::info("CRL {}: {} revoked certificates", config_.crl, parts_->revocations.size());
  // Agents hold one stream for days: a revoked one must not keep writing
  // until it happens to reconnect. (Admin streams check at every page.)
  if (parts_->agent_service != nullptr) {
    if (const size_t closed = parts_->agent_service->CloseRevoked(); closed > 0) {
      spdlog::warn("CRL {}: ended {} agent streams of revoked certificates", config_.crl, closed);
    }
  }
  return absl::OkStatus();
}

absl::Status Server::ReloadPolicy() {
  if (config_.policy.empty()) return absl::FailedPreconditionError("no --policy file was given");
  auto text = ReadFileToString(config_.policy);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        attest::StrCat("policy ", config_.policy, ": ", text.status().message()));
  }
  auto policy = engine::ParsePolicy(*text, config_.policy);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        attest::StrCat("policy refused: ", policy.status().message()));
  }
  return parts_->engine->LoadPolicy(*policy, config_.policy);
}

}  // namespace attest::daemon
