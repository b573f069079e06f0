// What the collectors do when a source is missing, unreadable, slow or
// malformed (docs/bad-input.md, "Collector sources"): patch, custom checks,
// and RunCollector, which turns any such error into one collector_error
// signal. The access collector's cases are in source_errors_access_test.cc,
// the log-shipping collector's in source_errors_log_shipping_test.cc.
//
// "Unreadable" is a real EACCES: the test thread drops CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH (WithoutFileCapabilities) and reads a chmod 000 file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "agents/linux/collectors/checks.h"
#include "agents/linux/collectors/patch.h"
#include "agents/linux/collectors/registry.h"
#include "agents/linux/collectors/test_support.h"
#include "common/time_util.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;
using absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1795400000);
constexpr fs::perms kNoAccess = fs::perms::none;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// --- patch -----------------------------------------------------------------

// A copy of the debian12 fixture (os-release, kernel release, dpkg status)
// that a test may break, and a runner that answers its apt-get.
struct DebianTree {
  explicit DebianTree(const std::string& name) : tree(name) {
    tree.CopyFixture("debian12/etc", "etc");
    tree.CopyFixture("debian12/proc", "proc");
    tree.CopyFixture("debian12/var", "var");
    runner.Add(AptArgv(), CommandResult{0, ReadFixture("debian12/apt-get-s-dist-upgrade.txt"), ""});
  }
  std::vector<std::string> AptArgv() const {
    return {"apt-get",     "-s", "-o", "Debug::NoLocking=true", "-o", "Dir=" + tree.path() + "/",
            "dist-upgrade"};
  }
  absl::StatusOr<std::vector<v1::Signal>> Collect() const {
    RootFs root(tree.path());
    PatchCollector collector;
    return collector.Collect(CollectContext{root, runner, kNow});
  }

  TempTree tree;
  ReplayRunner runner;
};

// The rhel9 fixture (read only) and a runner answering all four rpm/dnf
// commands as recorded; a test replaces one answer.
struct RhelHost {
  RhelHost() {
    runner.Add(RpmQa(), CommandResult{0, ReadFixture("rhel9/rpm-qa.txt"), ""});
    runner.Add(RpmKernel(), CommandResult{1, ReadFixture("rhel9/rpm-q-kernel.txt"), ""});
    runner.Add(DnfCheckUpdate(), CommandResult{100, ReadFixture("rhel9/dnf-check-update.txt"), ""});
    runner.Add(DnfSecurity(),
               CommandResult{0, ReadFixture("rhel9/dnf-updateinfo-security.txt"), ""});
  }
  std::vector<std::string> RpmQa() const {
    return {"rpm", "--root", tree, "-qa", "--qf", "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"};
  }
  std::vector<std::string> RpmKernel() const {
    return {"rpm",         "--root", tree,   "-q",
            "kernel-core", "kernel", "--qf", "%{VERSION}-%{RELEASE}.%{ARCH}\n"};
  }
  std::vector<std::string> DnfCheckUpdate() const {
    return {"dnf", "--installroot=" + tree, "-q", "check-update"};
  }
  std::vector<std::string> DnfSecurity() const {
    return {"dnf", "--installroot=" + tree, "-q", "updateinfo", "list", "--security"};
  }
  absl::StatusOr<std::vector<v1::Signal>> Collect() const {
    RootFs root(tree);
    PatchCollector collector;
    return collector.Collect(CollectContext{root, runner, kNow});
  }

  const std::string tree = FixturePath("rhel9");
  ReplayRunner runner;
};

// The premise of every "unreadable" test below: root reads a chmod 000
// file, and with the helper it gets EACCES like an unprivileged agent.
TEST(SourceErrorsTest, WithoutFileCapabilitiesRootGetsEaccesFromAChmod000File) {
  TempTree tree("source_errors_capabilities");
  tree.Write("secret", "x");
  tree.Chmod("secret", kNoAccess);
  const std::string path = tree / "secret";
  if (geteuid() == 0) {
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << "root with its capabilities reads anything";
    if (fd >= 0) close(fd);
  }
  {
    WithoutFileCapabilities no_caps;
    ASSERT_TRUE(no_caps.ok());
    errno = 0;
    EXPECT_EQ(open(path.c_str(), O_RDONLY), -1);
    EXPECT_EQ(errno, EACCES);
  }
  if (geteuid() == 0) {
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << "the capabilities come back";
    if (fd >= 0) close(fd);
  }
}

