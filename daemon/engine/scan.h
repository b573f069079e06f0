// Scanning a family whose values are one protobuf message type.
#ifndef ATTEST_DAEMON_ENGINE_SCAN_H_
#define ATTEST_DAEMON_ENGINE_SCAN_H_

#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "common/strings.h"
#include "daemon/store/keys.h"
#include "daemon/store/store.h"

namespace attest::engine {

// Visits the messages stored under keys in [begin, end), in key order.
// `visit(Message&&)` returns void, or an absl::Status that stops the scan
// and is returned when not OK. A value that does not parse is DataLoss.
template <typename Message, typename Visit>
absl::Status ScanMessages(store::Store& store, store::Family family, std::string_view begin,
                          std::string_view end, Visit&& visit) {
  absl::Status inner;
  absl::Status s = store.Scan(family, begin, end, [&](std::string_view, std::string_view value) {
    Message m;
    if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(attest::StrCat(store::FamilyName(family), ": corrupt record"));
      return false;
    }
    if constexpr (std::is_void_v<std::invoke_result_t<Visit, Message&&>>) {
      visit(std::move(m));
    } else {
      inner = visit(std::move(m));
    }
    return inner.ok();
  });
  return s.ok() ? inner : s;
}

// The same over every key that starts with `prefix`.
template <typename Message, typename Visit>
absl::Status ScanPrefixMessages(store::Store& store, store::Family family, std::string_view prefix,
                                Visit&& visit) {
  return ScanMessages<Message>(store, family, prefix, store::PrefixEnd(prefix),
                               std::forward<Visit>(visit));
}

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_SCAN_H_
