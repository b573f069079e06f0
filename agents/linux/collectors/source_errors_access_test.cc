// What the access collector does when passwd, group, sudoers,
// authorized_keys or its own state file is missing, unreadable or malformed
// (docs/bad-input.md, "Access"). The other collectors' cases are in
// source_errors_test.cc; "unreadable" is explained there.
#include <filesystem>

#include "agents/linux/collectors/access.h"
#include "agents/linux/collectors/access_parse.h"
#include "agents/linux/collectors/test_support.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;
using absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1795400000);
constexpr fs::perms kNoAccess = fs::perms::none;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A copy of the debian12 fixture's /etc and /home that a test may break.
struct AccessTree : TempTree {
  explicit AccessTree(const std::string& name) : TempTree(name) {
    CopyFixture("debian12/etc", "etc");
    CopyFixture("debian12/home", "home");
  }
  absl::StatusOr<v1::AccessSnapshot> Snapshot() const { return TakeAccessSnapshot(RootFs(path())); }
};

std::vector<std::string> SudoersFiles(const v1::AccessSnapshot& snapshot) {
  std::vector<std::string> files;
  for (const auto& s : snapshot.sudoers()) files.push_back(s.file());
  return files;
}

TEST(SourceErrorsTest, PasswdOrGroupMissingIsNotFoundAndUnreadableIsPermissionDenied) {
  for (const std::string file : {"etc/passwd", "etc/group"}) {
    SCOPED_TRACE(file);
    AccessTree tree("source_errors_access_" + fs::path(file).filename().string());
    tree.Chmod(file, kNoAccess);
    {
      WithoutFileCapabilities no_caps;
      ASSERT_TRUE(no_caps.ok());
      auto unreadable = tree.Snapshot();
      EXPECT_EQ(unreadable.status().code(), StatusCode::kPermissionDenied);
      EXPECT_NE(Message(unreadable.status()).find(tree / file), std::string::npos);
    }
    fs::remove(tree / file);
    auto missing = tree.Snapshot();
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_NE(Message(missing.status()).find(tree / file), std::string::npos);
  }
}

// Fixed: such ids used to be read as 0, so a malformed line looked like root.
TEST(SourceErrorsTest, NonNumericOrOutOfRangeUidOrGidSkipsTheLineWithAWarning) {
  std::vector<SkippedLine> skipped;
  auto users = ParsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "typo:x:1OO1:1001::/home/typo:/bin/bash\n"
      "nogid:x:1002::::/bin/bash\n"
      "huge:x:4294967296:1003::/home/huge:/bin/bash\n"
      "negative:x:-1:1004::/home/negative:/bin/bash\n"
      "max:x:4294967295:4294967295::/nonexistent:/usr/sbin/nologin\n"
      "alice:x:1001:1001:Alice:/home/alice:/bin/bash\n",
      &skipped);
  std::vector<std::string> names;
  for (const auto& u : users) names.push_back(u.name());
  EXPECT_EQ(names, (std::vector<std::string>{"root", "max", "alice"}));
  EXPECT_EQ(users[1].uid(), 4294967295u);
  EXPECT_EQ(users[2].uid(), 1001u);
  ASSERT_EQ(skipped.size(), 4u);
  EXPECT_EQ(skipped[0].line, 2u);
  EXPECT_EQ(skipped[0].reason, "user typo: uid \"1OO1\" is not a number from 0 to 4294967295");
  EXPECT_EQ(skipped[1].line, 3u);
  EXPECT_EQ(skipped[1].reason, "user nogid: gid \"\" is not a number from 0 to 4294967295");
  EXPECT_EQ(skipped[2].line, 4u);
  EXPECT_EQ(skipped[3].line, 5u);

  skipped.clear();
  auto groups = ParseGroup("sudo:x:27:alice\nwheel:x:ten:mallory\nbig:x:99999999999:\n", &skipped);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].name(), "sudo");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].line, 2u);
  EXPECT_EQ(skipped[0].reason, "group wheel: gid \"ten\" is not a number from 0 to 4294967295");
  EXPECT_EQ(skipped[1].line, 3u);

  // Through the collector: the entry is absent, the others remain, and the
  // file and line are logged.
  AccessTree tree("source_errors_access_bad_ids");
  std::ofstream(tree / "etc/passwd", std::ios::app) << "mallory:x:O:0::/root:/bin/bash\n";
  std::ofstream(tree / "etc/group", std::ios::app) << "admins:x::mallory\n";
  CapturedLogs logs;
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  for (const auto& u : snapshot->users()) EXPECT_NE(u.name(), "mallory");
  for (const auto& g : snapshot->groups()) EXPECT_NE(g.name(), "admins");
  EXPECT_EQ(snapshot->users_size(), 25);   // every line of the fixture
  EXPECT_EQ(snapshot->groups_size(), 47);  // likewise
  EXPECT_NE(logs.text().find("/etc/passwd line 26: user mallory: uid \"O\" is not a number"),
            std::string::npos)
      << logs.text();
  EXPECT_NE(logs.text().find("/etc/group line 48: group admins: gid \"\" is not a number"),
            std::string::npos)
      << logs.text();
}

