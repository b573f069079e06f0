// Minimal POSIX ustar archives for evidence bundles: regular files only,
// written streaming (the size of each file is known before it is added),
// read back with every header checksum checked.
#ifndef ATTEST_CTL_TAR_H_
#define ATTEST_CTL_TAR_H_

#include <sys/types.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attest::ctl {

// One ustar header block (512 bytes) for a regular file; "" when the name
// does not fit. Sizes of 8 GiB and more use GNU tar's base-256 size field.
std::string TarHeader(const std::string& name, uint64_t size);

class TarWriter {
 public:
  // Writes `path` + ".partial" (created or truncated); Close renames it to
  // `path`. A writer destroyed without a successful Close (an export that
  // failed half way) removes the partial file, so `path` is either a whole
  // archive or what it was before. InvalidArgument when `path` exists and
  // is not a regular file (a device, a link, a directory).
  static absl::StatusOr<TarWriter> Create(const std::string& path);
  TarWriter(TarWriter&& other) noexcept;
  ~TarWriter();

  absl::Status Add(const std::string& name, std::string_view data);
  // An entry of a size known only at its end: Begin, Append as often as
  // needed, End (which goes back to write the size into the header).
  absl::Status Begin(const std::string& name);
  absl::Status Append(std::string_view data);
  absl::Status End();
  // Writes the end-of-archive blocks, syncs the file and renames it to the
  // path given to Create.
  absl::Status Close();
  // Entries named in `bounds` may hold at most that many bytes: Add, and
  // Append as a streamed entry grows, refuse more with FailedPrecondition
  // naming the entry and the bound, before writing it (a reader that
  // bounds the entry would refuse the archive).
  void SetBounds(std::map<std::string, uint64_t> bounds) { bounds_ = std::move(bounds); }
  // What Add would say of an entry `name` of `size` bytes against the
  // bounds, without writing (an exporter knows some sizes before it
  // streams the records).
  absl::Status Fits(const std::string& name, uint64_t size) const;

 private:
  explicit TarWriter(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  std::string partial() const { return path_ + ".partial"; }
  absl::Status Header(const std::string& name, uint64_t size);
  absl::Status Pad(uint64_t size);
  FILE* f_ = nullptr;
  std::string path_;
  std::string entry_name_;  // the entry between Begin and End
  off_t entry_header_ = 0;
  uint64_t entry_size_ = 0;
  std::map<std::string, uint64_t> bounds_;
};

// Calls `entry(name, read)` for each file in the archive, in order; `read`
// fills its buffer with the next chunk of the file's content and returns
// how much (0 at the end). DataLoss for a corrupt or truncated archive,
// and for one with two entries of the same name (the message then holds
// kDuplicateEntry).
inline constexpr char kDuplicateEntry[] = "two entries named ";
using TarChunkReader = std::function<size_t(char* buf, size_t cap)>;
absl::Status ReadTar(const std::string& path,
                     const std::function<absl::Status(const std::string& name, uint64_t size,
                                                      const TarChunkReader& read)>& entry);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_TAR_H_
