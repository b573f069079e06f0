// Access reviews through attestctl against a real attestd over mTLS:
// a campaign's population from hosts' snapshots, the CSV a reviewer fills
// in (a bad row names its line and nothing is stored), refusals, and a real
// attest-agent on this machine confirming a revocation after `userdel`.
// Waits are polls of observable state with deadlines, never fixed sleeps.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/time/clock.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/listing.h"
#include "daemon/ingest/test_signals.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fixture_pki.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

namespace fs = std::filesystem;
namespace ts = testing_signals;

v1::Signal Snapshot(uint64_t seq, bool with_key) {
  v1::Signal s;
  s.set_seq(seq);
  *s.mutable_observed_at() = ToProto(absl::Now());
  v1::AccessSnapshot* a = s.mutable_access_snapshot();
  for (const char* name : {"alice", "deploy"}) {
    auto* u = a->add_users();
    u->set_name(name);
    u->set_uid(1000);
    u->set_gid(1000);
    u->set_shell("/bin/bash");
    u->set_home(StrCat("/home/", name));
  }
  if (with_key) {
    auto* k = a->add_keys();
    k->set_user("alice");
    k->set_type("ssh-ed25519");
    k->set_fingerprint("SHA256:alice-laptop");
    k->set_comment("alice@laptop");
  }
  return s;
}

