// Builders of valid signals for ingest tests (shared by unit tests and
// cross-process tests).
#ifndef ATTEST_DAEMON_INGEST_TEST_SIGNALS_H_
#define ATTEST_DAEMON_INGEST_TEST_SIGNALS_H_

#include <string>

#include "attest/v1/agent.pb.h"
#include "common/time_util.h"

namespace attest::testing_signals {

inline v1::Signal Heartbeat(uint64_t seq, absl::Time at) {
  v1::Signal s;
  s.set_seq(seq);
  *s.mutable_observed_at() = ToProto(at);
  s.mutable_heartbeat();
  return s;
}

inline v1::Signal Patch(uint64_t seq, absl::Time at) {
  v1::Signal s;
  s.set_seq(seq);
  *s.mutable_observed_at() = ToProto(at);
  auto* p = s.mutable_patch();
  p->set_os("Debian GNU/Linux 12 (bookworm)");
  p->set_kernel_running("6.1.0-26-amd64");
  p->set_kernel_latest("6.1.0-27-amd64");
  p->set_reboot_required(true);
  p->set_package_manager(v1::PACKAGE_MANAGER_DPKG);
  auto* u = p->add_pending();
  u->set_package("openssl");
  u->set_installed_version("3.0.14-1~deb12u2");
  u->set_candidate_version("3.0.15-1~deb12u1");
  u->set_security(true);
  u->set_source("Debian-Security:12/stable-security");
  return s;
}

inline v1::Signal AccessChange(uint64_t seq, absl::Time at, const std::string& id) {
  v1::Signal s;
  s.set_seq(seq);
  *s.mutable_observed_at() = ToProto(at);
  auto* c = s.mutable_access_change();
  c->set_id(id);
  c->set_change(v1::ACCESS_CHANGE_KIND_USER_ADDED);
  c->set_subject("alice");
  c->set_after("uid=1001 shell=/bin/bash");
  c->set_diff("+alice:x:1001:1001::/home/alice:/bin/bash");
  return s;
}

inline v1::Hello Hello(const std::string& host, const std::string& instance) {
  v1::Hello h;
  h.set_host_id(host);
  h.set_instance_id(instance);
  h.set_agent_version("0.1.0");
  h.set_boot_id("4b6f1c3e-0000-4000-8000-000000000001");
  (*h.mutable_labels())["env"] = "prod";
  return h;
}

}  // namespace attest::testing_signals

#endif  // ATTEST_DAEMON_INGEST_TEST_SIGNALS_H_
