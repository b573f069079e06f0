#include "agents/linux/collectors/patch.h"

#include "agents/linux/collectors/patch_parse.h"
#include "common/strings.h"

namespace attest::agent {
namespace {

constexpr absl::Duration kPackageToolTimeout = absl::Minutes(3);

std::string FirstLine(std::string_view text) {
  const size_t nl = text.find('\n');
  return std::string(text.substr(0, nl == std::string_view::npos ? text.size() : nl));
}

absl::Status CollectDpkg(const CollectContext& ctx, v1::PatchState& patch) {
  auto status = ctx.root.ReadFile("/var/lib/dpkg/status");
  if (!status.ok()) return status.status();
  auto parsed = ParseDpkgStatus(*status);
  if (!parsed.ok()) {
    return absl::DataLossError(
        StrCat(ctx.root.Path("/var/lib/dpkg/status"), " is corrupt: ", parsed.status().message()));
  }
  const std::vector<DpkgPackage>& packages = *parsed;
  uint32_t installed = 0;
  for (const auto& p : packages) installed += p.installed;
  patch.set_installed_packages(installed);
  patch.set_kernel_latest(NewestDebianKernel(packages));
  std::vector<std::string> argv = {"apt-get", "-s", "-o", "Debug::NoLocking=true"};
  if (ctx.root.root() != "/") {
    argv.push_back("-o");
    argv.push_back(StrCat("Dir=", ctx.root.root(), "/"));
  }
  argv.push_back("dist-upgrade");
  auto apt = ctx.commands.Run(argv, kPackageToolTimeout);
  if (!apt.ok()) return apt.status();
  if (apt->exit_code != 0) {
    return absl::UnavailableError(StrCat("apt-get -s dist-upgrade exited ", apt->exit_code, ": ",
                                         FirstLine(apt->stderr_text)));
  }
  for (auto& u : ParseAptSimulate(apt->stdout_text)) *patch.add_pending() = std::move(u);
  return absl::OkStatus();
}

absl::Status CollectRpm(const CollectContext& ctx, v1::PatchState& patch) {
  std::vector<std::string> root_args;
  if (ctx.root.root() != "/") root_args = {"--root", ctx.root.root()};
  std::vector<std::string> query = {"rpm", "-qa", "--qf",
                                    "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"};
  query.insert(query.begin() + 1, root_args.begin(), root_args.end());
  auto rpm = ctx.commands.Run(query, kPackageToolTimeout);
  if (!rpm.ok()) return rpm.status();
  if (rpm->exit_code != 0) {
    return absl::UnavailableError(
        StrCat("rpm -qa exited ", rpm->exit_code, ": ", FirstLine(rpm->stderr_text)));
  }
  patch.set_installed_packages(static_cast<uint32_t>(ParseRpmQuery(rpm->stdout_text).size()));
  std::vector<std::string> kernels = {"rpm",    "-q",   "kernel-core",
                                      "kernel", "--qf", "%{VERSION}-%{RELEASE}.%{ARCH}\n"};
  kernels.insert(kernels.begin() + 1, root_args.begin(), root_args.end());
  if (auto k = ctx.commands.Run(kernels, kPackageToolTimeout); k.ok()) {
    std::string newest;
    for (std::string_view line : Split(k->stdout_text, "\n")) {
      if (line.empty() || line.find(' ') != std::string_view::npos) continue;  // "not installed"
      if (newest.empty() || CompareDebianVersions(line, newest) > 0) newest = std::string(line);
    }
    patch.set_kernel_latest(newest);
  }
  std::vector<std::string> dnf_root;
  if (ctx.root.root() != "/") dnf_root = {StrCat("--installroot=", ctx.root.root())};
  std::vector<std::string> check = {"dnf", "-q", "check-update"};
  check.insert(check.begin() + 1, dnf_root.begin(), dnf_root.end());
  auto updates = ctx.commands.Run(check, kPackageToolTimeout);
  if (!updates.ok()) return updates.status();
  // dnf check-update: 0 none, 100 updates available, anything else an error.
  if (updates->exit_code != 0 && updates->exit_code != 100) {
    return absl::UnavailableError(StrCat("dnf check-update exited ", updates->exit_code, ": ",
                                         FirstLine(updates->stderr_text)));
  }
  // Without the advisories every pending update would read as "not
  // security", and patch.security_sla would pass with no security data at
  // all: a failure here is the collector's failure.
  std::vector<std::string> advisories = {"dnf", "-q", "updateinfo", "list", "--security"};
  advisories.insert(advisories.begin() + 1, dnf_root.begin(), dnf_root.end());
  auto sec = ctx.commands.Run(advisories, kPackageToolTimeout);
  if (!sec.ok()) return sec.status();
  if (sec->exit_code != 0) {
    return absl::UnavailableError(StrCat("dnf updateinfo list --security exited ", sec->exit_code,
                                         ": ", FirstLine(sec->stderr_text)));
  }
  const std::set<std::string> security = ParseDnfSecurityNames(sec->stdout_text);
  const auto installed = ParseRpmQuery(rpm->stdout_text);
  for (auto& u : ParseDnfCheckUpdate(updates->stdout_text)) {
    if (auto it = installed.find(u.package()); it != installed.end()) {
      u.set_installed_version(it->second);
    }
    u.set_security(security.count(u.package()) > 0);
    *patch.add_pending() = std::move(u);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::Signal>> PatchCollector::Collect(const CollectContext& ctx) {
  v1::Signal signal;
  v1::PatchState& patch = *signal.mutable_patch();
  auto os_release = ctx.root.ReadFile("/etc/os-release");
  if (!os_release.ok()) os_release = ctx.root.ReadFile("/usr/lib/os-release");
  if (!os_release.ok()) return os_release.status();
  const auto fields = ParseOsRelease(*os_release);
  auto pretty = fields.find("PRETTY_NAME");
  patch.set_os(pretty != fields.end() ? pretty->second : "Linux");
  auto kernel = ctx.root.ReadFile("/proc/sys/kernel/osrelease");
  if (!kernel.ok()) return kernel.status();
  patch.set_kernel_running(FirstLine(*kernel));

  if (ctx.root.Exists("/var/lib/dpkg/status")) {
    patch.set_package_manager(v1::PACKAGE_MANAGER_DPKG);
    if (absl::Status s = CollectDpkg(ctx, patch); !s.ok()) return s;
  } else if (ctx.root.Exists("/var/lib/rpm") || ctx.root.Exists("/usr/lib/sysimage/rpm")) {
    patch.set_package_manager(v1::PACKAGE_MANAGER_RPM);
    if (absl::Status s = CollectRpm(ctx, patch); !s.ok()) return s;
  } else {
    return absl::FailedPreconditionError(StrCat("no dpkg or rpm database under ", ctx.root.root()));
  }
  const bool newer_kernel_installed =
      !patch.kernel_latest().empty() && patch.kernel_latest() != patch.kernel_running();
  patch.set_reboot_required(newer_kernel_installed || ctx.root.Exists("/run/reboot-required") ||
                            ctx.root.Exists("/var/run/reboot-required"));
  return std::vector<v1::Signal>{std::move(signal)};
}

}  // namespace attest::agent
