#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/strings.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace attest {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
Bio ReadBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
}
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

absl::StatusOr<Cert> ParseCertificate(const std::string& pem, const std::string& path) {
  auto bio = ReadBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return absl::InvalidArgumentError(StrCat(path, ": not a PEM certificate"));
  return cert;
}

// `key_pem` must be a PEM private key, and the key of `cert`.
absl::Status CheckKeyOf(const X509& cert, const std::string& key_pem, const std::string& cert_path,
                        const std::string& key_path) {
  auto bio = ReadBio(key_pem);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    return absl::InvalidArgumentError(
        StrCat(key_path, ": not a PEM private key (or one protected by a passphrase)"));
  }
  if (X509_check_private_key(&cert, key.get()) != 1) {
    return absl::InvalidArgumentError(
        StrCat(key_path, ": not the private key of the certificate in ", cert_path));
  }
  return absl::OkStatus();
}

// Parses what TLS would be given, so a file that is not PEM, or a key that
// is not the certificate's, is named here; gRPC itself only reports that the
// server or channel could not be built, which points at the wrong cause.
// An empty path is a file not given.
absl::Status CheckTlsPem(const TlsPem& pem, const std::string& ca_path,
                         const std::string& cert_path, const std::string& key_path) {
  if (!ca_path.empty()) {
    if (auto ca = ParseCertificate(pem.ca, ca_path); !ca.ok()) return ca.status();
  }
  if (cert_path.empty()) return absl::OkStatus();
  auto cert = ParseCertificate(pem.cert, cert_path);
  if (!cert.ok()) return cert.status();
  return CheckKeyOf(**cert, pem.key, cert_path, key_path);
}

absl::StatusOr<TlsPem> ReadAndCheck(const std::string& ca_path, const std::string& cert_path,
                                    const std::string& key_path) {
  TlsPem pem;
  // Certificate first: when everything is missing, that is the path to name.
  for (auto [path, out] : {std::pair{&cert_path, &pem.cert}, std::pair{&key_path, &pem.key},
                           std::pair{&ca_path, &pem.ca}}) {
    if (path->empty()) continue;
    auto text = ReadFileToString(*path);
    if (!text.ok()) return text.status();
    *out = *std::move(text);
  }
  const absl::Status valid = CheckTlsPem(pem, ca_path, cert_path, key_path);
  ERR_clear_error();  // a failed parse leaves errors that TLS would misread later
  if (!valid.ok()) return valid;
  return pem;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const char* step) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::UnavailableError(
        StrCat("cannot write ", path, " (", step, ": ", strerror(err), ")"));
  };
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail("create");
  bool ok = fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < data.size();) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  errno = saved;
  if (!ok) return fail("write");
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  SyncDirectoryOf(path);
  return absl::OkStatus();
}

void SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
}

absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(StrCat("cannot read ", path, ": ", strerror(errno)));
  std::string out(max_bytes + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) return absl::InvalidArgumentError(StrCat("cannot read ", path));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > max_bytes) {
    return absl::InvalidArgumentError(StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  return out;
}

bool GetLineUpTo(std::istream& in, std::string* line, size_t max_bytes, bool* too_long) {
  line->clear();
  *too_long = false;
  char chunk[1 << 16];
  size_t total = 0;
  bool read_any = false;
  for (;;) {
    // Stops at '\n' (taken, not stored), at the end of the input, or with
    // the chunk full and no '\n' yet (failbit): then the line goes on.
    in.getline(chunk, sizeof chunk);
    const auto n = static_cast<size_t>(in.gcount());
    read_any = read_any || n > 0;
    const bool ended = !in.eof() && !in.fail();  // '\n' taken and counted in n
    const size_t stored = ended ? n - 1 : n;
    total += stored;
    if (total > max_bytes) {
      *too_long = true;
      line->clear();
    } else {
      line->append(chunk, stored);
    }
    if (ended) return true;
    if (in.eof() || in.bad()) return read_any;
    in.clear();  // the chunk was full: read on
  }
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(StrCat("cannot read ", path, ": ", strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<TlsPem> ReadTlsPem(const std::string& ca_path, const std::string& cert_path,
                                  const std::string& key_path) {
  for (const std::string* path : {&cert_path, &key_path, &ca_path}) {
    if (path->empty()) return absl::InvalidArgumentError("TLS needs a CA, a certificate and a key");
  }
  return ReadAndCheck(ca_path, cert_path, key_path);
}

absl::StatusOr<TlsPem> ReadClientTlsPem(const std::string& ca_path, const std::string& cert_path,
                                        const std::string& key_path) {
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError("a client certificate and its key go together");
  }
  return ReadAndCheck(ca_path, cert_path, key_path);
}

}  // namespace attest
