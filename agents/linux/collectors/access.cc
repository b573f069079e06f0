#include "agents/linux/collectors/access.h"

#include <fstream>
#include <sstream>

#include "agents/linux/collectors/access_parse.h"
#include "common/files.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

// sudo's own rule for #includedir: skip names ending in '~' or containing '.'.
bool SudoIncludes(const std::string& name) {
  return !name.empty() && name.back() != '~' && name.find('.') == std::string::npos;
}

absl::Status AddSudoersFile(const RootFs& root, const std::string& path,
                            v1::AccessSnapshot& snapshot) {
  auto text = root.ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == absl::StatusCode::kPermissionDenied) {
      return absl::PermissionDeniedError(
          StrCat("cannot read ", path, " (attest-agent needs CAP_DAC_READ_SEARCH)"));
    }
    return text.status();
  }
  v1::SudoersEntry* entry = snapshot.add_sudoers();
  entry->set_file(path);
  std::string joined;
  for (auto& rule : NormalizeSudoers(*text)) {
    StrAppend(&joined, rule, "\n");
    entry->add_rules(std::move(rule));
  }
  entry->set_fingerprint(Sha256Fingerprint(joined));
  return absl::OkStatus();
}

// Malformed passwd/group lines are left out of the snapshot (as glibc
// leaves them out), but someone should fix them.
void WarnSkipped(std::string_view file, const std::vector<SkippedLine>& skipped) {
  for (const SkippedLine& s : skipped) {
    spdlog::warn("{} line {}: {}; the line is skipped", file, s.line, s.reason);
  }
}

}  // namespace

absl::StatusOr<v1::AccessSnapshot> TakeAccessSnapshot(const RootFs& root) {
  v1::AccessSnapshot snapshot;
  std::vector<SkippedLine> skipped;
  auto passwd = root.ReadFile("/etc/passwd");
  if (!passwd.ok()) return passwd.status();
  for (auto& u : ParsePasswd(*passwd, &skipped)) *snapshot.add_users() = std::move(u);
  WarnSkipped("/etc/passwd", skipped);
  auto group = root.ReadFile("/etc/group");
  if (!group.ok()) return group.status();
  skipped.clear();
  for (auto& g : ParseGroup(*group, &skipped)) *snapshot.add_groups() = std::move(g);
  WarnSkipped("/etc/group", skipped);

  if (root.Exists("/etc/sudoers")) {
    if (absl::Status s = AddSudoersFile(root, "/etc/sudoers", snapshot); !s.ok()) return s;
  }
  if (auto names = root.ListDir("/etc/sudoers.d"); names.ok()) {
    for (const auto& name : *names) {
      if (!SudoIncludes(name)) continue;
      if (absl::Status s = AddSudoersFile(root, "/etc/sudoers.d/" + name, snapshot); !s.ok()) {
        return s;
      }
    }
  } else if (names.status().code() == absl::StatusCode::kPermissionDenied) {
    return absl::PermissionDeniedError(
        "cannot list /etc/sudoers.d (attest-agent needs CAP_DAC_READ_SEARCH)");
  }

  for (const auto& user : snapshot.users()) {
    if (!IsLoginShell(user.shell()) || user.home().empty() || user.home()[0] != '/') continue;
    for (const char* file : {"/.ssh/authorized_keys", "/.ssh/authorized_keys2"}) {
      const std::string path = user.home() + file;
      auto keys = root.ReadFile(path, 1 << 20);
      if (!keys.ok()) {
        if (keys.status().code() == absl::StatusCode::kNotFound) continue;
        return keys.status();
      }
      for (auto& k : ParseAuthorizedKeys(*keys, user.name())) *snapshot.add_keys() = std::move(k);
    }
  }
  return snapshot;
}

AccessCollector::AccessCollector(std::string state_file, absl::Duration snapshot_interval)
    : state_file_(std::move(state_file)), snapshot_interval_(snapshot_interval) {
  if (state_file_.empty()) return;
  std::ifstream in(state_file_, std::ios::binary);
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  v1::AccessSnapshot loaded;
  if (loaded.ParseFromString(ss.str())) {
    previous_ = std::move(loaded);
  } else {
    spdlog::warn("access state {} is unreadable; starting from a fresh snapshot", state_file_);
  }
}

absl::StatusOr<std::vector<v1::Signal>> AccessCollector::Collect(const CollectContext& ctx) {
  auto current = TakeAccessSnapshot(ctx.root);
  if (!current.ok()) return current.status();
  std::unique_lock lock(mu_);
  std::vector<v1::Signal> signals;
  if (previous_) {
    for (auto& change : DiffSnapshots(*previous_, *current, ctx.now)) {
      v1::Signal s;
      *s.mutable_observed_at() = ToProto(ctx.now);
      *s.mutable_access_change() = std::move(change);
      signals.push_back(std::move(s));
    }
  }
  if (!previous_ || !signals.empty() || ctx.now - last_snapshot_sent_ >= snapshot_interval_) {
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(ctx.now);
    *s.mutable_access_snapshot() = *current;
    signals.push_back(std::move(s));
    last_snapshot_sent_ = ctx.now;
  }
  previous_ = *std::move(current);
  if (!state_file_.empty()) {
    // Synced, so that after a power cut the next start compares with what
    // was last reported rather than with a torn or empty file.
    if (absl::Status s = WriteFileAtomically(state_file_, previous_->SerializeAsString(), 0600);
        !s.ok()) {
      spdlog::warn("cannot save access state: {}", std::string(s.message()));
    }
  }
  auto callback = on_watch_paths_;
  lock.unlock();
  if (callback) callback(WatchPaths());
  return signals;
}

void AccessCollector::OnWatchPaths(std::function<void(std::vector<std::string>)> callback) {
  std::lock_guard lock(mu_);
  on_watch_paths_ = std::move(callback);
}

std::vector<std::string> AccessCollector::WatchPaths() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> paths = {"/etc", "/etc/sudoers.d"};
  if (previous_) {
    for (const auto& u : previous_->users()) {
      if (IsLoginShell(u.shell()) && !u.home().empty() && u.home()[0] == '/') {
        paths.push_back(u.home() + "/.ssh");
        paths.push_back(u.home());  // to see .ssh being created
      }
    }
  }
  return paths;
}

}  // namespace attest::agent