TEST(SourceErrorsTest, SudoersUnreadableIsPermissionDeniedAskingForCapDacReadSearch) {
  AccessTree tree("source_errors_sudoers_unreadable");
  tree.Chmod("etc/sudoers", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto snapshot = tree.Snapshot();
  EXPECT_EQ(snapshot.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(snapshot.status()),
            "cannot read /etc/sudoers (attest-agent needs CAP_DAC_READ_SEARCH)");
}

TEST(SourceErrorsTest, SudoersDirUnlistableIsPermissionDenied) {
  AccessTree tree("source_errors_sudoers_d_unlistable");
  tree.Chmod("etc/sudoers.d", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto snapshot = tree.Snapshot();
  EXPECT_EQ(snapshot.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(snapshot.status()),
            "cannot list /etc/sudoers.d (attest-agent needs CAP_DAC_READ_SEARCH)");
}

// Missing, or not a directory, it includes nothing (as for sudo); any other
// failure to list it (here ELOOP) is an error, not an empty directory.
TEST(SourceErrorsTest, SudoersDirThatCannotBeListedForAnotherReasonIsAnError) {
  AccessTree tree("source_errors_sudoers_d_loop");
  fs::remove_all(tree / "etc/sudoers.d");
  tree.Write("etc/sudoers.d", "not a directory\n");
  auto not_dir = tree.Snapshot();
  ASSERT_TRUE(not_dir.ok()) << not_dir.status();
  EXPECT_EQ(SudoersFiles(*not_dir), std::vector<std::string>{"/etc/sudoers"});
  fs::remove(tree / "etc/sudoers.d");
  fs::create_directory_symlink("sudoers.d", tree / "etc/sudoers.d");  // a loop
  auto loop = tree.Snapshot();
  EXPECT_EQ(loop.status().code(), StatusCode::kInternal) << loop.status();
  EXPECT_NE(Message(loop.status()).find(tree / "etc/sudoers.d"), std::string::npos)
      << loop.status();
}

TEST(SourceErrorsTest, SudoersDFileUnreadableIsPermissionDeniedNamingIt) {
  AccessTree tree("source_errors_sudoers_d_file_unreadable");
  tree.Chmod("etc/sudoers.d/alice", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto snapshot = tree.Snapshot();
  EXPECT_EQ(snapshot.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(snapshot.status()),
            "cannot read /etc/sudoers.d/alice (attest-agent needs CAP_DAC_READ_SEARCH)");
}

TEST(SourceErrorsTest, SudoersMissingIsSkippedWithoutError) {
  AccessTree tree("source_errors_sudoers_missing");
  fs::remove(tree / "etc/sudoers");
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(SudoersFiles(*snapshot),
            (std::vector<std::string>{"/etc/sudoers.d/README", "/etc/sudoers.d/alice"}));
  fs::remove_all(tree / "etc/sudoers.d");  // and no sudoers.d either
  snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->sudoers_size(), 0);
}

TEST(SourceErrorsTest, SudoersDNamesWithADotOrEndingInTildeAreSkipped) {
  AccessTree tree("source_errors_sudoers_d_names");
  for (const std::string name : {"alice~", "alice.dpkg-old", "bob.conf", ".hidden", "carol"}) {
    tree.Write("etc/sudoers.d/" + name, "mallory ALL=(ALL) NOPASSWD: ALL\n");
  }
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(SudoersFiles(*snapshot),
            (std::vector<std::string>{"/etc/sudoers", "/etc/sudoers.d/README",
                                      "/etc/sudoers.d/alice", "/etc/sudoers.d/carol"}));
}

// Fixed: includes used to be recorded as rule text only, so a rule added to
// an included file was invisible.
TEST(SourceErrorsTest, SudoersIncludesAreFollowedAsSudoFollowsThem) {
  AccessTree tree("source_errors_sudoers_includes");
  tree.Write("etc/sudoers",
             "root ALL=(ALL:ALL) ALL\n"
             "#include /etc/sudoers.local\n"
             "@include sudoers.extra\n"  // relative: next to the including file
             "#includedir /etc/sudoers.other\n"
             "@include /etc/sudoers.missing\n"
             "@include \"/etc/sudoers with space\"\n"
             "@includedir /etc/sudoers.d\n");
  tree.Write("etc/sudoers.local", "local ALL=(ALL) ALL\n#include /etc/sudoers\n");  // a cycle
  tree.Write("etc/sudoers.extra", "extra ALL=(ALL) ALL\n");
  tree.Write("etc/sudoers.other/x", "in_dir ALL=(ALL) ALL\n");
  tree.Write("etc/sudoers.other/x.bak", "skipped ALL=(ALL) ALL\n");  // sudo skips names with '.'
  tree.Write("etc/sudoers.other/x~", "skipped ALL=(ALL) ALL\n");     // and names ending in '~'
  tree.Write("etc/sudoers with space", "spaced ALL=(ALL) ALL\n");
  CapturedLogs logs;
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(SudoersFiles(*snapshot),
            (std::vector<std::string>{"/etc/sudoers", "/etc/sudoers.local", "/etc/sudoers.extra",
                                      "/etc/sudoers.other/x", "/etc/sudoers with space",
                                      "/etc/sudoers.d/README", "/etc/sudoers.d/alice"}));
  EXPECT_EQ(snapshot->SerializeAsString().find("skipped"), std::string::npos);
  EXPECT_NE(logs.text().find("sudoers include /etc/sudoers.missing does not exist; sudo skips it"),
            std::string::npos)
      << logs.text();
}

TEST(SourceErrorsTest, SudoersIncludesNestedDeeperThanSudoAllowsAreNotFollowed) {
  AccessTree tree("source_errors_sudoers_deep");
  tree.Write("etc/sudoers", "@include /etc/deep/1\n");
  for (int i = 1; i <= 130; ++i) {
    tree.Write(
        "etc/deep/" + std::to_string(i),
        "user" + std::to_string(i) + " ALL=(ALL) ALL\n@include " + std::to_string(i + 1) + "\n");
  }
  CapturedLogs logs;
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const auto files = SudoersFiles(*snapshot);
  // /etc/sudoers (depth 0) and files 1 to 128, then /etc/sudoers.d.
  ASSERT_EQ(files.size(), 1u + 128u + 2u);
  EXPECT_EQ(files[128], "/etc/deep/128");
  EXPECT_NE(logs.text().find("/etc/deep/128: includes nested deeper than 128; sudo refuses them"),
            std::string::npos)
      << logs.text();
}

TEST(SourceErrorsTest, AnUnreadableIncludedFileOrDirectoryIsPermissionDenied) {
  AccessTree tree("source_errors_sudoers_include_unreadable");
  tree.Write("etc/sudoers", "@include /etc/sudoers.local\n@includedir /opt/sudoers\n");
  tree.Write("etc/sudoers.local", "local ALL=(ALL) ALL\n");
  tree.Write("opt/sudoers/x", "x ALL=(ALL) ALL\n");
  tree.Chmod("etc/sudoers.local", kNoAccess);
  tree.Chmod("opt/sudoers", kNoAccess);
  WithoutFileCapabilities no_caps;
  ASSERT_TRUE(no_caps.ok());
  auto file = tree.Snapshot();
  EXPECT_EQ(file.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(file.status()),
            "cannot read /etc/sudoers.local (attest-agent needs CAP_DAC_READ_SEARCH)");
  fs::permissions(tree / "etc/sudoers.local", fs::perms::owner_read);
  auto dir = tree.Snapshot();
  EXPECT_EQ(dir.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(dir.status()),
            "cannot list /opt/sudoers (attest-agent needs CAP_DAC_READ_SEARCH)");
}

TEST(SourceErrorsTest, AuthorizedKeysUnreadableIsPermissionDeniedAndOver1MiBIsInvalidArgument) {
  AccessTree tree("source_errors_authorized_keys");
  const std::string keys = "home/alice/.ssh/authorized_keys";
  tree.Chmod(keys, kNoAccess);
  {
    WithoutFileCapabilities no_caps;
    ASSERT_TRUE(no_caps.ok());
    auto unreadable = tree.Snapshot();
    EXPECT_EQ(unreadable.status().code(), StatusCode::kPermissionDenied);
    EXPECT_NE(Message(unreadable.status()).find(tree / keys), std::string::npos);
  }
  fs::permissions(tree / keys, fs::perms::owner_read | fs::perms::owner_write);
  const std::string fixture = ReadFixture("debian12/" + keys);
  std::string padded = fixture + std::string((1 << 20) - fixture.size(), '\n');
  tree.Write(keys, padded);  // exactly 1 MiB: read
  auto at_limit = tree.Snapshot();
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->keys_size(), 3);
  tree.Write(keys, padded + "\n");  // one byte more: refused
  auto over = tree.Snapshot();
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(over.status()), tree / keys + ": larger than 1048576 bytes");
}

