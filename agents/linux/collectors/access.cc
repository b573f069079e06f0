#include "agents/linux/collectors/access.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agents/linux/collectors/access_parse.h"
#include "common/files.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

// sudo stops at this depth of nested includes ("too many levels of includes").
constexpr int kMaxIncludeDepth = 128;

std::string ShortHostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  std::string host(name);
  return host.substr(0, host.find('.'));
}

absl::Status Unreadable(const absl::Status& status, std::string_view what, std::string_view path) {
  if (status.code() != absl::StatusCode::kPermissionDenied) return status;
  return absl::PermissionDeniedError(
      StrCat("cannot ", what, " ", path, " (attest-agent needs CAP_DAC_READ_SEARCH)"));
}

// Reads /etc/sudoers and everything it includes, as sudo would, into the
// snapshot: one entry per file, in the order sudo reads them. Each file is
// read once, so an include cycle ends where it closes.
class SudoersWalk {
 public:
  SudoersWalk(const RootFs& root, v1::AccessSnapshot& snapshot)
      : root_(root), snapshot_(snapshot), host_(ShortHostName()) {}

  // A missing included file or directory grants nothing: warned, skipped.
  absl::Status File(const std::string& path, int depth) {
    if (!visited_.insert(path).second) return absl::OkStatus();
    auto text = root_.ReadFile(path);
    if (!text.ok()) {
      if (text.status().code() == absl::StatusCode::kNotFound && depth > 0) {
        spdlog::warn("sudoers include {} does not exist; sudo skips it too", path);
        return absl::OkStatus();
      }
      return Unreadable(text.status(), "read", path);
    }
    v1::SudoersEntry* entry = snapshot_.add_sudoers();
    entry->set_file(path);
    std::string joined;
    std::vector<SudoersInclude> includes;
    for (auto& rule : NormalizeSudoers(*text)) {
      if (auto include = ParseSudoersInclude(rule, path, host_)) includes.push_back(*include);
      StrAppend(&joined, rule, "\n");
      entry->add_rules(std::move(rule));
    }
    entry->set_fingerprint(Sha256Fingerprint(joined));
    if (!includes.empty() && depth >= kMaxIncludeDepth) {
      spdlog::warn("{}: includes nested deeper than {}; sudo refuses them, not followed", path,
                   kMaxIncludeDepth);
      return absl::OkStatus();
    }
    for (const SudoersInclude& include : includes) {
      absl::Status s =
          include.directory ? Directory(include.path, depth + 1) : File(include.path, depth + 1);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Directory(const std::string& path, int depth) {
    auto names = root_.ListDir(path);
    if (!names.ok()) {
      if (names.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
      return Unreadable(names.status(), "list", path);
    }
    for (const auto& name : *names) {
      if (!SudoIncludesFileNamed(name)) continue;
      if (absl::Status s = File(path + "/" + name, depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  const RootFs& root_;
  v1::AccessSnapshot& snapshot_;
  const std::string host_;
  std::set<std::string> visited_;
};

// Malformed passwd, group and authorized_keys lines are left out of the
// snapshot (as glibc and sshd leave them out), but someone should fix them.
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

  SudoersWalk sudoers(root, snapshot);
  if (root.Exists("/etc/sudoers")) {
    if (absl::Status s = sudoers.File("/etc/sudoers", 0); !s.ok()) return s;
  }
  // Read even when /etc/sudoers does not include it (or is missing): a rule
  // dropped there is then still seen, should an include be added later.
  if (absl::Status s = sudoers.Directory("/etc/sudoers.d", 1); !s.ok()) return s;

  for (const auto& user : snapshot.users()) {
    if (!IsLoginShell(user.shell()) || user.home().empty() || user.home()[0] != '/') continue;
    for (const char* file : {"/.ssh/authorized_keys", "/.ssh/authorized_keys2"}) {
      const std::string path = user.home() + file;
      auto keys = root.ReadFile(path, 1 << 20);
      if (!keys.ok()) {
        if (keys.status().code() == absl::StatusCode::kNotFound) continue;
        return keys.status();
      }
      skipped.clear();
      for (auto& k : ParseAuthorizedKeys(*keys, user.name(), &skipped)) {
        *snapshot.add_keys() = std::move(k);
      }
      WarnSkipped(path, skipped);
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
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(state_file_, ec);
    lost_state_ = StrCat(
        "access state ", state_file_, " is unreadable",
        ec ? std::string()
           : StrCat(" (last written ",
                    FormatRfc3339(absl::FromChrono(std::chrono::file_clock::to_sys(written))), ")"),
        ": access changes made since it was written cannot be listed; the "
        "snapshot sent with this is the new baseline");
  }
}

absl::StatusOr<std::vector<v1::Signal>> AccessCollector::Collect(const CollectContext& ctx) {
  auto current = TakeAccessSnapshot(ctx.root);
  if (!current.ok()) return current.status();
  std::unique_lock lock(mu_);
  std::vector<v1::Signal> signals;
  if (!lost_state_.empty()) {
    // On the record: what changed while the state was lost is unknown.
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(ctx.now);
    s.mutable_collector_error()->set_collector("access");
    s.mutable_collector_error()->set_error(lost_state_);
    signals.push_back(std::move(s));
    lost_state_.clear();
  }
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

void AccessCollector::OnWatchPaths(std::function<void(std::vector<WatchedDir>)> callback) {
  std::lock_guard lock(mu_);
  on_watch_paths_ = std::move(callback);
}

std::vector<WatchedDir> AccessCollector::WatchPaths() const {
  // Directory -> the names in it that matter.
  std::map<std::string, std::set<std::string>> dirs;
  std::set<std::string> everything;  // directories whose every name matters
  const auto watch = [&](const std::string& path) {
    const size_t slash = path.rfind('/');
    dirs[slash == 0 ? "/" : path.substr(0, slash)].insert(path.substr(slash + 1));
  };
  const auto watch_dir = [&](const std::string& dir) {
    everything.insert(dir);
    dirs[dir];
  };
  watch("/etc/passwd");
  watch("/etc/group");
  watch("/etc/sudoers");
  watch_dir("/etc/sudoers.d");
  std::lock_guard lock(mu_);
  if (previous_) {
    const std::string host = ShortHostName();
    for (const auto& entry : previous_->sudoers()) {
      for (const auto& rule : entry.rules()) {
        auto include = ParseSudoersInclude(rule, entry.file(), host);
        if (!include) continue;
        if (include->directory) {
          watch_dir(include->path);
        } else {
          watch(include->path);  // also sees it appear, if it is missing
        }
      }
    }
    for (const auto& u : previous_->users()) {
      if (IsLoginShell(u.shell()) && !u.home().empty() && u.home()[0] == '/') {
        watch_dir(u.home() + "/.ssh");
        watch(u.home() + "/.ssh");  // the home: to see .ssh being created
      }
    }
  }
  std::vector<WatchedDir> out;
  for (auto& [path, names] : dirs) {
    out.push_back(WatchedDir{path, everything.count(path) ? std::set<std::string>{} : names});
  }
  return out;
}

}  // namespace attest::agent
