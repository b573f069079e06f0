// What the collectors do when a source is missing, unreadable, slow or
// malformed (docs/bad-input.md, "Collector sources"): patch, log shipping,
// custom checks, and RunCollector, which turns any such error into one
// collector_error signal. The access collector's cases are in
// source_errors_access_test.cc.
//
// "Unreadable" is a real EACCES: the test thread drops CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH (WithoutFileCapabilities) and reads a chmod 000 file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "agents/linux/collectors/checks.h"
#include "agents/linux/collectors/log_shipping.h"
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

// --- log shipping ----------------------------------------------------------

absl::StatusOr<std::vector<v1::Signal>> CollectShippers(const std::string& tree,
                                                        const CommandRunner& runner,
                                                        const std::vector<std::string>& specs) {
  std::vector<ShipperConfig> shippers;
  for (const auto& spec : specs) {
    auto c = ParseShipperSpec(spec);
    if (!c.ok()) return c.status();
    shippers.push_back(*c);
  }
  LogShippingCollector collector(shippers);
  RootFs root(tree);
  return collector.Collect(CollectContext{root, runner, kNow});
}

// The error reported for the one shipper collected ("" if none). A
// shipper's error is in its own signal; the collector itself succeeds.
std::string ShipperError(const absl::StatusOr<std::vector<v1::Signal>>& signals) {
  EXPECT_TRUE(signals.ok()) << signals.status();
  if (!signals.ok() || signals->size() != 1) return "(not one signal)";
  const v1::LogShippingState& state = (*signals)[0].log_shipping();
  if (!state.error().empty()) {
    EXPECT_FALSE(state.active());  // an unknown state is not reported as running
    EXPECT_FALSE(state.has_last_delivery());
  }
  return state.error();
}

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// Fixed: the first systemctl failure used to stop the whole run, so one
// shipper's trouble voided the evidence of every shipper on the host.
TEST(SourceErrorsTest, SystemctlMissingOrTimingOutIsAnErrorOfEachShipperItWasAskedFor) {
  TempTree tree("source_errors_systemctl");
  tree.Write("var/lib/app/shipped", "");
  const timespec touched[2] = {{absl::ToUnixSeconds(kNow) - 60, 0},
                               {absl::ToUnixSeconds(kNow) - 60, 0}};  // delivered a minute ago
  ASSERT_EQ(utimensat(AT_FDCWD, (tree / "var/lib/app/shipped").c_str(), touched, 0), 0);
  LogShippingCollector collector(
      {*ParseShipperSpec("name=a,unit=a.service,probe=marker_file,path=/var/lib/app/shipped"),
       *ParseShipperSpec("name=b,probe=marker_file,path=/var/lib/app/shipped"),
       *ParseShipperSpec("name=c,unit=c.service,probe=marker_file,path=/var/lib/app/shipped")});
  RootFs root(tree.path());
  for (const absl::Status& error :
       {absl::NotFoundError("systemctl: no such program"),
        absl::DeadlineExceededError("systemctl is-active a.service: killed after 10s")}) {
    SCOPED_TRACE(error.ToString());
    ReplayRunner runner;
    runner.AddError({"systemctl", "is-active", "a.service"}, error);
    runner.Add({"systemctl", "is-active", "c.service"}, CommandResult{0, "active\n", ""});
    CollectorStats stats;
    auto signals = RunCollector(collector, CollectContext{root, runner, kNow}, stats);
    ASSERT_EQ(signals.size(), 3u);
    EXPECT_EQ(stats.failures, 0u);
    EXPECT_EQ(signals[0].log_shipping().shipper(), "a");
    EXPECT_EQ(signals[0].log_shipping().error(), error.ToString());
    EXPECT_FALSE(signals[0].log_shipping().active());
    for (const int i : {1, 2}) {  // b (no unit) and c (active) are read as usual
      EXPECT_EQ(signals[i].log_shipping().error(), "");
      EXPECT_TRUE(signals[i].log_shipping().active());
      EXPECT_TRUE(signals[i].log_shipping().has_last_delivery());
    }
  }
}

TEST(SourceErrorsTest, ImpstatsMissingIsNotFoundAndUnreadableIsPermissionDenied) {
  TempTree tree("source_errors_impstats");
  ReplayRunner runner;
  const std::vector<std::string> specs = {
      "name=central,probe=rsyslog_impstats,path=/var/log/rsyslog-stats.log,action=fwd-central"};
  const std::string missing = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(missing, "NOT_FOUND: ")) << missing;
  EXPECT_NE(missing.find("/var/log/rsyslog-stats.log"), std::string::npos) << missing;

  tree.Write("var/log/rsyslog-stats.log", ReadFixture("rsyslog/impstats-receiver-stopped.log"));
  EXPECT_EQ(ShipperError(CollectShippers(tree.path(), runner, specs)), "");
  tree.Chmod("var/log/rsyslog-stats.log", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string unreadable = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(unreadable, "PERMISSION_DENIED: ")) << unreadable;
  EXPECT_NE(unreadable.find("/var/log/rsyslog-stats.log"), std::string::npos) << unreadable;
}