// Fixed: a key of a type this code does not list was skipped silently, so
// a key sshd accepts (a newer algorithm) was invisible to access tracking.
// A type is now read from the key blob itself; a line that holds no key is
// skipped, as sshd skips it, with a warning naming the line.
TEST(SourceErrorsTest, KeysOfUnlistedTypesAreKeptAndLinesWithNoKeyAreWarnedAbout) {
  AccessTree tree("source_errors_bad_key_lines");
  const std::string keys = "home/alice/.ssh/authorized_keys";
  const std::string ed25519 =
      "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  tree.Write(
      keys,
      "ssh-newalg@openssh.example AAAAGnNzaC1uZXdhbGdAb3BlbnNzaC5leGFtcGxlAAAABGFiY2Q= new\n"  // blob
                                                                                               // says
                                                                                               // the
                                                                                               // same
                                                                                               // type
      "ssh-foo " +
          ed25519 +
          " unknown\n"  // line 2: the blob is an ssh-ed25519 key
          "ssh-ed25519 AAAA!!!not-base64!!! bad-base64\n"
          "ssh-rsa " +
          ed25519 +
          " wrong-type\n"
          "just some text\n"
          "ssh-ed25519 " +
          ed25519 + " ok\n");
  CapturedLogs logs;
  auto snapshot = tree.Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->keys_size(), 2);
  EXPECT_EQ(snapshot->keys(0).type(), "ssh-newalg@openssh.example");
  EXPECT_EQ(snapshot->keys(0).fingerprint(),
            "SHA256:ZYnbIHvBcmoh7tHyIuXVRk6Rfuo0EoWqQGMyT8oq/qA");  // sha256 of the blob
  EXPECT_EQ(snapshot->keys(1).comment(), "ok");
  const std::string file = "/home/alice/.ssh/authorized_keys line ";
  for (const std::string& expected : std::vector<std::string>{
           file + "2: no key type and key that sshd can read; the line is skipped",
           file + "3: ssh-ed25519 key that is not valid base64; the line is skipped",
           file + "4: ssh-rsa key whose blob is of type ssh-ed25519; the line is skipped",
           file + "5: no key type and key that sshd can read; the line is skipped"}) {
    EXPECT_NE(logs.text().find(expected), std::string::npos) << expected << "\n" << logs.text();
  }
  EXPECT_EQ(logs.text().find("line 1:"), std::string::npos) << logs.text();
  EXPECT_EQ(logs.text().find("line 6:"), std::string::npos) << logs.text();
}

