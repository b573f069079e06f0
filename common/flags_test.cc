#include "common/flags.h"

#include <fstream>

#include "common/version.h"
#include "gtest/gtest.h"

namespace attest {
namespace {

struct Parsed {
  std::string listen = "127.0.0.1:7443";
  bool insecure = false;
  int64_t limit = 5;
  std::vector<std::string> daemons;
};

FlagSet MakeFlags(Parsed& p) {
  FlagSet flags("prog", "[flags]");
  flags.String("listen", &p.listen, "address");
  flags.Bool("insecure", &p.insecure, "no TLS");
  flags.Int("limit", &p.limit, "a limit");
  flags.Repeated("daemon", &p.daemons, "daemon address");
  return flags;
}

absl::Status ParseArgs(FlagSet& flags, std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "prog";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return flags.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(FlagsTest, ParsesAllForms) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  ASSERT_TRUE(ParseArgs(flags, {"--listen=0.0.0.0:1", "--insecure", "--limit", "7", "--daemon",
                                "a:1", "--daemon=b:2"})
                  .ok());
  EXPECT_EQ(p.listen, "0.0.0.0:1");
  EXPECT_TRUE(p.insecure);
  EXPECT_EQ(p.limit, 7);
  EXPECT_EQ(p.daemons, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(FlagsTest, VersionIsTheProjectsAndSkipsTheConfigFile) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  std::string missing = testing::TempDir() + "/no-such-config.yaml";
  std::vector<std::string> args = {"prog", "--version"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_TRUE(flags.ParseWithConfig(2, argv.data(), &missing).ok());
  EXPECT_TRUE(flags.version_requested());
  EXPECT_FALSE(flags.help_requested());
  EXPECT_EQ(flags.VersionLine(), std::string("prog ") + kVersion + "\n");
  EXPECT_NE(flags.Usage().find("--version"), std::string::npos);
}

TEST(FlagsTest, IsConfiguredExitsOneOnlyForTheUnconfiguredState) {
  EXPECT_EQ(IsConfiguredExit("prog", absl::FailedPreconditionError("TLS needs it")), 1);
  EXPECT_EQ(IsConfiguredExit("prog", absl::OkStatus()), 0);
  EXPECT_EQ(IsConfiguredExit("prog", absl::InvalidArgumentError("--limit: bad")), 0);
  std::vector<std::string> args = {"prog", "--x", "--is-configured", "--", "--y"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_TRUE(ArgvHas(5, argv.data(), "--is-configured"));
  EXPECT_FALSE(ArgvHas(5, argv.data(), "--y"));
}

TEST(FlagsTest, RejectsUnknownFlagAndBadValues) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  absl::Status s = ParseArgs(flags, {"--nope"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--nope"), std::string::npos);
  EXPECT_FALSE(ParseArgs(flags, {"--limit=x"}).ok());
  EXPECT_FALSE(ParseArgs(flags, {"--insecure=maybe"}).ok());
  EXPECT_FALSE(ParseArgs(flags, {"--listen"}).ok());
}

TEST(FlagsTest, ConfigFileFillsWhatCommandLineLeftUnset) {
  const std::string path = testing::TempDir() + "/flags_test.yaml";
  std::ofstream(path) << "listen: 10.0.0.1:9\nlimit: 3\ndaemon: [x:1, y:2]\n";
  Parsed p;
  FlagSet flags = MakeFlags(p);
  ASSERT_TRUE(ParseArgs(flags, {"--limit=9"}).ok());
  ASSERT_TRUE(flags.LoadConfigFile(path).ok());
  EXPECT_EQ(p.listen, "10.0.0.1:9");
  EXPECT_EQ(p.limit, 9);  // command line wins
  EXPECT_EQ(p.daemons.size(), 2u);
}

TEST(FlagsTest, ConfigFileErrorsNameFileAndLine) {
  const std::string path = testing::TempDir() + "/flags_bad.yaml";
  std::ofstream(path) << "listen: a:1\nbogus: 1\n";
  Parsed p;
  FlagSet flags = MakeFlags(p);
  absl::Status s = flags.LoadConfigFile(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(path + ":2"), std::string::npos) << s;
  EXPECT_FALSE(flags.LoadConfigFile("/nonexistent/attest.yaml").ok());
  // Shapes yaml-cpp cannot convert: refused with the line, not thrown.
  for (const char* text : {"listen: a:1\n? [a, b]\n: 1\n", "listen:\n  - {a: b}\n"}) {
    std::ofstream(path) << text;
    Parsed q;
    FlagSet f2 = MakeFlags(q);
    absl::Status bad = f2.LoadConfigFile(path);
    EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(bad.message().find(path + ":"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace attest
