// The agent's durable queue. Every observation is appended here before any
// daemon sees it, and is deleted only after every configured daemon has
// acknowledged it, so nothing is lost to daemon outages, agent restarts or
// reboots.
//
// Layout of the spool directory:
//   instance_id                the agent instance (sequence numbers are scoped to it)
//   segment-<first seq>        append-only record files (record_codec.h)
//   cursor-<consumer>          highest seq that consumer (a daemon) acknowledged
//
// Bounded: past max_bytes the oldest segments are dropped even if unacked.
// Their sequence numbers are then never sent, so each daemon records the
// range as a gap (NO_EVIDENCE) instead of guessing.
#ifndef ATTEST_AGENTS_LINUX_SPOOL_SPOOL_H_
#define ATTEST_AGENTS_LINUX_SPOOL_SPOOL_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
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
};

// Thread-safe.
class Spool {
 public:
  // Opens or creates the spool. A torn record at the tail (a crash mid-write)
  // is cut off; corruption inside a segment ends that segment early (those
  // seqs become a gap). Errors: the directory is unusable.
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