TEST(SourceErrorsTest, CorruptAccessStateIsOnTheRecordAndAFreshSnapshotIsTheBaseline) {
  AccessTree tree("source_errors_corrupt_state");
  const std::string state = tree / "access-snapshot.pb";
  tree.Write("access-snapshot.pb", "\x0a\xff\xff not a serialized AccessSnapshot");
  CapturedLogs logs;
  AccessCollector collector(state, absl::Hours(6));
  EXPECT_NE(
      logs.text().find("access state " + state + " is unreadable; starting from a fresh snapshot"),
      std::string::npos)
      << logs.text();
  RootFs root(tree.path());
  ReplayRunner runner;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  // No changes against nothing, but on the record that some may be unknown
  // (fixed: the loss used to be in the agent's log only), then a snapshot.
  ASSERT_EQ(signals->size(), 2u);
  ASSERT_TRUE((*signals)[0].has_collector_error());
  EXPECT_EQ((*signals)[0].collector_error().collector(), "access");
  const std::string& error = (*signals)[0].collector_error().error();
  EXPECT_EQ(error.rfind("access state " + state + " is unreadable (last written 20", 0), 0u)
      << error;
  EXPECT_NE(error.find("access changes made since it was written cannot be listed; the snapshot "
                       "sent with this is the new baseline"),
            std::string::npos)
      << error;
  EXPECT_TRUE((*signals)[1].has_access_snapshot());
  // The fresh state was saved over the corrupt one: a restart sees no changes
  // (and sends its first-run snapshot).
  AccessCollector restarted(state, absl::Hours(6));
  signals = restarted.Collect(CollectContext{root, runner, kNow + absl::Minutes(1)});
  ASSERT_TRUE(signals.ok()) << signals.status();
  for (const auto& s : *signals) {
    EXPECT_FALSE(s.has_access_change()) << s.access_change().diff();
    EXPECT_FALSE(s.has_collector_error()) << s.collector_error().error();
  }
}

TEST(SourceErrorsTest, UnsavableAccessStateWarnsAndCollectionStillSucceeds) {
  AccessTree tree("source_errors_unsavable_state");
  const std::string state = tree / "no-such-dir/access-snapshot.pb";
  CapturedLogs logs;
  AccessCollector collector(state, absl::Hours(6));
  RootFs root(tree.path());
  ReplayRunner runner;
  auto signals = collector.Collect(CollectContext{root, runner, kNow});
  ASSERT_TRUE(signals.ok()) << signals.status();
  ASSERT_EQ(signals->size(), 1u);
  EXPECT_TRUE((*signals)[0].has_access_snapshot());
  EXPECT_NE(logs.text().find("cannot save access state: cannot write " + state), std::string::npos)
      << logs.text();
  EXPECT_FALSE(fs::exists(state));
}

}  // namespace
}  // namespace attest::agent
