// The parsers of the witnessed log (docs/bundle.md, docs/witness.md): a
// signed note, a checkpoint, a verifier key, a witness's add-checkpoint
// request, and states.jsonl / ledger.jsonl. Any input is parsed or refused
// with a reason; a note that parses writes back to the same bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/clock.h"
#include "ctl/bundle_log.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/note.h"
#include "spdlog/spdlog.h"
#include "witness/witness.h"

namespace {

attest::witness::Witness& TheWitness() {
  static attest::witness::Witness* w = [] {
    spdlog::set_level(spdlog::level::off);
    const std::string dir = "/tmp/attest-note-fuzz." + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    auto log = attest::evidence::SigningKey::LoadOrCreate(dir + "/log.key");
    auto key = attest::evidence::SigningKey::LoadOrCreate(dir + "/witness.key");
    attest::evidence::note::VerifierKey v;
    v.name = "attest.test/prod";
    v.type = attest::evidence::note::kEd25519;
    v.public_key = (*log)->raw_public_key();
    v.key_id = attest::evidence::note::KeyId(v.name, v.type, v.public_key);
    static attest::FakeClock clock(absl::FromUnixSeconds(1'767'225'600));
    auto* witness = new attest::witness::Witness(dir + "/state", "witness.test/w1", std::move(*key),
                                                 {{v.name, {v}}}, clock);
    (void)witness->Open();
    return witness;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace note = attest::evidence::note;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto n = note::Parse(text); n.ok()) {
    if (n->Format() != text) __builtin_trap();  // parse, then write: the same bytes
    (void)note::ParseCheckpoint(n->text);
  } else if (n.status().message().empty()) {
    __builtin_trap();
  }
  if (auto c = note::ParseCheckpoint(text); c.ok() && c->Format() != text) __builtin_trap();
  if (auto v = note::ParseVerifierKey(text); v.ok() && v->Format() != text) __builtin_trap();
  const attest::witness::Response r = TheWitness().AddCheckpoint(text);
  if (r.status == 200) __builtin_trap();  // nothing here is signed by the log's key
  if (r.status < 400 && r.status != 200) __builtin_trap();
  (void)attest::ctl::ParseStates(text);
  (void)attest::ctl::ParseLedger(text);
  (void)attest::evidence::ParseLedgerLine(text);
  return 0;
}
