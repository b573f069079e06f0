#include "agents/linux/collectors/access.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "agents/linux/collectors/access_parse.h"
#include "agents/linux/collectors/test_support.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;
const absl::Time kT0 = absl::FromUnixSeconds(1795400000);

TEST(AccessParseTest, FingerprintsMatchSshKeygen) {
  auto keys = ParseAuthorizedKeys(ReadFixture("debian12/home/alice/.ssh/authorized_keys"), "alice");
  ASSERT_EQ(keys.size(), 3u);
  // tests/fixtures/debian12/ssh-keygen-lf.txt, recorded with ssh-keygen -lf.
  const std::string recorded = ReadFixture("debian12/ssh-keygen-lf.txt");
  for (const auto& k : keys) {
    EXPECT_NE(recorded.find(" " + k.fingerprint() + " "), std::string::npos) << k.fingerprint();
  }
  EXPECT_EQ(keys[0].type(), "ssh-ed25519");
  EXPECT_EQ(keys[0].comment(), "alice@laptop");
  EXPECT_EQ(keys[1].type(), "ssh-rsa");  // behind from="..",command=".." options
  EXPECT_EQ(keys[1].comment(), "deploy key");
  EXPECT_EQ(keys[2].comment(), "");
}

TEST(AccessParseTest, PasswdNeverKeepsThePasswordField) {
  auto users = ParsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "legacy:$6$salt$hashhashhash:1002:1002::/home/legacy:/bin/sh\n"
      "broken line\n");
  ASSERT_EQ(users.size(), 2u);
  v1::AccessSnapshot snap;
  for (auto& u : users) *snap.add_users() = u;
  EXPECT_EQ(snap.SerializeAsString().find("$6$"), std::string::npos);
  EXPECT_EQ(users[1].uid(), 1002u);
  EXPECT_EQ(users[1].shell(), "/bin/sh");
}

TEST(AccessParseTest, RecordedPasswdAndGroup) {
  auto users = ParsePasswd(ReadFixture("debian12/etc/passwd"));
  auto alice =
      std::find_if(users.begin(), users.end(), [](auto& u) { return u.name() == "alice"; });
  ASSERT_NE(alice, users.end());
  EXPECT_EQ(alice->home(), "/home/alice");
  EXPECT_TRUE(IsLoginShell(alice->shell()));
  EXPECT_FALSE(IsLoginShell("/usr/sbin/nologin"));
  EXPECT_FALSE(IsLoginShell("/bin/false"));
  auto groups = ParseGroup(ReadFixture("debian12/etc/group"));
  auto sudo =
      std::find_if(groups.begin(), groups.end(), [](auto& g) { return g.name() == "sudo"; });
  ASSERT_NE(sudo, groups.end());
  ASSERT_EQ(sudo->members_size(), 1);
  EXPECT_EQ(sudo->members(0), "alice");
}

TEST(AccessParseTest, SudoersNormalisation) {
  auto rules = NormalizeSudoers(ReadFixture("debian12/etc/sudoers"));
  EXPECT_EQ(rules, (std::vector<std::string>{
                       "Defaults env_reset", "Defaults mail_badpass",
                       "Defaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                       "/sbin:/bin\"",
                       "Defaults use_pty", "root ALL=(ALL:ALL) ALL", "%sudo ALL=(ALL:ALL) ALL",
                       "@includedir /etc/sudoers.d"}));
  EXPECT_EQ(NormalizeSudoers(ReadFixture("debian12/etc/sudoers.d/alice")),
            (std::vector<std::string>{"alice ALL=(ALL) NOPASSWD: /usr/bin/systemctl restart nginx, "
                                      "/usr/bin/journalctl"}));
  EXPECT_EQ(NormalizeSudoers("#includedir /etc/x\n#1000 ALL=(ALL) ALL\n# comment\n"),
            (std::vector<std::string>{"#includedir /etc/x", "#1000 ALL=(ALL) ALL"}));
  // Reformatting alone is not a change.
  EXPECT_EQ(NormalizeSudoers("root   ALL=(ALL:ALL)\tALL\n"),
            NormalizeSudoers("root ALL=(ALL:ALL) ALL"));
}

