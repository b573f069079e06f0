#include "ctl/tar.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/files.h"
#include "common/strings.h"

namespace attest::ctl {
namespace {

constexpr size_t kBlock = 512;

void Octal(char* field, size_t width, uint64_t v) {
  // width-1 digits and a NUL
  snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(v));
}

// The size field: 11 octal digits up to 8 GiB - 1; beyond, GNU tar's
// base-256 form (first byte 0x80, the value big-endian in the other 11),
// which GNU tar, bsdtar and Python's tarfile all read.
void SizeField(char* field, uint64_t size) {
  if (size < (uint64_t{1} << 33)) {
    Octal(field, 12, size);
    return;
  }
  field[0] = static_cast<char>(0x80);
  for (int i = 11; i >= 1; --i, size >>= 8) field[i] = static_cast<char>(size & 0xff);
}

std::optional<uint64_t> ReadSizeField(const char* field) {
  if (static_cast<unsigned char>(field[0]) == 0x80) {
    uint64_t v = 0;
    for (int i = 1; i < 12; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    return v;
  }
  const std::string digits(field, strnlen(field, 12));
  unsigned long long v = 0;
  if (sscanf(digits.c_str(), "%llo", &v) != 1) return std::nullopt;
  return v;
}

unsigned Checksum(const char* header) {
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

}  // namespace

absl::StatusOr<TarWriter> TarWriter::Create(const std::string& path) {
  // The archive is renamed over `path`: a device or a link there (say
  // /dev/stdout) would be replaced, not written through.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        attest::StrCat("cannot create ", path,
                       ": it exists and is not a regular file (an archive is written "
                       "beside it and renamed over it)"));
  }
  const std::string partial = path + ".partial";
  FILE* f = fopen(partial.c_str(), "wb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        attest::StrCat("cannot create ", partial, ": ", strerror(errno)));
  }
  setvbuf(f, nullptr, _IOFBF, 1 << 20);  // bundles run to gigabytes
  return TarWriter(f, path);
}

TarWriter::TarWriter(TarWriter&& o) noexcept
    : f_(o.f_), path_(std::move(o.path_)), bounds_(std::move(o.bounds_)) {
  o.f_ = nullptr;
}

TarWriter::~TarWriter() {
  if (f_ == nullptr) return;  // closed, or moved from
  fclose(f_);
  unlink(partial().c_str());
}

std::string TarHeader(const std::string& name, uint64_t size) {
  if (name.size() >= 100) return "";
  char h[kBlock] = {};
  memcpy(h, name.data(), name.size());
  Octal(h + 100, 8, 0644);
  Octal(h + 108, 8, 0);
  Octal(h + 116, 8, 0);
  SizeField(h + 124, size);
  Octal(h + 136, 12, static_cast<uint64_t>(time(nullptr)));
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  snprintf(h + 148, 8, "%06o", Checksum(h));
  h[155] = ' ';
  return std::string(h, kBlock);
}

absl::Status TarWriter::Header(const std::string& name, uint64_t size) {
  const std::string h = TarHeader(name, size);
  if (h.empty()) return absl::InvalidArgumentError("tar: name too long: " + name);
  if (fwrite(h.data(), 1, kBlock, f_) != kBlock)
    return absl::UnavailableError("cannot write " + path_);
  return absl::OkStatus();
}

absl::Status TarWriter::Pad(uint64_t size) {
  static const char kZeros[kBlock] = {};
  const size_t pad = (kBlock - size % kBlock) % kBlock;
  if (pad > 0 && fwrite(kZeros, 1, pad, f_) != pad) {
    return absl::UnavailableError("cannot write " + path_);
  }
  return absl::OkStatus();
}

absl::Status TarWriter::Fits(const std::string& name, uint64_t size) const {
  auto bound = bounds_.find(name);
  if (bound == bounds_.end() || size <= bound->second) return absl::OkStatus();
  return absl::FailedPreconditionError(attest::StrCat(name, " would be larger than ", bound->second,
                                                      " bytes, the most verify reads of it; ",
                                                      path_, " was not written"));
}

absl::Status TarWriter::Add(const std::string& name, std::string_view data) {
  if (absl::Status s = Fits(name, data.size()); !s.ok()) return s;
  if (absl::Status s = Header(name, data.size()); !s.ok()) return s;
  if (fwrite(data.data(), 1, data.size(), f_) != data.size()) {
    return absl::UnavailableError("cannot write " + path_);
  }
  return Pad(data.size());
}

