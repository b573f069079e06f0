#include "ctl/bundle_log.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/ledger_json.h"

namespace attest::ctl {
namespace {

// Bad states.jsonl and ledger.jsonl lines are refused naming the line and
// what is wrong, before anything else is checked.
TEST(BundleLogTest, BadStatesAndLedgerLinesAreNamed) {
  const std::string v0 =
      "{\"state\":{\"created_at\":\"2026-01-01T00:00:00Z\",\"format\":\"attest-state-v0\","
      "\"heads_root\":\"" +
      std::string(64, 'a') + "\",\"hosts\":0,\"sequence\":1}}\n";
  EXPECT_TRUE(ParseStates(v0).ok());
  struct Case {
    std::string text;
    std::string why;
  } states[] = {
      {"nope\n", "states.jsonl line 1:"},
      {v0.substr(0, v0.size() - 1), "the last line is cut off"},
      {v0 + v0, "line 2: state.sequence must be 2"},
      {"{\"state\":{}}\n", "state.sequence must be 1"},
      {"{\"extra\":1," + v0.substr(1), "extra: unknown field"},
      {std::string(v0).replace(v0.find("v0"), 2, "v9"), "state.format"},
      {std::string(v0).replace(v0.find("aaaa"), 4, "zzzz"), "state.heads_root: 64 hex digits"},
      {std::string(v0).replace(v0.find("}}"), 2, "},\"heads\":[]}"),
       "heads and note come together"},
  };
  for (const Case& c : states) {
    auto r = ParseStates(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(std::string(r.status().message()).find(c.why), std::string::npos) << r.status();
  }
  v1::LedgerEntry e;
  e.set_index(1);
  e.mutable_recorded_at()->set_seconds(1'767'225'600);
  e.mutable_decommission()->set_host("h");
  e.set_prev_hash(evidence::GenesisHash());
  e.set_hash(evidence::LedgerHash(e.prev_hash(), e));
  const std::string line = evidence::CanonicalLedgerEntry(e, true) + "\n";
  EXPECT_TRUE(ParseLedger(line).ok());
  struct Case ledger[] = {
      {line + line, "ledger.jsonl line 2: expected entry 2"},
      {std::string(line).replace(line.find("\"h\""), 3, "\"x\""),
       "content does not match its hash"},
      {std::string(line).replace(0, 1, "{ "), "not in canonical form"},
      {"{}\n", "ledger.jsonl line 1: kind: required"},
  };
  for (const Case& c : ledger) {
    auto r = ParseLedger(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(std::string(r.status().message()).find(c.why), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace attest::ctl
