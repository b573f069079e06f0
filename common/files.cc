#include "common/files.h"

#include <cerrno>
#include <cstring>
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

// Parses what gRPC would be given, so a file that is not PEM, or a key that
// is not the certificate's, is named here; gRPC itself only reports that the
// server or channel could not be built, which points at the wrong cause.
absl::Status CheckTlsPem(const TlsPem& pem, const std::string& ca_path,
                         const std::string& cert_path, const std::string& key_path) {
  auto bio = [](const std::string& text) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(
        BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
  };
  auto ca_bio = bio(pem.ca);
  std::unique_ptr<X509, decltype(&X509_free)> ca(
      PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!ca) return absl::InvalidArgumentError(StrCat(ca_path, ": not a PEM certificate"));
  auto cert_bio = bio(pem.cert);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return absl::InvalidArgumentError(StrCat(cert_path, ": not a PEM certificate"));
  auto key_bio = bio(pem.key);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    return absl::InvalidArgumentError(
        StrCat(key_path, ": not a PEM private key (or one protected by a passphrase)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        StrCat(key_path, ": not the private key of the certificate in ", cert_path));
  }
  return absl::OkStatus();
}

}  // namespace

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
  const absl::Status valid = CheckTlsPem(pem, ca_path, cert_path, key_path);
  ERR_clear_error();  // a failed parse leaves errors that TLS would misread later
  if (!valid.ok()) return valid;
  return pem;
}

}  // namespace attest
