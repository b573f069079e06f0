// Window-sized bundles (format 5) end to end: a real attestd whose clock
// the test moves (ATTESTD_TEST_CLOCK_FILE) takes a simulated fleet's year
// of history a month, then a day, at a time, signing a state after each
// step. `attestctl export --window-sized` starts each host at a signed
// state shortly before the window; both verifiers accept the bundle, it
// gives the same figures as the whole-chain bundle at a fraction of the
// size, and every way of cutting a host's history short is refused, named.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/time/clock.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/bundle.h"
#include "ctl/listing.h"
#include "ctl/tar.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"
#include "tests/witnessed_fixture.h"

namespace attest::testing_support {
namespace {

constexpr char kWindowStart[] = "2026-01-02T00:00:00Z";

// Records of one interchange line: its host and when it was observed.
struct Line {
  std::string host;
  int64_t observed = 0;
  std::string text;
};

std::string Field(const std::string& line, const std::string& key) {
  const std::string open = "\"" + key + "\":\"";
  const size_t at = line.find(open);
  if (at == std::string::npos) return "";
  const size_t from = at + open.size();
  return line.substr(from, line.find('"', from) - from);
}

int64_t Seconds(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? absl::ToUnixSeconds(*t) : 0;
}

struct Fleet {
  std::string dir;
  std::string key;    // attestd's public key (PEM), as a file
  std::string whole;  // the window's bundle with whole chains
  std::string sized;  // --window-sized
  std::string sized_stderr;
  std::string sized_from_whole;  // --window-sized, the pick from every whole chain's replay
  std::string sized_from_whole_stderr;
  std::string witness_vkey;  // the witness that cosigned every state
  std::string failure;       // what went wrong setting it up
};

// An access review of every host, started and completed (every entry
// kept) at attestd's time: before it, the review control fails each host
// from 90 days after its enrolment; after it, the hosts pass through the
// window, and a window-sized bundle must carry the campaign's population
// and replay it from the hosts' suffixes. "" when it was made.
constexpr char kReviewAt[] = "2025-11-01T00:00:00Z";
// An exception for h0002's patch SLA across the window's start, recorded
// days before it: the replays set their clocks back to it.
constexpr char kExceptAt[] = "2025-12-28T00:00:00Z";

std::string Review(const std::string& address, const std::string& dir) {
  std::string out, err;
  if (Attestctl(address, dir,
                {"review", "start", "--id", "R-2025", "--window", "jan", "--due",
                 "2025-11-15T00:00:00Z", "--reviewer", "carol"},
                &out, &err) != 0) {
    return "review start: " + err;
  }
  if (Attestctl(address, dir, {"review", "export", "--campaign", "R-2025"}, &out, &err) != 0) {
    return "review export: " + err;
  }
  auto rows = ctl::ParseCsv(out);
  if (!rows.ok() || rows->size() < 2) return "review export: no entries: " + out;
  for (size_t i = 1; i < rows->size(); ++i) {
    if (Attestctl(address, dir,
                  {"review", "decide", "--campaign", "R-2025", "--entry", (*rows)[i].fields[1],
                   "--keep", "--reviewer", "carol", "--reason", "still needed"},
                  &out, &err) != 0) {
      return "review decide: " + err;
    }
  }
  return "";
}

// The fleet: 2 hosts, a year of history before a 10-day window, taken in
// month by month to December, then day by day, then the window in two
// steps, with attestd's clock at each step's end and a checkpoint made
// there, which a witness on the same clock cosigns before time moves on.
// The simulated agents' approvals are recorded at the end.
Fleet* MakeFleet() {
  auto* f = new Fleet;
  f->dir = FreshDir("window_sized_bundle");
  const std::string& dir = f->dir;
  std::ofstream(dir + "/policy.yaml")
      << kTestControls
      << "  - {id: access-review, tsc: [CC6.2], rule: access.review_performed,\n"
         "     params: {cadence: 90d, due_grace: 7d, revoke_within: 7d}}\n"
      << "windows:\n  - {id: jan, start: " << kWindowStart << ", end: 2026-01-12T00:00:00Z}\n";
  std::string out, err;
  if (RunTool({BinaryPath("attestctl"), "simulate", "--hosts", "2", "--days", "376", "--seed", "7",
               "--start", "2025-01-01T00:00:00Z", "--out", dir + "/fleet.jsonl"},
              dir, &out, &err) != 0) {
    f->failure = "simulate: " + err;
    return f;
  }
  std::map<std::string, std::vector<Line>> hosts;
  {
    std::ifstream in(dir + "/fleet.jsonl");
    for (std::string l; std::getline(in, l);) {
      Line line{Field(l, "host"), Seconds(Field(l, "observed_at")), l + "\n"};
      hosts[line.host].push_back(std::move(line));
    }
  }
  std::vector<int64_t> steps;
  for (int month = 2; month <= 12; ++month) {
    steps.push_back(Seconds(StrCat("2025-", month < 10 ? "0" : "", month, "-01T00:00:00Z")));
  }
  for (int64_t t = Seconds("2025-12-02T00:00:00Z"); t <= Seconds(kWindowStart); t += 86400) {
    steps.push_back(t);
  }
  steps.push_back(Seconds("2026-01-07T00:00:00Z"));
  steps.push_back(Seconds("2026-01-12T00:00:00Z"));
  steps.push_back(Seconds("2026-01-12T06:00:00Z"));
  const std::string clock = dir + "/clock";
  auto set_clock = [&](int64_t t) {
    std::ofstream(clock + ".tmp") << t << "\n";
    std::filesystem::rename(clock + ".tmp", clock);
  };
  set_clock(Seconds("2025-01-01T00:00:00Z"));
  // The log's key, made before attestd first starts, for the witness.
  if (RunTool({BinaryPath("attestd"), "--print-verifier-key", "--data-dir", dir + "/data",
               "--log-origin", kOrigin},
              dir, &out, &err) != 0) {
    f->failure = "attestd --print-verifier-key: " + err;
    return f;
  }
  const std::string log_vkey(TrimWhitespace(out));
  setenv("ATTEST_WITNESS_TEST_CLOCK_FILE", clock.c_str(), 1);
  static WitnessProcess* witness = nullptr;  // lives as long as the suite
  witness = new WitnessProcess{.dir = dir};
  absl::Status witnessing = witness->Start(log_vkey, FreeLoopbackPort());
  unsetenv("ATTEST_WITNESS_TEST_CLOCK_FILE");
  if (!witnessing.ok()) {
    f->failure = StrCat("attest-witness: ", witnessing.message(), ReadAll(dir + "/witness.log"));
    return f;
  }
  f->witness_vkey = witness->vkey;
  setenv("ATTESTD_TEST_CLOCK_FILE", clock.c_str(), 1);
  static DaemonHarness* daemon = nullptr;  // lives as long as the suite's files
  daemon = new DaemonHarness(
      dir, nullptr,
      {"--policy", dir + "/policy.yaml", "--judge-delay", "0s", "--log-origin", kOrigin,
       "--witness", StrCat("http://", witness->address, ",", witness->vkey), "--witness-retry-max",
       "1s"});
  absl::Status started = daemon->Start();
  unsetenv("ATTESTD_TEST_CLOCK_FILE");
  if (!started.ok()) {
    f->failure = StrCat("attestd: ", started.message());
    return f;
  }
  std::map<std::string, size_t> next;
  for (int64_t step : steps) {
    // Each host's records up to the step, in chain order, observed before
    // attestd's clock (so none is dated ahead of its receipt).
    std::string chunk;
    for (auto& [host, lines] : hosts) {
      size_t& i = next[host];
      for (; i < lines.size() && lines[i].observed < step; ++i) chunk += lines[i].text;
    }
    set_clock(step);
    std::ofstream(dir + "/chunk.jsonl") << chunk;
    if (Attestctl(daemon->address(), dir, {"import", dir + "/chunk.jsonl"}, &out, &err) != 0 ||
        Attestctl(daemon->address(), dir, {"checkpoint", "--create"}, &out, &err) != 0) {
      f->failure = StrCat("at ", step, ": ", err);
      return f;
    }
    // The witness cosigns the new checkpoint (its size is the note's
    // second line) at this step's time: attestd sends it at once, but the
    // export's wait for it would come after the clock had moved on.
    const std::vector<std::string> note_lines = Lines(out);
    const std::string sequence = note_lines.size() > 1 ? note_lines[1] : "";
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (Attestctl(daemon->address(), dir, {"checkpoint", "--sequence", sequence}, &out, &err) ==
               0 &&
           out.find(StrCat("\xe2\x80\x94 ", kWitnessName, " ")) == std::string::npos) {
      if (absl::Now() > until) {
        f->failure = StrCat("checkpoint ", sequence, " was not cosigned: ", out, err);
        return f;
      }
    }
    if (step == Seconds(kExceptAt) &&
        Attestctl(daemon->address(), dir,
                  {"except", "create", "--control", "patch-sla", "--host", "h0002", "--start",
                   "2025-12-30T00:00:00Z", "--end", "2026-01-04T00:00:00Z", "--reason",
                   "vendor fix pending", "--approver", "ciso", "--ticket", "RISK-7"},
                  &out, &err) != 0) {
      f->failure = "except create: " + err;
      return f;
    }
    if (step == Seconds(kReviewAt)) {
      if (std::string failed = Review(daemon->address(), dir); !failed.empty()) {
        f->failure = StrCat("review at ", kReviewAt, ": ", failed);
        return f;
      }
    }
  }
  if (Attestctl(daemon->address(), dir, {"approve", "--from-file", dir + "/fleet.jsonl.approvals"},
                &out, &err) != 0 ||
      Attestctl(daemon->address(), dir, {"signing-key"}, &out, &err) != 0) {
    f->failure = "approve or signing-key: " + err;
    return f;
  }
  f->key = dir + "/key.pem";
  std::ofstream(f->key) << out;
  f->whole = dir + "/whole.tar";
  f->sized = dir + "/sized.tar";
  if (Attestctl(daemon->address(), dir, {"export", "--window", "jan", "--out", f->whole}, &out,
                &err) != 0 ||
      Attestctl(daemon->address(), dir,
                {"export", "--window", "jan", "--out", f->sized, "--window-sized"}, &out,
                &f->sized_stderr) != 0) {
    f->failure = "export: " + err + f->sized_stderr;
    return f;
  }
  // The same export, its pick made from every whole chain's replay.
  f->sized_from_whole = dir + "/sized_from_whole.tar";
  setenv("ATTESTCTL_TEST_PICK_FROM_WHOLE_CHAINS", "1", 1);
  const int exported =
      Attestctl(daemon->address(), dir,
                {"export", "--window", "jan", "--out", f->sized_from_whole, "--window-sized"}, &out,
                &f->sized_from_whole_stderr);
  unsetenv("ATTESTCTL_TEST_PICK_FROM_WHOLE_CHAINS");
  if (exported != 0) {
    f->failure = "export (pick from whole chains): " + f->sized_from_whole_stderr;
    return f;
  }
  (void)daemon->Stop();
  witness->Stop();
  return f;
}

class WindowSizedBundleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fleet_ = MakeFleet(); }
  void SetUp() override { ASSERT_EQ(fleet_->failure, ""); }

