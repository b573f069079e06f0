#include "agents/linux/collectors/backup.h"

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {

absl::StatusOr<BackupConfig> ParseBackupSpec(std::string_view spec) {
  BackupConfig c;
  for (std::string_view pair : Split(spec, ",")) {
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("backup: \"", pair, "\" is not key=value"));
    }
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "name") {
      c.name = std::string(value);
    } else if (key == "env_file") {
      c.env_file = std::string(value);
    } else if (key == "path") {
      c.path = std::string(value);
    } else if (key == "probe") {
      if (value == "restic") {
        c.probe = v1::BACKUP_PROBE_RESTIC;
      } else if (value == "borg") {
        c.probe = v1::BACKUP_PROBE_BORG;
      } else if (value == "marker_file") {
        c.probe = v1::BACKUP_PROBE_MARKER_FILE;
      } else {
        return absl::InvalidArgumentError(
            StrCat("backup: probe \"", value, "\" (use restic, borg or marker_file)"));
      }
    } else {
      return absl::InvalidArgumentError(StrCat("backup: unknown key \"", key, "\""));
    }
  }
  if (c.name.empty() || c.name.size() > 256 || c.probe == v1::BACKUP_PROBE_UNSPECIFIED) {
    return absl::InvalidArgumentError("backup: needs name (at most 256 bytes) and probe");
  }
  const bool marker = c.probe == v1::BACKUP_PROBE_MARKER_FILE;
  const std::string& file = marker ? c.path : c.env_file;
  if (file.empty() || file[0] != '/') {
    return absl::InvalidArgumentError(marker
                                          ? "backup: marker_file needs an absolute path="
                                          : "backup: restic and borg need an absolute env_file=");
  }
  return c;
}

absl::StatusOr<std::vector<std::string>> ParseEnvFile(std::string_view text) {
  std::vector<std::string> env;
  int line_no = 0;
  for (std::string_view line : Split(text, "\n")) {
    ++line_no;
    line = TrimWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("export ")) line = TrimWhitespace(line.substr(7));
    const size_t eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("line ", line_no, " is not KEY=VALUE"));
    }
    std::string_view value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    env.push_back(StrCat(line.substr(0, eq), "=", value));
  }
  return env;
}

absl::StatusOr<std::optional<Snapshot>> ParseResticSnapshots(std::string_view text) {
  auto json = Json::Parse(text);
  if (!json.ok() || !json->is_array()) {
    return absl::InvalidArgumentError("restic snapshots --json: not a JSON list");
  }
  std::optional<Snapshot> newest;
  for (const Json& s : json->as_array()) {
    const Json* time = s.is_object() ? s.Find("time") : nullptr;
    if (time == nullptr || !time->is_string()) {
      return absl::InvalidArgumentError("restic snapshots --json: a snapshot without a time");
    }
    auto t = ParseRfc3339(time->as_string());
    if (!t.ok())
      return absl::InvalidArgumentError(StrCat("restic snapshots --json: ", t.status().message()));
    const Json* id = s.Find("short_id");
    if (!newest || *t > newest->time) {
      newest = Snapshot{*t, id != nullptr && id->is_string() ? id->as_string() : ""};
    }
  }
  return newest;
}

absl::StatusOr<std::optional<Snapshot>> ParseBorgList(std::string_view text, absl::TimeZone zone) {
  auto json = Json::Parse(text);
  const Json* archives = json.ok() && json->is_object() ? json->Find("archives") : nullptr;
  if (archives == nullptr || !archives->is_array()) {
    return absl::InvalidArgumentError("borg list --json: no \"archives\" list");
  }
  std::optional<Snapshot> newest;
  for (const Json& a : archives->as_array()) {
    const Json* time = a.is_object() ? a.Find("time") : nullptr;
    if (time == nullptr || !time->is_string()) {
      return absl::InvalidArgumentError("borg list --json: an archive without a time");
    }
    absl::Time t;
    std::string err;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", time->as_string(), zone, &t, &err)) {
      return absl::InvalidArgumentError(
          StrCat("borg list --json: time \"", time->as_string(), "\": ", err));
    }
    const Json* name = a.Find("name");
    if (!newest || t > newest->time) {
      newest = Snapshot{t, name != nullptr && name->is_string() ? name->as_string() : ""};
    }
  }
  return newest;
}

