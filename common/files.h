// Small file helpers shared by the programs.
#ifndef ATTEST_COMMON_FILES_H_
#define ATTEST_COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace attest {

// The whole file. InvalidArgument naming the path when it cannot be read
// (these are configuration files given on the command line).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace attest

#endif  // ATTEST_COMMON_FILES_H_