TEST(SourceErrorsTest, ImpstatsLinesWithAnUnparseableTimeAreSkipped) {
  const std::string good =
      "Mon Nov 23 02:00:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 0, \"enqueued\": 1 }\n";
  const std::string bad_times =
      "Mon Nov 99 02:01:00 2026: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 4, \"enqueued\": 9 }\n"
      "yesterday: { \"name\": \"a queue\", \"origin\": \"core.queue\", "
      "\"size\": 5, \"enqueued\": 10 }\n";
  ImpstatsReading r = ParseImpstats(good + bad_times, "a", absl::UTCTimeZone(), true);
  ASSERT_TRUE(r.found);
  ASSERT_TRUE(r.last_delivery.has_value());
  EXPECT_EQ(FormatRfc3339(*r.last_delivery), "2026-11-23T02:00:00Z");
  EXPECT_EQ(r.backlog, 0u);  // not the 4 or 5 of the skipped lines
  EXPECT_FALSE(ParseImpstats(bad_times, "a", absl::UTCTimeZone(), true).found);

  // Only such lines: the collector finds no impstats for the action.
  TempTree tree("source_errors_impstats_times");
  tree.Write("var/log/stats.log", bad_times);
  ReplayRunner runner;
  const std::string error = ShipperError(CollectShippers(
      tree.path(), runner, {"name=a,probe=rsyslog_impstats,path=/var/log/stats.log,action=a"}));
  EXPECT_TRUE(StartsWith(error, "NOT_FOUND: ")) << error;
  EXPECT_NE(error.find("no impstats for \"a queue\""), std::string::npos) << error;
}

TEST(SourceErrorsTest, JournalUploadStateUnreadableIsPermissionDenied) {
  TempTree tree("source_errors_journal_unreadable");
  tree.CopyFixture("journal-upload/state", "var/lib/systemd/journal-upload/state");
  tree.Chmod("var/lib/systemd/journal-upload/state", kNoAccess);
  ReplayRunner runner;
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string error = ShipperError(
      CollectShippers(tree.path(), runner,
                      {"name=j,probe=journal_upload,path=/var/lib/systemd/journal-upload/state"}));
  EXPECT_TRUE(StartsWith(error, "PERMISSION_DENIED: ")) << error;
  EXPECT_NE(error.find("journal-upload/state"), std::string::npos) << error;
}

// Fixed: such a cursor used to read as "never delivered", without an error.
TEST(SourceErrorsTest, JournalUploadCursorWithANonHexTimeIsThatShippersError) {
  TempTree tree("source_errors_journal_non_hex");
  ReplayRunner runner;
  for (const std::string& t : std::vector<std::string>{"62e9a1z4c1e80", "", "10000000000000000"}) {
    SCOPED_TRACE(t);
    tree.Write("state", "LAST_CURSOR=s=739ad463;i=4ece7;b=6c7c6013;m=5d9e7c2f;t=" + t + ";x=2d\n");
    EXPECT_EQ(ShipperError(CollectShippers(tree.path(), runner,
                                           {"name=j,probe=journal_upload,path=/state"})),
              "DATA_LOSS: /state: LAST_CURSOR t=" + t + " is not hex microseconds");
  }
}

TEST(SourceErrorsTest, MarkerMissingIsNeverDeliveredAndUnstatableMarkerIsAnError) {
  TempTree tree("source_errors_marker");
  fs::create_directories(tree / "var/lib/app");
  ReplayRunner runner;
  const std::vector<std::string> specs = {"name=m,probe=marker_file,path=/var/lib/app/shipped"};
  auto missing = CollectShippers(tree.path(), runner, specs);
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->size(), 1u);
  EXPECT_FALSE((*missing)[0].log_shipping().has_last_delivery());

  tree.Write("var/lib/app/shipped", "");
  tree.Chmod("var/lib/app", kNoAccess);  // stat of the marker: EACCES, not ENOENT
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  const std::string unstatable = ShipperError(CollectShippers(tree.path(), runner, specs));
  EXPECT_TRUE(StartsWith(unstatable, "PERMISSION_DENIED: ")) << unstatable;
  EXPECT_NE(unstatable.find("/var/lib/app/shipped"), std::string::npos) << unstatable;
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
