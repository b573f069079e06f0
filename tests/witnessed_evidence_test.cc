// Evidence that holds against the operator (docs/bundle.md, format 2),
// end to end: a real attestd sends its checkpoints to a real
// attest-witness over HTTP; `attestctl export` bundles a window and
// `attestctl verify --witness-key` accepts it. Each forgery an operator
// could attempt fails with a message that names it: a host left out or
// relabeled, a decision forged, backdated, inserted or loosened, an edited
// manifest, a ledger re-signed with attestd's own key, and a copy of the
// store whose new history the witness refuses. A witness that cannot be
// reached delays only its cosignature; evidence that arrives after an
// outage verifies and is reported late.
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
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {
namespace {

namespace note = evidence::note;
namespace ts = testing_signals;

constexpr char kOrigin[] = "attest.test/prod";
constexpr char kWitnessName[] = "witness.test/w1";

const std::string kPolicy = TestPolicyQ1();

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
std::string LogVkey(const std::string& dir) {
  DaemonHarness first(dir, nullptr, {"--log-origin", kOrigin});
  EXPECT_TRUE(first.Start().ok()) << ReadAll(first.log_path());
  std::string out;
  EXPECT_EQ(Attestctl(first.address(), dir, {"signing-key", "--vkey"}, &out), 0);
  EXPECT_TRUE(first.Stop().ok());
  return std::string(TrimWhitespace(out));
}

struct Bundle {
  std::map<std::string, std::string> files;
};

Bundle Read(const std::string& path) {
  Bundle b;
  EXPECT_TRUE(ctl::ReadTar(path, [&](const std::string& name, uint64_t size,
                                     const ctl::TarChunkReader& read) {
                std::string data(size, '\0');
                read(data.data(), size);
                if (name == ctl::kCompressedRecordsEntry) {
                  // Edited as records.jsonl, which format 3 also allows.
                  auto plain = ctl::DecodeFrames(data);
                  if (!plain.ok()) return plain.status();
                  b.files[ctl::kRecordsEntry] = std::move(*plain);
                  return absl::OkStatus();
                }
                b.files[name] = std::move(data);
                return absl::OkStatus();
              }).ok());
  return b;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Rewrites ledger.jsonl from `entries`, re-linking every hash as a forger
// who knows the format would.
std::string Relink(std::vector<v1::LedgerEntry> entries) {
  std::string prev = evidence::GenesisHash();
  std::string out;
  for (size_t i = 0; i < entries.size(); ++i) {
    v1::LedgerEntry& e = entries[i];
    e.set_index(i + 1);
    e.set_prev_hash(prev);
    e.set_hash(evidence::LedgerHash(prev, e));
    prev = e.hash();
    out += evidence::CanonicalLedgerEntry(e, true) + "\n";
  }
  return out;
}

v1::BundleManifest ManifestOf(const Bundle& b) {
  v1::BundleManifest m;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(b.files.at("manifest.json"), &m).ok());
  return m;
}

void SetManifest(Bundle& b, const v1::BundleManifest& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string text;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &text, o).ok());
  b.files["manifest.json"] = text;
}

std::vector<v1::LedgerEntry> Entries(const Bundle& b) {
  std::vector<v1::LedgerEntry> out;
  for (const std::string& l : Lines(b.files.at("ledger.jsonl"))) {
    out.push_back(*evidence::ParseLedgerLine(l));
  }
  return out;
}

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

