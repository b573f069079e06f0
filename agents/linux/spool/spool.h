// The agent's durable queue. Every observation is appended here before any
// daemon sees it, and is deleted only after every configured daemon has
// acknowledged it, so nothing is lost to daemon outages, agent restarts or
// reboots.
//
// Layout of the spool directory:
//   lock                       flock(2)ed by the one agent using the spool; holds its pid
//   instance_id                the agent instance (sequence numbers are scoped to it)
//   segment-<first seq>        append-only record files (record_codec.h)
//   cursor-<consumer>          highest seq that consumer (a daemon) acknowledged
//   closed                     present while no agent has the spool open and the last
//                              one closed it with everything on disk
//
// Bounded: past max_bytes the oldest segments are dropped even if unacked.
// Their sequence numbers are then never sent, so each daemon records the
// range as a gap (NO_EVIDENCE) instead of guessing.
//
// Never a seq twice. A spool can come back knowing less than a daemon
// holds: its tail cut by a power loss (fsync off), or the whole directory
// restored from an older copy (a VM snapshot). Seqs it then hands out
// again would name observations the daemon already has, and be dropped as
// duplicates. So every daemon's first Welcome goes through Resume, which
// moves this life's seqs past what that daemon holds and leaves one seq
// unsent: the daemon records it as a gap, NO_EVIDENCE from its last record
// to the next observation, covering whatever the lost tail held.
#ifndef ATTEST_AGENTS_LINUX_SPOOL_SPOOL_H_
#define ATTEST_AGENTS_LINUX_SPOOL_SPOOL_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/v1/signal.pb.h"

namespace attest::agent {

struct SpoolOptions {
  std::string dir;
  uint64_t max_bytes = 256ull << 20;
  uint64_t segment_bytes = 4ull << 20;
  // true: fdatasync after every Append (a crash or power loss loses nothing
  // appended). false: leave write-back to the kernel (survives agent crashes,
  // not power loss).
  bool fsync = true;
  // One cursor per daemon the agent ships to (e.g. "attestd-a:7443").
  std::vector<std::string> consumers;
  // Signals kept in memory while the disk refuses writes (e.g. full),
  // written first by the next Append that succeeds, or at the latest when
  // the spool is closed. Beyond this many the oldest are lost (counted as
  // dropped), and their seqs are skipped, so daemons record a gap.
  size_t max_pending_signals = 100000;
};

struct SpoolStats {
  uint64_t bytes = 0;
  uint64_t segments = 0;
  uint64_t first_seq = 0;        // oldest seq still held (0: empty)
  uint64_t last_seq = 0;         // newest seq assigned
  uint64_t dropped_signals = 0;  // dropped for space since Open
  uint64_t pending_signals = 0;  // waiting in memory for the disk
  uint64_t renumbered = 0;       // times Resume moved seqs past a daemon's
};

// Thread-safe.
class Spool {
 public:
  // Opens or creates the spool. A torn record at the tail (a crash mid-write)
  // is cut off; corruption inside a segment ends that segment early (those
  // seqs become a gap). Errors: the directory is unusable, or
  // FailedPrecondition when another process holds its lock.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(SpoolOptions options);

  ~Spool();

  const std::string& instance_id() const { return instance_id_; }

  // Gives `signals` consecutive seqs (overwriting theirs), appends them, and
  // returns the last seq. Unavailable when the disk refuses the write (e.g.
  // full): the signals are then kept in memory and written, before the new
  // ones, by the next Append that succeeds.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(std::vector<v1::Signal> signals);

  // Up to `max_signals` signals with seq > `after`, in order. If `after` is
  // older than the oldest held signal, reading starts at the oldest.
  [[nodiscard]] absl::StatusOr<std::vector<v1::Signal>> Read(uint64_t after, size_t max_signals);

  // Called with each Welcome of `consumer`, which holds everything up to
  // `daemon_highest` of this instance. When that daemon holds seqs this
  // spool did not know it had handed out (its first Welcome in this process
  // names more than the spool held at Open, or any Welcome names more than
  // the spool ever assigned), the signals appended since Open are given new
  // seqs from daemon_highest + 2 on (durably), later ones follow them, and
  // this is logged. Returns the seq to resume sending after: daemon_highest.
  [[nodiscard]] absl::StatusOr<uint64_t> Resume(const std::string& consumer,
                                                uint64_t daemon_highest);

  // `consumer` has durably stored everything up to `seq`. Segments that
  // every consumer has acknowledged are deleted.
  [[nodiscard]] absl::Status Ack(const std::string& consumer, uint64_t seq);
  uint64_t Acked(const std::string& consumer) const;

  // Waits until a signal after `after` exists, Shutdown() is called, or
  // `timeout` passes. True when there is data.
  bool WaitForData(uint64_t after, absl::Duration timeout);
  // Wakes every waiter for good.
  void Shutdown();

  SpoolStats Stats() const;

 private:
  struct Segment {
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;  // first_seq - 1 while empty
    uint64_t bytes = 0;
    std::string path;
  };
  explicit Spool(SpoolOptions options) : options_(std::move(options)) {}
  absl::Status Load();
  absl::Status LockDir();
  // Moves the seqs handed out since Open past `floor` (see Resume).
  absl::Status RenumberPastLocked(uint64_t floor);
  absl::Status StartSegmentLocked(uint64_t first_seq);
  // Writes pending_ with the next seqs; on failure they stay pending.
  absl::Status WritePendingLocked();
  void DropForSpaceLocked();
  void DeleteAckedLocked();
  absl::StatusOr<std::vector<v1::Signal>> DecodeSegmentLocked(const Segment& segment);

  const SpoolOptions options_;
  std::string instance_id_;
  mutable std::mutex mu_;
  std::condition_variable data_;
  bool shutdown_ = false;
  std::vector<Segment> segments_;  // ordered; the last one is active
  int active_fd_ = -1;
  uint64_t next_seq_ = 1;
  // Every seq up to this was handed out by an earlier process (or given up
  // by Resume): this process hands out only seqs above it.
  uint64_t reserved_ = 0;
  std::set<std::string> resumed_;  // consumers whose first Welcome was seen
  uint64_t renumbered_ = 0;
  int lock_fd_ = -1;
  uint64_t dropped_signals_ = 0;
  std::vector<v1::Signal> pending_;  // not yet written (the disk refused)
  std::map<std::string, uint64_t> acked_;
  // The last decoded segment, so a catch-up reads each segment once.
  std::string cached_path_;
  uint64_t cached_bytes_ = 0;
  std::vector<v1::Signal> cached_;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_SPOOL_SPOOL_H_
