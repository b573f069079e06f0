// Sampled bundles end to end: a real attestd takes a simulated fleet a day
// at a time with a checkpoint after each day, an auditor's sample is drawn
// and recorded, and `attestctl export --sample` writes a bundle holding only
// the sampled host-days' records with their heads' audit paths.
// `attestctl verify` accepts it, shows each item's figures and evidence
// (the count of the day's records agrees with the fleet file, counted
// here), and refuses an edited record, a host-day swapped for another, an
// audit path that does not lead to the signed root, and a dropped item.
#include <filesystem>
#include <fstream>
#include <map>

#include "common/json.h"
#include "common/strings.h"
#include "ctl/bundle.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"

namespace attest::testing_support {
namespace {

using Files = BundleFiles;

class SampledBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("sampled_bundle");
    daemon_ = std::make_unique<DaemonHarness>(dir_, nullptr,
                                              std::vector<std::string>{"--judge-delay", "0s"});
    ASSERT_TRUE(daemon_->Start().ok()) << ReadAll(daemon_->log_path());
    ASSERT_EQ(Ctl({"simulate", "--hosts", "6", "--days", "5", "--seed", "11", "--start",
                   "2026-03-01T00:00:00Z", "--out", dir_ + "/fleet.jsonl"}),
              0)
        << err_;
    // A day at a time, each followed by a checkpoint, as daily checkpoints
    // follow a live fleet; and the records per host-day, counted here.
    std::map<std::string, std::string> days;
    for (const std::string& line : Lines(ReadAll(dir_ + "/fleet.jsonl"))) {
      auto j = Json::Parse(line);
      ASSERT_TRUE(j.ok());
      const std::string day = j->Find("observed_at")->as_string().substr(0, 10);
      days[day] += line + "\n";
      ++per_host_day_[j->Find("host")->as_string() + " " + day];
    }
    for (const auto& [day, lines] : days) {
      const std::string file = dir_ + "/day-" + day + ".jsonl";
      std::ofstream(file) << lines;
      ASSERT_EQ(Ctl({"import", file}), 0) << err_;
      ASSERT_EQ(Ctl({"checkpoint", "--create"}), 0) << err_;
    }
    ASSERT_EQ(Ctl({"windows", "create", "march", "--start", "2026-03-01T00:00:00Z", "--end",
                   "2026-03-06T00:00:00Z"}),
              0)
        << err_;
    ASSERT_EQ(Ctl({"signing-key"}), 0);
    std::ofstream(dir_ + "/key.pem") << out_;
  }