TEST(SourceErrorsTest, DpkgStatusUnreadableIsPermissionDeniedNamingThePath) {
  DebianTree host("source_errors_dpkg_unreadable");
  host.tree.Chmod("var/lib/dpkg/status", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto signals = host.Collect();
  EXPECT_EQ(signals.status().code(), StatusCode::kPermissionDenied) << signals.status();
  EXPECT_NE(Message(signals.status()).find(host.tree / "var/lib/dpkg/status"), std::string::npos)
      << signals.status();
}

// Fixed: such a file used to be read as far as it made sense, so lost
// stanzas lowered installed_packages and could hide the newest kernel (no
// reboot flagged), with no error.
TEST(SourceErrorsTest, ACorruptDpkgStatusIsDataLossNamingTheLine) {
  const std::string good = ReadFixture("debian12/var/lib/dpkg/status");
  const size_t second = good.find("\n\nPackage: ") + 2;  // the second stanza
  const auto line_of = [&](size_t offset) {
    return std::to_string(std::count(good.begin(), good.begin() + offset, '\n') + 1);
  };
  const auto replace = [&](std::string_view from, std::string_view to) {
    std::string text = good;
    const size_t at = text.find(from, second);
    return text.replace(at, from.size(), to);
  };
  const std::string stanza = line_of(second);
  const struct {
    std::string name, text, why;
  } cases[] = {
      {"no_package", replace("Package: ", "Pakage: "),
       "line " + stanza + ": a stanza without a Package field"},
      {"no_colon", replace("Priority: ", "Priority "),
       "line " + line_of(good.find("Priority: ", second)) +
           ": a field name not followed by a colon"},
      {"no_status", replace("Status: ", "Statu: "),
       "line " + stanza + ": package adwaita-icon-theme has no Status field"},
      {"short_status", replace("install ok installed", "installed"),
       "line " + line_of(good.find("Status: ", second)) + ": a Status that is not three words"},
      {"no_version", replace("\nVersion: ", "\nVersio: "),
       "line " + stanza + ": installed package adwaita-icon-theme has no Version"},
      {"cut_inside_a_line", good.substr(0, good.find("Version: ", second) + 5),
       "line " + line_of(good.find("Version: ", second)) +
           ": the file ends inside a line (cut short?)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DebianTree host("source_errors_dpkg_" + c.name);
    host.tree.Write("var/lib/dpkg/status", c.text);
    auto signals = host.Collect();
    EXPECT_EQ(signals.status().code(), StatusCode::kDataLoss) << signals.status();
    EXPECT_EQ(Message(signals.status()), host.tree / "var/lib/dpkg/status is corrupt: " + c.why);
  }
  // Cut between two stanzas, what is left is a valid database: not seen.
  DebianTree host("source_errors_dpkg_cut_between_stanzas");
  host.tree.Write("var/lib/dpkg/status", good.substr(0, second));
  auto signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().installed_packages(), 1u);
}

TEST(SourceErrorsTest, OsReleaseMissingInBothPlacesIsNotFound) {
  DebianTree host("source_errors_no_os_release");
  fs::remove(host.tree / "etc/os-release");
  ASSERT_FALSE(fs::exists(host.tree / "usr/lib/os-release"));
  EXPECT_EQ(host.Collect().status().code(), StatusCode::kNotFound);
  // /usr/lib/os-release alone is enough.
  host.tree.Write("usr/lib/os-release", "PRETTY_NAME=\"From usr/lib\"\n");
  auto signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().os(), "From usr/lib");
}

TEST(SourceErrorsTest, OsReleaseWithoutPrettyNameReportsLinux) {
  DebianTree host("source_errors_no_pretty_name");
  host.tree.Write("etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n");
  auto signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().os(), "Linux");
}

