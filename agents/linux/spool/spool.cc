#include "agents/linux/spool/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "agents/linux/spool/record_codec.h"
#include "attest/v1/signal_wire_schema.h"
#include "common/files.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "spdlog/spdlog.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kSegmentPrefix[] = "segment-";
constexpr char kCursorPrefix[] = "cursor-";
constexpr char kClosedMarker[] = "closed";  // the last agent closed the spool cleanly

absl::Status Errno(std::string_view what, const std::string& path) {
  const int err = errno;
  std::string msg = StrCat(what, " ", path, ": ", strerror(err));
  if (err == ENOSPC || err == EDQUOT || err == EIO) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

std::string SegmentName(uint64_t first_seq) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%s%020llu", kSegmentPrefix,
           static_cast<unsigned long long>(first_seq));
  return buf;
}

// Cursor file names: the consumer id with anything but [A-Za-z0-9.-] as '_'.
std::string CursorName(const std::string& consumer) {
  std::string name = kCursorPrefix;
  for (char c : consumer)
    name.push_back(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_');
  return name;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

std::string NewInstanceId() {
  std::random_device rd;
  std::string id = "i-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 24; ++i) id.push_back(kHex[rd() % 16]);
  return id;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(SpoolOptions options) {
  std::unique_ptr<Spool> spool(new Spool(std::move(options)));
  if (absl::Status s = spool->Load(); !s.ok()) return s;
  return spool;
}

Spool::~Spool() {
  std::lock_guard lock(mu_);
  // A last try for signals still waiting for the disk: after a restart
  // nothing would know they were ever observed.
  if (!pending_.empty() && active_fd_ >= 0) {
    const size_t waiting = pending_.size();
    if (absl::Status s = WritePendingLocked(); !s.ok()) {
      spdlog::error("spool: {} signals waiting for the disk are lost at exit: {}", waiting,
                    s.ToString());
    }
  }
  if (active_fd_ >= 0) {
    if (fdatasync(active_fd_) == 0) {
      // Everything appended is on disk: the next Open need not assume a loss.
      const std::string closed = options_.dir + "/" + kClosedMarker;
      const int fd = open(closed.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        fsync(fd);
        close(fd);
        SyncDir(options_.dir);
      }
    }
    close(active_fd_);
  }
  if (lock_fd_ >= 0) close(lock_fd_);  // and the lock with it
}

absl::Status Spool::LockDir() {
  const std::string path = options_.dir + "/lock";
  lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Errno("open", path);
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) return Errno("lock", path);
    char pid[32] = {};
    const ssize_t n = pread(lock_fd_, pid, sizeof(pid) - 1, 0);
    std::string holder(pid, n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && isspace(static_cast<unsigned char>(holder.back()))) holder.pop_back();
    close(lock_fd_);
    lock_fd_ = -1;
    // Two agents on one spool would hand out the same seqs and delete each
    // other's segments.
    return absl::FailedPreconditionError(StrCat("spool dir ", options_.dir,
                                                " is in use by another attest-agent",
                                                holder.empty() ? "" : StrCat(" (pid ", holder, ")"),
                                                "; each agent needs its own --spool-dir"));
  }
  const std::string pid = StrCat(getpid(), "\n");
  if (ftruncate(lock_fd_, 0) != 0 ||
      pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    spdlog::warn("spool: cannot write the pid into {}", path);
  }
  return absl::OkStatus();
}

absl::Status Spool::Load() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec)
    return absl::PermissionDeniedError(StrCat("spool dir ", options_.dir, ": ", ec.message()));
  if (absl::Status s = LockDir(); !s.ok()) return s;

  const std::string id_path = options_.dir + "/instance_id";
  instance_id_ = ReadWholeFile(id_path);
  while (!instance_id_.empty() && isspace(static_cast<unsigned char>(instance_id_.back()))) {
    instance_id_.pop_back();
  }
  if (instance_id_.empty()) {
    // A new spool is a new agent instance: its seqs start again at 1.
    instance_id_ = NewInstanceId();
    if (absl::Status s = WriteFileAtomically(id_path, instance_id_ + "\n"); !s.ok()) return s;
  }

  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename();
    if (name.rfind(kSegmentPrefix, 0) != 0) continue;
    // Only names this spool writes: an editor's backup ("segment-...~") or a
    // stray file must not be read as a second segment, or crash the agent.
    const std::string digits = name.substr(strlen(kSegmentPrefix));
    uint64_t first_seq = 0;
    if (digits.size() != 20 || digits.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(digits, &first_seq) || first_seq == 0) {
      spdlog::warn("spool dir {}: ignoring {}, which is not a segment this agent wrote",
                   options_.dir, name);
      continue;
    }
    found.emplace_back(first_seq, entry.path());
  }
  if (ec)
    return absl::PermissionDeniedError(StrCat("spool dir ", options_.dir, ": ", ec.message()));
  std::sort(found.begin(), found.end());

  for (size_t i = 0; i < found.size(); ++i) {
    Segment seg{.first_seq = found[i].first, .path = found[i].second};
    const std::string data = ReadWholeFile(seg.path);
    DecodeResult decoded = DecodeRecords(data);
    seg.last_seq = seg.first_seq - 1;
    if (!decoded.signals.empty()) seg.last_seq = decoded.signals.back().seq();
    if (decoded.corrupt) {
      spdlog::warn("spool segment {}: bad record after byte {}; cutting it off there", seg.path,
                   decoded.valid_bytes);
      if (truncate(seg.path.c_str(), static_cast<off_t>(decoded.valid_bytes)) != 0) {
        return Errno("truncate", seg.path);
      }
    }
    seg.bytes = decoded.valid_bytes;
    segments_.push_back(seg);
    next_seq_ = std::max(next_seq_, seg.last_seq + 1);
  }
  for (const auto& consumer : options_.consumers) {
    const std::string path = options_.dir + "/" + CursorName(consumer);
    const std::string text = ReadWholeFile(path);
    uint64_t acked = 0;
    if (!text.empty() && !absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &acked)) {
      // A cursor only saves resending: starting from 0 costs a resend of
      // what the daemon already holds, which it recognises as duplicates.
      spdlog::warn("spool cursor {}: unreadable content; resending from the oldest signal", path);
      acked = 0;
    }
    acked_[consumer] = acked;
    // A daemon acknowledged it, so it was handed out, even if the segment
    // that held it lost its tail.
    next_seq_ = std::max(next_seq_, acked + 1);
  }
  reserved_ = next_seq_ - 1;
  // Without fsync, a crash or power loss can take appended records the
  // disk never got, and nothing on disk says how many. The marker says the
  // last agent closed the spool; without it, one seq is left unsent, so
  // every daemon records a gap (NO_EVIDENCE) over the time they covered.
  const std::string closed = options_.dir + "/" + kClosedMarker;
  const bool closed_cleanly = fs::exists(closed, ec) || segments_.empty();
  unlink(closed.c_str());
  SyncDir(options_.dir);
  if (!closed_cleanly && !options_.fsync) {
    ++reserved_;
    ++next_seq_;
    spdlog::warn(
        "spool {}: the last agent did not close it, and --spool-fsync=false: what it had not yet "
        "written to disk is lost. Seq {} is left unsent, so each daemon records a gap "
        "(NO_EVIDENCE) for it",
        options_.dir, reserved_);
  }
  // Always append to a fresh segment after a restart: the old tail may have
  // been cut, and a new file makes that boundary explicit.
  std::lock_guard lock(mu_);
  return StartSegmentLocked(next_seq_);
}