namespace {

// Runs restic or borg with the backup's environment; the tool's error
// (the last line of stderr) is the backup's error, never the environment.
absl::StatusOr<std::string> RunTool(const CollectContext& ctx, const BackupConfig& b,
                                    const std::vector<std::string>& argv) {
  auto text = ctx.root.ReadFile(b.env_file, 64 << 10);
  if (!text.ok()) return text.status();
  auto env = ParseEnvFile(*text);
  if (!env.ok())
    return absl::InvalidArgumentError(StrCat(b.env_file, ": ", env.status().message()));
  auto result = ctx.commands.Run(argv, absl::Minutes(5), *env);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    std::string_view err = TrimWhitespace(result->stderr_text);
    if (const size_t nl = err.rfind('\n'); nl != std::string_view::npos) err = err.substr(nl + 1);
    return absl::UnavailableError(
        StrCat(argv[0], " exited ", result->exit_code, ": ", err.substr(0, 500)));
  }
  return std::move(result->stdout_text);
}

// The error without any value of the source's env file (a repository's
// address, a password): a tool may echo them (restic names the repository
// it could not open).
std::string Redacted(std::string error, const CollectContext& ctx, const BackupConfig& b) {
  if (b.env_file.empty()) return error;
  auto text = ctx.root.ReadFile(b.env_file, 64 << 10);
  if (!text.ok()) return error;
  auto env = ParseEnvFile(*text);
  if (!env.ok()) return error;
  for (const std::string& kv : *env) {
    const std::string value = kv.substr(kv.find('=') + 1);
    if (value.size() < 4) continue;
    for (size_t at = error.find(value); at != std::string::npos; at = error.find(value, at)) {
      error.replace(at, value.size(), "<redacted>");
      at += 10;
    }
  }
  return error;
}

absl::Status ReadBackup(const CollectContext& ctx, const BackupConfig& b, v1::BackupState& state) {
  std::optional<Snapshot> newest;
  switch (b.probe) {
    case v1::BACKUP_PROBE_RESTIC: {
      auto out = RunTool(ctx, b, {"restic", "snapshots", "--json", "--latest", "1", "--no-cache"});
      if (!out.ok()) return out.status();
      auto s = ParseResticSnapshots(*out);
      if (!s.ok()) return s.status();
      newest = *s;
      break;
    }
    case v1::BACKUP_PROBE_BORG: {
      auto out = RunTool(ctx, b, {"borg", "list", "--json", "--last", "1"});
      if (!out.ok()) return out.status();
      auto s = ParseBorgList(*out, absl::LocalTimeZone());
      if (!s.ok()) return s.status();
      newest = *s;
      break;
    }
    case v1::BACKUP_PROBE_MARKER_FILE: {
      auto t = ctx.root.ModifiedAt(b.path);
      if (t.ok()) {
        newest = Snapshot{*t, ""};
      } else if (!absl::IsNotFound(t.status())) {
        return t.status();
      }
      break;
    }
    default:
      return absl::InvalidArgumentError("no probe");
  }
  if (newest) {
    *state.mutable_last_success() = ToProto(newest->time);
    state.set_snapshot(newest->id.substr(0, 256));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::Signal>> BackupCollector::Collect(const CollectContext& ctx) {
  std::vector<v1::Signal> out;
  for (const BackupConfig& b : backups_) {
    v1::Signal s;
    *s.mutable_observed_at() = ToProto(ctx.now);
    v1::BackupState& state = *s.mutable_backup();
    state.set_name(b.name);
    state.set_probe(b.probe);
    if (absl::Status read = ReadBackup(ctx, b, state); !read.ok()) {
      state.clear_last_success();
      state.clear_snapshot();
      state.set_error(Redacted(read.ToString(), ctx, b).substr(0, kMaxReportedErrorBytes));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace attest::agent