TEST(AccessParseTest, SudoersIncludesResolveAsSudoResolvesThem) {
  const auto parse = [](std::string_view rule) {
    auto include = ParseSudoersInclude(rule, "/etc/sudoers.d/ops", "web1");
    return include ? StrCat(include->directory ? "dir " : "file ", include->path) : "none";
  };
  EXPECT_EQ(parse("@includedir /etc/sudoers.d"), "dir /etc/sudoers.d");
  EXPECT_EQ(parse("#includedir /etc/x"), "dir /etc/x");
  EXPECT_EQ(parse("#include /etc/sudoers.%h"), "file /etc/sudoers.web1");
  EXPECT_EQ(parse("@include local"), "file /etc/sudoers.d/local");
  EXPECT_EQ(parse("@include \"/etc/a b\""), "file /etc/a b");
  EXPECT_EQ(parse("@include /etc/a\\ b%%"), "file /etc/a b%");
  EXPECT_EQ(parse("@include"), "none");
  EXPECT_EQ(parse("#includes /etc/x"), "none");
  EXPECT_EQ(parse("root ALL=(ALL) ALL"), "none");
  EXPECT_TRUE(SudoIncludesFileNamed("ops"));
  EXPECT_FALSE(SudoIncludesFileNamed("ops.dpkg-old"));
  EXPECT_FALSE(SudoIncludesFileNamed("ops~"));
}

TEST(AccessSnapshotTest, FixtureTree) {
  RootFs root(FixturePath("debian12"));
  auto snap = TakeAccessSnapshot(root);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->keys_size(), 3);  // alice's; root has none, nologin users are skipped
  std::vector<std::string> files;
  for (const auto& s : snap->sudoers()) files.push_back(s.file());
  EXPECT_EQ(files, (std::vector<std::string>{"/etc/sudoers", "/etc/sudoers.d/README",
                                             "/etc/sudoers.d/alice"}));
}

class AccessCollectorTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string name = testing::UnitTest::GetInstance()->current_test_info()->name();
    tree_ = testing::TempDir() + "/access_tree_" + name;
    fs::remove_all(tree_);
    fs::create_directories(tree_);
    fs::copy(FixturePath("debian12/etc"), tree_ + "/etc", fs::copy_options::recursive);
    fs::copy(FixturePath("debian12/home"), tree_ + "/home", fs::copy_options::recursive);
    state_ = testing::TempDir() + "/access_state_" + name + ".pb";
    fs::remove(state_);
  }
  void TearDown() override { fs::remove_all(tree_); }

  std::vector<v1::Signal> Run(AccessCollector& c, absl::Time at) {
    RootFs root(tree_);
    ProcessRunner runner;
    auto signals = c.Collect(CollectContext{root, runner, at});
    EXPECT_TRUE(signals.ok()) << signals.status();
    return signals.ok() ? *signals : std::vector<v1::Signal>{};
  }
  static std::vector<const v1::AccessChange*> Changes(const std::vector<v1::Signal>& signals) {
    std::vector<const v1::AccessChange*> out;
    for (const auto& s : signals) {
      if (s.has_access_change()) out.push_back(&s.access_change());
    }
    return out;
  }

  std::string tree_;
  std::string state_;
};

TEST_F(AccessCollectorTest, FirstRunSnapshotsThenEachChangeIsReported) {
  AccessCollector collector(state_, absl::Hours(6));
  auto first = Run(collector, kT0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].has_access_snapshot());
  EXPECT_TRUE(Run(collector, kT0 + absl::Minutes(1)).empty());  // nothing changed

  std::ofstream(tree_ + "/etc/passwd", std::ios::app) << "bob:x:1002:1002::/home/bob:/bin/bash\n";
  std::ofstream(tree_ + "/home/alice/.ssh/authorized_keys", std::ios::trunc)
      << ReadFixture("debian12/home/alice/.ssh/authorized_keys").substr(0, 200);  // drop keys
  std::ofstream(tree_ + "/etc/sudoers.d/bob") << "bob ALL=(ALL) ALL\n";
  auto second = Run(collector, kT0 + absl::Minutes(2));
  auto changes = Changes(second);
  ASSERT_GE(changes.size(), 3u);
  bool user_added = false, sudoers = false, key_removed = false;
  for (const auto* c : changes) {
    if (c->change() == v1::ACCESS_CHANGE_KIND_USER_ADDED && c->subject() == "bob") {
      user_added = true;
      EXPECT_EQ(c->after(), "uid=1002 gid=1002 home=/home/bob shell=/bin/bash");
    }
    if (c->change() == v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED &&
        c->subject() == "/etc/sudoers.d/bob") {
      sudoers = true;
      EXPECT_EQ(c->before(), "");
      EXPECT_EQ(c->diff(), "+bob ALL=(ALL) ALL\n");
    }
    if (c->change() == v1::ACCESS_CHANGE_KIND_KEY_REMOVED && c->subject() == "alice")
      key_removed = true;
    EXPECT_EQ(c->id().size(), 20u);
  }
  EXPECT_TRUE(user_added);
  EXPECT_TRUE(sudoers);
  EXPECT_TRUE(key_removed);
  EXPECT_TRUE(second.back().has_access_snapshot());  // a change re-sends the snapshot
}