  static absl::StatusOr<ctl::VerifyResult> Verify(const std::string& path) {
    ctl::VerifyOptions options;
    options.pubkey_pem = ReadAll(fleet_->key);
    options.witnesses.push_back(*note::ParseVerifierKey(fleet_->witness_vkey));
    return ctl::VerifyBundle(path, options);
  }
  // The failure message of verifying `files`, "" when they verify.
  static std::string Failure(const BundleFiles& files) {
    const std::string path = fleet_->dir + "/tampered.tar";
    WriteBundleFiles(files, path);
    auto r = Verify(path);
    return r.ok() ? "" : std::string(r.status().message());
  }

  static Fleet* fleet_;

  // The parts of the one test below: each checks the shared fleet's
  // bundles (its setup, a year through a real attestd, is most of the
  // cost, so it is made once per process, and ctest runs one process per
  // TEST).
  void GivesTheWholeChainsFiguresFromAFractionOfTheRecords();
  void AnEarlierAccessChangeLeftOutOrEditedIsNamed();
  void AHostStartedAnywhereButASignedHeadIsRefused();
  void TwoCopiesOfAnEntryAHostListedTwiceOrNoCarriedChangesAreRefused();
  void AHostStartedLaterThanTheRuleAllowsIsRefused();
};

Fleet* WindowSizedBundleTest::fleet_ = nullptr;

