#include "tests/support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/strings.h"
#include "gtest/gtest.h"

extern char** environ;

namespace attest::testing_support {

absl::StatusOr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                 const std::string& log_path,
                                                 const std::string& stdout_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                   stdout_path.empty() ? "/dev/null" : stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The child must not inherit blocked signals from the test's threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return absl::InternalError(StrCat("posix_spawn ", argv[0], ": ", strerror(rc)));
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::Signal(int signo) const {
  if (pid_ > 0) kill(pid_, signo);
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("child still running");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::FailedPreconditionError("no child");
}

absl::StatusOr<std::string> WaitForFile(const std::string& path, ChildProcess* child,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) return line;
    if (child != nullptr && child->pid() > 0) {
      int status = 0;
      if (waitpid(child->pid(), &status, WNOHANG) == child->pid()) {
        return absl::FailedPreconditionError(StrCat("process exited before writing ", path));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError(StrCat("timed out waiting for ", path));
}

std::string BinaryPath(const std::string& name) {
  if (name == "attestctl") return StrCat(ATTEST_BIN_DIR, "/../ctl/attestctl");
  if (name == "attest-agent") return StrCat(ATTEST_BIN_DIR, "/../agents/linux/attest-agent");
  if (name == "attest-loadgen") return StrCat(ATTEST_BIN_DIR, "/../bench/attest-loadgen");
  if (name == "attest-witness") return StrCat(ATTEST_BIN_DIR, "/../witness/attest-witness");
  return StrCat(ATTEST_BIN_DIR, "/", name);
}

std::string SourcePath(const std::string& relative) {
  return StrCat(ATTEST_SOURCE_DIR, "/", relative);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunTool(const std::vector<std::string>& argv, const std::string& dir, std::string* out,
            std::string* err) {
  const std::string log = dir + "/tool.log";
  std::remove(log.c_str());
  auto child = ChildProcess::Start(argv, log, dir + "/tool.out");
  if (!child.ok()) return -1;
  auto rc = child->Wait(absl::Minutes(5));
  if (out != nullptr) *out = ReadAll(dir + "/tool.out");
  if (err != nullptr) *err = ReadAll(log);
  return rc.ok() ? *rc : -1;
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Eventually(const std::function<bool()>& predicate, absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

namespace {

// The directories FreshDir made in this process. A test binary that passed
// removes them as it exits: a daemon's data dir is 150 MiB of preallocated
// RocksDB files, and a few dozen runs used to fill the disk. One that failed
// keeps them, and names them, for whoever reads its logs.
class ScratchDirs {
 public:
  void Add(const std::string& dir) {
    absl::MutexLock lock(&mu_);
    dirs_.insert(dir);
  }

  ~ScratchDirs() {
    // A forked child that exits must not remove its parent's directories.
    if (getpid() != owner_) return;
    absl::MutexLock lock(&mu_);
    if (dirs_.empty()) return;
    if (!::testing::UnitTest::GetInstance()->Passed()) {
      for (const std::string& dir : dirs_)
        fprintf(stderr, "kept for inspection: %s\n", dir.c_str());
      return;
    }
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }

 private:
  const pid_t owner_ = getpid();
  absl::Mutex mu_;
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
};

ScratchDirs& Scratch() {
  // Made on first use, after gtest's UnitTest, so destroyed before it.
  static ScratchDirs dirs;
  return dirs;
}

}  // namespace

std::string FreshDir(const std::string& name) {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir = StrCat(tmp ? tmp : "/tmp", "/attest-test-", getpid(), "-", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Scratch().Add(dir);
  return dir;
}

int64_t ResidentKib(pid_t pid) {
  std::ifstream status(StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

}  // namespace attest::testing_support
