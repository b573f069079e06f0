// What validate.cc and validate_host.cc share: field errors, string and
// time checks, and the server-control states' bounds. Not ingest's API.
#ifndef ATTEST_DAEMON_INGEST_VALIDATE_INTERNAL_H_
#define ATTEST_DAEMON_INGEST_VALIDATE_INTERNAL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attest/v1/signal.pb.h"
#include "daemon/ingest/validate.h"

namespace attest::ingest::internal {

// INVALID_ARGUMENT "FIELD: WHAT".
absl::Status Invalid(std::string_view field, std::string_view what);

absl::Status CheckString(std::string_view field, const std::string& value, size_t max,
                         bool required);

// A time an observation reports about the past (a last delivery, a last
// backup): any time since 2000 will do, it only makes the state older.
absl::Status CheckReportedTime(std::string_view field, const google::protobuf::Timestamp& ts,
                               absl::Time now, const Limits& limits);

// A server-control state (time_sync, firewall, services, sshd, backup,
// disk_encryption, mac): short words, bounded lists. A host reports only
// itself, so these bound what one record costs.
absl::Status ValidateHostState(const v1::Signal& s, absl::Time now, const Limits& l);

}  // namespace attest::ingest::internal

#endif  // ATTEST_DAEMON_INGEST_VALIDATE_INTERNAL_H_
