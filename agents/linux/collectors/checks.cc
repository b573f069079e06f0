#include "agents/linux/collectors/checks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {

ChecksCollector::ChecksCollector(std::string dir, absl::Duration timeout)
    : dir_(std::move(dir)), timeout_(timeout) {}

absl::StatusOr<std::vector<v1::Signal>> ChecksCollector::Collect(const CollectContext& ctx) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name[0] == '.' || name.back() == '~' ||
        name.find(".disabled") != std::string::npos) {
      continue;
    }
    struct stat st {};
    if (stat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (access(entry.path().c_str(), X_OK) != 0) continue;
    names.push_back(name);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::PermissionDeniedError(StrCat(dir_, ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  std::vector<v1::Signal> signals;
  for (const std::string& name : names) {
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(ctx.now);
    v1::CheckResult& check = *s.mutable_check();
    check.set_name(name);
    auto result = ctx.commands.Run({dir_ + "/" + name}, timeout_);
    if (!result.ok()) {
      check.set_status(v1::CHECK_STATUS_UNKNOWN);
      check.set_detail(std::string(result.status().message()).substr(0, 1024));
    } else {
      switch (result->exit_code) {
        case 0:
          check.set_status(v1::CHECK_STATUS_OK);
          break;
        case 1:
          check.set_status(v1::CHECK_STATUS_WARNING);
          break;
        case 2:
          check.set_status(v1::CHECK_STATUS_CRITICAL);
          break;
        default:
          check.set_status(v1::CHECK_STATUS_UNKNOWN);
          break;
      }
      std::string_view out = result->stdout_text;
      const size_t nl = out.find('\n');
      std::string detail(out.substr(0, nl == std::string_view::npos ? out.size() : nl));
      if (result->exit_code > 3) detail = StrCat("exit ", result->exit_code, ": ", detail);
      check.set_detail(detail.substr(0, 1024));
    }
    signals.push_back(std::move(s));
  }
  return signals;
}

}  // namespace attest::agent
