// CheckRecordLines: records.jsonl, plain or in zstd frames, checked a
// batch and a slice at a time on every core, reaches the caller line by
// line in the order written, whatever the batch and slice bounds; and it
// stops at the first error, having linked exactly the lines before it.
#include "ctl/bundle_lines.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_test_support.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

// A line CheckLine cannot take as a record, but whose host it names: what
// reaches the caller says which line it was.
std::string Line(int n) { return absl::StrCat("{\"host\":\"h", n, "\"}\n"); }

std::string Lines(int from, int to) {
  std::string out;
  for (int n = from; n < to; ++n) out += Line(n);
  return out;
}

struct Linked {
  absl::Status status;
  std::vector<std::string> hosts;  // in the order linked
  RecordLinesStats stats;
};

// CheckRecordLines over `entry`, read a few KiB at a time; `stop_at` (from
// 1): the linked line whose callback fails.
Linked Check(const std::string& entry, bool compressed, size_t slice_lines, size_t stop_at = 0) {
  size_t at = 0;
  const TarChunkReader read = [&](char* buf, size_t cap) {
    const size_t n = std::min({cap, entry.size() - at, size_t{5000}});
    memcpy(buf, entry.data() + at, n);
    at += n;
    return n;
  };
  Linked run;
  run.status = CheckRecordLines(
      read, entry.size(), compressed, slice_lines,
      [&](CheckedLine& l) {
        run.hosts.push_back(l.host);
        EXPECT_EQ(l.unnamed_error, "host, index, prev_hash and hash are required");
        if (run.hosts.size() == stop_at) return absl::DataLossError("the caller stops here");
        return absl::OkStatus();
      },
      &run.stats);
  return run;
}

// A record made on an arena (as a batch's are) is the record CheckLine
// makes of its own, with the same verdict on the line: for every record
// of a fixture bundle, and for each with its hash or its form broken.
TEST(CheckLineTest, ARecordOnAnArenaIsTheRecordOfItsOwn) {
  std::string records;
  for (const auto& e :
       testing_support::ReadEntries(testing_support::FixturePath("bundle-v2/two-hosts-v2.tar"))) {
    if (e.name == "records.jsonl") records = e.data;
  }
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(records, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
    std::string edited(line);
    edited.back() = ' ';  // not canonical, and no longer JSON
    lines.push_back(edited);
    if (const size_t at = edited.find("\"seq\":"); at != std::string::npos) {
      edited = std::string(line);
      edited[at + 6] = edited[at + 6] == '9' ? '8' : '9';  // the hash no longer matches
      lines.push_back(edited);
    }
  }
  ASSERT_GT(lines.size(), 100u);
  google::protobuf::Arena arena;
  int records_made = 0;
  for (const std::string& line : lines) {
    const CheckedLine own = CheckLine(line);
    const CheckedLine on_arena = CheckLine(line, &arena);
    EXPECT_EQ(on_arena.unnamed_error, own.unnamed_error) << line;
    EXPECT_EQ(on_arena.error, own.error) << line;
    EXPECT_EQ(on_arena.host, own.host) << line;
    EXPECT_EQ(on_arena.index, own.index) << line;
    EXPECT_EQ(on_arena.hash, own.hash) << line;
    ASSERT_EQ(on_arena.record == nullptr, own.record == nullptr) << line;
    if (own.record == nullptr) continue;
    ++records_made;
    EXPECT_EQ(on_arena.record->GetArena(), &arena);
    EXPECT_EQ(own.record->GetArena(), nullptr);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*on_arena.record, *own.record))
        << line;
  }
  EXPECT_GT(records_made, 50);
}

std::vector<std::string> Hosts(int from, int to) {
  std::vector<std::string> out;
  for (int n = from; n < to; ++n) out.push_back(absl::StrCat("h", n));
  return out;
}

// Plain lines: more than one 4 MiB read, in slices of 7 lines.
TEST(CheckRecordLinesTest, PlainLinesReachTheCallerInOrder) {
  const int n = 300000;  // 5.6 MB
  const Linked run = Check(Lines(0, n), false, 7);
  ASSERT_TRUE(run.status.ok()) << run.status;
  EXPECT_EQ(run.hosts, Hosts(0, n));
  EXPECT_EQ(run.stats.frames, 0u);
}

