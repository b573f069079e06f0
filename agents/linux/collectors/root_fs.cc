#include "agents/linux/collectors/root_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/strings.h"

namespace attest::agent {
namespace {

absl::Status FileError(const std::string& path, int err) {
  std::string msg = StrCat(path, ": ", strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

RootFs::RootFs(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string RootFs::Path(std::string_view path) const {
  if (root_ == "/" || root_.empty()) return std::string(path);
  return StrCat(root_, path);
}

absl::StatusOr<std::string> RootFs::ReadFile(std::string_view path, size_t max_bytes) const {
  const std::string real = Path(path);
  std::ifstream in(real, std::ios::binary);
  if (!in) return FileError(real, errno);
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return absl::InvalidArgumentError(StrCat(real, ": larger than ", max_bytes, " bytes"));
    }
  }
  return data;
}

absl::StatusOr<std::string> RootFs::ReadTail(std::string_view path, size_t max_bytes) const {
  const std::string real = Path(path);
  std::ifstream in(real, std::ios::binary | std::ios::ate);
  if (!in) return FileError(real, errno);
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  std::string data(static_cast<size_t>(size - start), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

absl::StatusOr<std::vector<std::string>> RootFs::ListDir(std::string_view path) const {
  const std::string real = Path(path);
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(real, ec)) {
    names.push_back(entry.path().filename());
  }
  if (ec) return FileError(real, ec.value());
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<absl::Time> RootFs::ModifiedAt(std::string_view path) const {
  const std::string real = Path(path);
  struct stat st {};
  if (stat(real.c_str(), &st) != 0) return FileError(real, errno);
  return absl::TimeFromTimespec(st.st_mtim);
}

bool RootFs::Exists(std::string_view path) const {
  struct stat st {};
  return stat(Path(path).c_str(), &st) == 0;
}

}  // namespace attest::agent