TEST_F(WitnessedEvidenceTest, AWitnessedBundleVerifiesAndEveryForgeryIsNamed) {
  DaemonHarness daemon(dir_, nullptr, DaemonFlags(witness_.address));
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  ASSERT_EQ(LoadSimulatedFleet(daemon.address(), dir_, 5, 7, 9, "2026-01-01T00:00:00Z"), "");
  std::string out, err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_,
                      {"except", "create", "--control", "patch-sla", "--host", "h0002", "--start",
                       "2026-01-02T00:00:00Z", "--end", "2026-01-05T00:00:00Z", "--reason",
                       "vendor", "--approver", "ciso", "--ticket", "RISK-1"},
                      &out, &err),
            0)
      << err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_,
                      {"hosts", "decommission", "h0005", "--at", "2026-01-05T00:00:00Z"}),
            0);
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"signing-key"}, &out), 0);
  std::ofstream(dir_ + "/key.pem") << out;
  // An auditor keeps a checkpoint from an earlier visit.
  const std::string early = dir_ + "/early.bundle.tar";
  ASSERT_EQ(
      Attestctl(daemon.address(), dir_, {"export", "--window", "q1", "--out", early}, &out, &err),
      0)
      << err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"checkpoint"}, &out), 0);
  std::ofstream(dir_ + "/known.txt") << out;
  ASSERT_NE(out.find(StrCat("\xe2\x80\x94 ", kWitnessName, " ")), std::string::npos)
      << "the kept checkpoint carries the witness's cosignature: " << out;

  const std::string bundle = dir_ + "/q1.tar";
  ASSERT_EQ(
      Attestctl(daemon.address(), dir_, {"export", "--window", "q1", "--out", bundle}, &out, &err),
      0)
      << err;
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "verify", bundle, "--pubkey", dir_ + "/key.pem",
                     "--witness-key", witness_.vkey, "--known-checkpoint", dir_ + "/known.txt"},
                    dir_, &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find(StrCat("cosigned by ", kWitnessName)), std::string::npos) << out;
  EXPECT_EQ(out.find("WARNING"), std::string::npos) << out;
  // Without witness keys it still verifies, and says what that is worth.
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "verify", bundle, "--pubkey", dir_ + "/key.pem"},
                    dir_, &out, &err),
            0);
  EXPECT_NE(out.find("WARNING: no --witness-key: only the operator's own signature was checked"),
            std::string::npos)
      << out;
  // A witness key that did not cosign it, in the vkey format.
  {
    WitnessProcess other;
    other.dir = dir_ + "/other";
    std::filesystem::create_directories(other.dir);
    ASSERT_EQ(RunTool({BinaryPath("attest-witness"), "init", "--key", other.dir + "/k", "--name",
                       "witness.test/w2"},
                      dir_, &out),
              0);
    EXPECT_EQ(RunTool({BinaryPath("attestctl"), "verify", bundle, "--pubkey", dir_ + "/key.pem",
                       "--witness-key", std::string(TrimWhitespace(out))},
                      dir_, &out, &err),
              1);
    EXPECT_NE(err.find("no valid cosignature by witness witness.test/w2"), std::string::npos)
        << err;
  }

  // A long log: attestctl pages through it (16 full states or 10,000
  // leaves a call), and a window that starts after most of it carries
  // only their leaves. Both verifiers accept the result.
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(Attestctl(daemon.address(), dir_, {"checkpoint", "--create"}, &out, &err), 0) << err;
  }
  ASSERT_EQ(
      Attestctl(
          daemon.address(), dir_,
          {"windows", "create", "later", "--start",
           FormatRfc3339(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 3600)), "--end",
           FormatRfc3339(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 7200))},
          &out, &err),
      0)
      << err;
  const std::string later = dir_ + "/later.tar";
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"export", "--window", "later", "--out", later}, &out,
                      &err),
            0)
      << err;
  {
    const Bundle b = Read(later);
    const auto states = Lines(b.files.at("states.jsonl"));
    EXPECT_GT(states.size(), 40u);
    EXPECT_EQ(states.front().find("\"heads\""), std::string::npos)
        << "an early state: its leaf only";
    EXPECT_NE(states.back().find("\"heads\""), std::string::npos);
  }
  EXPECT_EQ(RunTool({BinaryPath("attestctl"), "verify", later, "--pubkey", dir_ + "/key.pem",
                     "--witness-key", witness_.vkey, "--known-checkpoint", dir_ + "/known.txt"},
                    dir_, &out, &err),
            0)
      << out << err;
  EXPECT_EQ(Independent(later), 0);

  const Bundle good = Read(bundle);
  const ctl::VerifyOptions with = Options();
  ASSERT_EQ(Failure(good, with), "") << "an untouched rewrite verifies";
  EXPECT_EQ(Independent(bundle), 0) << "the independent verifier accepts what attestctl accepts";
  auto expect = [&](const Bundle& b, const std::string& what, const std::string& why) {
    const std::string f = Failure(b, with);
    EXPECT_NE(f.find(why), std::string::npos) << what << ": " << (f.empty() ? "verified" : f);
    // Both verifiers agree.
    EXPECT_EQ(Independent(dir_ + "/forged.tar"), 1) << what << ": the independent verifier";
  };

  // A host left out: its records and its manifest entry removed.
  {
    Bundle b = good;
    std::vector<std::string> kept;
    for (const std::string& l : Lines(b.files["records.jsonl"])) {
      if (l.find("\"host\":\"h0003\"") == std::string::npos) kept.push_back(l);
    }
    b.files["records.jsonl"] = Join(kept);
    v1::BundleManifest m = ManifestOf(b);
    v1::BundleManifest without = m;
    without.clear_hosts();
    for (const auto& h : m.hosts()) {
      if (h.host() != "h0003") *without.add_hosts() = h;
    }
    ASSERT_EQ(without.hosts_size() + 1, m.hosts_size());
    SetManifest(b, without);
    expect(b, "host omitted", "host h0003 is in window q1's scope");
  }
  // A host relabeled out of scope in the signed state.
  {
    Bundle b = good;
    auto lines = Lines(b.files["states.jsonl"]);
    std::string& last = lines.back();
    const size_t at = last.find("\"host\":\"h0003\",\"labels\":{");
    ASSERT_NE(at, std::string::npos) << last.substr(0, 400);
    last.insert(at + std::string("\"host\":\"h0003\",\"labels\":{").size(), "\"decoy\":\"x\",");
    b.files["states.jsonl"] = Join(lines);
    expect(b, "host relabeled", "do not match the state's heads root");
  }
  // Forged decisions in the ledger, re-linked.
  std::vector<v1::LedgerEntry> entries = Entries(good);
  {
    v1::LedgerEntry approval;
    for (const auto& e : entries) {
      if (e.has_approval()) approval = e;
    }
    ASSERT_TRUE(approval.has_approval()) << "the simulated fleet has approvals";
    approval.mutable_approval()->set_approver("mallory");
    auto forged = entries;
    forged.push_back(approval);
    Bundle b = good;
    b.files["ledger.jsonl"] = Relink(forged);
    expect(b, "approval forged", "decisions were added or removed");
    // Backdated: an existing approval given earlier.
    forged = entries;
    for (auto& e : forged) {
      if (e.has_approval()) {
        e.mutable_approval()->mutable_approved_at()->set_seconds(
            e.approval().approved_at().seconds() - 86400);
        break;
      }
    }
    b.files["ledger.jsonl"] = Relink(forged);
    expect(b, "approval backdated", "with another head: a decision was changed");
    // An exception extended.
    forged = entries;
    for (auto& e : forged) {
      if (e.has_exception()) e.mutable_exception()->mutable_end()->set_seconds(1'800'000'000);
    }
    b.files["ledger.jsonl"] = Relink(forged);
    expect(b, "exception extended", "a decision was changed");
    // An exception and a decommission inserted before the last entry.
    for (const char* kind : {"exception", "decommission"}) {
      forged = entries;
      v1::LedgerEntry x = entries.back();
      if (std::string(kind) == "exception") {
        x.mutable_exception()->set_id("EX-99");
        x.mutable_exception()->set_control("*");
        x.mutable_exception()->set_host("h0001");
      } else {
        x.mutable_decommission()->set_host("h0001");
        x.mutable_decommission()->mutable_at()->set_seconds(1'767'225'600);
      }
      forged.insert(forged.end() - 1, x);
      b.files["ledger.jsonl"] = Relink(forged);
      expect(b, std::string(kind) + " inserted", "decisions were added or removed");
    }
    // A policy's thresholds loosened.
    forged = entries;
    for (auto& e : forged) {
      if (e.has_policy_version()) {
        std::string src = e.policy_version().source();
        src += "\n# loosened\n";
        e.mutable_policy_version()->set_source(src);
      }
    }
    b.files["ledger.jsonl"] = Relink(forged);
    expect(b, "policy loosened", "a decision was changed");
  }
  // The window's start moved in the manifest.
  {
    Bundle b = good;
    v1::BundleManifest m = ManifestOf(b);
    m.mutable_window()->mutable_start()->set_seconds(m.window().start().seconds() + 86400);
    SetManifest(b, m);
    expect(b, "window moved", "is not the one in the ledger");
  }
  // The manifest's head and last index.
  for (int field = 0; field < 2; ++field) {
    Bundle b = good;
    v1::BundleManifest m = ManifestOf(b);
    if (field == 0) {
      m.mutable_hosts(0)->set_last_index(m.hosts(0).last_index() - 1);
    } else {
      std::string head = m.hosts(0).head();
      head[0] = head[0] == '0' ? '1' : '0';
      m.mutable_hosts(0)->set_head(head);
    }
    SetManifest(b, m);
    expect(b, field == 0 ? "last index edited" : "head edited", "is not the signed one");
  }
  // The operator re-signs a rewritten ledger with attestd's own key: the
  // states, the log's root and the note all recomputed and signed.
  {
    auto forged = entries;
    for (auto& e : forged) {
      if (e.has_approval()) e.mutable_approval()->set_ticket("CHG-FORGED");
    }
    Bundle b = good;
    b.files["ledger.jsonl"] = Relink(forged);
    const v1::LedgerEntry new_head =
        *evidence::ParseLedgerLine(Lines(b.files["ledger.jsonl"]).back());
    auto lines = Lines(b.files["states.jsonl"]);
    auto last = Json::Parse(lines.back());
    ASSERT_TRUE(last.ok());
    (*last)["state"]["ledger_head"] = Json(HexEncode(new_head.hash()));
    Resign(lines, *last);
    b.files["states.jsonl"] = Join(lines);
    expect(b, "re-signed by the operator", "no valid cosignature by witness witness.test/w1");
    // With only attestd's key, the forgery passes: what the warning says.
    EXPECT_EQ(Failure(b, Options(/*with_witness=*/false)), "");
    EXPECT_EQ(Independent(dir_ + "/forged.tar", /*with_witness=*/false), 0);
  }
  // The operator hides an access change from the signed state's
  // commitment (attest-state-v2), re-signing with attestd's own key: the
  // chain in the bundle folds to another count, even without witnesses.
  {
    Bundle b = good;
    auto lines = Lines(b.files["states.jsonl"]);
    auto last = Json::Parse(lines.back());
    ASSERT_TRUE(last.ok());
    ASSERT_EQ(last->Find("state")->Find("format")->as_string(), "attest-state-v2");
    std::string host;
    std::vector<std::string> head_leaves;
    for (Json& h : (*last)["heads"].as_array()) {
      if (host.empty() && h.Find("access_changes")->as_uint() > 0u) {
        host = h.Find("host")->as_string();
        h["access_changes"] = Json(*h.Find("access_changes")->as_uint() - 1);
      }
      head_leaves.push_back(evidence::merkle::LeafHash(h.Canonical()));
    }
    ASSERT_FALSE(host.empty()) << "the fleet made access changes";
    (*last)["state"]["heads_root"] =
        Json(HexEncode(evidence::merkle::Root(head_leaves, head_leaves.size())));
    Resign(lines, *last);
    b.files["states.jsonl"] = Join(lines);
    const std::string f = Failure(b, Options(/*with_witness=*/false));
    EXPECT_NE(f.find("access changes of host " + host), std::string::npos) << f;
    EXPECT_NE(f.find("access-change commitment is false"), std::string::npos) << f;
    EXPECT_EQ(Independent(dir_ + "/forged.tar", /*with_witness=*/false), 1);
  }
  EXPECT_TRUE(daemon.Stop().ok());
}

// The operator copies the store, approves on the copy, and exports: the
// copy's new checkpoint forks the log the witness has seen, so the witness
// refuses it and the bundle carries no cosignature it could pass with.
TEST_F(WitnessedEvidenceTest, ACopyOfTheStoreWithNewDecisionsIsRefusedByTheWitness) {
  DaemonHarness daemon(dir_, nullptr, DaemonFlags(witness_.address));
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  ASSERT_EQ(LoadSimulatedFleet(daemon.address(), dir_, 3, 7, 4, "2026-01-01T00:00:00Z"), "");
  std::string out, err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"signing-key"}, &out), 0);
  std::ofstream(dir_ + "/key.pem") << out;
  ASSERT_EQ(
      Attestctl(daemon.address(), dir_, {"export", "--window", "q1", "--out", dir_ + "/a.tar"}), 0);
  ASSERT_TRUE(daemon.Stop().ok());
  // The copy, taken while attestd is stopped, as a backup would be.
  const std::string copy = dir_ + "/copy";
  std::filesystem::create_directories(copy);
  std::filesystem::copy(daemon.data_dir(), copy + "/data",
                        std::filesystem::copy_options::recursive);
  std::ofstream(copy + "/policy.yaml") << kPolicy;
  // The real attestd goes on: its next checkpoint is cosigned.
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_EQ(
      Attestctl(daemon.address(), dir_, {"export", "--window", "q1", "--out", dir_ + "/b.tar"}), 0);
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "verify", dir_ + "/b.tar", "--pubkey",
                     dir_ + "/key.pem", "--witness-key", witness_.vkey},
                    dir_, &out, &err),
            0)
      << out << err;
  // The copy, with the same key and witness, excepts the failing host.
  auto flags = DaemonFlags(witness_.address);
  flags[1] = copy + "/policy.yaml";
  DaemonHarness forger(copy, nullptr, flags);
  ASSERT_TRUE(forger.Start().ok()) << ReadAll(forger.log_path());
  ASSERT_EQ(Attestctl(forger.address(), copy,
                      {"except", "create", "--control", "access-approved", "--host", "h0001",
                       "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-08T00:00:00Z",
                       "--reason", "forged", "--approver", "nobody", "--ticket", "NONE"},
                      &out, &err),
            0)
      << err;
  ASSERT_EQ(
      Attestctl(forger.address(), copy,
                {"export", "--window", "q1", "--out", copy + "/forged.tar", "--witness-wait", "0s"},
                &out, &err),
      0)
      << err;
  EXPECT_NE(err.find("not cosigned yet by witness.test/w1"), std::string::npos) << err;
  EXPECT_EQ(RunTool({BinaryPath("attestctl"), "verify", copy + "/forged.tar", "--pubkey",
                     dir_ + "/key.pem", "--witness-key", witness_.vkey},
                    dir_, &out, &err),
            1)
      << out;
  EXPECT_NE(err.find("no valid cosignature by witness witness.test/w1"), std::string::npos) << err;
  // The witness says why, and the forging attestd shows it.
  EXPECT_TRUE(Eventually(
      [&] {
        return Attestctl(forger.address(), copy, {"status", "--format", "json"}, &out) == 0 &&
               out.find("the log forked") != std::string::npos;
      },
      absl::Seconds(30)))
      << out;
  EXPECT_NE(ReadAll(dir_ + "/witness.log").find("refused a fork"), std::string::npos)
      << ReadAll(dir_ + "/witness.log");
  EXPECT_TRUE(forger.Stop().ok());
  EXPECT_TRUE(daemon.Stop().ok());
}

