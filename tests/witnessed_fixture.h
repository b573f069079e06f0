// The fixture of the witnessed-evidence tests (witnessed_evidence_test.cc:
// the witness's behaviour; witnessed_forgery_test.cc: what an operator
// could forge): a real attest-witness on a loopback port, cosigning the
// log of the attestd each test starts, and the two verifiers.
#ifndef ATTEST_TESTS_WITNESSED_FIXTURE_H_
#define ATTEST_TESTS_WITNESSED_FIXTURE_H_

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/bundle_frames.h"
#include "ctl/tar.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/ledger_json.h"
#include "daemon/evidence/merkle.h"
#include "daemon/evidence/note.h"
#include "daemon/ingest/test_signals.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {

namespace note = evidence::note;
namespace ts = testing_signals;

inline constexpr char kOrigin[] = "attest.test/prod";
inline constexpr char kWitnessName[] = "witness.test/w1";

inline const std::string kPolicy = TestPolicyQ1();

// attest-witness on a loopback port, for the log whose vkey is given.
struct WitnessProcess {
  std::string dir;
  std::string vkey;  // the witness's own
  std::string address;
  std::optional<ChildProcess> process;

  absl::Status Start(const std::string& log_vkey, int port) {
    const std::string bin = BinaryPath("attest-witness");
    std::string out, err;
    if (RunTool({bin, "init", "--key", dir + "/witness.key", "--name", kWitnessName}, dir, &out,
                &err) != 0) {
      return absl::InternalError("attest-witness init: " + err);
    }
    vkey = std::string(TrimWhitespace(out));
    std::filesystem::remove(dir + "/witness.ready");
    auto p = ChildProcess::Start(
        {bin, "serve", "--key", dir + "/witness.key", "--name", kWitnessName, "--state-dir",
         dir + "/witness-state", "--log", log_vkey, "--insecure", "--listen",
         StrCat("127.0.0.1:", port), "--ready-file", dir + "/witness.ready"},
        dir + "/witness.log");
    if (!p.ok()) return p.status();
    process = std::move(*p);
    auto ready = WaitForFile(dir + "/witness.ready", &*process, absl::Seconds(30));
    if (!ready.ok()) return ready.status();
    address = std::string(TrimWhitespace(*ready));
    return absl::OkStatus();
  }
  void Stop() {
    if (process) {
      process->Signal(SIGTERM);
      (void)process->Wait(absl::Seconds(30));
      process.reset();
    }
  }
  ~WitnessProcess() { Stop(); }
};

// The vkey of a data dir's log: attestd is started once to make its key.
inline std::string LogVkey(const std::string& dir) {
  DaemonHarness first(dir, nullptr, {"--log-origin", kOrigin});
  EXPECT_TRUE(first.Start().ok()) << ReadAll(first.log_path());
  std::string out;
  EXPECT_EQ(Attestctl(first.address(), dir, {"signing-key", "--vkey"}, &out), 0);
  EXPECT_TRUE(first.Stop().ok());
  return std::string(TrimWhitespace(out));
}

// A bundle's entries, as a forger edits them (records.jsonl.zst decoded).
struct Bundle {
  BundleFiles files;
};

inline Bundle Read(const std::string& path) { return {ReadBundleFiles(path)}; }

class WitnessedEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::ofstream(dir_ + "/policy.yaml") << kPolicy;
    log_vkey_ = LogVkey(dir_);
    witness_.dir = dir_;
    ASSERT_TRUE(witness_.Start(log_vkey_, FreeLoopbackPort()).ok())
        << ReadAll(dir_ + "/witness.log");
  }

  std::vector<std::string> DaemonFlags(const std::string& witness_address) {
    return {"--policy",
            dir_ + "/policy.yaml",
            "--judge-delay",
            "0s",
            "--log-origin",
            kOrigin,
            "--witness",
            StrCat("http://", witness_address, ",", witness_.vkey),
            "--witness-retry-max",
            "1s"};
  }

  ctl::VerifyOptions Options(bool with_witness = true) {
    ctl::VerifyOptions o;
    o.pubkey_pem = ReadAll(dir_ + "/key.pem");
    if (with_witness) o.witnesses.push_back(*note::ParseVerifierKey(witness_.vkey));
    return o;
  }

  // The exit code of tests/tools/verify_bundle.py, a second verifier
  // written from docs/bundle.md alone, on the bundle at `path`.
  int Independent(const std::string& path, bool with_witness = true) {
    std::vector<std::string> argv = {"/usr/bin/python3", SourcePath("tests/tools/verify_bundle.py"),
                                     path, "--pubkey", dir_ + "/key.pem"};
    if (with_witness) {
      argv.push_back("--witness-key");
      argv.push_back(witness_.vkey);
    }
    std::string out, err;
    const int rc = RunTool(argv, dir_, &out, &err);
    if (rc == 2) ADD_FAILURE() << "verify_bundle.py usage: " << err;
    return rc;
  }

  // Re-signs `last` (the final state line, edited) as the operator can:
  // the log's root over every state recomputed, the note signed with
  // attestd's own key; the witness's old cosignature kept, now stale.
  void Resign(std::vector<std::string>& lines, Json& last) {
    std::vector<std::string> leaves;
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      leaves.push_back(
          evidence::merkle::LeafHash(Json::Parse(lines[i])->Find("state")->Canonical()));
    }
    leaves.push_back(evidence::merkle::LeafHash(last.Find("state")->Canonical()));
    auto old_note = note::Parse(last.Find("note")->as_string());
    ASSERT_TRUE(old_note.ok());
    auto key = evidence::SigningKey::LoadOrCreate(dir_ + "/data/checkpoint-signing.key");
    ASSERT_TRUE(key.ok());
    note::Note resigned;
    resigned.text = note::Checkpoint{
        kOrigin,
        leaves.size(),
        evidence::merkle::Root(leaves, leaves.size()),
        {}}.Format();
    resigned.signatures.push_back({kOrigin,
                                   note::KeyId(kOrigin, note::kEd25519, (*key)->raw_public_key()),
                                   (*key)->Sign(resigned.text)});
    for (const auto& sig : old_note->signatures) {
      if (sig.name == kWitnessName) resigned.signatures.push_back(sig);
    }
    last["note"] = Json(resigned.Format());
    lines.back() = last.Canonical();
  }

  // The failure of verifying `b` ("" when it verifies).
  std::string Failure(const Bundle& b, const ctl::VerifyOptions& options) {
    const std::string path = dir_ + "/forged.tar";
    auto tar = ctl::TarWriter::Create(path);
    EXPECT_TRUE(tar.ok());
    for (const char* name :
         {"records.jsonl", "ledger.jsonl", "states.jsonl", "manifest.json", "public-key.pem"}) {
      EXPECT_TRUE(tar->Add(name, b.files.at(name)).ok());
    }
    EXPECT_TRUE(tar->Close().ok());
    auto r = ctl::VerifyBundle(path, options);
    return r.ok() ? "" : std::string(r.status().message());
  }

  std::string dir_;
  std::string log_vkey_;
  WitnessProcess witness_;
};

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_WITNESSED_FIXTURE_H_
