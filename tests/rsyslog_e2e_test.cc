// The log_shipping collector against a real rsyslogd (Debian package): it
// forwards to a TCP receiver run by this test; when the receiver stops, the
// agent must report deliveries going stale and a growing backlog.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"

namespace attest {
namespace {

using testing_support::BinaryPath;
using testing_support::ChildProcess;
using testing_support::DaemonHarness;
using testing_support::Eventually;
using testing_support::ReadAll;

// A TCP sink on a free loopback port that counts bytes until stopped.
//
// The socket is close-on-exec: rsyslogd, attestd and the agent are started
// after it, and an inherited listener keeps accepting into its backlog after
// the sink "stops", so rsyslog would keep delivering. The port is below
// Linux's ephemeral range (32768-60999) as a precaution: once the sink is
// gone rsyslog keeps reconnecting, and a connect to a free ephemeral local
// port can pick that same port as its source and connect to itself.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // children must not inherit it
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int port = 20000 + getpid() % 10000; port < 32000; ++port) {
      addr.sin_port = htons(static_cast<uint16_t>(port));
      if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        port_ = port;
        break;
      }
    }
    listen(fd_, 16);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() { Stop(); }
  int port() const { return port_; }
  uint64_t bytes() const { return bytes_; }
  // Closes the listener and every connection: the destination is gone.
  void Stop() {
    if (stop_.exchange(true)) return;
    thread_.join();
  }

 private:
  void Loop() {
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        if (fds[i].fd == fd_) {
          const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) fds.push_back({c, POLLIN, 0});
          continue;
        }
        char buf[4096];
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n > 0) bytes_ += static_cast<uint64_t>(n);
      }
    }
    for (auto& f : fds) close(f.fd);
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_{0};
  std::thread thread_;
};

TEST(RsyslogE2eTest, StoppedReceiverShowsAsStaleDeliveryWithBacklog) {
  ASSERT_TRUE(std::filesystem::exists("/usr/sbin/rsyslogd")) << "scripts/setup installs rsyslog";
  const std::string dir = testing_support::FreshDir("rsyslog");
  Receiver receiver;
  std::filesystem::create_directories(dir + "/work");
  std::ofstream(dir + "/rsyslog.conf")
      << "global(workDirectory=\"" << dir << "/work\")\n"
      << "module(load=\"impstats\" interval=\"1\" format=\"json\" log.syslog=\"off\" "
         "log.file=\""
      << dir << "/impstats.log\" resetCounters=\"off\")\n"
      << "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
      << "input(type=\"imuxsock\" Socket=\"" << dir << "/log.sock\" CreatePath=\"on\")\n"
      << "*.* action(type=\"omfwd\" name=\"fwd-central\" target=\"127.0.0.1\" port=\""
      << receiver.port()
      << "\" protocol=\"tcp\" action.resumeRetryCount=\"-1\" "
         "action.resumeInterval=\"1\" queue.type=\"LinkedList\" queue.size=\"10000\")\n";
  auto rsyslog = ChildProcess::Start(
      {"/usr/sbin/rsyslogd", "-n", "-f", dir + "/rsyslog.conf", "-i", dir + "/rsyslog.pid"},
      dir + "/rsyslog.log");
  ASSERT_TRUE(rsyslog.ok());
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(dir + "/log.sock"); }))
      << ReadAll(dir + "/rsyslog.log");

  DaemonHarness daemon(dir, nullptr);
  ASSERT_TRUE(daemon.Start().ok());
  auto agent = ChildProcess::Start(
      {BinaryPath("attest-agent"), "--daemon=" + daemon.address(), "--insecure",
       "--host-id=rsyslog-host", "--spool-dir=" + dir + "/spool", "--disable=patch",
       "--disable=access", "--disable=checks", "--interval=log_shipping=1s",
       "--shipper=name=central,probe=rsyslog_impstats,path=" + dir +
           "/impstats.log,action=fwd-central",
       "--max-backoff=500ms"},
      dir + "/agent.log");
  ASSERT_TRUE(agent.ok());

  auto log = [&](const std::string& message) {
    auto logger = ChildProcess::Start({"/usr/bin/logger", "-u", dir + "/log.sock", message},
                                      dir + "/logger.log");
    ASSERT_TRUE(logger.ok());
    ASSERT_EQ(*logger->Wait(absl::Seconds(10)), 0);
  };
  auto latest = [&]() -> std::optional<v1::LogShippingState> {
    std::optional<v1::LogShippingState> last;
    for (const auto& r : daemon.Evidence("rsyslog-host")) {
      if (r.has_signal() && r.signal().has_log_shipping()) last = r.signal().log_shipping();
    }
    return last;
  };

  // While the receiver is up, messages arrive and the agent sees deliveries.
  log("before the outage");
  ASSERT_TRUE(Eventually([&] { return receiver.bytes() > 0; })) << ReadAll(dir + "/rsyslog.log");
  ASSERT_TRUE(Eventually([&] {
    auto s = latest();
    return s && s->has_last_delivery() && s->backlog() == 0;
  })) << ReadAll(dir + "/agent.log");
  const absl::Time delivered_before = FromProto(latest()->last_delivery());

  // The destination goes away. Plain TCP omfwd only notices on a later send
  // (the first ones vanish into the dead socket, counted as processed), so
  // keep logging until rsyslog's own stats show messages queueing.
  receiver.Stop();
  const absl::Time stopped_at = absl::Now();
  int sent = 0;
  ASSERT_TRUE(Eventually([&] {
    log("during the outage " + std::to_string(sent++));
    const std::string stats = ReadAll(dir + "/impstats.log");
    const size_t last = stats.rfind("\"fwd-central queue\"");
    return last != std::string::npos &&
           stats.substr(last, 120).find("\"size\": 0,") == std::string::npos;
  })) << "rsyslog never queued";
  // Reports observed well after the stop still name a delivery from before it,
  // with messages piling up.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : daemon.Evidence("rsyslog-host")) {
      if (!r.has_signal() || !r.signal().has_log_shipping()) continue;
      const auto& s = r.signal().log_shipping();
      if (FromProto(r.observed_at()) > stopped_at + absl::Seconds(3) && s.backlog() > 0 &&
          FromProto(s.last_delivery()) <= stopped_at + absl::Seconds(1)) {
        return true;
      }
    }
    return false;
  })) << ReadAll(dir + "/agent.log");
  auto stale = latest();
  EXPECT_GE(FromProto(stale->last_delivery()), delivered_before);
  EXPECT_GT(stale->backlog(), 0u);
}

}  // namespace
}  // namespace attest