TEST(SourceErrorsTest, KernelReleaseUnreadableOrMissingIsAnError) {
  DebianTree host("source_errors_kernel_release");
  host.tree.Chmod("proc/sys/kernel/osrelease", kNoAccess);
  {
    WithoutFileCapabilities no_caps;
    ASSERT_TRUE(no_caps.ok());
    EXPECT_EQ(host.Collect().status().code(), StatusCode::kPermissionDenied);
  }
  fs::remove(host.tree / "proc/sys/kernel/osrelease");
  auto signals = host.Collect();
  EXPECT_EQ(signals.status().code(), StatusCode::kNotFound);
  EXPECT_NE(Message(signals.status()).find("/proc/sys/kernel/osrelease"), std::string::npos);
}

TEST(SourceErrorsTest, AptGetMissingOrTimingOutIsAnError) {
  DebianTree host("source_errors_apt_get");
  host.runner.AddError(host.AptArgv(), absl::NotFoundError("apt-get: no such program"));
  EXPECT_EQ(host.Collect().status().code(), StatusCode::kNotFound);
  host.runner.AddError(host.AptArgv(), absl::DeadlineExceededError("apt-get: killed after 3m"));
  EXPECT_EQ(host.Collect().status().code(), StatusCode::kDeadlineExceeded);
}

TEST(SourceErrorsTest, RpmQaNonZeroExitIsUnavailableWithTheExitCode) {
  RhelHost host;
  host.runner.Add(host.RpmQa(), CommandResult{1, "", "error: rpmdb open failed\nmore\n"});
  auto signals = host.Collect();
  EXPECT_EQ(signals.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Message(signals.status()), "rpm -qa exited 1: error: rpmdb open failed");
}

TEST(SourceErrorsTest, DnfCheckUpdateExitOtherThan0Or100IsUnavailable) {
  RhelHost host;
  host.runner.Add(host.DnfCheckUpdate(),
                  CommandResult{1, "", "Error: Failed to download metadata for repo 'baseos'\n"});
  auto signals = host.Collect();
  EXPECT_EQ(signals.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Message(signals.status()),
            "dnf check-update exited 1: Error: Failed to download metadata for repo 'baseos'");
  // 0 is "no updates", not an error.
  host.runner.Add(host.DnfCheckUpdate(), CommandResult{0, "", ""});
  signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().pending_size(), 0);
}

// Fixed: it used to be no error, with every pending update "not security",
// so patch.security_sla passed with no security data at all.
TEST(SourceErrorsTest, DnfSecurityAdvisoriesFailingIsUnavailableNotEveryUpdateNonSecurity) {
  RhelHost host;
  host.runner.Add(
      host.DnfSecurity(),
      CommandResult{1, "", "Error: Failed to download metadata for repo 'appstream'\n"});
  auto signals = host.Collect();
  EXPECT_EQ(signals.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Message(signals.status()),
            "dnf updateinfo list --security exited 1: Error: Failed to download metadata for repo "
            "'appstream'");
  host.runner.AddError(host.DnfSecurity(), absl::DeadlineExceededError("dnf: killed after 3m"));
  EXPECT_EQ(host.Collect().status().code(), StatusCode::kDeadlineExceeded);
}

// Not changed: exit 1 is normal (one of kernel-core and kernel is not
// installed), so a failure only leaves kernel_latest empty.
TEST(SourceErrorsTest, RpmKernelQueryFailingLeavesKernelLatestEmptyWithoutError) {
  RhelHost host;
  host.runner.Add(host.RpmKernel(), CommandResult{1,
                                                  "package kernel-core is not installed\n"
                                                  "package kernel is not installed\n",
                                                  ""});
  auto signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().kernel_latest(), "");
  EXPECT_FALSE((*signals)[0].patch().reboot_required());
  EXPECT_EQ((*signals)[0].patch().pending_size(), 4);
  host.runner.AddError(host.RpmKernel(), absl::DeadlineExceededError("rpm: killed after 3m"));
  signals = host.Collect();
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().kernel_latest(), "");
}

// --- custom checks ---------------------------------------------------------