absl::Status TarWriter::Begin(const std::string& name) {
  entry_name_ = name;
  entry_size_ = 0;
  entry_header_ = ftello(f_);
  if (entry_header_ < 0) return absl::UnavailableError("cannot write " + path_);
  return Header(name, 0);  // rewritten with the size by End
}

absl::Status TarWriter::Append(std::string_view data) {
  if (absl::Status s = Fits(entry_name_, entry_size_ + data.size()); !s.ok()) return s;
  if (fwrite(data.data(), 1, data.size(), f_) != data.size()) {
    return absl::UnavailableError("cannot write " + path_);
  }
  entry_size_ += data.size();
  return absl::OkStatus();
}

absl::Status TarWriter::End() {
  if (absl::Status s = Pad(entry_size_); !s.ok()) return s;
  const off_t end = ftello(f_);
  if (end < 0 || fseeko(f_, entry_header_, SEEK_SET) != 0) {
    return absl::UnavailableError("cannot write " + path_);
  }
  if (absl::Status s = Header(entry_name_, entry_size_); !s.ok()) return s;
  if (fseeko(f_, end, SEEK_SET) != 0) return absl::UnavailableError("cannot write " + path_);
  return absl::OkStatus();
}

absl::Status TarWriter::Close() {
  static const char kZeros[2 * kBlock] = {};
  const bool ok = fwrite(kZeros, 1, sizeof kZeros, f_) == sizeof kZeros && fflush(f_) == 0 &&
                  fsync(fileno(f_)) == 0;
  const bool closed = fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || !closed || rename(partial().c_str(), path_.c_str()) != 0) {
    const std::string why = strerror(errno);
    unlink(partial().c_str());
    return absl::UnavailableError(attest::StrCat("cannot write ", path_, ": ", why));
  }
  SyncDirectoryOf(path_);
  return absl::OkStatus();
}

absl::Status ReadTar(const std::string& path,
                     const std::function<absl::Status(const std::string& name, uint64_t size,
                                                      const TarChunkReader& read)>& entry) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(fopen(path.c_str(), "rb"), fclose);
  if (!f) return absl::InvalidArgumentError("cannot read " + path);
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) return absl::InvalidArgumentError("cannot read " + path);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  char h[kBlock];
  std::set<std::string> seen;
  for (;;) {
    if (fread(h, 1, kBlock, f.get()) != kBlock) {
      return absl::DataLossError(path + ": truncated (no end-of-archive marker)");
    }
    if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) return absl::OkStatus();
    unsigned stored = 0;
    if (sscanf(h + 148, "%o", &stored) != 1 || stored != Checksum(h)) {
      return absl::DataLossError(path + ": a tar header's checksum is wrong");
    }
    const std::string name(h, strnlen(h, 100));
    // attest never writes a name twice; a reader that took the first copy
    // in one pass and the second in another could be led to check one
    // bundle and use another.
    if (!seen.insert(name).second) {
      return absl::DataLossError(path + ": " + kDuplicateEntry + name);
    }
    const std::optional<uint64_t> entry_size = ReadSizeField(h + 124);
    if (!entry_size) return absl::DataLossError(path + ": bad tar size");
    const uint64_t size = *entry_size;
    // An entry cut short is named before its reader sees part of it.
    if (const off_t start = ftello(f.get());
        start < 0 || static_cast<uint64_t>(start) + size > file_size) {
      return absl::DataLossError(path + ": truncated inside " + name);
    }
    uint64_t left = size;
    const TarChunkReader read = [&](char* buf, size_t cap) -> size_t {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, left));
      const size_t got = want == 0 ? 0 : fread(buf, 1, want, f.get());
      left -= got;
      return got;
    };
    if (absl::Status s = entry(name, size, read); !s.ok()) return s;
    // Skip what the callback did not read, and the padding.
    const uint64_t pad = (kBlock - size % kBlock) % kBlock;
    const off_t at = ftello(f.get());
    if (at < 0 || static_cast<uint64_t>(at) + left > file_size) {
      return absl::DataLossError(path + ": truncated inside " + name);
    }
    if (fseeko(f.get(), static_cast<off_t>(left + pad), SEEK_CUR) != 0) {
      return absl::DataLossError(path + ": truncated");
    }
  }
}

}  // namespace attest::ctl
