// The witness end to end (docs/design.md, witnessed log): a copy of the
// store with new decisions is refused by the witness; a witness that
// cannot be reached delays only its cosignature; evidence that arrives
// after an outage verifies and is reported late; the witness refuses bad
// requests over HTTP.
#include "tests/witnessed_fixture.h"

namespace attest::testing_support {
namespace {

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
