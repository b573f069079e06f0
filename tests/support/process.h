// Child processes for cross-process tests: start attestd, wait until it
// serves, kill it, collect its exit status. No shell is involved.
#ifndef ATTEST_TESTS_SUPPORT_PROCESS_H_
#define ATTEST_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attest::testing_support {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; stderr goes to `log_path` (appended),
  // stdout to `stdout_path` (truncated; /dev/null when empty).
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            const std::string& log_path,
                                            const std::string& stdout_path = "");
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILLs the child if it still runs

  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  // Waits for exit up to `timeout`; the exit code, 128+signal for a signal,
  // or DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Polls `path` until it exists and is non-empty, or `timeout` passes (or the
// child exits). Returns its content without the trailing newline.
absl::StatusOr<std::string> WaitForFile(const std::string& path, ChildProcess* child,
                                        absl::Duration timeout);

// Path of a built binary, from the ATTEST_BIN_DIR compile definition.
std::string BinaryPath(const std::string& name);

// Path of a file in the source tree, e.g. "tests/tools/verify_chain.py".
std::string SourcePath(const std::string& relative);

// The file's content ("" when it cannot be read): for logs in failure messages.
std::string ReadAll(const std::string& path);

// The resident memory of process `pid` in KiB (VmRSS), or -1.
int64_t ResidentKib(pid_t pid);

// Runs a command line tool to completion (up to 5 minutes) with its stdout
// in `dir`/tool.out and stderr appended to `dir`/tool.log. Returns its exit
// code (-1 when it could not run or timed out); `out` gets its stdout, and
// `err` (when given) its stderr of this run.
int RunTool(const std::vector<std::string>& argv, const std::string& dir,
            std::string* out = nullptr, std::string* err = nullptr);

// Polls `predicate` (every 50 ms) until it holds or `timeout` passes; for
// waiting on another process's observable state, never on time itself.
bool Eventually(const std::function<bool()>& predicate, absl::Duration timeout = absl::Seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago, for servers that
// cannot report the port they bound (Prometheus, Alertmanager).
int FreeLoopbackPort();

// A fresh empty directory under the test temp dir ($TEST_TMPDIR, else
// /tmp). Removed when the test binary exits if every test passed; kept and
// named on stderr if one failed.
std::string FreshDir(const std::string& name);

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_PROCESS_H_
