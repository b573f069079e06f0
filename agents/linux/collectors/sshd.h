// sshd: the SSH daemon's effective configuration, as `sshd -T` prints it
// after Include and Match (not the config file's text), and the PAM modules
// of its auth stack (/etc/pam.d/sshd, with @include, include and substack
// followed). attestd checks them against the policy (host.sshd_policy). A
// host without sshd is reported as such (installed = false).
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_SSHD_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_SSHD_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// The keywords of `sshd -T` attest keeps (lower case, as sshd prints them).
const std::vector<std::string_view>& SshdKeywords();

// `sshd -T` output: the kept keywords, sorted; a keyword sshd prints on
// several lines (allowusers, ...) is one setting, its values joined by a
// space. InvalidArgument when the output is not sshd's (no "port" line).
absl::StatusOr<std::vector<v1::SshdSetting>> ParseSshdT(std::string_view text);

// One line of a PAM service file that belongs to the auth stack.
struct PamAuthLine {
  std::string module;     // e.g. "pam_unix.so" (set for a module line)
  std::string include;    // a file to follow ("@include F", "auth include F", "auth substack F")
  bool required = false;  // "auth required" or "auth requisite": every login must pass it
};
// The auth lines of a PAM service file, in order ("-auth" lines too: they
// are modules loaded when present).
std::vector<PamAuthLine> ParsePamAuth(std::string_view text);

class SshdCollector : public Collector {
 public:
  // `config`: the sshd_config sshd -T reads (a host path: under --root).
  explicit SshdCollector(std::string config) : config_(std::move(config)) {}
  std::string_view name() const override { return "sshd"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;

 private:
  const std::string config_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_SSHD_H_
