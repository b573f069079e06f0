// The server controls end to end: a real attest-agent against a real
// attestd, while this test starts and stops a real chronyd, loads and
// flushes a real nftables ruleset, and switches PasswordAuthentication in a
// real sshd config (read through `sshd -T`). Each change must show in
// `attestctl hosts show` and in the open window's figures.
//
// Nothing here touches the machine's own network or sshd: the whole test
// runs in a network namespace of its own (made before any thread exists,
// so attestd, the agent, chronyd and nft all live in it), and sshd only
// prints its configuration. The kernel clock's discipline is not
// namespaced: the test sets it unsynchronised to start from a known state,
// and gives the saved state back at the end.
#include <sched.h>
#include <sys/timex.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

// Before main, so every thread and child shares the namespace.
const bool kOwnNetwork = [] {
  return unshare(CLONE_NEWNET) == 0 && std::system("ip link set lo up") == 0;
}();

// The clock discipline as the test found it.
class SavedClock {
 public:
  SavedClock() { saved_ok_ = adjtimex(&saved_) >= 0; }
  ~SavedClock() {
    if (!saved_ok_) return;
    struct timex t {};
    t.modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR | ADJ_FREQUENCY;
    t.status = saved_.status;
    t.maxerror = saved_.maxerror;
    t.esterror = saved_.esterror;
    t.freq = saved_.freq;
    adjtimex(&t);
  }
  // What the kernel says when nothing has disciplined it.
  static bool Unsynchronise() {
    struct timex t {};
    t.modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR;
    t.status = STA_UNSYNC;
    t.maxerror = 16000000;
    t.esterror = 16000000;
    return adjtimex(&t) >= 0;
  }

 private:
  struct timex saved_ {};
  bool saved_ok_ = false;
};

class HostControlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kOwnNetwork) << "needs root: unshare(CLONE_NEWNET) and ip link set lo up";
    for (const char* tool : {"/usr/sbin/chronyd", "/usr/sbin/nft", "/usr/sbin/sshd"}) {
      ASSERT_TRUE(std::filesystem::exists(tool)) << tool << ": scripts/setup installs it";
    }
    dir_ = FreshDir("host_controls_e2e");
    std::ofstream(dir_ + "/policy.yaml")
        << "controls:\n"
           "  - {id: time-synced, tsc: [CC7.2], rule: host.time_synced, freshness: 30s,\n"
           "     params: {max_estimated_error: 100ms}}\n"
           "  - {id: firewall-enabled, tsc: [CC6.6], rule: host.firewall_enabled, freshness: 30s}\n"
           "  - {id: sshd-hardened, tsc: [CC6.1], rule: host.sshd_policy, freshness: 30s}\n"
           "  - {id: disk-encrypted, tsc: [CC6.1], rule: host.disk_encrypted, freshness: 30s}\n"
           "  - {id: mac-enforcing, tsc: [CC6.8], rule: host.mac_enforcing, freshness: 30s}\n";
    daemon_ = std::make_unique<DaemonHarness>(
        dir_, nullptr,
        std::vector<std::string>{"--policy", dir_ + "/policy.yaml", "--judge-delay", "0s",
                                 "--metrics-listen", "127.0.0.1:0", "--metrics-refresh", "200ms"});
    ASSERT_TRUE(daemon_->Start().ok()) << ReadAll(daemon_->log_path());
    const int64_t today = absl::ToUnixSeconds(absl::Now()) / 86400 * 86400;
    ASSERT_EQ(Ctl({"windows", "create", "open", "--start",
                   FormatRfc3339(absl::FromUnixSeconds(today - 86400)), "--end",
                   FormatRfc3339(absl::FromUnixSeconds(today + 365 * 86400))}),
              0)
        << out_ << err_;
    // sshd -T wants its privilege separation directory, as on a host where
    // sshd runs.
    if (!std::filesystem::exists("/run/sshd")) {
      std::filesystem::create_directories("/run/sshd");
      made_run_sshd_ = true;
    }
  }
  void TearDown() override {
    for (auto* c : {&agent_, &chrony_client_, &chrony_server_}) {
      if (*c) {
        (*c)->Signal(SIGTERM);
        (void)(*c)->Wait(absl::Seconds(20));
      }
    }
    if (daemon_) {
      EXPECT_TRUE(daemon_->Stop().ok());
    }
    if (made_run_sshd_) std::filesystem::remove("/run/sshd");
  }

  int Ctl(std::vector<std::string> args) {
    return Attestctl(daemon_->address(), dir_, std::move(args), &out_, &err_);
  }
  Json CtlJson(std::vector<std::string> args) {
    args.push_back("--format");
    args.push_back("json");
    if (Ctl(args) != 0) return Json();
    auto j = Json::ParseReport(out_);
    return j.ok() ? *j : Json();
  }
  // The control's state and cause in `attestctl hosts show`.
  std::pair<std::string, std::string> Shown(const std::string& control) {
    const Json show = CtlJson({"hosts", "show", "h1"});
    const Json* controls = show.is_object() ? show.Find("controls") : nullptr;
    if (controls == nullptr) return {"", ""};
    for (const Json& c : controls->as_array()) {
      if (c.Find("control")->as_string() == control) {
        return {c.Find("state")->as_string(), c.Find("cause")->as_string()};
      }
    }
    return {"", ""};
  }
  // Waits until `control` shows `state`; its cause then.
  std::string AwaitState(const std::string& control, const std::string& state) {
    std::pair<std::string, std::string> last;
    const bool seen = Eventually(
        [&] {
          last = Shown(control);
          return last.first == state;
        },
        absl::Seconds(90));
    EXPECT_TRUE(seen) << control << " never showed " << state << "; last " << last.first << " ("
                      << last.second << ")\n"
                      << ReadAll(dir_ + "/agent.log");
    return last.second;
  }
  // The open window's seconds of `state` ("pass", "fail") for `control`.
  int64_t WindowSeconds(const std::string& control, const std::string& state) {
    const Json report = CtlJson({"report", "--window", "open"});
    const Json* controls = report.is_object() ? report.Find("controls") : nullptr;
    if (controls == nullptr) return -1;
    for (const Json& c : controls->as_array()) {
      if (c.Find("id")->as_string() == control) return *c.Find("seconds")->Find(state)->as_int();
    }
    return -1;
  }
  absl::StatusOr<int> RunTool(const std::vector<std::string>& argv) {
    auto p = ChildProcess::Start(argv, dir_ + "/tools.log");
    if (!p.ok()) return p.status();
    return p->Wait(absl::Seconds(30));
  }
  void StartAgent(std::vector<std::string> args = {"--disable=patch", "--disable=access",
                                                   "--disable=checks", "--interval=time_sync=1s",
                                                   "--interval=firewall=1s", "--interval=sshd=1s",
                                                   "--interval=disk_encryption=1s"}) {
    args.insert(args.begin(), {BinaryPath("attest-agent"), "--daemon=" + daemon_->address(),
                               "--insecure", "--host-id=h1", "--spool-dir=" + dir_ + "/spool",
                               "--sshd-config=" + dir_ + "/sshd_config", "--max-backoff=500ms"});
    auto agent = ChildProcess::Start(args, dir_ + "/agent.log");
    ASSERT_TRUE(agent.ok());
    agent_ = std::move(*agent);
  }
  void WriteSshdConfig(const std::string& password_authentication) {
    std::ofstream(dir_ + "/sshd_config") << "Include " << dir_ << "/sshd_config.d/*.conf\n"
                                         << "PermitRootLogin prohibit-password\nUsePAM yes\n";
    std::filesystem::create_directories(dir_ + "/sshd_config.d");
    std::ofstream(dir_ + "/sshd_config.d/10-passwords.conf")
        << "PasswordAuthentication " << password_authentication << "\n";
  }

  std::string dir_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::optional<ChildProcess> agent_, chrony_server_, chrony_client_;
  bool made_run_sshd_ = false;
  std::string out_, err_;
};

