// Evidence bundles as a forger sees them: every tar entry by name, edited
// as text and written back (docs/bundle.md). Header-only, for the tests
// that link attest_bundle.
#ifndef ATTEST_TESTS_SUPPORT_BUNDLE_FILES_H_
#define ATTEST_TESTS_SUPPORT_BUNDLE_FILES_H_

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/bundle_frames.h"
#include "ctl/tar.h"
#include "gtest/gtest.h"

namespace attest::testing_support {

using BundleFiles = std::map<std::string, std::string>;

// Every entry of the bundle at `path`. records.jsonl.zst comes back decoded
// as records.jsonl, which formats 3 and 4 also allow, so that an edited
// bundle is still well formed.
inline BundleFiles ReadBundleFiles(const std::string& path) {
  BundleFiles files;
  EXPECT_TRUE(ctl::ReadTar(path, [&](const std::string& name, uint64_t size,
                                     const ctl::TarChunkReader& read) {
                std::string data(size, '\0');
                read(data.data(), size);
                if (name == ctl::kCompressedRecordsEntry) {
                  auto plain = ctl::DecodeFrames(data);
                  if (!plain.ok()) return plain.status();
                  files[ctl::kRecordsEntry] = std::move(*plain);
                  return absl::OkStatus();
                }
                files[name] = std::move(data);
                return absl::OkStatus();
              }).ok());
  return files;
}

// Writes `files` as a bundle at `path`, entries in name order.
inline void WriteBundleFiles(const BundleFiles& files, const std::string& path) {
  auto tar = ctl::TarWriter::Create(path);
  ASSERT_TRUE(tar.ok()) << tar.status();
  for (const auto& [name, data] : files) ASSERT_TRUE(tar->Add(name, data).ok()) << name;
  ASSERT_TRUE(tar->Close().ok());
}

// A JSON Lines entry's lines, without their newlines, and back.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_BUNDLE_FILES_H_
