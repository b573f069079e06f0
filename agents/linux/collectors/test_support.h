// Fakes of the environment for collector tests: a command runner that
// replays recorded output, the fixture tree path, scratch trees, dropping
// root's file capabilities (to see real EACCES), and capturing log lines.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "agents/linux/collectors/command.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace attest::agent {

inline std::string FixturePath(const std::string& relative) {
  return std::string(ATTEST_SOURCE_DIR) + "/tests/fixtures/" + relative;
}

inline std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replays recorded command output, keyed by the joined argv. Records every
// command it was asked to run; unknown commands are NotFound (as the real
// runner says of a missing program).
class ReplayRunner : public CommandRunner {
 public:
  void Add(std::vector<std::string> argv, CommandResult result) {
    results_[absl::StrJoin(argv, " ")] = std::move(result);
  }
  // The runner's own failure for argv, e.g. DeadlineExceeded (timed out).
  void AddError(std::vector<std::string> argv, absl::Status error) {
    results_[absl::StrJoin(argv, " ")] = std::move(error);
  }
  using CommandRunner::Run;
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv, absl::Duration,
                                    const std::vector<std::string>& env) const override {
    const std::string key = absl::StrJoin(argv, " ");
    calls_.push_back(key);
    envs_.push_back(env);
    auto it = results_.find(key);
    if (it == results_.end()) return absl::NotFoundError(key + ": not recorded");
    return it->second;
  }
  const std::vector<std::string>& calls() const { return calls_; }
  // The environment each call was given, in call order.
  const std::vector<std::vector<std::string>>& envs() const { return envs_; }

 private:
  std::map<std::string, absl::StatusOr<CommandResult>> results_;
  mutable std::vector<std::string> calls_;
  mutable std::vector<std::vector<std::string>> envs_;
};

// A scratch directory under testing::TempDir(), removed (after giving back
// the permissions Chmod took away) when the test ends.
class TempTree {
 public:
  explicit TempTree(const std::string& name) : path_(testing::TempDir() + "/" + name) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempTree() {
    for (const auto& p : chmodded_) {
      std::error_code ec;
      std::filesystem::permissions(p, std::filesystem::perms::owner_all, ec);
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }
  // Copies a fixture directory (e.g. "debian12/etc") to `relative`.
  void CopyFixture(const std::string& fixture, const std::string& relative) const {
    std::filesystem::create_directories(std::filesystem::path(*this / relative).parent_path());
    std::filesystem::copy(FixturePath(fixture), *this / relative,
                          std::filesystem::copy_options::recursive);
  }
  // Writes `text` to `relative`, creating its directories.
  void Write(const std::string& relative, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(*this / relative).parent_path());
    std::ofstream(*this / relative, std::ios::binary | std::ios::trunc) << text;
  }
  // chmod of `relative` (0 for "nobody may read, list or search it").
  void Chmod(const std::string& relative, std::filesystem::perms perms) {
    chmodded_.push_back(*this / relative);
    std::filesystem::permissions(*this / relative, perms);
  }

 private:
  std::string path_;
  std::vector<std::string> chmodded_;
};

// Root reads any file whatever its mode, through CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH. While this lives, the calling thread has neither in
// its effective set (the permitted set keeps them, so they come back at the
// end), and a chmod 000 file or directory gives a real EACCES, as it does
// to an agent run without those capabilities. Capabilities are per thread:
// whatever should see the EACCES must run on this thread.
class WithoutFileCapabilities {
 public:
  WithoutFileCapabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capget, &header, saved_) != 0) return;
    __user_cap_data_struct reduced[2] = {saved_[0], saved_[1]};
    for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
      reduced[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
    }
    header = {_LINUX_CAPABILITY_VERSION_3, 0};
    ok_ = syscall(SYS_capset, &header, reduced) == 0;
  }
  ~WithoutFileCapabilities() {
    if (!ok_) return;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    syscall(SYS_capset, &header, saved_);
  }
  WithoutFileCapabilities(const WithoutFileCapabilities&) = delete;
  WithoutFileCapabilities& operator=(const WithoutFileCapabilities&) = delete;

  // False when capget/capset failed (the capabilities are then unchanged).
  bool ok() const { return ok_; }

 private:
  __user_cap_data_struct saved_[2] = {};
  bool ok_ = false;
};

// Everything logged through spdlog's default logger while this lives.
class CapturedLogs {
 public:
  CapturedLogs() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_st>(stream_));
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  ~CapturedLogs() { spdlog::set_default_logger(previous_); }
  CapturedLogs(const CapturedLogs&) = delete;
  CapturedLogs& operator=(const CapturedLogs&) = delete;

  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_TEST_SUPPORT_H_