// While the witness cannot be reached attestd ingests as usual; the
// cosignature arrives once it can, and /metrics and status show the gap
// meanwhile.
TEST_F(WitnessedEvidenceTest, AnUnreachableWitnessDelaysOnlyItsCosignature) {
  const int port = FreeLoopbackPort();
  witness_.Stop();
  auto flags = DaemonFlags(StrCat("127.0.0.1:", port));
  flags.push_back("--metrics-listen");
  flags.push_back("127.0.0.1:0");
  DaemonHarness daemon(dir_, nullptr, flags);
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  TestAgent agent(DaemonHarness::InsecureChannelTo(daemon.address()));
  ASSERT_TRUE(agent.Hello(ts::Hello("live-1", "inst-1")));
  uint64_t acked = 0;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    ASSERT_TRUE(agent.Send({ts::Heartbeat(seq, absl::Now())}, &acked));
  }
  EXPECT_EQ(acked, 50u);
  std::string out, err;
  ASSERT_EQ(
      Attestctl(daemon.address(), dir_,
                {"export", "--window", "q1", "--out", dir_ + "/a.tar", "--witness-wait", "0s"},
                &out, &err),
      0)
      << err;
  auto behind = [&](double* value) {
    auto r = HttpRequest("GET", *ParseHttpUrl("http://" + daemon.metrics_address()), "/metrics");
    if (!r.ok()) return false;
    const std::string name = "attest_witness_behind_checkpoints{witness=\"witness.test/w1\"} ";
    const size_t at = r->body.find(name);
    if (at == std::string::npos) return false;
    *value = std::stod(r->body.substr(at + name.size()));
    return true;
  };
  double value = 0;
  ASSERT_TRUE(Eventually([&] { return behind(&value) && value > 0; }, absl::Seconds(30)));
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"status", "--format", "json"}, &out), 0);
  EXPECT_NE(out.find("\"cosigned_sequence\":0"), std::string::npos) << out;
  // The witness comes up on its port; the next retry is cosigned.
  ASSERT_TRUE(witness_.Start(log_vkey_, port).ok()) << ReadAll(dir_ + "/witness.log");
  ASSERT_TRUE(Eventually([&] { return behind(&value) && value == 0; }, absl::Seconds(60)))
      << ReadAll(daemon.log_path());
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"checkpoint"}, &out), 0);
  EXPECT_NE(out.find(StrCat("\xe2\x80\x94 ", kWitnessName, " ")), std::string::npos) << out;
  // Ingest went on throughout.
  for (uint64_t seq = 51; seq <= 60; ++seq) {
    ASSERT_TRUE(agent.Send({ts::Heartbeat(seq, absl::Now())}, &acked));
  }
  EXPECT_EQ(acked, 60u);
  EXPECT_TRUE(agent.Finish().ok());
  EXPECT_TRUE(daemon.Stop().ok());
}

