#include "daemon/engine/review_population.h"

#include <gtest/gtest.h>

namespace attest::engine {
namespace {

v1::AccessSnapshot Host(bool with_carol_key) {
  v1::AccessSnapshot s;
  auto user = [&](const char* name, uint32_t gid, const char* shell) {
    auto* u = s.add_users();
    u->set_name(name);
    u->set_uid(gid);
    u->set_gid(gid);
    u->set_shell(shell);
    u->set_home(std::string("/home/") + name);
  };
  user("root", 0, "/bin/bash");
  user("daemon", 1, "/usr/sbin/nologin");
  user("alice", 1000, "/bin/bash");
  user("carol", 27, "/bin/zsh");  // primary group sudo
  auto* sudo = s.add_groups();
  sudo->set_name("sudo");
  sudo->set_gid(27);
  sudo->add_members("alice");
  auto* plain = s.add_groups();
  plain->set_name("users");
  plain->set_gid(100);
  plain->add_members("alice");
  auto* f = s.add_sudoers();
  f->set_file("etc/sudoers");
  f->add_rules("Defaults env_reset");
  f->add_rules("Defaults:alice !requiretty");
  f->add_rules("root ALL=(ALL:ALL) ALL");
  f->add_rules("%sudo ALL=(ALL:ALL) ALL");
  f->add_rules("User_Alias OPS = alice, bob");
  f->add_rules("@includedir /etc/sudoers.d");
  auto key = [&](const char* owner, const char* fp, const char* comment) {
    auto* k = s.add_keys();
    k->set_user(owner);
    k->set_type("ssh-ed25519");
    k->set_fingerprint(fp);
    k->set_comment(comment);
  };
  key("alice", "SHA256:aaaa", "alice@laptop");
  key("daemon", "SHA256:dddd", "");  // not a login user: no access by key
  if (with_carol_key) key("carol", "SHA256:cccc", "carol@desk");
  return s;
}

std::vector<std::string> Describe(const std::vector<v1::ReviewEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.kind() + "|" + e.user() + "|" + e.detail());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ReviewPopulationTest, EntriesAreLoginUsersPrivilegedMembersGrantingSudoersLinesAndKeys) {
  auto entries = AccessEntries(Host(true), {"sudo", "wheel"});
  EXPECT_EQ(Describe(entries), (std::vector<std::string>{
                                   "group|alice|sudo",
                                   "group|carol|sudo",  // by primary group
                                   "key|alice|ssh-ed25519 SHA256:aaaa",
                                   "key|carol|ssh-ed25519 SHA256:cccc",
                                   "sudoers|%sudo|%sudo ALL=(ALL:ALL) ALL",
                                   "sudoers|alice, bob|User_Alias OPS = alice, bob",
                                   "sudoers|root|root ALL=(ALL:ALL) ALL",
                                   "user|alice|login shell",
                                   "user|carol|login shell",
                                   "user|root|login shell",
                               }));
  for (const auto& e : entries) {
    EXPECT_EQ(e.id(), ReviewEntryId(e.kind(), e.user(), e.detail()));
    EXPECT_EQ(e.id().size(), 13u);
    if (e.kind() == "key" && e.user() == "alice") {
      EXPECT_EQ(e.note(), "alice@laptop");
    }
    if (e.kind() == "sudoers") {
      EXPECT_EQ(e.note(), "etc/sudoers");
    }
  }
}

TEST(ReviewPopulationTest, TheSameEntryOnManyHostsIsOneEntryListingThem) {
  const v1::AccessSnapshot with = Host(true), without = Host(false);
  Population p = BuildPopulation({{"web-2", 9, 100, &with},
                                  {"db-1", 4, 90, &without},
                                  {"new-1", 0, 0, nullptr},
                                  {"web-1", 7, 95, &with}},
                                 {"sudo"});
  ASSERT_EQ(p.hosts.size(), 4u);
  EXPECT_EQ(p.hosts[0].host(), "db-1");
  EXPECT_EQ(p.hosts[1].host(), "new-1");
  EXPECT_EQ(p.hosts[1].snapshot_index(), 0u);  // no snapshot: no entries, NO_EVIDENCE
  EXPECT_EQ(p.hosts[2].host(), "web-1");
  EXPECT_EQ(p.hosts[2].snapshot_index(), 7u);
  EXPECT_EQ(p.hosts[2].snapshot_observed_at().seconds(), 95);
  EXPECT_EQ(p.entries.size(), 10u);
  for (const auto& e : p.entries) {
    if (e.kind() == "key" && e.user() == "carol") {
      EXPECT_EQ(std::vector<std::string>(e.hosts().begin(), e.hosts().end()),
                (std::vector<std::string>{"web-1", "web-2"}));
    } else {
      EXPECT_EQ(e.hosts_size(), 3) << e.ShortDebugString();
    }
  }
  // The digest covers every host line and every entry line.
  const std::string digest = PopulationSha256(p);
  EXPECT_EQ(digest.size(), 64u);
  p.entries[0].add_hosts("zz-9");
  EXPECT_NE(PopulationSha256(p), digest);
}

TEST(ReviewPopulationTest, SnapshotHoldsFollowsTheEntryNotTheFile) {
  v1::AccessSnapshot s = Host(true);
  const std::string carol_key = ReviewEntryId("key", "carol", "ssh-ed25519 SHA256:cccc");
  EXPECT_TRUE(SnapshotHolds(s, {"sudo"}, carol_key));
  EXPECT_FALSE(SnapshotHolds(Host(false), {"sudo"}, carol_key));
  // The key stays, but carol can no longer log in: the key grants nothing.
  s.mutable_users(3)->set_shell("/usr/sbin/nologin");
  EXPECT_FALSE(SnapshotHolds(s, {"sudo"}, carol_key));
  // A sudoers line moved to another file is still there.
  const std::string root_rule = ReviewEntryId("sudoers", "root", "root ALL=(ALL:ALL) ALL");
  s.mutable_sudoers(0)->set_file("etc/sudoers.d/moved");
  EXPECT_TRUE(SnapshotHolds(s, {"sudo"}, root_rule));
}

TEST(ReviewPopulationTest, AChangeRemovesAUsersAccessOrOneKey) {
  v1::ReviewEntry key;
  key.set_kind("key");
  key.set_user("carol");
  key.set_detail("ssh-ed25519 SHA256:cccc");
  v1::AccessChange c;
  c.set_change(v1::ACCESS_CHANGE_KIND_KEY_REMOVED);
  c.set_subject("carol");
  c.set_before("SHA256:cccc");
  EXPECT_TRUE(ChangeRemoves(key, c));
  c.set_before("SHA256:dddd");
  EXPECT_FALSE(ChangeRemoves(key, c));
  c.set_before("");
  EXPECT_FALSE(ChangeRemoves(key, c));
  c.set_change(v1::ACCESS_CHANGE_KIND_USER_REMOVED);
  EXPECT_TRUE(ChangeRemoves(key, c));  // the user's keys go with the user
  c.set_subject("dave");
  EXPECT_FALSE(ChangeRemoves(key, c));
  v1::ReviewEntry rule;
  rule.set_kind("sudoers");
  rule.set_user("carol");
  c.set_subject("carol");
  EXPECT_FALSE(ChangeRemoves(rule, c)) << "a sudoers line needs a snapshot";
  c.set_change(v1::ACCESS_CHANGE_KIND_USER_MODIFIED);
  key.set_kind("user");
  EXPECT_FALSE(ChangeRemoves(key, c));
}

TEST(ReviewPopulationTest, AnEntryBelongsToTheUsersItNames) {
  v1::ReviewEntry e;
  e.set_kind("key");
  e.set_user("alice");
  EXPECT_TRUE(EntryBelongsTo(e, "alice"));
  EXPECT_FALSE(EntryBelongsTo(e, "alic"));
  EXPECT_FALSE(EntryBelongsTo(e, ""));
  e.set_kind("sudoers");
  e.set_user("alice, bob");
  EXPECT_TRUE(EntryBelongsTo(e, "bob"));
  EXPECT_FALSE(EntryBelongsTo(e, "carol"));
}

}  // namespace
}  // namespace attest::engine
