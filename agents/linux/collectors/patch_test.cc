#include "agents/linux/collectors/patch.h"

#include <filesystem>
#include <fstream>

#include "agents/linux/collectors/patch_parse.h"
#include "agents/linux/collectors/test_support.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795400000);

TEST(PatchParseTest, RecordedAptOutputOfThisDebianMachine) {
  auto pending = ParseAptSimulate(ReadFixture("debian12/apt-get-s-dist-upgrade.txt"));
  ASSERT_EQ(pending.size(), 128u);
  int security = 0;
  for (const auto& u : pending) security += u.security();
  EXPECT_EQ(security, 79);
  // "Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])"
  auto lzma = std::find_if(pending.begin(), pending.end(),
                           [](const auto& u) { return u.package() == "liblzma5"; });
  ASSERT_NE(lzma, pending.end());
  EXPECT_EQ(lzma->installed_version(), "5.4.1-1");
  EXPECT_EQ(lzma->candidate_version(), "5.4.1-1+deb12u2");
  EXPECT_TRUE(lzma->security());
  EXPECT_EQ(lzma->source(), "Debian-Security:12/oldstable-security");
  auto bash = std::find_if(pending.begin(), pending.end(),
                           [](const auto& u) { return u.package() == "bash"; });
  EXPECT_FALSE(bash->security());
  EXPECT_EQ(bash->candidate_version(), "5.2.15-2+b13");
}

TEST(PatchParseTest, AptEdgeCases) {
  auto pending = ParseAptSimulate(
      "Inst newpkg (1.0-1 Debian:12.15/oldstable [amd64])\n"
      "Inst u (2.0 Ubuntu:22.04/jammy-security, Ubuntu:22.04/jammy-updates [amd64]) []\n"
      "Conf newpkg (1.0-1 Debian:12.15/oldstable [amd64])\n"
      "Inst broken [1.0\n"
      "Inst  [1.0] (2.0 Debian:12.15/oldstable [amd64])\n"  // no name (found by fuzzing)
      "Inst nocandidate [1.0] ( Debian:12.15/oldstable [amd64])\n"
      "Remv old [1.0]\n");
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].installed_version(), "");
  EXPECT_FALSE(pending[0].security());
  EXPECT_TRUE(pending[1].security());
}