// An agent that was cut off for two days sends what it spooled: verify
// accepts the bundle and reports those records as late, with how late.
TEST_F(WitnessedEvidenceTest, EvidenceThatArrivesAfterATwoDayOutageVerifiesAndIsShownLate) {
  const absl::Time now = absl::Now();
  const int64_t today = absl::ToUnixSeconds(now) / 86400 * 86400;
  std::ofstream(dir_ + "/policy.yaml")
      << kTestControls << "windows:\n  - {id: now, start: "
      << FormatRfc3339(absl::FromUnixSeconds(today - 5 * 86400))
      << ", end: " << FormatRfc3339(absl::FromUnixSeconds(today + 2 * 86400)) << "}\n";
  DaemonHarness daemon(dir_, nullptr, DaemonFlags(witness_.address));
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  TestAgent agent(DaemonHarness::InsecureChannelTo(daemon.address()));
  ASSERT_TRUE(agent.Hello(ts::Hello("late-1", "inst-1")));
  uint64_t acked = 0;
  uint64_t seq = 0;
  // Spooled during the outage, two days ago: a heartbeat a minute.
  for (int m = 0; m < 60; ++m) {
    ASSERT_TRUE(
        agent.Send({ts::Heartbeat(++seq, now - absl::Hours(48) + absl::Minutes(m))}, &acked));
  }
  for (int m = 0; m < 10; ++m) {
    ASSERT_TRUE(agent.Send({ts::Heartbeat(++seq, now - absl::Minutes(10 - m))}, &acked));
  }
  EXPECT_EQ(acked, seq);
  EXPECT_TRUE(agent.Finish().ok());
  std::string out, err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_, {"signing-key"}, &out), 0);
  std::ofstream(dir_ + "/key.pem") << out;
  ASSERT_EQ(Attestctl(daemon.address(), dir_,
                      {"export", "--window", "now", "--out", dir_ + "/n.tar"}, &out, &err),
            0)
      << err;
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "verify", dir_ + "/n.tar", "--pubkey",
                     dir_ + "/key.pem", "--witness-key", witness_.vkey},
                    dir_, &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("; 60 committed more than 26 h after they were observed"), std::string::npos)
      << out;
  EXPECT_NE(out.find("late evidence, 0 of it imported; the latest, late-1 record 2, by 48."),
            std::string::npos)
      << out;
  // A window that ended a day ago holds the spooled records: committed a
  // day after its end, within the default 7 days, so they verify; an
  // auditor who allows 12 hours refuses them, naming the first.
  ASSERT_EQ(Attestctl(daemon.address(), dir_,
                      {"windows", "create", "ended", "--start",
                       FormatRfc3339(absl::FromUnixSeconds(today - 5 * 86400)), "--end",
                       FormatRfc3339(now - absl::Hours(24))},
                      &out, &err),
            0)
      << err;
  ASSERT_EQ(Attestctl(daemon.address(), dir_,
                      {"export", "--window", "ended", "--out", dir_ + "/e.tar"}, &out, &err),
            0)
      << err;
  const std::vector<std::string> verify_ended = {
      BinaryPath("attestctl"), "verify",        dir_ + "/e.tar", "--pubkey",
      dir_ + "/key.pem",       "--witness-key", witness_.vkey};
  EXPECT_EQ(RunTool(verify_ended, dir_, &out, &err), 0) << err;
  auto strict = verify_ended;
  strict.push_back("--max-lateness");
  strict.push_back("12h");
  EXPECT_EQ(RunTool(strict, dir_, &out, &err), 1) << out;
  EXPECT_NE(err.find("host late-1 record 2 (observed"), std::string::npos) << err;
  EXPECT_NE(err.find("after the window ended (--max-lateness 12h0m)"), std::string::npos) << err;
  EXPECT_TRUE(daemon.Stop().ok());
}

