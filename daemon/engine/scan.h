// Scanning a family whose values are one protobuf message type.
#ifndef ATTEST_DAEMON_ENGINE_SCAN_H_
#define ATTEST_DAEMON_ENGINE_SCAN_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "common/strings.h"
#include "daemon/store/keys.h"
#include "daemon/store/store.h"
#include "google/protobuf/arena.h"

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

// The same, for a visitor that only reads each message (`visit(const
// Message&)`, returning void): each is parsed on an arena that is emptied
// after it, so that a long scan neither allocates each message's parts
// nor leaves their holes among what the visitor keeps.
template <typename Message, typename Visit>
absl::Status ReadMessages(store::Store& store, store::Family family, std::string_view begin,
                          std::string_view end, Visit&& visit) {
  // The thread's first block, unless a read on this thread is already
  // using it (a visitor that reads again). On the heap: glibc carves a
  // thread_local array out of every thread's stack, and a 64 KiB one
  // overflowed civetweb's metrics threads.
  constexpr size_t kFirstBlock = 64 << 10;
  static thread_local std::unique_ptr<char[]> first_block;
  static thread_local bool first_block_used = false;
  google::protobuf::ArenaOptions options;
  const bool own_block = !first_block_used;
  if (own_block) {
    if (!first_block) first_block.reset(new char[kFirstBlock]);
    options.initial_block = first_block.get();
    options.initial_block_size = kFirstBlock;
    first_block_used = true;
  }
  struct Release {
    bool own;
    ~Release() {
      if (own) first_block_used = false;
    }
  } release{own_block};
  google::protobuf::Arena arena(options);
  bool corrupt = false;
  absl::Status s = store.Scan(family, begin, end, [&](std::string_view, std::string_view value) {
    auto* m = google::protobuf::Arena::CreateMessage<Message>(&arena);
    corrupt = !m->ParseFromArray(value.data(), static_cast<int>(value.size()));
    if (!corrupt) visit(static_cast<const Message&>(*m));
    arena.Reset();
    return !corrupt;
  });
  if (!s.ok()) return s;
  if (corrupt) {
    return absl::DataLossError(attest::StrCat(store::FamilyName(family), ": corrupt record"));
  }
  return absl::OkStatus();
}

// Parses the messages stored under keys in [begin, end), in key order,
// onto `arena`, and appends each to `out`. A value that does not parse is
// DataLoss.
template <typename Message>
absl::Status ParseMessagesOnto(store::Store& store, store::Family family, std::string_view begin,
                               std::string_view end, google::protobuf::Arena* arena,
                               std::vector<const Message*>* out) {
  bool corrupt = false;
  absl::Status s = store.Scan(family, begin, end, [&](std::string_view, std::string_view value) {
    auto* m = google::protobuf::Arena::CreateMessage<Message>(arena);
    corrupt = !m->ParseFromArray(value.data(), static_cast<int>(value.size()));
    if (!corrupt) out->push_back(m);
    return !corrupt;
  });
  if (!s.ok()) return s;
  if (corrupt) {
    return absl::DataLossError(attest::StrCat(store::FamilyName(family), ": corrupt record"));
  }
  return absl::OkStatus();
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
