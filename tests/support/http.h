// A plain HTTP/1.1 GET for tests that scrape attestd's /metrics.
#ifndef ATTEST_TESTS_SUPPORT_HTTP_H_
#define ATTEST_TESTS_SUPPORT_HTTP_H_

#include <string>

#include "absl/status/statusor.h"

namespace attest::testing_support {

// GET http://`host_port``target`; the body when the status is 200.
absl::StatusOr<std::string> HttpGet(const std::string& host_port, const std::string& target);

}  // namespace attest::testing_support

#endif  // ATTEST_TESTS_SUPPORT_HTTP_H_