TEST(PatchParseTest, RecordedDpkgStatus) {
  auto parsed = ParseDpkgStatus(ReadFixture("debian12/var/lib/dpkg/status"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto& packages = *parsed;
  EXPECT_EQ(packages.size(), 188u);
  auto bash = std::find_if(packages.begin(), packages.end(),
                           [](const auto& p) { return p.name == "bash"; });
  ASSERT_NE(bash, packages.end());
  EXPECT_EQ(bash->version, "5.2.15-2+b8");  // matches apt's "[5.2.15-2+b8]"
  EXPECT_TRUE(bash->installed);
}

TEST(PatchParseTest, DebianVersionOrdering) {
  EXPECT_LT(CompareDebianVersions("1.0~rc1", "1.0"), 0);
  EXPECT_LT(CompareDebianVersions("1.0", "1.0-1"), 0);
  EXPECT_LT(CompareDebianVersions("2.66-4+deb12u2+b2", "1:2.66-4+deb12u3+b1"), 0);
  EXPECT_GT(CompareDebianVersions("6.1.0-27-amd64", "6.1.0-26-amd64"), 0);
  EXPECT_GT(CompareDebianVersions("6.1.0-10-amd64", "6.1.0-9-amd64"), 0);
  EXPECT_EQ(CompareDebianVersions("1.2.3", "1.2.3"), 0);
  EXPECT_GT(CompareDebianVersions("1.0a", "1.0"), 0);
  EXPECT_LT(CompareDebianVersions("3.0.14-1~deb12u2", "3.0.15-1~deb12u1"), 0);
}

TEST(PatchParseTest, OsRelease) {
  auto fields = ParseOsRelease(ReadFixture("debian12/etc/os-release"));
  EXPECT_EQ(fields["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(fields["VERSION_ID"], "12");
}

TEST(PatchCollectorTest, DebianFixtureTree) {
  RootFs root(FixturePath("debian12"));
  ReplayRunner runner;
  const std::string apt = ReadFixture("debian12/apt-get-s-dist-upgrade.txt");
  runner.Add({"apt-get", "-s", "-o", "Debug::NoLocking=true", "-o",
              "Dir=" + FixturePath("debian12") + "/", "dist-upgrade"},
             CommandResult{0, apt, ""});
  PatchCollector collector;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 1u);
  const v1::PatchState& p = (*signals)[0].patch();
  EXPECT_EQ(p.os(), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(p.package_manager(), v1::PACKAGE_MANAGER_DPKG);
  EXPECT_EQ(p.pending_size(), 128);
  EXPECT_EQ(p.installed_packages(), 188u);
  EXPECT_FALSE(p.reboot_required());  // no kernel packages in this container
}

TEST(PatchCollectorTest, NewerInstalledKernelMeansRebootRequired) {
  namespace fs = std::filesystem;
  const std::string tree = testing::TempDir() + "/patch_kernel_tree";
  fs::remove_all(tree);
  fs::copy(FixturePath("debian12"), tree, fs::copy_options::recursive);
  std::ofstream(tree + "/proc/sys/kernel/osrelease") << "6.1.0-26-amd64\n";
  std::ofstream(tree + "/var/lib/dpkg/status", std::ios::app)
      << "\nPackage: linux-image-6.1.0-26-amd64\nStatus: install ok installed\nVersion: 6.1.112-1\n"
      << "\nPackage: linux-image-6.1.0-27-amd64\nStatus: install ok installed\nVersion: 6.1.115-1\n"
      << "\nPackage: linux-image-6.1.0-9-amd64\nStatus: deinstall ok config-files\nVersion: "
         "6.1.27-1\n"
      << "\nPackage: linux-image-amd64\nStatus: install ok installed\nVersion: 6.1.115-1\n";
  RootFs root(tree);
  ReplayRunner runner;
  runner.Add(
      {"apt-get", "-s", "-o", "Debug::NoLocking=true", "-o", "Dir=" + tree + "/", "dist-upgrade"},
      CommandResult{0, "", ""});
  PatchCollector collector;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  EXPECT_EQ((*signals)[0].patch().kernel_latest(), "6.1.0-27-amd64");
  EXPECT_TRUE((*signals)[0].patch().reboot_required());
  fs::remove_all(tree);
}

TEST(PatchCollectorTest, AptFailureIsAnErrorNotAnEmptyList) {
  RootFs root(FixturePath("debian12"));
  ReplayRunner runner;
  runner.Add({"apt-get", "-s", "-o", "Debug::NoLocking=true", "-o",
              "Dir=" + FixturePath("debian12") + "/", "dist-upgrade"},
             CommandResult{100, "", "E: Could not open lock file\n"});
  PatchCollector collector;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  EXPECT_FALSE(signals.ok());
  EXPECT_NE(signals.status().message().find("Could not open lock file"), std::string::npos);
}

TEST(PatchCollectorTest, RhelFixtureTree) {
  const std::string tree = FixturePath("rhel9");
  RootFs root(tree);
  ReplayRunner runner;
  runner.Add({"rpm", "--root", tree, "-qa", "--qf", "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"},
             CommandResult{0, ReadFixture("rhel9/rpm-qa.txt"), ""});
  runner.Add({"rpm", "--root", tree, "-q", "kernel-core", "kernel", "--qf",
              "%{VERSION}-%{RELEASE}.%{ARCH}\n"},
             CommandResult{1, ReadFixture("rhel9/rpm-q-kernel.txt"), ""});
  runner.Add({"dnf", "--installroot=" + tree, "-q", "check-update"},
             CommandResult{100, ReadFixture("rhel9/dnf-check-update.txt"), ""});
  runner.Add({"dnf", "--installroot=" + tree, "-q", "updateinfo", "list", "--security"},
             CommandResult{0, ReadFixture("rhel9/dnf-updateinfo-security.txt"), ""});
  PatchCollector collector;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  const v1::PatchState& p = (*signals)[0].patch();
  EXPECT_EQ(p.os(), "Red Hat Enterprise Linux 9.4 (Plow)");
  EXPECT_EQ(p.package_manager(), v1::PACKAGE_MANAGER_RPM);
  EXPECT_EQ(p.kernel_latest(), "5.14.0-427.20.1.el9_4.x86_64");
  EXPECT_TRUE(p.reboot_required());
  ASSERT_EQ(p.pending_size(), 4);  // openssl, curl, bash, grub2-tools (obsoleting)
  EXPECT_EQ(p.pending(0).package(), "openssl");
  EXPECT_EQ(p.pending(0).installed_version(), "1:3.0.7-27.el9");
  EXPECT_TRUE(p.pending(0).security());
  EXPECT_TRUE(p.pending(1).security());   // curl
  EXPECT_FALSE(p.pending(2).security());  // bash
}

TEST(PatchCollectorTest, NoPackageDatabaseIsAnError) {
  const std::string tree = testing::TempDir() + "/patch_no_db_tree";
  std::filesystem::remove_all(tree);
  std::filesystem::create_directories(tree + "/etc");
  std::filesystem::create_directories(tree + "/proc/sys/kernel");
  std::ofstream(tree + "/etc/os-release") << "PRETTY_NAME=\"x\"\n";
  std::ofstream(tree + "/proc/sys/kernel/osrelease") << "6.1\n";
  RootFs root(tree);
  ReplayRunner runner;
  PatchCollector collector;
  EXPECT_EQ(collector.Collect(CollectContext{root, runner, kNow}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The real thing on this (Debian) machine: real dpkg status, real apt-get.
TEST(PatchCollectorTest, LiveOnThisDebianHost) {
  ASSERT_TRUE(std::filesystem::exists("/var/lib/dpkg/status")) << "CI runs on Debian";
  RootFs root("/");
  ProcessRunner runner;
  PatchCollector collector;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  const v1::PatchState& p = (*signals)[0].patch();
  EXPECT_EQ(p.package_manager(), v1::PACKAGE_MANAGER_DPKG);
  EXPECT_NE(p.os().find("Debian"), std::string::npos) << p.os();
  EXPECT_GT(p.installed_packages(), 100u);
  EXPECT_FALSE(p.kernel_running().empty());
  // Every "Inst" line apt prints right now is a pending update, no more.
  auto apt = runner.Run({"apt-get", "-s", "-o", "Debug::NoLocking=true", "dist-upgrade"},
                        absl::Minutes(3));
  ASSERT_TRUE(apt.ok());
  int inst = 0;
  for (std::string_view line : Split(apt->stdout_text, "\n")) inst += line.rfind("Inst ", 0) == 0;
  EXPECT_EQ(p.pending_size(), inst);
}

}  // namespace
}  // namespace attest::agent