TEST(SourceErrorsTest, ChecksNamedWithTildeOrDisabledAndDirectoriesAreSkipped) {
  TempTree dir("source_errors_checks_d");
  for (const std::string name :
       {"disk", "disk~", "backup.disabled", "backup.disabled.sh", "mem.sh"}) {
    dir.Write(name, "#!/bin/sh\nexit 0\n");
    fs::permissions(dir / name, fs::perms::owner_all);
  }
  fs::create_directories(dir / "a-directory");  // searchable (x), but not a check
  ReplayRunner runner;
  runner.Add({dir / "disk"}, CommandResult{0, "OK - fine\n", ""});
  ChecksCollector collector(dir.path(), absl::Seconds(1));
  RootFs root("/");
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  std::vector<std::string> names;
  for (const auto& s : *signals) names.push_back(s.check().name());
  EXPECT_EQ(names, (std::vector<std::string>{"disk", "mem.sh"}));  // a dot is fine here
  EXPECT_EQ(runner.calls(), (std::vector<std::string>{dir / "disk", dir / "mem.sh"}));
}

TEST(SourceErrorsTest, ChecksDirMissingIsNoSignalsAndUnlistableIsPermissionDenied) {
  TempTree tree("source_errors_checks_dir");
  ReplayRunner runner;
  RootFs root("/");
  ChecksCollector missing(tree / "no-such-checks.d", absl::Seconds(1));
  auto none = missing.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  tree.Write("checks.d/disk", "#!/bin/sh\nexit 0\n");
  fs::permissions(tree / "checks.d/disk", fs::perms::owner_all);
  tree.Chmod("checks.d", kNoAccess);
  ChecksCollector unlistable(tree / "checks.d", absl::Seconds(1));
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto denied = unlistable.Collect(CollectContext{root, runner, kNow});
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(denied.status()).rfind(tree / "checks.d: ", 0), 0u) << denied.status();
  EXPECT_TRUE(runner.calls().empty());
}

// --- RunCollector ----------------------------------------------------------

class FailingCollector : public Collector {
 public:
  explicit FailingCollector(absl::Status error) : error_(std::move(error)) {}
  std::string_view name() const override { return "failing"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext&) override { return error_; }

 private:
  absl::Status error_;
};

TEST(SourceErrorsTest, RunCollectorTurnsAnErrorIntoOneCollectorErrorCutTo4000Bytes) {
  RootFs root("/nonexistent");
  ReplayRunner runner;
  const CollectContext context{root, runner, kNow};

  FailingCollector short_error(absl::UnavailableError("rpm -qa exited 1: error"));
  CollectorStats stats;
  auto signals = RunCollector(short_error, context, stats);
  ASSERT_EQ(signals.size(), 1u);
  ASSERT_TRUE(signals[0].has_collector_error());
  EXPECT_EQ(signals[0].collector_error().collector(), "failing");
  EXPECT_EQ(signals[0].collector_error().error(), "UNAVAILABLE: rpm -qa exited 1: error");
  EXPECT_EQ(signals[0].observed_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(stats.runs, 1u);
  EXPECT_EQ(stats.failures, 1u);
  EXPECT_EQ(stats.last_error, "UNAVAILABLE: rpm -qa exited 1: error");

  const absl::Status long_status = absl::InternalError(std::string(5000, 'x'));
  FailingCollector long_error(long_status);
  {
    CapturedLogs logs;  // the whole error, 5000 bytes of it
    signals = RunCollector(long_error, context, stats);
    EXPECT_NE(logs.text().find("collector failing failed: INTERNAL: xxx"), std::string::npos);
  }
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].collector_error().error(), long_status.ToString().substr(0, 4000));
  EXPECT_EQ(stats.last_error, long_status.ToString());  // the stats keep all of it
  EXPECT_EQ(stats.runs, 2u);
  EXPECT_EQ(stats.failures, 2u);

  // A real collector's error the same way: nothing but the one signal.
  PatchCollector patch;
  signals = RunCollector(patch, context, stats);
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].collector_error().collector(), "patch");
  EXPECT_EQ(signals[0].collector_error().error().rfind("NOT_FOUND: /nonexistent/", 0), 0u)
      << signals[0].collector_error().error();
}

}  // namespace
}  // namespace attest::agent
