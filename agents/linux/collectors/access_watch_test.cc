#include "agents/linux/collectors/access_watch.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

namespace fs = std::filesystem;

// Polls `predicate` until it holds or 10 s pass (the event is asynchronous).
bool Eventually(const std::function<bool()>& predicate) {
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

TEST(AccessWatcherTest, PasswdSudoersAndKeysTriggerARescan) {
  const std::string tree = testing::TempDir() + "/watch_tree";
  fs::remove_all(tree);
  fs::create_directories(tree + "/etc/sudoers.d");
  fs::create_directories(tree + "/home/alice");
  std::atomic<int> changes{0};
  AccessWatcher watcher([&] { ++changes; });
  ASSERT_TRUE(watcher.Start().ok());
  watcher.Watch({{tree + "/etc", {"passwd", "group", "sudoers"}},
                 {tree + "/etc/sudoers.d", {}},
                 {tree + "/home/alice", {".ssh"}},
                 {tree + "/home/alice/.ssh", {}}});

  std::ofstream(tree + "/etc/passwd") << "root:x:0:0::/root:/bin/bash\n";
  EXPECT_TRUE(Eventually([&] { return changes >= 1; }));
  const int after_passwd = changes;
  std::ofstream(tree + "/etc/sudoers.d/ops") << "%ops ALL=(ALL) ALL\n";
  EXPECT_TRUE(Eventually([&] { return changes > after_passwd; }));
  const int after_sudoers = changes;
  fs::create_directories(tree + "/home/alice/.ssh");  // .ssh appears in a watched home
  EXPECT_TRUE(Eventually([&] { return changes > after_sudoers; }));
  watcher.Stop();
  fs::remove_all(tree);
}

}  // namespace
}  // namespace attest::agent
