#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace attest {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const std::string dir = (fs::temp_directory_path() / ("attest-files-" + name)).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(WriteFileAtomicallyTest, ReplacesTheFileWithTheModeGivenWhateverTheUmask) {
  const std::string dir = TempDir("replace");
  const std::string path = dir + "/state";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  const mode_t umask_was = umask(0077);
  const absl::Status s = WriteFileAtomically(path, std::string(100000, 'n'), 0644);
  umask(umask_was);
  ASSERT_TRUE(s.ok()) << s;
  auto text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, std::string(100000, 'n'));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// A file that must be small is read up to its bound and no further: one
// byte over, or a device that never ends, is refused, naming the path.
TEST(ReadFileUpToTest, ReadsUpToTheBoundAndRefusesMore) {
  const std::string path = TempDir("upto") + "/key";
  ASSERT_TRUE(WriteFileAtomically(path, std::string(1000, 'k')).ok());
  auto exact = ReadFileUpTo(path, 1000);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(*exact, std::string(1000, 'k'));
  auto over = ReadFileUpTo(path, 999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), path + " is larger than 999 bytes");
  auto endless = ReadFileUpTo("/dev/zero", 4096);
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.status().message(), "/dev/zero is larger than 4096 bytes");
  EXPECT_FALSE(ReadFileUpTo(path + ".missing", 1000).ok());
}

// Lines are read whole up to the bound, across the reader's chunks, and a
// longer one is skipped to its end without being kept.
TEST(GetLineUpToTest, KeepsLinesUpToTheBoundAndSkipsLongerOnes) {
  const std::string at_bound(200000, 'a');  // three of the reader's chunks
  std::istringstream in("one\n\n" + at_bound + "\n" + std::string(200001, 'b') + "\n" +
                        std::string(65535, 'c') + "\nlast");
  std::string line;
  bool too_long = true;
  std::vector<std::pair<std::string, bool>> got;
  while (GetLineUpTo(in, &line, 200000, &too_long)) got.emplace_back(line, too_long);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], std::make_pair(std::string("one"), false));
  EXPECT_EQ(got[1], std::make_pair(std::string(), false));
  EXPECT_EQ(got[2], std::make_pair(at_bound, false));
  EXPECT_EQ(got[3], std::make_pair(std::string(), true));
  EXPECT_EQ(got[4], std::make_pair(std::string(65535, 'c'), false));  // a chunk's size exactly
  EXPECT_EQ(got[5], std::make_pair(std::string("last"), false));      // no '\n' at the end
  std::istringstream empty("");
  EXPECT_FALSE(GetLineUpTo(empty, &line, 10, &too_long));
  std::istringstream newline_last("x\n");
  EXPECT_TRUE(GetLineUpTo(newline_last, &line, 10, &too_long));
  EXPECT_FALSE(GetLineUpTo(newline_last, &line, 10, &too_long));
}

TEST(WriteFileAtomicallyTest, AFailureNamesThePathAndLeavesTheOldFile) {
  const std::string dir = TempDir("fail");
  const std::string missing = dir + "/no/such/dir/state";
  absl::Status s = WriteFileAtomically(missing, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s;

  // The rename fails (a directory is in the way): the old content stays
  // and no temporary file is left behind.
  const std::string path = dir + "/taken";
  fs::create_directories(path + "/inside");
  s = WriteFileAtomically(path, "new");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("rename"), std::string::npos) << s;
  EXPECT_TRUE(fs::is_directory(path + "/inside"));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

}  // namespace
}  // namespace attest
