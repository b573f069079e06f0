#include "common/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace attest {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(StrCat("cannot read ", path, ": ", strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<TlsPem> ReadTlsPem(const std::string& ca_path, const std::string& cert_path,
                                  const std::string& key_path) {
  TlsPem pem;
  // Certificate first: when everything is missing, that is the path to name.
  for (auto [path, out] : {std::pair{&cert_path, &pem.cert}, std::pair{&key_path, &pem.key},
                           std::pair{&ca_path, &pem.ca}}) {
    auto text = ReadFileToString(*path);
    if (!text.ok()) return text.status();
    *out = *std::move(text);
  }
  return pem;
}

}  // namespace attest