// The witness's HTTP interface refuses what it cannot use with the
// status the specification gives, and stores nothing.
TEST_F(WitnessedEvidenceTest, TheWitnessRefusesBadRequestsOverHttp) {
  const HttpUrl url = *ParseHttpUrl("http://" + witness_.address);
  struct Case {
    std::string method, target, body;
    int status;
  } cases[] = {
      {"POST", "/add-checkpoint", "", 400},
      {"POST", "/add-checkpoint", "old 0\n\nnot a note\n", 400},
      {"POST", "/add-checkpoint",
       "old 0\n\nother.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
       "\xe2\x80\x94 other.example/log "
       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
       "=\n",
       404},
      {"POST", "/add-checkpoint",
       StrCat("old 0\n\n", kOrigin,
              "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 ", kOrigin,
              " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
              "AAAAAAAA=\n"),
       403},
      {"POST", "/add-checkpoint", std::string(200 << 10, 'x'), 413},
      {"GET", "/add-checkpoint", "", 405},
      {"GET", StrCat("/", std::string(64, 'a'), "/checkpoint"), "", 404},
      {"GET", "/", "", 404},
  };
  for (const Case& c : cases) {
    auto r = HttpRequest(c.method, url, c.target, c.body, "text/plain");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, c.status)
        << c.method << " " << c.target << " " << c.body.substr(0, 60) << ": " << r->body;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/witness-state/" +
                                       HexEncode(evidence::Sha256(kOrigin)) + ".checkpoint"));
}

}  // namespace
}  // namespace attest::testing_support
