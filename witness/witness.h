// attest-witness's core (docs/witness.md): a C2SP tlog-witness
// (c2sp.org/tlog-witness) for attestd's checkpoint logs. For each log it
// knows (an origin and the log's verifier keys) it keeps the latest
// checkpoint it cosigned, on disk before it answers, and cosigns a new
// checkpoint only when a consistency proof shows that it extends that one:
// a fork (same size, other root; or a proof that does not verify) and a
// rollback (a smaller tree) are refused. HTTP lives in http_server.h.
#ifndef ATTEST_WITNESS_WITNESS_H_
#define ATTEST_WITNESS_WITNESS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/note.h"

namespace attest::witness {

// Bounds on one add-checkpoint request body (docs/bad-input.md).
inline constexpr size_t kMaxProofLines = 63;  // the spec's limit
inline constexpr size_t kMaxRequestBytes =
    evidence::note::kMaxNoteBytes + 16 + kMaxProofLines * 45 + 1;

struct Log {
  std::string origin;
  std::vector<evidence::note::VerifierKey> keys;  // type 0x01 keys named like the origin or not
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Witness {
 public:
  // `clock` must outlive the witness. `name` is the witness's key name.
  Witness(std::string state_dir, std::string name, std::unique_ptr<evidence::SigningKey> key,
          std::vector<Log> logs, const Clock& clock);

  // Loads the latest cosigned checkpoint of every log from the state dir
  // (created if missing). DataLoss when a stored one does not parse or is
  // not signed by the log's keys: a witness must not forget what it signed.
  [[nodiscard]] absl::Status Open();

  // POST /add-checkpoint.
  Response AddCheckpoint(std::string_view body);
  // GET /<hex SHA-256 of the origin>/checkpoint: the latest cosigned
  // checkpoint, with the log's signature and the cosignature.
  Response GetCheckpoint(std::string_view origin_hash_hex);

  // "<name>+<key id>+base64(0x04 || key)": what attestd and auditors are
  // given as this witness's key.
  std::string VerifierKey() const;

 private:
  struct State {
    uint64_t size = 0;
    std::string root;  // of the empty tree when size is 0
    std::string note;  // the cosigned checkpoint as returned by GET
  };
  std::string PathFor(const std::string& origin, std::string_view suffix) const;
  absl::Status Persist(const std::string& origin, const State& state);

  const std::string dir_;
  const std::string name_;
  const std::unique_ptr<evidence::SigningKey> key_;
  const Clock& clock_;
  std::map<std::string, Log> logs_;  // by origin
  std::mutex mu_;                    // check-and-persist is one step (the spec's race)
  std::map<std::string, State> state_;
};

}  // namespace attest::witness

#endif  // ATTEST_WITNESS_WITNESS_H_
