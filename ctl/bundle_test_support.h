// What ctl's bundle tests share: a bundle's tar entries read and written
// whole, and the committed bundle fixtures (tests/fixtures) with the key
// that signed each.
#ifndef ATTEST_CTL_BUNDLE_TEST_SUPPORT_H_
#define ATTEST_CTL_BUNDLE_TEST_SUPPORT_H_

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/bundle.h"
#include "ctl/tar.h"
#include "gtest/gtest.h"

namespace attest::ctl::testing_support {

struct Entry {
  std::string name;
  std::string data;
};

inline std::vector<Entry> ReadEntries(const std::string& path) {
  std::vector<Entry> entries;
  const absl::Status s =
      ReadTar(path, [&](const std::string& name, uint64_t size, const TarChunkReader& read) {
        std::string data(size, '\0');
        read(data.data(), size);
        entries.push_back({name, data});
        return absl::OkStatus();
      });
  EXPECT_TRUE(s.ok()) << path << ": " << s;
  return entries;
}

// `entries` written as a tar at `path`.
inline void WriteEntries(const std::vector<Entry>& entries, const std::string& path) {
  auto tar = TarWriter::Create(path);
  ASSERT_TRUE(tar.ok()) << tar.status();
  for (const Entry& e : entries) ASSERT_TRUE(tar->Add(e.name, e.data).ok());
  ASSERT_TRUE(tar->Close().ok());
}

inline std::string FixturePath(std::string_view path) {
  return std::string(ATTEST_SOURCE_DIR) + "/tests/fixtures/" + std::string(path);
}

// Verify's options with the key of the attestd that made the fixture.
inline VerifyOptions FixtureKey(std::string_view dir) {
  std::ifstream key_file(FixturePath(dir) + "/key.pem");
  std::stringstream key;
  key << key_file.rdbuf();
  VerifyOptions options;
  options.pubkey_pem = key.str();
  return options;
}

}  // namespace attest::ctl::testing_support

#endif  // ATTEST_CTL_BUNDLE_TEST_SUPPORT_H_