v1::BundleManifest Manifest(const BundleFiles& files) {
  v1::BundleManifest m;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(files.at("manifest.json"), &m).ok());
  return m;
}

void SetManifest(BundleFiles& files, const v1::BundleManifest& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &text, print).ok());
  files["manifest.json"] = text;
}

// Starts `host` at record `first`, with the time its start state existed
// left for verify to work out.
void SetFirstIndex(BundleFiles& files, const std::string& host, uint64_t first) {
  v1::BundleManifest m = Manifest(files);
  for (v1::BundleHost& h : *m.mutable_hosts()) {
    if (h.host() != host) continue;
    h.set_first_index(first);
    h.clear_start_existed();
  }
  SetManifest(files, m);
}

void WindowSizedBundleTest::GivesTheWholeChainsFiguresFromAFractionOfTheRecords() {
  auto sized = Verify(fleet_->sized);
  ASSERT_TRUE(sized.ok()) << sized.status();
  // attestd's ledger names its policy's judgement: format 6.
  EXPECT_EQ(sized->format, "attest-bundle-v6");
  // Every figure: verify recomputes the summary from the window-sized
  // records and compares it with the manifest's, which is attestd's, from
  // the whole chains; the whole bundle's manifest has the same one.
  // (Verifying the whole bundle too would show only that attestd's summary
  // follows from whole chains, which tests/bundle_e2e_test.cc shows; it is
  // left out to save test time.)
  const BundleFiles w = ReadBundleFiles(fleet_->whole);
  const BundleFiles s = ReadBundleFiles(fleet_->sized);
  const v1::BundleManifest whole = Manifest(w);
  EXPECT_EQ(whole.format(), "attest-bundle-v6");
  EXPECT_GT(whole.summary().controls_size(), 0);
  EXPECT_EQ(whole.summary().SerializeAsString(), Manifest(s).summary().SerializeAsString());
  // The review campaign is carried with its population, and its control
  // is judged: failing before the campaign, passing from it.
  ASSERT_TRUE(s.count("reviews.jsonl"));
  EXPECT_NE(s.at("reviews.jsonl").find("R-2025"), std::string::npos);
  EXPECT_EQ(s.at("reviews.jsonl"), w.at("reviews.jsonl"));
  EXPECT_NE(whole.summary().ShortDebugString().find("access-review"), std::string::npos)
      << whole.summary().ShortDebugString();
  // The exception holds h0002's patch-SLA failure off until its end.
  for (const v1::ControlSummary& c : whole.summary().controls()) {
    if (c.id() != "patch-sla") continue;
    ASSERT_EQ(c.deviations_size(), 1) << c.ShortDebugString();
    EXPECT_EQ(c.deviations(0).host(), "h0002");
    EXPECT_EQ(c.deviations(0).start().seconds(), Seconds("2026-01-04T00:00:00Z"));
    EXPECT_GT(c.seconds().excepted(), 0) << c.ShortDebugString();
  }
  // Every host starts at a signed state before the window, none at its
  // chain's start, and the bundle carries a small part of the chains.
  const std::vector<std::string> whole_lines = Lines(w.at("records.jsonl"));
  EXPECT_EQ(sized->suffix_hosts, 2u);
  EXPECT_GT(sized->carried_records, 0u);
  EXPECT_LT(sized->records * 5, whole_lines.size())
      << sized->records << " of " << whole_lines.size();
  EXPECT_LT(std::filesystem::file_size(fleet_->sized) * 5,
            std::filesystem::file_size(fleet_->whole));
  // The exporter replayed each host from a state before the window, not
  // from its whole chain, and picked the starts the whole chains' replay
  // picks. (Neither host here takes the first, 8-day replay: h0001 sent
  // nothing after 2025-12-09, so its head in that week's states was first
  // signed before the week, and h0002 has had openssl pending for longer.)
  EXPECT_NE(fleet_->sized_stderr.find("the pick replayed 0 from a state within 8 days of the "
                                      "window, 2 from a state within 92 days of the window, 0 "
                                      "from record 1"),
            std::string::npos)
      << fleet_->sized_stderr;
  EXPECT_NE(fleet_->sized_from_whole_stderr.find("the pick replayed 2 from record 1"),
            std::string::npos)
      << fleet_->sized_from_whole_stderr;
  const BundleFiles from_whole = ReadBundleFiles(fleet_->sized_from_whole);
  v1::BundleManifest a = Manifest(s), b = Manifest(from_whole);
  ASSERT_EQ(a.hosts_size(), b.hosts_size());
  for (int i = 0; i < a.hosts_size(); ++i) {
    EXPECT_EQ(a.hosts(i).SerializeAsString(), b.hosts(i).SerializeAsString()) << a.hosts(i).host();
  }
  EXPECT_EQ(s.at("records.jsonl"), from_whole.at("records.jsonl"));
  EXPECT_EQ(s.at("access-changes.jsonl"), from_whole.at("access-changes.jsonl"));
  const auto whole_changes = std::count_if(
      whole_lines.begin(), whole_lines.end(),
      [](const auto& l) { return l.find("\"kind\":\"access_change\"") != std::string::npos; });
  EXPECT_EQ(sized->access_changes, static_cast<uint64_t>(whole_changes));
  EXPECT_NE(fleet_->sized_stderr.find("export: window-sized: 2 of 2 hosts start"),
            std::string::npos)
      << fleet_->sized_stderr;
  // attestctl verify says so, and so does the independent verifier.
  std::string out, err;
  ASSERT_EQ(RunTool({BinaryPath("attestctl"), "verify", fleet_->sized, "--pubkey", fleet_->key,
                     "--witness-key", fleet_->witness_vkey},
                    fleet_->dir, &out, &err),
            0)
      << out << err;
  // The one warning: the campaign's population was taken from snapshots
  // the bundle starts after, so verify checks it against the ledger's
  // digest only.
  for (const std::string& line : Lines(out)) {
    if (line.find("WARNING") == std::string::npos) continue;
    EXPECT_EQ(line,
              "WARNING: 2 access snapshots that review campaigns took their populations from lie "
              "before the records this window-sized bundle carries: those populations were "
              "checked against the ledger's digest only, not against the snapshots");
  }
  EXPECT_NE(out.find("window-sized: 2 of 2 hosts start at a signed state before the window"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunTool({"/usr/bin/python3", SourcePath("tests/tools/verify_bundle.py"), fleet_->sized,
                     "--pubkey", fleet_->key, "--witness-key", fleet_->witness_vkey},
                    fleet_->dir, &out, &err),
            0)
      << out << err;
}

void WindowSizedBundleTest::AnEarlierAccessChangeLeftOutOrEditedIsNamed() {
  const BundleFiles files = ReadBundleFiles(fleet_->sized);
  std::vector<std::string> carried = Lines(files.at("access-changes.jsonl"));
  ASSERT_GT(carried.size(), 2u);
  {
    BundleFiles f = files;
    std::vector<std::string> less = carried;
    less.erase(less.begin() + 1);
    f["access-changes.jsonl"] = Join(less);
    EXPECT_NE(Failure(f).find("attestd's access-change commitment is false"), std::string::npos)
        << Failure(f);
  }
  {
    BundleFiles f = files;
    std::vector<std::string> edited = carried;
    Json j = *Json::Parse(edited[1]);
    j["observed_at"] = Json(std::string("2025-03-03T03:03:03Z"));
    edited[1] = j.Canonical();
    f["access-changes.jsonl"] = Join(edited);
    EXPECT_NE(Failure(f).find("access-changes.jsonl line 2"), std::string::npos) << Failure(f);
  }
  {
    // A record that is not an access change, passed off as one: the
    // whole bundle's first record of the host.
    BundleFiles f = files;
    const BundleFiles w = ReadBundleFiles(fleet_->whole);
    const std::string first = Lines(w.at("records.jsonl"))[0];
    std::vector<std::string> more = carried;
    more.insert(more.begin(), first);
    f["access-changes.jsonl"] = Join(more);
    EXPECT_NE(Failure(f).find("line 1"), std::string::npos) << Failure(f);
  }
}

void WindowSizedBundleTest::AHostStartedAnywhereButASignedHeadIsRefused() {
  const BundleFiles files = ReadBundleFiles(fleet_->sized);
  const v1::BundleHost h = Manifest(files).hosts(1);
  ASSERT_GT(h.first_index(), 1u);
  // One record later: no signed state has the host's head there.
  BundleFiles f = files;
  std::vector<std::string> lines = Lines(f["records.jsonl"]);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (Field(lines[i], "host") == h.host()) {
      lines.erase(lines.begin() + static_cast<long>(i));
      break;
    }
  }
  f["records.jsonl"] = Join(lines);
  SetFirstIndex(f, h.host(), h.first_index() + 1);
  EXPECT_NE(Failure(f).find(StrCat("host ", h.host(), ": its records start at record ",
                                   h.first_index() + 1, ", but the earliest state")),
            std::string::npos)
      << Failure(f);
  // The time the rule is judged with, set before the witness cosigned the
  // start state: as if the operator had backdated the state.
  f = files;
  {
    v1::BundleManifest m = Manifest(f);
    v1::BundleHost* bh = m.mutable_hosts(1);
    ASSERT_TRUE(bh->has_start_existed());
    bh->mutable_start_existed()->set_seconds(bh->start_existed().seconds() - 86400);
    SetManifest(f, m);
    EXPECT_NE(Failure(f).find(StrCat("manifest.json: host ", h.host(), ": start_existed ")),
              std::string::npos)
        << Failure(f);
    EXPECT_NE(Failure(f).find("existed as far as the given witnesses prove"), std::string::npos)
        << Failure(f);
  }
  // The same manifest in format 5, which reads its ledger as judgement 1
  // throughout, or 4, which also starts every host at record 1 (ctl's
  // bundle_test checks that rule on a format 5 bundle).
  for (const char* older : {"attest-bundle-v5", "attest-bundle-v4"}) {
    f = files;
    v1::BundleManifest m = Manifest(f);
    m.set_format(older);
    SetManifest(f, m);
    EXPECT_NE(Failure(f).find(StrCat("names judgement 2 in a bundle of format ", older)),
              std::string::npos)
        << Failure(f);
  }
}