class ReviewE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(std::string("review-") +
                    testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = std::make_unique<FixturePki>(dir_ + "/pki");
    daemon_ = std::make_unique<DaemonHarness>(dir_, pki_.get(),
                                              std::vector<std::string>{"--judge-delay=0s"});
    ASSERT_TRUE(daemon_->Start().ok()) << ReadAll(daemon_->log_path());
  }
  void TearDown() override {
    agent_.reset();
    if (daemon_) (void)daemon_->Stop();
  }

  // attestctl as admin `who`; its exit code, stdout in `out`, stderr in `err`.
  int Ctl(const std::vector<std::string>& args, std::string* out = nullptr,
          std::string* err = nullptr, const std::string& who = "ops-1") {
    const CertFiles cert = pki_->Client("admin", who);
    std::vector<std::string> argv = {BinaryPath("attestctl"),
                                     "--daemon",
                                     daemon_->address(),
                                     "--tls-cert",
                                     cert.cert,
                                     "--tls-key",
                                     cert.key,
                                     "--ca",
                                     pki_->ca_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string o, e;
    const int code = RunTool(argv, dir_, out ? out : &o, err ? err : &e);
    last_err_ = err ? *err : e;
    return code;
  }

  // web-1 and web-2 each send one access snapshot (alice's key on both).
  void TwoHosts() {
    for (const char* host : {"web-1", "web-2"}) {
      TestAgent agent(daemon_->ChannelAs("host", host));
      ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-1")));
      ASSERT_TRUE(agent.Send({Snapshot(1, true)}));
      agent.Finish();
    }
    ASSERT_EQ(Ctl({"windows", "create", "q1", "--start", "2026-01-01T00:00:00Z", "--end",
                   "2027-06-01T00:00:00Z"}),
              0)
        << last_err_;
  }

  std::string Due() { return FormatRfc3339(absl::Now() + absl::Hours(24 * 14)); }

  // The export's rows by entry id.
  std::map<std::string, std::vector<std::string>> Export(const std::string& campaign,
                                                         std::string* csv_out = nullptr) {
    std::string csv;
    EXPECT_EQ(Ctl({"review", "export", "--campaign", campaign}, &csv), 0) << last_err_;
    if (csv_out) *csv_out = csv;
    auto rows = ctl::ParseCsv(csv);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::map<std::string, std::vector<std::string>> out;
    if (!rows.ok() || rows->empty()) return out;
    EXPECT_EQ(rows->front().fields[1], "entry");
    for (size_t i = 1; i < rows->size(); ++i) out[(*rows)[i].fields[1]] = (*rows)[i].fields;
    return out;
  }

  std::string dir_, last_err_;
  std::unique_ptr<FixturePki> pki_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(ReviewE2eTest, ACsvFilledByAReviewerIsStoredWholeOrNotAtAll) {
  TwoHosts();
  std::string out;
  ASSERT_EQ(Ctl({"review", "start", "--id", "Q3-2026", "--window", "q1", "--due", Due(),
                 "--reviewer", "carol", "--reviewer", "alice"},
                &out),
            0)
      << last_err_;
  // alice, deploy (users, both hosts) and alice's key (both hosts): 3 entries.
  EXPECT_NE(out.find("2 hosts (0 without an access snapshot), 3 entries"), std::string::npos)
      << out;
  // Same id again.
  EXPECT_EQ(Ctl({"review", "start", "--id", "Q3-2026", "--window", "q1", "--due", Due()}), 1);
  EXPECT_NE(last_err_.find("exists"), std::string::npos) << last_err_;

  std::string csv;
  auto rows = Export("Q3-2026", &csv);
  ASSERT_EQ(rows.size(), 3u);
  std::string key_entry, deploy_entry;
  for (const auto& [id, row] : rows) {
    if (row[2] == "key") key_entry = id;
    if (row[2] == "user" && row[3] == "deploy") deploy_entry = id;
    EXPECT_EQ(row[6], "web-1 web-2") << "the same entry on both hosts is one row";
  }
  ASSERT_FALSE(key_entry.empty());
  ASSERT_FALSE(deploy_entry.empty());
  // Whoever holds the admin certificate cannot decide on their own access,
  // whatever reviewer name they give.
  EXPECT_EQ(Ctl({"review", "decide", "--campaign", "Q3-2026", "--entry", deploy_entry, "--keep",
                 "--reviewer", "carol"},
                nullptr, nullptr, "deploy"),
            1);
  EXPECT_NE(last_err_.find("deploy's own access"), std::string::npos) << last_err_;

  // The reviewer fills it in: keep both users, revoke the key; one row has a
  // typo in its decision. The whole file is refused, naming the line.
  auto fill = [&](const std::string& typo_for) {
    ctl::Listing l({"campaign", "entry", "kind", "user", "detail", "note", "hosts", "host_count",
                    "decision", "reviewer", "reason", "decided_at"});
    for (const auto& [id, row] : rows) {
      std::vector<Json> cells(row.begin(), row.end());
      cells[8] = Json(id == typo_for ? "revokee" : id == key_entry ? "revoke" : "keep");
      cells[9] = Json("carol");
      cells[10] = Json("left the team, ticket SEC-41");
      l.Add(std::move(cells));
    }
    std::ofstream(dir_ + "/filled.csv") << l.Render("csv");
  };
  fill(key_entry);
  std::string err;
  EXPECT_EQ(Ctl({"review", "decide", "--campaign", "Q3-2026", "--from-file", dir_ + "/filled.csv"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("filled.csv: line "), std::string::npos) << err;
  EXPECT_NE(err.find("\"revokee\" is not keep or revoke; nothing was recorded"), std::string::npos)
      << err;
  // A row the server refuses (alice deciding on her own key) is named by line too.
  fill("");
  std::string own = ReadAll(dir_ + "/filled.csv");
  for (size_t at = own.find(",carol,"); at != std::string::npos; at = own.find(",carol,", at)) {
    own.replace(at, 7, ",alice,");
  }
  std::ofstream(dir_ + "/own.csv") << own;
  EXPECT_EQ(Ctl({"review", "decide", "--campaign", "Q3-2026", "--from-file", dir_ + "/own.csv"},
                nullptr, &err),
            1);
  EXPECT_NE(err.find("own.csv:"), std::string::npos) << err;
  EXPECT_NE(err.find("alice's own access"), std::string::npos) << err;
  std::string status;
  ASSERT_EQ(Ctl({"review", "status", "--format", "json"}, &status), 0);
  EXPECT_NE(status.find("\"decided\":0"), std::string::npos) << status;

  ASSERT_EQ(
      Ctl({"review", "decide", "--campaign", "Q3-2026", "--from-file", dir_ + "/filled.csv"}, &out),
      0)
      << last_err_;
  EXPECT_NE(out.find("recorded 3 decisions (2 keep, 1 revoke)"), std::string::npos) << out;
  // Completed: more decisions are refused; an unknown campaign or entry too.
  EXPECT_EQ(Ctl({"review", "decide", "--campaign", "Q3-2026", "--entry", key_entry, "--keep",
                 "--reviewer", "carol"}),
            1);
  EXPECT_NE(last_err_.find("takes no more decisions"), std::string::npos) << last_err_;
  EXPECT_EQ(Ctl({"review", "decide", "--campaign", "Q9", "--entry", key_entry, "--keep",
                 "--reviewer", "carol"}),
            1);
  EXPECT_NE(last_err_.find("no campaign \"Q9\""), std::string::npos) << last_err_;
  EXPECT_EQ(Ctl({"review", "export", "--campaign", "Q9"}), 1);

  // The export now shows the decisions; re-importing it changes nothing.
  rows = Export("Q3-2026");
  EXPECT_EQ(rows[key_entry][8], "revoke");
  EXPECT_FALSE(rows[key_entry][11].empty());
  // The revocation is open on both hosts until they send a snapshot without it.
  ASSERT_EQ(Ctl({"review", "status", "--campaign", "Q3-2026", "--format", "json"}, &status), 0);
  EXPECT_NE(status.find("\"revocations\":2"), std::string::npos) << status;
  EXPECT_NE(status.find("\"revocations_confirmed\":0"), std::string::npos) << status;
  {
    TestAgent agent(daemon_->ChannelAs("host", "web-2"));
    ASSERT_TRUE(agent.Hello(ts::Hello("", "inst-1")));
    ASSERT_TRUE(agent.Send({Snapshot(2, false)}));
    agent.Finish();
  }
  ASSERT_TRUE(Eventually([&] {
    Ctl({"review", "status", "--campaign", "Q3-2026", "--format", "json"}, &status);
    return status.find("\"revocations_confirmed\":1") != std::string::npos;
  })) << status;
  EXPECT_NE(status.find("\"host\":\"web-2\",\"state\":\"confirmed\""), std::string::npos) << status;
  // The report's section: the campaign's figures and each revocation per host.
  ASSERT_EQ(Ctl({"report", "--window", "q1", "--format", "html", "--out", dir_ + "/r.html"}), 0)
      << last_err_;
  const std::string html = ReadAll(dir_ + "/r.html");
  for (const std::string& figure :
       {std::string("data-figure=\"entries\">3<"), std::string("data-figure=\"kept\">2<"),
        std::string("data-figure=\"revoked\">1<"), std::string("data-figure=\"revocations\">2<"),
        std::string("data-figure=\"confirmed\">1<")}) {
    EXPECT_NE(html.find("data-review=\"Q3-2026\" " + figure), std::string::npos) << figure;
  }
  const size_t web1 = html.find("data-revocation=\"" + key_entry + "/web-1\"");
  const size_t web2 = html.find("data-revocation=\"" + key_entry + "/web-2\"");
  ASSERT_NE(web1, std::string::npos);
  ASSERT_NE(web2, std::string::npos);
  EXPECT_NE(html.substr(web1, html.find("</tr>", web1) - web1).find("not yet"), std::string::npos);
  EXPECT_NE(html.substr(web2, html.find("</tr>", web2) - web2).find("(record 3)"),
            std::string::npos)
      << html.substr(web2, 400);
  EXPECT_NE(html.find("left the team, ticket SEC-41"), std::string::npos);

  // Every decision is a ledger entry.
  std::string ledger;
  ASSERT_EQ(Ctl({"ledger"}, &ledger), 0);
  size_t decisions = 0;
  for (size_t at = ledger.find("\"kind\":\"review_decision\""); at != std::string::npos;
       at = ledger.find("\"kind\":\"review_decision\"", at + 1)) {
    ++decisions;
  }
  EXPECT_EQ(decisions, 3u);
  EXPECT_NE(ledger.find("\"kind\":\"review_campaign\""), std::string::npos);

  // The bundle carries the campaign's population; verify checks it against
  // the ledger's digest and the hosts' snapshots, and replays the review
  // into the same figures attestd computed.
  std::string key;
  ASSERT_EQ(Ctl({"signing-key"}, &key), 0);
  std::ofstream(dir_ + "/key.pem") << key;
  // Plain records, to take the bundle apart and put it together with tar.
  ASSERT_EQ(Ctl({"export", "--window", "q1", "--out", dir_ + "/b.tar", "--uncompressed"}), 0)
      << last_err_;
  auto verify = [&](const std::string& bundle, std::string* verify_err) {
    std::string verify_out;
    return RunTool({BinaryPath("attestctl"), "verify", bundle, "--pubkey", dir_ + "/key.pem"}, dir_,
                   &verify_out, verify_err);
  };
  ASSERT_EQ(verify(dir_ + "/b.tar", &err), 0) << err;
  // An entry dropped from the population: the digest no longer holds.
  fs::create_directories(dir_ + "/x");
  ASSERT_EQ(RunTool({"/bin/tar", "-xf", dir_ + "/b.tar", "-C", dir_ + "/x"}, dir_, &out, &err), 0);
  std::string population = ReadAll(dir_ + "/x/reviews.jsonl");
  ASSERT_NE(population.find("\"entry\":"), std::string::npos) << population;
  const size_t last = population.rfind("{\"campaign\"");
  std::ofstream(dir_ + "/x/reviews.jsonl") << population.substr(0, last);
  ASSERT_EQ(RunTool({"/bin/tar", "--format=ustar", "-C", dir_ + "/x", "-cf", dir_ + "/t.tar",
                     "records.jsonl", "ledger.jsonl", "reviews.jsonl", "states.jsonl",
                     "manifest.json", "public-key.pem"},
                    dir_, &out, &err),
            0)
      << err;
  EXPECT_EQ(verify(dir_ + "/t.tar", &err), 1);
  EXPECT_NE(err.find("review campaign Q3-2026: the population in reviews.jsonl has sha256"),
            std::string::npos)
      << err;
  // No populations at all.
  ASSERT_EQ(
      RunTool({"/bin/tar", "--format=ustar", "-C", dir_ + "/x", "-cf", dir_ + "/n.tar",
               "records.jsonl", "ledger.jsonl", "states.jsonl", "manifest.json", "public-key.pem"},
              dir_, &out, &err),
      0)
      << err;
  EXPECT_EQ(verify(dir_ + "/n.tar", &err), 1);
  EXPECT_NE(err.find("starts review campaign Q3-2026, whose population reviews.jsonl lacks"),
            std::string::npos)
      << err;
}

TEST_F(ReviewE2eTest, UsageMistakesExit2) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"review"},
           {"review", "begin"},
           {"review", "start", "--id", "x"},
           {"review", "decide", "--campaign", "C", "--entry", "e", "--keep", "--revoke",
            "--reviewer", "r"},
           {"review", "decide", "--campaign", "C", "--entry", "e", "--keep"},
           {"review", "status", "--due", "2026-01-01T00:00:00Z"},
           {"review", "start", "--id", "x", "--window", "q1", "--due", "tomorrow"},
       }) {
    EXPECT_EQ(Ctl(args), 2) << args[1] << " " << (args.size() > 2 ? args[2] : "") << ": "
                            << last_err_;
  }
  // The server's refusals exit 1.
  EXPECT_EQ(Ctl({"review", "start", "--id", "x", "--window", "nope", "--due", Due()}), 1);
  EXPECT_NE(last_err_.find("no window \"nope\""), std::string::npos) << last_err_;
  // An auditor reads reviews but cannot start one.
  const CertFiles auditor = pki_->Client("auditor", "audit-1");
  std::string out, err;
  EXPECT_EQ(RunTool({BinaryPath("attestctl"), "--daemon", daemon_->address(), "--tls-cert",
                     auditor.cert, "--tls-key", auditor.key, "--ca", pki_->ca_file(), "review",
                     "start", "--id", "x", "--window", "q1", "--due", Due()},
                    dir_, &out, &err),
            1);
  EXPECT_NE(err.find("may only read"), std::string::npos) << err;
  EXPECT_EQ(
      RunTool({BinaryPath("attestctl"), "--daemon", daemon_->address(), "--tls-cert", auditor.cert,
               "--tls-key", auditor.key, "--ca", pki_->ca_file(), "review", "status"},
              dir_, &out, &err),
      0)
      << err;
}