absl::Status Spool::StartSegmentLocked(uint64_t first_seq) {
  if (active_fd_ >= 0) {
    close(active_fd_);
    active_fd_ = -1;
  }
  Segment seg{.first_seq = first_seq,
              .last_seq = first_seq - 1,
              .path = options_.dir + "/" + SegmentName(first_seq)};
  if (!segments_.empty() && segments_.back().path == seg.path) {
    seg = segments_.back();  // reopen an (empty) segment of the same name
    segments_.pop_back();
  }
  active_fd_ = open(seg.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (active_fd_ < 0) return Errno("open", seg.path);
  segments_.push_back(seg);
  SyncDir(options_.dir);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Spool::Append(std::vector<v1::Signal> signals) {
  // proto3 strings must be UTF-8, or the record written here could not be
  // read back (and attestd would refuse it): repair what a host handed us
  // in another encoding (a Latin-1 GECOS field, a check's output).
  // The repair works on the wire form, with a schema generated at build
  // time: reflection would load descriptors the agent otherwise never needs.
  for (auto& s : signals) {
    std::string repaired_wire;
    const auto repaired =
        RepairUtf8Wire(s.SerializeAsString(), v1::kSignalWireSchema, &repaired_wire);
    // Neither error can happen to the agent's own serialization; if one
    // did, the signal is kept as it was, and the log says so.
    if (!repaired.ok()) {
      spdlog::error("spool: cannot check a signal's strings: {}", repaired.status().ToString());
      continue;
    }
    if (*repaired == 0) continue;
    if (v1::Signal fixed; fixed.ParseFromString(repaired_wire)) {
      s = std::move(fixed);
      spdlog::warn("spool: {} field(s) of a signal were not UTF-8; invalid bytes became U+FFFD",
                   *repaired);
    } else {
      spdlog::error("spool: a signal's repaired wire form does not parse");
    }
  }
  std::lock_guard lock(mu_);
  // Signals a failed write left behind go first: observation order holds.
  for (auto& s : signals) pending_.push_back(std::move(s));
  if (pending_.size() > options_.max_pending_signals) {
    const size_t over = pending_.size() - options_.max_pending_signals;
    spdlog::error("spool: {} signals could not be written for so long that the oldest {} are lost",
                  pending_.size(), over);
    dropped_signals_ += over;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(over));
    // Their seqs are used up, so every daemon sees the hole as a gap
    // (NO_EVIDENCE) once the next signal is written, instead of nothing.
    next_seq_ += over;
  }
  if (absl::Status s = WritePendingLocked(); !s.ok()) return s;
  return next_seq_ - 1;
}

absl::Status Spool::WritePendingLocked() {
  if (pending_.empty()) return absl::OkStatus();
  if (segments_.back().bytes >= options_.segment_bytes) {
    if (absl::Status s = StartSegmentLocked(next_seq_); !s.ok()) return s;
  }
  std::string buffer;
  uint64_t seq = next_seq_;
  for (auto& s : pending_) {
    s.set_seq(seq++);
    EncodeRecord(s, &buffer);
  }
  Segment& active = segments_.back();
  const ssize_t written = write(active_fd_, buffer.data(), buffer.size());
  if (written != static_cast<ssize_t>(buffer.size()) ||
      (options_.fsync && fdatasync(active_fd_) != 0)) {
    absl::Status error = Errno("append to", active.path);
    // Cut off whatever part of the write landed, so the file holds only
    // whole records and the seqs can be reused. The signals stay pending.
    if (ftruncate(active_fd_, static_cast<off_t>(active.bytes)) != 0) {
      spdlog::error("spool: cannot truncate {} after a failed write", active.path);
    }
    return error;
  }
  pending_.clear();
  active.bytes += buffer.size();
  active.last_seq = seq - 1;
  next_seq_ = seq;
  DropForSpaceLocked();
  data_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Spool::Resume(const std::string& consumer, uint64_t daemon_highest) {
  std::lock_guard lock(mu_);
  const bool first = resumed_.insert(consumer).second;
  const uint64_t assigned = next_seq_ - 1;
  // On its first Welcome a daemon has nothing from this process, so any
  // seq it holds above reserved_ came from a life this spool forgot. Later,
  // it can only hold what this process sent, unless the spool is shared.
  if (daemon_highest <= (first ? reserved_ : assigned)) return daemon_highest;
  spdlog::warn(
      "spool: {} holds seqs up to {} of instance {}, more than this spool knew of ({}): its "
      "tail was lost (a power loss with --spool-fsync=false) or it was restored from an older "
      "copy. Observations continue from seq {}; {} records seq {} as a gap (NO_EVIDENCE from "
      "its last record to the next observation) for what the lost tail held",
      consumer, daemon_highest, instance_id_, first ? reserved_ : assigned, daemon_highest + 2,
      consumer, daemon_highest + 1);
  if (absl::Status s = RenumberPastLocked(daemon_highest + 1); !s.ok()) return s;
  return daemon_highest;
}

absl::Status Spool::RenumberPastLocked(uint64_t floor) {
  // The signals this process handed out: every segment that starts above
  // reserved_ (Load opens a fresh one at reserved_ + 1). Older segments
  // hold only seqs at or below reserved_ < floor.
  std::vector<v1::Signal> mine;
  std::vector<Segment> old;
  while (!segments_.empty() && segments_.back().first_seq > reserved_) {
    auto decoded = DecodeSegmentLocked(segments_.back());
    if (!decoded.ok()) return decoded.status();
    mine.insert(mine.begin(), decoded->begin(), decoded->end());
    old.push_back(segments_.back());
    segments_.pop_back();
  }
  cached_path_.clear();
  reserved_ = floor;
  next_seq_ = floor + 1;
  // The copies first, synced, then the old files: a crash between the two
  // leaves an observation twice, never none.
  if (absl::Status s = StartSegmentLocked(next_seq_); !s.ok()) return s;
  for (auto& signal : pending_) mine.push_back(std::move(signal));
  pending_ = std::move(mine);
  if (absl::Status s = WritePendingLocked(); !s.ok()) return s;
  // WritePendingLocked syncs only with --spool-fsync; the copies must be on
  // disk before the originals go, whatever the setting.
  if (!options_.fsync && fdatasync(active_fd_) != 0) return Errno("sync", segments_.back().path);
  for (const Segment& seg : old) unlink(seg.path.c_str());
  SyncDir(options_.dir);
  ++renumbered_;
  return absl::OkStatus();
}

void Spool::DropForSpaceLocked() {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.bytes;
  while (total > options_.max_bytes && segments_.size() > 1) {
    const Segment& oldest = segments_.front();
    const uint64_t count = oldest.last_seq + 1 - oldest.first_seq;
    spdlog::warn("spool over {} bytes: dropping unsent signals {}..{}", options_.max_bytes,
                 oldest.first_seq, oldest.last_seq);
    dropped_signals_ += count;
    total -= oldest.bytes;
    unlink(oldest.path.c_str());
    segments_.erase(segments_.begin());
  }
}

void Spool::DeleteAckedLocked() {
  uint64_t all_acked = UINT64_MAX;
  for (const auto& [consumer, seq] : acked_) all_acked = std::min(all_acked, seq);
  if (acked_.empty()) return;
  while (segments_.size() > 1 && segments_.front().last_seq <= all_acked) {
    unlink(segments_.front().path.c_str());
    segments_.erase(segments_.begin());
  }
}

absl::StatusOr<std::vector<v1::Signal>> Spool::DecodeSegmentLocked(const Segment& segment) {
  if (cached_path_ != segment.path || cached_bytes_ != segment.bytes) {
    std::string data = ReadWholeFile(segment.path);
    data.resize(std::min<size_t>(data.size(), segment.bytes));
    DecodeResult decoded = DecodeRecords(data);
    cached_ = std::move(decoded.signals);
    cached_path_ = segment.path;
    cached_bytes_ = segment.bytes;
  }
  return cached_;
}

absl::StatusOr<std::vector<v1::Signal>> Spool::Read(uint64_t after, size_t max_signals) {
  std::lock_guard lock(mu_);
  std::vector<v1::Signal> out;
  for (const Segment& seg : segments_) {
    if (out.size() >= max_signals) break;
    if (seg.last_seq <= after || seg.last_seq < seg.first_seq) continue;
    auto decoded = DecodeSegmentLocked(seg);
    if (!decoded.ok()) return decoded.status();
    for (const auto& s : *decoded) {
      if (s.seq() <= after) continue;
      out.push_back(s);
      if (out.size() >= max_signals) break;
    }
  }
  return out;
}

absl::Status Spool::Ack(const std::string& consumer, uint64_t seq) {
  std::lock_guard lock(mu_);
  uint64_t& acked = acked_[consumer];
  if (seq <= acked) return absl::OkStatus();
  acked = seq;
  // Not synced: a lost cursor only means a resend, which daemons dedup.
  const std::string path = options_.dir + "/" + CursorName(consumer);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << seq << "\n";
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", path);
  DeleteAckedLocked();
  return absl::OkStatus();
}

uint64_t Spool::Acked(const std::string& consumer) const {
  std::lock_guard lock(mu_);
  auto it = acked_.find(consumer);
  return it == acked_.end() ? 0 : it->second;
}

bool Spool::WaitForData(uint64_t after, absl::Duration timeout) {
  std::unique_lock lock(mu_);
  data_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                 [&] { return shutdown_ || next_seq_ - 1 > after; });
  return next_seq_ - 1 > after;
}

void Spool::Shutdown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  data_.notify_all();
}

SpoolStats Spool::Stats() const {
  std::lock_guard lock(mu_);
  SpoolStats stats;
  for (const auto& s : segments_) {
    stats.bytes += s.bytes;
    if (stats.first_seq == 0 && s.last_seq >= s.first_seq) stats.first_seq = s.first_seq;
  }
  stats.segments = segments_.size();
  stats.last_seq = next_seq_ - 1;
  stats.dropped_signals = dropped_signals_;
  stats.pending_signals = pending_.size();
  stats.renumbered = renumbered_;
  return stats;
}

}  // namespace attest::agent