  int Ctl(std::vector<std::string> args) {
    return Attestctl(daemon_->address(), dir_, std::move(args), &out_, &err_);
  }
  // attestctl verify PATH --pubkey KEY [flags...]
  int Verify(const std::string& path, const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv = {BinaryPath("attestctl"), "verify", path, "--pubkey",
                                     dir_ + "/key.pem"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunTool(argv, dir_, &out_, &err_);
  }
  // The failure of verifying `files` ("" when they verify).
  std::string Failure(const Files& files, bool with_key = true) {
    const std::string path = dir_ + "/forged.tar";
    WriteBundleFiles(files, path);
    ctl::VerifyOptions o;
    if (with_key) o.pubkey_pem = ReadAll(dir_ + "/key.pem");
    auto r = ctl::VerifyBundle(path, o);
    return r.ok() ? "" : std::string(r.status().message());
  }

  std::string dir_, out_, err_;
  std::unique_ptr<DaemonHarness> daemon_;
  std::map<std::string, int> per_host_day_;  // "host day" -> records in fleet.jsonl
};

TEST_F(SampledBundleTest, ASampleVerifiesItemByItemAndEveryForgeryIsNamed) {
  // The guidance size for the 29 host-days (a host starts late) is 5.
  ASSERT_EQ(Ctl({"sample", "--window", "march", "--control", "patch-sla", "--seed", "5", "--format",
                 "json"}),
            0)
      << err_;
  const Json draw = *Json::Parse(out_);
  ASSERT_EQ(draw.Find("items")->as_array().size(), 5u);
  ASSERT_EQ(Ctl({"sample", "--window", "march", "--control", "patch-sla", "--seed", "6"}), 0);
  const std::string bundle = dir_ + "/sample.tar";
  ASSERT_EQ(Ctl({"export", "--window", "march", "--sample", "1", "--out", bundle}), 0) << err_;
  ASSERT_EQ(Verify(bundle), 0) << out_ << err_;
  EXPECT_NE(out_.find(StrCat("verified: sample 1 of window march (control patch-sla, 5 of ",
                             *draw.Find("population")->as_uint(), " host-days")),
            std::string::npos)
      << out_;
  for (size_t i = 0; i < 5; ++i) {
    const Json& item = draw.Find("items")->as_array()[i];
    const std::string host = item.Find("host")->as_string();
    const std::string day = item.Find("day")->as_string();
    // Each item shows its figures and exactly the day's records.
    const std::string line = StrCat("item ", i + 1, ": ", host, " ", day, ": pass ");
    const size_t at = out_.find(line);
    ASSERT_NE(at, std::string::npos) << line << "\n" << out_;
    const std::string rest = out_.substr(at, out_.find('\n', at) - at);
    EXPECT_NE(rest.find(StrCat(", ", per_host_day_[host + " " + day], " observed that day")),
              std::string::npos)
        << rest;
    // The history was imported after the fact: every checkpoint was made
    // long after the day ended (so `to` is late enough), and every `from`
    // after the day began, so only an item whose chain starts within its
    // records is complete.
    EXPECT_NE(rest.find(" by attestd's clock, at least --late-after (26h) after the day's end"),
              std::string::npos)
        << rest;
    EXPECT_TRUE(rest.find("; complete: the chain starts within these records;") !=
                    std::string::npos ||
                rest.find("; not proven complete: checkpoint ") != std::string::npos)
        << rest;
    if (rest.find("not proven complete") != std::string::npos) {
      EXPECT_NE(rest.find("after the day began (imported or late evidence)"), std::string::npos)
          << rest;
    }
  }
  EXPECT_NE(out_.find("window march has 2 recorded sample draws in this ledger; this is draw 1"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("\nattestd judged under judgement 2\n"), std::string::npos) << out_;
  // Pinning the draw: the right number verifies, another is refused.
  EXPECT_EQ(Verify(bundle, {"--sample", "1"}), 0) << err_;
  EXPECT_EQ(Verify(bundle, {"--sample", "2"}), 1);
  EXPECT_NE(err_.find("the bundle proves sample 1 of window march, not sample 2 (--sample)"),
            std::string::npos)
      << err_;
  EXPECT_EQ(Verify(bundle, {"--sample", "0"}), 2);
  EXPECT_NE(err_.find("--sample K: a draw's number from 1"), std::string::npos) << err_;
  const Files good = ReadBundleFiles(bundle);
  ASSERT_EQ(Failure(good), "");
  {  // attestd's ledger names its policy's judgement, so the format is -v3;
     // an older label over it is refused (ctl's bundle_test checks that
     // older sampled bundles still verify), and an unknown one is refused,
     // not guessed.
    EXPECT_NE(good.at("manifest.json").find("\"format\":\"attest-sample-v3\""), std::string::npos)
        << good.at("manifest.json");
    Files older = good;
    std::string& m = older.at("manifest.json");
    for (const char* label : {"attest-sample-v2", "attest-sample-v1"}) {
      m.replace(m.find("attest-sample-v"), 16, label);
      EXPECT_NE(Failure(older).find(StrCat("names judgement 2 in a bundle of format ", label)),
                std::string::npos)
          << Failure(older);
    }
    m.replace(m.find("attest-sample-v1"), 16, "attest-sample-v9");
    EXPECT_NE(Failure(older).find("unknown bundle format attest-sample-v9"), std::string::npos)
        << Failure(older);
  }
  {  // The states that items name carry their notes, so witnesses can date them.
    const auto states = Lines(good.at("states.jsonl"));
    const Json first = *Json::Parse(Lines(good.at("sample.jsonl"))[0]);
    const uint64_t to = *first.Find("to")->Find("sequence")->as_uint();
    ASSERT_LE(to, states.size());
    EXPECT_NE(Json::Parse(states[to - 1])->Find("note"), nullptr) << states[to - 1];
  }
  {  // No key anywhere: said plainly, not as a PEM parse error.
    Files f = good;
    f.erase("public-key.pem");
    EXPECT_NE(Failure(f, /*with_key=*/false).find("no --pubkey and no public-key.pem"),
              std::string::npos)
        << Failure(f, false);
  }
  {  // The manifest's ledger_index must be the draw's entry.
    Files f = good;
    auto m = *Json::Parse(f["manifest.json"]);
    m["ledger_index"] = *m.Find("ledger_index")->as_uint() + 1;
    f["manifest.json"] = m.Canonical() + "\n";
    EXPECT_NE(Failure(f).find("manifest.json: ledger_index must be "), std::string::npos)
        << Failure(f);
  }
  // A second verifier, written from docs/bundle.md alone, agrees.
  EXPECT_EQ(RunTool({"/usr/bin/python3", SourcePath("tests/tools/verify_bundle.py"), bundle,
                     "--pubkey", dir_ + "/key.pem"},
                    dir_, &out_, &err_),
            0)
      << out_ << err_;
  // Only the sampled days' records: well under the fleet's.
  EXPECT_LT(Lines(good.at("records.jsonl")).size(),
            Lines(ReadAll(dir_ + "/fleet.jsonl")).size() / 3);

  {  // An edited record.
    Files f = good;
    auto lines = Lines(f["records.jsonl"]);
    const size_t t = lines[7].find("\"observed_at\":\"") + 15 + 18;  // a second's digit
    lines[7][t] = lines[7][t] == '1' ? '2' : '1';
    f["records.jsonl"] = Join(lines);
    const std::string e = Failure(f);
    EXPECT_NE(e.find("records.jsonl line 8 (sampled item 1"), std::string::npos) << e;
    EXPECT_NE(e.find("its hash does not match its content"), std::string::npos) << e;
  }
  const Files other = [&] {
    const std::string second = dir_ + "/second.tar";
    EXPECT_EQ(Ctl({"export", "--window", "march", "--sample", "2", "--out", second}), 0) << err_;
    return ReadBundleFiles(second);
  }();
  {  // A host-day the draw did not pick, with its own valid proofs and records.
    Files f = good;
    auto items = Lines(f["sample.jsonl"]);
    auto other_items = Lines(other.at("sample.jsonl"));
    std::string swapped;
    for (const std::string& o : other_items) {
      auto j = Json::Parse(o);
      if (j->Find("host")->as_string() !=
              draw.Find("items")->as_array()[1].Find("host")->as_string() ||
          j->Find("day")->as_string() !=
              draw.Find("items")->as_array()[1].Find("day")->as_string()) {
        (*j)["item"] = 2;
        swapped = j->Canonical();
        break;
      }
    }
    ASSERT_FALSE(swapped.empty());
    items[1] = swapped;
    f["sample.jsonl"] = Join(items);
    const std::string e = Failure(f);
    EXPECT_NE(e.find("sampled item 2 ("), std::string::npos) << e;
    EXPECT_NE(e.find("which the draw did not pick"), std::string::npos) << e;
  }
  {  // Another host's records in place of the first item's.
    Files f = good;
    const std::string first_host = draw.Find("items")->as_array()[0].Find("host")->as_string();
    auto lines = Lines(f["records.jsonl"]);
    for (const std::string& o : Lines(other.at("records.jsonl"))) {
      if (Json::Parse(o)->Find("host")->as_string() != first_host) {
        lines[0] = o;
        break;
      }
    }
    f["records.jsonl"] = Join(lines);
    const std::string e = Failure(f);
    EXPECT_NE(e.find("records.jsonl line 1 (sampled item 1, host " + first_host), std::string::npos)
        << e;
    EXPECT_NE(e.find("the line is record"), std::string::npos) << e;
  }
  {  // An audit path that does not lead to the signed heads root.
    Files f = good;
    auto items = Lines(f["sample.jsonl"]);
    auto j = Json::Parse(items[2]);
    Json& path = (*j)["to"]["path"];
    ASSERT_FALSE(path.as_array().empty());
    std::string hex = path.as_array()[0].as_string();
    hex[0] = hex[0] == '0' ? '1' : '0';
    path.as_array()[0] = Json(hex);
    items[2] = j->Canonical();
    f["sample.jsonl"] = Join(items);
    const std::string e = Failure(f);
    EXPECT_NE(e.find("sampled item 3 ("), std::string::npos) << e;
    EXPECT_NE(e.find("does not lead to the heads root of checkpoint"), std::string::npos) << e;
    // The second verifier refuses it for the same reason (not a crash).
    EXPECT_EQ(RunTool({"/usr/bin/python3", SourcePath("tests/tools/verify_bundle.py"),
                       dir_ + "/forged.tar", "--pubkey", dir_ + "/key.pem"},
                      dir_, &out_, &err_),
              1)
        << out_ << err_;
    EXPECT_NE(err_.find("FAILED: Bad: item 3: the to head is not in checkpoint"), std::string::npos)
        << err_;
  }
  {  // A sampled item dropped, with its records.
    Files f = good;
    auto items = Lines(f["sample.jsonl"]);
    items.pop_back();
    f["sample.jsonl"] = Join(items);
    const std::string e = Failure(f);
    EXPECT_NE(e.find("sampled item 5 ("), std::string::npos) << e;
    EXPECT_NE(e.find("is missing from sample.jsonl"), std::string::npos) << e;
  }
  {  // The draw itself cannot be changed: the ledger is signed.
    Files f = good;
    auto ledger = Lines(f["ledger.jsonl"]);
    for (std::string& l : ledger) {
      const size_t at = l.find("\"seed\":5");
      if (at != std::string::npos) l.replace(at, 8, "\"seed\":7");
    }
    f["ledger.jsonl"] = Join(ledger);
    EXPECT_NE(Failure(f).find("ledger.jsonl line"), std::string::npos) << Failure(f);
  }
  {  // export --late-after: each item's `to` is the first checkpoint made that
     // long after its day. Every checkpoint here was made in the test's
     // present, months after March; at 100000h none is, so every `to` is
     // the bundle's own checkpoint, and verify with the same value says so.
    const std::string late = dir_ + "/late.tar";
    ASSERT_EQ(Ctl({"export", "--window", "march", "--sample", "1", "--late-after", "100000h",
                   "--out", late}),
              0)
        << err_;
    const Files f = ReadBundleFiles(late);
    const uint64_t last = Lines(f.at("states.jsonl")).size();
    bool earlier_by_default = false;
    const auto items = Lines(f.at("sample.jsonl"));
    const auto default_items = Lines(good.at("sample.jsonl"));
    ASSERT_EQ(items.size(), default_items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(*Json::Parse(items[i])->Find("to")->Find("sequence")->as_uint(), last) << items[i];
      earlier_by_default |=
          *Json::Parse(default_items[i])->Find("to")->Find("sequence")->as_uint() < last;
    }
    EXPECT_TRUE(earlier_by_default) << "at 26h some `to` should be an earlier checkpoint";
    EXPECT_EQ(Verify(late, {"--late-after", "100000h"}), 0) << err_;
    EXPECT_NE(out_.find("less than --late-after (100000h)"), std::string::npos) << out_;
  }
  // Asking for a draw that does not exist, or a bad number.
  EXPECT_EQ(Ctl({"export", "--window", "march", "--sample", "9", "--out", dir_ + "/x.tar"}), 1);
  EXPECT_NE(err_.find("window march has no sample 9"), std::string::npos) << err_;
  EXPECT_EQ(Ctl({"export", "--window", "march", "--sample", "-2", "--out", dir_ + "/x.tar"}), 2);
  EXPECT_EQ(Ctl({"export", "--window", "march", "--sample", "0", "--out", dir_ + "/x.tar"}), 2);
  EXPECT_NE(err_.find("--sample K: a draw's number from 1"), std::string::npos) << err_;
  EXPECT_EQ(Ctl({"export", "--window", "march", "--sample", "1", "--uncompressed", "--out",
                 dir_ + "/x.tar"}),
            2);
  EXPECT_NE(err_.find("--uncompressed is for whole bundles"), std::string::npos) << err_;
}

}  // namespace
}  // namespace attest::testing_support
