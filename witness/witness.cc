#include "witness/witness.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "common/files.h"
#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/merkle.h"
#include "spdlog/spdlog.h"

namespace attest::witness {
namespace {

namespace note = evidence::note;

Response Refuse(int status, std::string why) {
  return Response{status, "text/plain; charset=utf-8", why + "\n"};
}

bool ParseSize(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Appends `text` to `path` and syncs it.
absl::Status AppendSynced(const std::string& path, std::string_view text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(StrCat("cannot open ", path));
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  return ok ? absl::OkStatus() : absl::UnavailableError(StrCat("cannot append to ", path));
}

}  // namespace

Witness::Witness(std::string state_dir, std::string name, std::unique_ptr<evidence::SigningKey> key,
                 std::vector<Log> logs, const Clock& clock)
    : dir_(std::move(state_dir)), name_(std::move(name)), key_(std::move(key)), clock_(clock) {
  for (Log& l : logs) logs_[l.origin] = std::move(l);
}

std::string Witness::VerifierKey() const {
  note::VerifierKey k;
  k.name = name_;
  k.type = note::kCosignatureV1;
  k.public_key = key_->raw_public_key();
  k.key_id = note::KeyId(k.name, k.type, k.public_key);
  return k.Format();
}

std::string Witness::PathFor(const std::string& origin, std::string_view suffix) const {
  return StrCat(dir_, "/", HexEncode(evidence::Sha256(origin)), suffix);
}

absl::Status Witness::Open() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot create ", dir_, ": ", ec.message()));
  std::lock_guard lock(mu_);
  for (const auto& [origin, log] : logs_) {
    State s;
    s.root = evidence::Sha256("");
    const std::string path = PathFor(origin, ".checkpoint");
    if (!std::filesystem::exists(path)) {
      state_[origin] = std::move(s);
      continue;
    }
    auto text = ReadFileToString(path);
    if (!text.ok()) return absl::DataLossError(StrCat(path, ": ", text.status().message()));
    auto n = note::Parse(*text);
    auto body =
        n.ok() ? note::ParseCheckpoint(n->text) : absl::StatusOr<note::Checkpoint>(n.status());
    if (!body.ok() || body->origin != origin) {
      return absl::DataLossError(StrCat(path, ": not the checkpoint of ", origin, ": ",
                                        body.ok() ? "another origin" : body.status().message()));
    }
    bool signed_by_log = false;
    for (const note::VerifierKey& k : log.keys) signed_by_log |= note::VerifySignature(*n, k).ok();
    if (!signed_by_log) {
      return absl::DataLossError(StrCat(path, ": not signed by the keys of ", origin));
    }
    s.size = body->size;
    s.root = body->root;
    s.note = std::move(*text);
    state_[origin] = std::move(s);
    spdlog::info("log {}: last cosigned size {}", origin, body->size);
  }
  return absl::OkStatus();
}

absl::Status Witness::Persist(const std::string& origin, const State& state) {
  if (absl::Status s = WriteFileAtomically(PathFor(origin, ".checkpoint"), state.note); !s.ok()) {
    return s;
  }
  // Every checkpoint cosigned, in order: what a dispute would ask for.
  return AppendSynced(PathFor(origin, ".history"), state.note + "\n");
}

Response Witness::AddCheckpoint(std::string_view body) {
  if (body.size() > kMaxRequestBytes) {
    return Refuse(413, StrCat("a request is at most ", kMaxRequestBytes, " bytes"));
  }
  // old <size>\n, up to 63 proof lines, an empty line, the checkpoint.
  size_t eol = body.find('\n');
  if (eol == std::string_view::npos || body.substr(0, 4) != "old ") {
    return Refuse(400, "the body starts with \"old <size>\" and a newline");
  }
  uint64_t old_size = 0;
  if (!ParseSize(body.substr(4, eol - 4), &old_size)) {
    return Refuse(400, "old size: a decimal with no leading zeroes");
  }
  body.remove_prefix(eol + 1);
  std::vector<std::string> proof;
  for (;;) {
    eol = body.find('\n');
    if (eol == std::string_view::npos) return Refuse(400, "no empty line before the checkpoint");
    const std::string_view line = body.substr(0, eol);
    body.remove_prefix(eol + 1);
    if (line.empty()) break;
    std::string hash;
    if (!Base64Decode(line, &hash) || hash.size() != evidence::kHashBytes) {
      return Refuse(400, "a consistency proof line is base64 of 32 bytes");
    }
    if (proof.size() == kMaxProofLines) {
      return Refuse(400, StrCat("at most ", kMaxProofLines, " consistency proof lines"));
    }
    proof.push_back(std::move(hash));
  }
  auto n = note::Parse(body);
  if (!n.ok()) return Refuse(400, StrCat("checkpoint: ", n.status().message()));
  auto c = note::ParseCheckpoint(n->text);
  if (!c.ok()) return Refuse(400, StrCat("checkpoint: ", c.status().message()));
  auto log = logs_.find(c->origin);
  if (log == logs_.end()) return Refuse(404, StrCat("unknown log \"", c->origin, "\""));
  std::vector<note::Signature> log_signatures;
  for (const note::VerifierKey& k : log->second.keys) {
    absl::Status s = note::VerifySignature(*n, k);
    if (s.code() == absl::StatusCode::kDataLoss) {
      return Refuse(403, StrCat("the signature by ", k.name, " does not verify"));
    }
    if (s.ok()) {
      for (const note::Signature& sig : n->signatures) {
        if (sig.name == k.name && sig.key_id == k.key_id) log_signatures.push_back(sig);
      }
    }
  }
  if (log_signatures.empty()) {
    return Refuse(403, StrCat("no signature by a key of ", c->origin));
  }
  if (old_size > c->size) return Refuse(400, "the old size is larger than the checkpoint's");
  std::lock_guard lock(mu_);
  State& state = state_[c->origin];
  if (state.root.empty()) state.root = evidence::Sha256("");
  if (old_size != state.size) {
    return Response{409, "text/x.tlog.size", StrCat(state.size, "\n")};
  }
  if (c->size == 0 && c->root != evidence::Sha256("")) {
    return Refuse(422, "a checkpoint of size 0 has the empty tree's root");
  }
  if (old_size == 0 && !proof.empty()) {
    return Refuse(422, "from size 0 the consistency proof is empty");
  }
  if (old_size == c->size && c->root != state.root) {
    spdlog::warn("log {}: refused a fork at size {}: root {} after {}", c->origin, c->size,
                 Base64Encode(c->root), Base64Encode(state.root));
    return Refuse(422, StrCat("another root at size ", c->size, ": the log forked"));
  }
  if (!evidence::merkle::VerifyConsistency(old_size, c->size, state.root, c->root, proof)) {
    spdlog::warn("log {}: refused size {}: not consistent with size {}", c->origin, c->size,
                 old_size);
    return Refuse(422, StrCat("the consistency proof from size ", old_size, " does not verify"));
  }
  const uint64_t t = static_cast<uint64_t>(std::max<int64_t>(1, absl::ToUnixSeconds(clock_.Now())));
  note::Signature cosig;
  cosig.name = name_;
  cosig.key_id = note::KeyId(name_, note::kCosignatureV1, key_->raw_public_key());
  std::string ts(8, '\0');
  for (int i = 0; i < 8; ++i) ts[i] = static_cast<char>((t >> (56 - 8 * i)) & 0xff);
  cosig.blob = ts + key_->Sign(note::CosignedMessage(t, n->text));
  note::Note kept;
  kept.text = n->text;
  kept.signatures = log_signatures;
  kept.signatures.push_back(cosig);
  State next{c->size, c->root, kept.Format()};
  if (absl::Status s = Persist(c->origin, next); !s.ok()) {
    spdlog::error("log {}: cannot keep size {}: {}", c->origin, c->size, std::string(s.message()));
    return Refuse(503, "the witness cannot store the checkpoint; try again");
  }
  state = std::move(next);
  spdlog::info("log {}: cosigned size {}", c->origin, c->size);
  return Response{200, "text/plain; charset=utf-8", cosig.Line()};
}

Response Witness::GetCheckpoint(std::string_view origin_hash_hex) {
  std::lock_guard lock(mu_);
  for (const auto& [origin, state] : state_) {
    if (HexEncode(evidence::Sha256(origin)) == origin_hash_hex) {
      if (state.note.empty()) return Refuse(404, "nothing cosigned for that log yet");
      return Response{200, "text/plain; charset=utf-8", state.note};
    }
  }
  return Refuse(404, "unknown log");
}

}  // namespace attest::witness