// What an operator could try on a window-sized bundle's container: a
// second manifest.json (one pass of verify reads one copy, the other the
// other; a junk first copy once made verify fall back to format 1's checks,
// skipping the witnessed log), a host listed twice, and the carried access
// changes left out altogether.
void WindowSizedBundleTest::TwoCopiesOfAnEntryAHostListedTwiceOrNoCarriedChangesAreRefused() {
  const BundleFiles files = ReadBundleFiles(fleet_->sized);
  {
    const std::string path = fleet_->dir + "/two-manifests.tar";
    auto tar = ctl::TarWriter::Create(path);
    ASSERT_TRUE(tar.ok());
    for (const auto& [name, data] : files) ASSERT_TRUE(tar->Add(name, data).ok());
    ASSERT_TRUE(tar->Add("manifest.json", "{").ok());  // read after the real one
    ASSERT_TRUE(tar->Close().ok());
    auto r = Verify(path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.status().message()).find("two entries named manifest.json"),
              std::string::npos)
        << r.status();
  }
  {
    BundleFiles f = files;
    v1::BundleManifest m = Manifest(f);
    *m.add_hosts() = m.hosts(0);
    SetManifest(f, m);
    EXPECT_NE(Failure(f).find("manifest.json lists host " + m.hosts(0).host() + " twice"),
              std::string::npos)
        << Failure(f);
  }
  {
    BundleFiles f = files;
    f.erase("access-changes.jsonl");
    EXPECT_NE(Failure(f).find("a bundle of format attest-bundle-v6 without access-changes.jsonl"),
              std::string::npos)
        << Failure(f);
  }
}