TEST_F(AccessCollectorTest, ChangesWhileTheAgentWasDownAreSeenAtRestart) {
  {
    AccessCollector collector(state_, absl::Hours(6));
    Run(collector, kT0);
  }
  std::string group = ReadFixture("debian12/etc/group");
  const size_t at = group.find("sudo:x:27:alice");
  group.replace(at, 15, "sudo:x:27:alice,mallory");
  std::ofstream(tree_ + "/etc/group", std::ios::trunc) << group;
  AccessCollector restarted(state_, absl::Hours(6));
  const auto signals = Run(restarted, kT0 + absl::Hours(1));
  auto changes = Changes(signals);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]->change(), v1::ACCESS_CHANGE_KIND_GROUP_CHANGED);
  EXPECT_EQ(changes[0]->subject(), "sudo");
  EXPECT_EQ(changes[0]->diff(), "+mallory\n");
}

TEST_F(AccessCollectorTest, ARuleAddedToAnIncludedFileIsAChangeAndItsDirectoryIsWatched) {
  std::ofstream(tree_ + "/etc/sudoers", std::ios::app) << "@include /etc/sudoers.local\n"
                                                          "@includedir /opt/sudo\n";
  std::ofstream(tree_ + "/etc/sudoers.local") << "# nothing yet\n";
  AccessCollector collector(state_, absl::Hours(6));
  Run(collector, kT0);
  std::ofstream(tree_ + "/etc/sudoers.local", std::ios::app) << "mallory ALL=(ALL) NOPASSWD: ALL\n";
  const auto signals = Run(collector, kT0 + absl::Minutes(1));
  auto changes = Changes(signals);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]->change(), v1::ACCESS_CHANGE_KIND_SUDOERS_CHANGED);
  EXPECT_EQ(changes[0]->subject(), "/etc/sudoers.local");
  EXPECT_EQ(changes[0]->diff(), "+mallory ALL=(ALL) NOPASSWD: ALL\n");

  // /etc now wakes for sudoers.local too. /opt/sudo is listed although it
  // does not exist (the watcher skips it; the periodic rescan covers it).
  std::map<std::string, std::set<std::string>> watched;
  for (const auto& dir : collector.WatchPaths()) watched[dir.path] = dir.names;
  EXPECT_EQ(watched["/etc"],
            (std::set<std::string>{"group", "passwd", "sudoers", "sudoers.local"}));
  EXPECT_EQ(watched["/etc/sudoers.d"], std::set<std::string>{});
  EXPECT_EQ(watched["/opt/sudo"], std::set<std::string>{});
  EXPECT_EQ(watched["/home/alice"], std::set<std::string>{".ssh"});
  EXPECT_EQ(watched["/home/alice/.ssh"], std::set<std::string>{});
  EXPECT_EQ(watched.count("/opt"), 0u);
}

TEST_F(AccessCollectorTest, PeriodicFullSnapshot) {
  AccessCollector collector("", absl::Hours(6));
  Run(collector, kT0);
  EXPECT_TRUE(Run(collector, kT0 + absl::Hours(5)).empty());
  auto later = Run(collector, kT0 + absl::Hours(6));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_TRUE(later[0].has_access_snapshot());
}

TEST_F(AccessCollectorTest, PrivateKeysAndShadowAreNeverRead) {
  std::ofstream(tree_ + "/home/alice/.ssh/id_ed25519")
      << "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n";
  std::ofstream(tree_ + "/etc/shadow") << "alice:$6$secret$hash:19000:0:99999:7:::\n";
  AccessCollector collector("", absl::Hours(6));
  auto signals = Run(collector, kT0);
  std::string all;
  for (const auto& s : signals) all += s.SerializeAsString();
  EXPECT_EQ(all.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(all.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace attest::agent
