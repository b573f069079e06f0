// attestd assembled: store, committer, gRPC services and server. Owns them
// all and tears them down in order.
#ifndef ATTEST_DAEMON_SERVER_H_
#define ATTEST_DAEMON_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/files.h"
#include "daemon/config.h"

namespace attest::daemon {

class Server {
 public:
  // `clock` must outlive the server.
  Server(Config config, const Clock& clock);
  ~Server();

  // Opens the store and starts serving. FailedPrecondition/PermissionDenied
  // for an unusable data dir, Unavailable when the address cannot be bound.
  [[nodiscard]] absl::Status Start();
  // After a failed Start: whether it failed on a configuration file the
  // operator must fix, not on the machine: a TLS, Alertmanager TLS or CRL
  // file that cannot be read or used, or a --policy file refused while the
  // store holds no earlier version to judge with.
  bool refused_configuration() const { return refused_configuration_; }
  // Reads and loads --policy again. A bad file is refused with
  // "FILE:LINE: what is wrong", and the last good version stays in force.
  [[nodiscard]] absl::Status ReloadPolicy();
  // Re-reads --crl; on failure the last good list stays in force.
  [[nodiscard]] absl::Status ReloadCrl();
  // The address actually bound (resolves port 0).
  const std::string& bound_address() const { return bound_address_; }
  // The /metrics address actually bound ("" when metrics are off).
  const std::string& metrics_address() const { return metrics_address_; }
  // Stops accepting, lets in-flight batches commit and be acked, syncs and
  // closes the store. Safe to call more than once.
  void Shutdown();

 private:
  absl::Status StartMetrics();
  absl::Status StartAlerts(const TlsPem& alertmanager_tls);
  absl::Status RefuseConfiguration(absl::Status status);
  void StartCheckpointer();

  struct Parts;
  Config config_;
  const Clock& clock_;
  std::unique_ptr<Parts> parts_;
  std::string bound_address_;
  std::string metrics_address_;
  bool refused_configuration_ = false;
};

}  // namespace attest::daemon

#endif  // ATTEST_DAEMON_SERVER_H_