// The exporter took, for some host, an earlier state than the latest one
// before the window, because the rule refused the later ones. A bundle
// rebuilt from the whole chains to start that host at the later state
// (its records from there, its earlier access changes carried) is refused
// by the same rule in verify, which names why.
void WindowSizedBundleTest::AHostStartedLaterThanTheRuleAllowsIsRefused() {
  const BundleFiles sized = ReadBundleFiles(fleet_->sized);
  const BundleFiles whole = ReadBundleFiles(fleet_->whole);
  const int64_t window_start = Seconds(kWindowStart);
  // Per host, the head lengths of the states signed at least 5 minutes
  // before the window that the bundle carries heads for.
  std::map<std::string, std::set<uint64_t>> later;
  for (const std::string& line : Lines(sized.at("states.jsonl"))) {
    auto j = Json::Parse(line);
    if (j->Find("heads") == nullptr) continue;
    if (Seconds(j->Find("state")->Find("created_at")->as_string()) + 300 > window_start) continue;
    for (const Json& head : j->Find("heads")->as_array()) {
      later[head.Find("host")->as_string()].insert(*head.Find("length")->as_uint());
    }
  }
  std::string host;
  uint64_t start = 0;
  const v1::BundleManifest manifest = Manifest(sized);
  for (const v1::BundleHost& h : manifest.hosts()) {
    auto it = later[h.host()].upper_bound(h.first_index());
    if (it != later[h.host()].end()) {
      host = h.host();
      start = *it;
      break;
    }
  }
  ASSERT_FALSE(host.empty()) << "the exporter took the latest state before the window for every "
                                "host: this fleet does not exercise the rule's refusals";
  BundleFiles f = sized;
  std::vector<std::string> records, carried;
  for (const std::string& line : Lines(whole.at("records.jsonl"))) {
    auto j = Json::Parse(line);
    const std::string& h = j->Find("host")->as_string();
    const uint64_t index = *j->Find("index")->as_uint();
    if (h != host) {
      continue;
    } else if (index >= start) {
      records.push_back(line);
    } else if (j->Find("kind")->as_string() == "access_change") {
      carried.push_back(line);
    }
  }
  std::vector<std::string> others_records, others_carried;
  for (const std::string& line : Lines(sized.at("records.jsonl"))) {
    if (Field(line, "host") != host) others_records.push_back(line);
  }
  for (const std::string& line : Lines(sized.at("access-changes.jsonl"))) {
    if (Field(line, "host") != host) others_carried.push_back(line);
  }
  // Hosts in byte order, in both files.
  auto merge = [&](std::vector<std::string> others, const std::vector<std::string>& mine) {
    std::vector<std::string> out;
    bool placed = false;
    for (const std::string& line : others) {
      if (!placed && Field(line, "host") > host) {
        out.insert(out.end(), mine.begin(), mine.end());
        placed = true;
      }
      out.push_back(line);
    }
    if (!placed) out.insert(out.end(), mine.begin(), mine.end());
    return out;
  };
  f["records.jsonl"] = Join(merge(others_records, records));
  f["access-changes.jsonl"] = Join(merge(others_carried, carried));
  SetFirstIndex(f, host, start);
  const std::string failure = Failure(f);
  EXPECT_NE(failure.find(StrCat("host ", host, ": its records start at record ", start)),
            std::string::npos)
      << failure;
  EXPECT_NE(failure.find("from where they need not judge the window as its whole chain does"),
            std::string::npos)
      << failure;
}

