#include "ctl/pki_command.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/time/clock.h"
#include "common/files.h"
#include "common/names.h"
#include "common/strings.h"
#include "ctl/pki.h"

namespace attest::ctl {
namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Fail(const std::string& what) {
  fprintf(stderr, "attestctl: pki: %s\n", what.c_str());
  return kExitFailed;
}

// Writes `data` to `path` with `mode`, atomically, refusing to replace an
// existing file.
absl::Status WriteNew(const std::string& path, const std::string& data, mode_t mode) {
  if (fs::exists(path)) return absl::AlreadyExistsError(path + " exists");
  return WriteFileAtomically(path, data, mode);
}

absl::Status WritePair(const std::string& base, const pki::KeyAndCert& kc) {
  if (absl::Status s = WriteNew(base + ".key", kc.key_pem, 0600); !s.ok()) return s;
  return WriteNew(base + ".crt", kc.cert_pem, 0644);
}

absl::StatusOr<pki::KeyAndCert> LoadCa(const std::string& dir) {
  auto key = ReadFileToString(dir + "/ca.key");
  auto cert = ReadFileToString(dir + "/ca.crt");
  if (key.ok() != cert.ok()) {
    return absl::FailedPreconditionError(
        attest::StrCat(dir, " holds half a CA (", key.ok() ? "ca.crt" : "ca.key", " missing)"));
  }
  if (!key.ok() || !cert.ok()) {
    return absl::FailedPreconditionError(
        attest::StrCat("no CA in ", dir, " (run `attestctl pki init --pki-dir ", dir, "` first)"));
  }
  return pki::KeyAndCert{*key, *cert};
}

std::string TrustDomain(const std::string& dir) {
  auto td = ReadFileToString(dir + "/trust-domain");
  if (!td.ok()) return "attest";
  std::string s = *td;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The names attestd accepts as host ids from a certificate, and no others.
bool ValidName(const std::string& name) { return attest::IsValidHostId(name); }

// Issues `kind/NAME` unless it exists. kind: server, agents, admins, auditors.
int IssueOne(const std::string& dir, const std::string& kind, const std::string& name,
             const PkiFlags& f) {
  if (!ValidName(name)) {
    fprintf(stderr, "attestctl: pki: %s is not a valid name ([A-Za-z0-9._-])\n", name.c_str());
    return kExitUsage;
  }
  const std::string base = attest::StrCat(dir, "/", kind, "/", name);
  if (fs::exists(base + ".crt") && fs::exists(base + ".key")) {
    printf("%s.crt exists; reusing it\n", base.c_str());
    return kExitOk;
  }
  auto ca = LoadCa(dir);
  if (!ca.ok()) return Fail(std::string(ca.status().message()));
  std::error_code ec;
  fs::create_directories(dir + "/" + kind, ec);
  if (ec) return Fail(attest::StrCat("cannot create ", dir, "/", kind, ": ", ec.message()));
  const std::string td = TrustDomain(dir);
  pki::CertSpec spec;
  spec.common_name = name;
  spec.not_before = absl::Now() - absl::Minutes(5);
  spec.not_after = absl::Now() + absl::Hours(24 * f.days);
  if (kind == "server") {
    spec.server = true;
    spec.dns_sans = {"localhost"};
    if (name != "localhost") spec.dns_sans.push_back(name);
    for (const std::string& d : f.dns) spec.dns_sans.push_back(d);
    spec.ip_sans = {"127.0.0.1", "::1"};
    for (const std::string& ip : f.ip) spec.ip_sans.push_back(ip);
  } else {
    spec.client = true;
    const std::string role = kind == "agents" ? "host" : kind == "admins" ? "admin" : "auditor";
    spec.uri_sans = {pki::SpiffeId(td, role, name)};
  }
  auto kc = pki::Issue(*ca, spec);
  if (!kc.ok()) return Fail(std::string(kc.status().message()));
  if (absl::Status s = WritePair(base, *kc); !s.ok()) return Fail(std::string(s.message()));
  printf("wrote %s.crt and %s.key (%s)\n", base.c_str(), base.c_str(),
         spec.uri_sans.empty() ? "server" : spec.uri_sans[0].c_str());
  return kExitOk;
}

int Init(const PkiFlags& f) {
  const std::string& dir = f.dir;
  if (!ValidName(f.trust_domain)) {
    fprintf(stderr, "attestctl: pki: --trust-domain %s: not a valid name ([A-Za-z0-9._-])\n",
            f.trust_domain.c_str());
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(attest::StrCat("cannot create ", dir, ": ", ec.message()));
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (fs::exists(dir + "/ca.crt") || fs::exists(dir + "/ca.key")) {
    if (auto existing = LoadCa(dir); !existing.ok()) {
      return Fail(std::string(existing.status().message()));
    }
    if (TrustDomain(dir) != f.trust_domain) {
      return Fail(attest::StrCat("the CA in ", dir, " is for trust domain ", TrustDomain(dir),
                                 ", not ", f.trust_domain));
    }
    printf("%s/ca.crt exists; reusing it\n", dir.c_str());
  } else {
    auto ca = pki::MakeCa(attest::StrCat("attest CA (", f.trust_domain, ")"),
                          absl::Now() - absl::Minutes(5), absl::Now() + absl::Hours(24 * 3650));
    if (!ca.ok()) return Fail(std::string(ca.status().message()));
    if (absl::Status s = WriteNew(dir + "/trust-domain", f.trust_domain + "\n", 0644); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    if (absl::Status s = WritePair(dir + "/ca", *ca); !s.ok())
      return Fail(std::string(s.message()));
    printf("wrote %s/ca.crt and %s/ca.key (trust domain %s, 10 years)\n", dir.c_str(), dir.c_str(),
           f.trust_domain.c_str());
  }
  // attestd's own certificate, for this machine.
  return IssueOne(dir, "server", "attestd", f);
}

// Adds CERT's serial to DIR/crl.pem (made on first use), signed by the CA.
// attestd reads the file with --crl and again on SIGHUP.
int RevokeOne(const std::string& dir, const std::string& cert_path, const PkiFlags& f) {
  auto ca = LoadCa(dir);
  if (!ca.ok()) return Fail(std::string(ca.status().message()));
  auto cert = ReadFileToString(cert_path);
  if (!cert.ok()) {
    fprintf(stderr, "attestctl: pki: %s\n", std::string(cert.status().message()).c_str());
    return kExitUsage;
  }
  const std::string crl_path = dir + "/crl.pem";
  std::string existing;
  if (fs::exists(crl_path)) {
    auto text = ReadFileToString(crl_path);
    if (!text.ok()) return Fail(std::string(text.status().message()));
    existing = *text;
  }
  const absl::Time now = absl::Now();
  auto crl = pki::Revoke(*ca, existing, *cert, now, now + absl::Hours(24 * f.days));
  if (!crl.ok()) return Fail(attest::StrCat(cert_path, ": ", crl.status().message()));
  if (absl::Status s = WriteFileAtomically(crl_path, *crl, 0644); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  printf("revoked %s in %s (valid %ld days); send attestd a SIGHUP to read it\n", cert_path.c_str(),
         crl_path.c_str(), f.days);
  return kExitOk;
}

}  // namespace

int PkiCommand(const std::vector<std::string>& args, const PkiFlags& f) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  auto usage = [] {
    fputs(
        "usage: attestctl pki init [--pki-dir D] [--trust-domain TD] [--dns NAME] [--ip ADDR]\n"
        "       attestctl pki issue-server NAME | issue-agent HOST | issue-admin NAME |\n"
        "                     issue-auditor NAME [--pki-dir D] [--valid-days N]\n"
        "       attestctl pki revoke CERT.crt [--pki-dir D] [--valid-days N]   (writes "
        "D/crl.pem)\n",
        stderr);
    return kExitUsage;
  };
  if (f.days < 1 || f.days > 3650) {
    fprintf(stderr, "attestctl: pki: --valid-days must be 1..3650\n");
    return kExitUsage;
  }
  if (sub == "init") return args.size() == 2 ? Init(f) : usage();
  if (sub == "revoke") return args.size() == 3 ? RevokeOne(f.dir, args[2], f) : usage();
  static const std::map<std::string, std::string> kKinds = {{"issue-server", "server"},
                                                            {"issue-agent", "agents"},
                                                            {"issue-admin", "admins"},
                                                            {"issue-auditor", "auditors"}};
  auto kind = kKinds.find(sub);
  if (kind == kKinds.end() || args.size() != 3) return usage();
  return IssueOne(f.dir, kind->second, args[2], f);
}

}  // namespace attest::ctl