TEST_F(HostControlsE2eTest, ChronyNftablesAndSshdChangesShowInHostsShowAndTheWindow) {
  SavedClock saved;
  ASSERT_TRUE(SavedClock::Unsynchronise());
  WriteSshdConfig("yes");  // included: only sshd -T sees it
  StartAgent();

  // Nothing disciplines the clock, no ruleset is loaded, sshd takes passwords.
  EXPECT_NE(AwaitState("time-synced", "FAIL").find("unsynchronised"), std::string::npos);
  EXPECT_NE(AwaitState("firewall-enabled", "FAIL").find("no IPv4 or IPv6 input chain"),
            std::string::npos);
  EXPECT_EQ(AwaitState("sshd-hardened", "FAIL"), "PasswordAuthentication yes");

  // A ruleset that drops input by default.
  std::ofstream(dir_ + "/ruleset.nft")
      << "table inet filter {\n"
         "  chain input { type filter hook input priority filter; policy drop;\n"
         "    ct state established,related accept\n    iif \"lo\" accept\n  }\n}\n";
  ASSERT_EQ(*RunTool({"/usr/sbin/nft", "-f", dir_ + "/ruleset.nft"}), 0)
      << ReadAll(dir_ + "/tools.log");
  AwaitState("firewall-enabled", "PASS");

  // sshd's config turns passwords off, in the included file.
  WriteSshdConfig("no");
  AwaitState("sshd-hardened", "PASS");

  // chronyd synchronised to a second chronyd on loopback clears STA_UNSYNC
  // (rtcsync) and is running: synchronised.
  std::ofstream(dir_ + "/server.conf") << "local stratum 8\nallow 127.0.0.1\nport 11123\n"
                                       << "cmdport 0\npidfile " << dir_ << "/server.pid\n";
  std::ofstream(dir_ + "/client.conf")
      << "server 127.0.0.1 port 11123 iburst minpoll -2 maxpoll 0\nrtcsync\nport 0\ncmdport 0\n"
      << "pidfile " << dir_ << "/client.pid\n";
  auto server = ChildProcess::Start({"/usr/sbin/chronyd", "-d", "-x", "-f", dir_ + "/server.conf"},
                                    dir_ + "/chrony-server.log");
  ASSERT_TRUE(server.ok());
  chrony_server_ = std::move(*server);
  auto client = ChildProcess::Start({"/usr/sbin/chronyd", "-d", "-f", dir_ + "/client.conf"},
                                    dir_ + "/chrony-client.log");
  ASSERT_TRUE(client.ok());
  chrony_client_ = std::move(*client);
  AwaitState("time-synced", "PASS");

  // chrony stops (both chronyd: the agent names any that runs): the kernel
  // still calls its clock synchronised (its error bound only grows), but
  // nothing disciplines it any more.
  for (auto* c : {&chrony_client_, &chrony_server_}) {
    (*c)->Signal(SIGTERM);
    ASSERT_TRUE((*c)->Wait(absl::Seconds(20)).ok());
    c->reset();
  }
  EXPECT_NE(AwaitState("time-synced", "FAIL").find("no time-sync daemon running"),
            std::string::npos);

  // The ruleset is flushed, and sshd takes passwords again.
  ASSERT_EQ(*RunTool({"/usr/sbin/nft", "flush", "ruleset"}), 0);
  AwaitState("firewall-enabled", "FAIL");
  WriteSshdConfig("yes");
  AwaitState("sshd-hardened", "FAIL");

  // This machine's own disks, read for real: judged either way, never
  // left without evidence.
  const std::string disk = Shown("disk-encrypted").first;
  EXPECT_TRUE(disk == "PASS" || disk == "FAIL") << disk << " " << Shown("disk-encrypted").second;

  // The window's figures hold both states of every control, and /metrics
  // counts the host under FAIL for each.
  for (const char* control : {"time-synced", "firewall-enabled", "sshd-hardened"}) {
    EXPECT_GT(WindowSeconds(control, "pass"), 0) << control << "\n" << out_;
    EXPECT_GT(WindowSeconds(control, "fail"), 0) << control << "\n" << out_;
  }
  std::string metrics;
  EXPECT_TRUE(Eventually([&] {
    auto body = HttpGet(daemon_->metrics_address(), "/metrics");
    if (!body.ok()) return false;
    metrics = *body;
    for (const char* control : {"time-synced", "firewall-enabled", "sshd-hardened"}) {
      bool failing = false;
      for (std::string_view line : Split(metrics, "\n")) {
        failing |= line.starts_with("attest_control_hosts{") &&
                   line.find(StrCat("control=\"", control, "\"")) != std::string_view::npos &&
                   line.find("state=\"fail\"") != std::string_view::npos && line.ends_with(" 1");
      }
      if (!failing) return false;
    }
    return true;
  })) << metrics.substr(0, 4000);
}