// Frames of different sizes, sliced more finely than a frame holds.
TEST(CheckRecordLinesTest, FramedLinesReachTheCallerInOrderAndAreCounted) {
  std::string entry;
  uint64_t decoded = 0;
  int from = 0;
  for (int frame = 1; frame <= 9; ++frame) {
    const std::string text = Lines(from, from + frame * 37);
    from += frame * 37;
    decoded += text.size();
    auto z = CompressFrame(text);
    ASSERT_TRUE(z.ok()) << z.status();
    entry += *z;
  }
  const Linked run = Check(entry, true, 5);
  ASSERT_TRUE(run.status.ok()) << run.status;
  EXPECT_EQ(run.hosts, Hosts(0, from));
  EXPECT_EQ(run.stats.frames, 9u);
  EXPECT_EQ(run.stats.decoded_bytes, decoded);
}

TEST(CheckRecordLinesTest, TheCallersErrorStopsTheReadingThere) {
  for (const bool compressed : {false, true}) {
    std::string entry = Lines(0, 1000);
    if (compressed) {
      auto first = CompressFrame(Lines(0, 400));
      auto second = CompressFrame(Lines(400, 1000));
      ASSERT_TRUE(first.ok() && second.ok());
      entry = *first + *second;
    }
    const Linked run = Check(entry, compressed, 64, 500);
    EXPECT_EQ(run.status.message(), "the caller stops here");
    EXPECT_EQ(run.hosts, Hosts(0, 500)) << compressed;
  }
}

TEST(CheckRecordLinesTest, ACutOffLastLineIsNamedAfterTheWholeOnes) {
  const Linked run = Check(Lines(0, 10) + "{\"host\":\"h10\"", false, 3);
  EXPECT_EQ(run.status.message(), "records.jsonl: the last line is cut off");
  EXPECT_EQ(run.hosts, Hosts(0, 10));
}

// A damaged frame is named; the lines of the frames before it were linked.
TEST(CheckRecordLinesTest, ADamagedFrameIsNamedAfterTheFramesBeforeIt) {
  auto first = CompressFrame(Lines(0, 100));
  auto second = CompressFrame(Lines(100, 200));
  auto third = CompressFrame(Lines(200, 300));
  ASSERT_TRUE(first.ok() && second.ok() && third.ok());
  std::string damaged = *third;
  damaged.back() ^= 0x01;  // its checksum
  const Linked run = Check(*first + *second + damaged, true, 16);
  EXPECT_EQ(run.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(run.status.message().find(absl::StrCat("records.jsonl.zst frame 3 (at byte ",
                                                   first->size() + second->size(), ")")),
            std::string::npos)
      << run.status;
  EXPECT_EQ(run.hosts, Hosts(0, 200));
}

// A plain line longer than a zstd frame may decode to is refused, named by
// its byte offset, once the whole lines before it are linked; a line of
// exactly that length is read like any other.
TEST(CheckRecordLinesTest, APlainLineLongerThanAFrameIsRefused) {
  const std::string before = Lines(0, 10);
  for (const uint64_t length : {kMaxFrameContentBytes + 1, kMaxFrameContentBytes}) {
    const std::string entry = before + std::string(length, 'x') + "\n" + Line(10);
    size_t at = 0;
    const TarChunkReader read = [&](char* buf, size_t cap) {  // whole reads, as from a tar
      const size_t n = std::min(cap, entry.size() - at);
      memcpy(buf, entry.data() + at, n);
      at += n;
      return n;
    };
    std::vector<std::string> hosts;
    RecordLinesStats stats;
    const absl::Status s = CheckRecordLines(
        read, entry.size(), false, 1000,
        [&](CheckedLine& l) {
          hosts.push_back(l.host);
          return absl::OkStatus();
        },
        &stats);
    if (length > kMaxFrameContentBytes) {
      EXPECT_EQ(s.message(), absl::StrCat("records.jsonl: the line at byte ", before.size(),
                                          " is longer than 67108864 bytes, the most a record "
                                          "line may be"));
      EXPECT_EQ(hosts, Hosts(0, 10));
    } else {
      EXPECT_TRUE(s.ok()) << s;
      ASSERT_EQ(hosts.size(), 12u);
      EXPECT_EQ(hosts[11], "h10");
    }
  }
}

}  // namespace
}  // namespace attest::ctl
