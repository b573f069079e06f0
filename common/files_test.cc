#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

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