// A year of a fleet's history through a real attestd and witness, exported
// whole and window-sized: the same figures, a fraction of the size, and
// every way of cutting a host's history short refused, named.
TEST_F(WindowSizedBundleTest, AYearOfHistoryExportedWindowSized) {
  {
    SCOPED_TRACE("GivesTheWholeChainsFiguresFromAFractionOfTheRecords");
    GivesTheWholeChainsFiguresFromAFractionOfTheRecords();
  }
  {
    SCOPED_TRACE("AnEarlierAccessChangeLeftOutOrEditedIsNamed");
    AnEarlierAccessChangeLeftOutOrEditedIsNamed();
  }
  {
    SCOPED_TRACE("AHostStartedAnywhereButASignedHeadIsRefused");
    AHostStartedAnywhereButASignedHeadIsRefused();
  }
  {
    SCOPED_TRACE("TwoCopiesOfAnEntryAHostListedTwiceOrNoCarriedChangesAreRefused");
    TwoCopiesOfAnEntryAHostListedTwiceOrNoCarriedChangesAreRefused();
  }
  {
    SCOPED_TRACE("AHostStartedLaterThanTheRuleAllowsIsRefused");
    AHostStartedLaterThanTheRuleAllowsIsRefused();
  }
}

}  // namespace
}  // namespace attest::testing_support
