// Evidence that holds against the operator (docs/bundle.md), end to end:
// a real attestd sends its checkpoints to a real attest-witness over HTTP;
// `attestctl export` bundles a window and `attestctl verify --witness-key`
// accepts it. Each forgery an operator could attempt fails with a message
// that names it: a host left out or relabeled, a decision forged,
// backdated, inserted or loosened, an edited manifest, a false
// access-change commitment, and a ledger re-signed with attestd's own key.
#include "tests/witnessed_fixture.h"

namespace attest::testing_support {
namespace {

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

}  // namespace
}  // namespace attest::testing_support