// Disk encryption and MAC, which this machine's kernel cannot show
// (no device-mapper, no AppArmor or SELinux): the real agent reads a host
// tree built from the kernel's documented layouts (tests/fixtures/host),
// changed under it as a host would change, and attestd judges it.
TEST_F(HostControlsE2eTest, DiskEncryptionAndMacChangesShowInHostsShowAndTheWindow) {
  const std::string root = dir_ + "/root";
  for (const char* tree : {"host/disk/luks2-lvm", "host/mac/apparmor-debian12"}) {
    std::filesystem::copy(SourcePath(StrCat("tests/fixtures/", tree)), root,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::copy_symlinks |
                              std::filesystem::copy_options::skip_existing);
  }
  const std::string mountinfo = ReadAll(root + "/proc/1/mountinfo");
  const std::string lsm = ReadAll(root + "/sys/kernel/security/lsm");
  ASSERT_FALSE(mountinfo.empty());
  StartAgent({"--root=" + root, "--disable=patch", "--disable=access", "--disable=checks",
              "--disable=time_sync", "--disable=firewall", "--disable=sshd",
              "--interval=disk_encryption=1s", "--interval=mac=1s"});
  // /, /home, the bind mount of / at /var/lib/docker, and swap; /boot and
  // /boot/efi are exempt.
  EXPECT_EQ(AwaitState("disk-encrypted", "PASS"), "4 volumes on dm-crypt (LUKS2)");
  EXPECT_EQ(AwaitState("mac-enforcing", "PASS"), "AppArmor enforcing 7 profiles, 1 not enforcing");

  // A data disk's partition mounted on /srv without dm-crypt, and a boot
  // without AppArmor.
  std::ofstream(root + "/proc/1/mountinfo")
      << mountinfo << "70 26 8:2 / /srv rw,relatime shared:50 - ext4 /dev/sda2 rw\n";
  std::ofstream(root + "/sys/kernel/security/lsm") << "lockdown,capability,landlock,yama";
  EXPECT_EQ(AwaitState("disk-encrypted", "FAIL"),
            "/srv (ext4 on /dev/sda2): no dm-crypt layer above sda (disk)");
  EXPECT_NE(AwaitState("mac-enforcing", "FAIL").find("AppArmor is not active"), std::string::npos);

  // Put right again.
  std::ofstream(root + "/proc/1/mountinfo") << mountinfo;
  std::ofstream(root + "/sys/kernel/security/lsm") << lsm;
  AwaitState("disk-encrypted", "PASS");
  AwaitState("mac-enforcing", "PASS");
  for (const char* control : {"disk-encrypted", "mac-enforcing"}) {
    EXPECT_GT(WindowSeconds(control, "pass"), 0) << control << "\n" << out_;
    EXPECT_GT(WindowSeconds(control, "fail"), 0) << control << "\n" << out_;
  }
}

}  // namespace
}  // namespace attest::testing_support