// A real agent on this host: a user with a key, a campaign, the key
// revoked, the user removed with userdel; the confirmation arrives with the
// agent's next access snapshot (inotify sees /etc/passwd change).
TEST_F(ReviewE2eTest, ARealAgentConfirmsARevocationAfterUserdel) {
  ASSERT_EQ(geteuid(), 0u) << "this test creates a real user: run it as root (CI does)";
  const std::string user = "attest-rev-" + std::to_string(getpid() % 100000);
  struct Cleanup {
    std::string user;
    ~Cleanup() {
      auto c = ChildProcess::Start({"/usr/sbin/userdel", "-r", user}, "/dev/null");
      if (c.ok()) (void)c->Wait(absl::Seconds(30));
    }
  } cleanup{user};
  auto useradd = ChildProcess::Start({"/usr/sbin/useradd", "-m", "-s", "/bin/bash", user},
                                     dir_ + "/useradd.log");
  ASSERT_TRUE(useradd.ok());
  ASSERT_EQ(*useradd->Wait(absl::Seconds(30)), 0) << ReadAll(dir_ + "/useradd.log");
  fs::create_directories("/home/" + user + "/.ssh");
  // The ed25519 key recorded in tests/fixtures/debian12 (fingerprint known).
  std::ofstream("/home/" + user + "/.ssh/authorized_keys")
      << ReadAll(SourcePath("tests/fixtures/debian12/home/alice/.ssh/authorized_keys"));
  const std::string fingerprint = "SHA256:eO83LcJuUK7RGeNPcl9jCUDxuQmzUqnE+xp3b9QN2+M";

  fs::create_directories(dir_ + "/checks");
  auto child = ChildProcess::Start(
      AgentCommand(*daemon_, *pki_, "rev-host", dir_ + "/spool", dir_ + "/checks",
                   {"--disable=patch", "--interval=access=1h", "--inotify=true"}),
      dir_ + "/agent.log");
  ASSERT_TRUE(child.ok()) << child.status();
  agent_ = std::make_unique<ChildProcess>(std::move(*child));
  ASSERT_EQ(Ctl({"windows", "create", "q1", "--start", "2026-01-01T00:00:00Z", "--end",
                 "2027-06-01T00:00:00Z"}),
            0);
  // The agent's first snapshot holds the key.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : daemon_->Evidence("rev-host")) {
      if (!r.signal().has_access_snapshot()) continue;
      for (const auto& k : r.signal().access_snapshot().keys()) {
        if (k.user() == user && k.fingerprint() == fingerprint) return true;
      }
    }
    return false;
  })) << ReadAll(dir_ + "/agent.log");
  ASSERT_EQ(Ctl({"review", "start", "--id", "R1", "--window", "q1", "--due", Due()}), 0)
      << last_err_;
  std::string key_entry;
  for (const auto& [id, row] : Export("R1")) {
    if (row[2] == "key" && row[3] == user) key_entry = id;
  }
  ASSERT_FALSE(key_entry.empty());
  ASSERT_EQ(Ctl({"review", "decide", "--campaign", "R1", "--entry", key_entry, "--revoke",
                 "--reviewer", "carol", "--reason", "account no longer needed"}),
            0)
      << last_err_;
  std::string status;
  ASSERT_EQ(Ctl({"review", "status", "--campaign", "R1", "--format", "json"}, &status), 0);
  EXPECT_NE(status.find("\"state\":\"open\""), std::string::npos) << status;

  auto userdel = ChildProcess::Start({"/usr/sbin/userdel", "-r", user}, dir_ + "/userdel.log");
  ASSERT_TRUE(userdel.ok());
  ASSERT_EQ(*userdel->Wait(absl::Seconds(30)), 0) << ReadAll(dir_ + "/userdel.log");
  // The agent's next change signal (and the snapshot that goes with it)
  // confirms the removal; the access interval is an hour, so only inotify
  // can bring it this soon.
  ASSERT_TRUE(Eventually([&] {
    Ctl({"review", "status", "--campaign", "R1", "--format", "json"}, &status);
    return status.find("\"state\":\"confirmed\"") != std::string::npos;
  })) << status
      << "\n"
      << ReadAll(dir_ + "/agent.log");
  bool removed = false;
  for (const auto& r : daemon_->Evidence("rev-host")) {
    if (r.signal().has_access_change() && r.signal().access_change().subject() == user &&
        r.signal().access_change().change() == v1::ACCESS_CHANGE_KIND_USER_REMOVED) {
      removed = true;
    }
  }
  EXPECT_TRUE(removed) << "the agent reported the userdel as an access change";
}

}  // namespace
}  // namespace attest::testing_support
