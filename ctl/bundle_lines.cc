#include "ctl/bundle_lines.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "common/json.h"
#include "common/json_view.h"
#include "common/strings.h"
#include "ctl/bundle_frames.h"
#include "ctl/bundle_replay.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {

namespace {

// CheckLine on the line as parsed (J: Json, or JsonView on the fast path).
template <typename J>
void CheckParsed(const J& j, std::string_view text, google::protobuf::Arena* arena,
                 CheckedLine* out) {
  CheckedLine& c = *out;
  const J* host = j.Find("host");
  const J* index = j.Find("index");
  const J* hash = j.Find("hash");
  const J* prev = j.Find("prev_hash");
  if (!host || !host->is_string() || !index || !index->as_uint() || !hash || !hash->is_string() ||
      !prev || !prev->is_string()) {
    c.host = host && host->is_string() ? std::string(host->as_string()) : "?";
    c.unnamed_error = "host, index, prev_hash and hash are required";
    return;
  }
  c.host = host->as_string();
  c.index = *index->as_uint();
  if (!HexDecode(prev->as_string(), &c.claimed_prev)) c.claimed_prev.clear();
  RecordPtr record(google::protobuf::Arena::CreateMessage<v1::EvidenceRecord>(arena));
  if (absl::Status s = RecordFromInterchange(j, record.get()); !s.ok()) {
    c.error = std::string(s.message());
    return;
  }
  std::string claimed_hash;
  if (!HexDecode(hash->as_string(), &claimed_hash)) {
    c.error = "hash is not hex";
    return;
  }
  // The record's canonical form with the links it claims, serialized
  // once: without the links it is what the chain hash covers (as attestd
  // chains it), and with them it must be the line itself, byte for byte.
  record->set_prev_hash(c.claimed_prev);
  record->set_hash(claimed_hash);
  thread_local std::string canonical;
  thread_local std::string hashed;
  canonical.clear();
  evidence::LinkSpans spans;
  evidence::AppendCanonicalRecordWithLinks(&canonical, *record, &spans);
  const std::string_view all(canonical);
  hashed.assign(c.claimed_prev);
  hashed.append(all.substr(0, spans.hash_begin));
  hashed.append(all.substr(spans.hash_end, spans.prev_begin - spans.hash_end));
  hashed.append(all.substr(spans.prev_end));
  c.hash = evidence::Sha256(hashed);
  if (c.hash != claimed_hash) {
    c.error = "its hash does not match its content";
    return;
  }
  if (canonical != text) {
    c.error = "not in canonical form";
    return;
  }
  record->clear_hash();  // the replay needs the content only
  record->clear_prev_hash();
  c.record = std::move(record);
}

}  // namespace

CheckedLine CheckLine(std::string_view text, google::protobuf::Arena* arena) {
  CheckedLine c;
  // A line in canonical form without string escapes (nearly all of them)
  // is read as views into the text, without building a tree of copies.
  // Anything else, and so every malformed line, is read by Json::Parse,
  // which names what is wrong. Both read such a line the same way, and
  // the line must still serialize back to itself byte for byte.
  // Lines over 64 KiB (a record line is about 0.5 to 2 KiB) get a
  // document of their own, so that a huge line does not leave the thread's
  // buffers large: what they keep is at most about 1.5 MiB (a value per
  // two bytes of line, 48 bytes each).
  thread_local JsonDoc doc;
  if (text.size() <= (64 << 10)) {
    if (doc.Parse(text) && doc.root().is_object()) {
      CheckParsed(doc.root(), text, arena, &c);
      return c;
    }
  } else if (JsonDoc big; big.Parse(text) && big.root().is_object()) {
    CheckParsed(big.root(), text, arena, &c);
    return c;
  }
  auto j = Json::Parse(text);
  if (!j.ok() || !j->is_object()) {
    c.unnamed_error = "not a JSON record";
    return c;
  }
  CheckParsed(*j, text, arena, &c);
  return c;
}

void CheckLines(const std::vector<std::string_view>& lines, unsigned threads,
                std::vector<CheckedLine>* out, google::protobuf::Arena* arena) {
  out->clear();
  out->resize(lines.size());
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(lines.size() / 64 + 1)));
  auto slice = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) (*out)[i] = CheckLine(lines[i], arena);
  };
  std::vector<std::thread> workers;
  const size_t per = (lines.size() + threads - 1) / threads;
  for (unsigned t = 1; t < threads; ++t) {
    workers.emplace_back(slice, std::min(lines.size(), t * per),
                         std::min(lines.size(), (t + 1) * per));
  }
  slice(0, std::min(lines.size(), per));
  for (std::thread& w : workers) w.join();
}

namespace {

// Blocks from 64 KiB up to 1 MiB: a slice's records are some MiB.
google::protobuf::ArenaOptions ArenaOptions() {
  google::protobuf::ArenaOptions o;
  o.start_block_size = 64 << 10;
  o.max_block_size = 1 << 20;
  return o;
}

}  // namespace

absl::Status CheckRecordLines(const TarChunkReader& read, uint64_t size, bool compressed,
                              size_t slice_lines, const LinkLine& link, RecordLinesStats* stats) {
  // Lines are checked a batch at a time on every core, and linked in
  // order on this thread while the next batch is being checked.
  // A batch is 4 MiB of plain lines, or one zstd frame, decoded on
  // the checking thread.
  // A decoded frame or a read chunk, checked and linked a slice of
  // lines at a time: a frame of 64 MiB of empty lines (a few KiB
  // compressed) is 64M lines, and a CheckedLine per line of that at
  // once would be tens of GiB.
  struct Batch {
    std::string text;
    size_t pos = 0;  // where the next slice starts in `text`
    Frame frame;
    absl::Status error;                   // the frame does not decode
    std::vector<std::string_view> lines;  // the current slice
    // The records of `checked` (declared first, so destroyed after it),
    // emptied with it: a record's parts are not allocated and freed one by
    // one, and not freed on this thread from the checking threads' heaps
    // (a tenth of verify's CPU went to that).
    google::protobuf::Arena arena{ArenaOptions()};
    std::vector<CheckedLine> checked;
    void Clear() {
      checked.clear();
      arena.Reset();
    }
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<Batch> in_flight;
  // The batch last linked, kept for the next one's buffers: freeing a
  // slice's CheckedLines at once made glibc consolidate its free lists
  // (1.5% of verify's CPU).
  std::unique_ptr<Batch> spare;
  auto fresh = [&spare] {
    if (!spare) return std::make_unique<Batch>();
    std::unique_ptr<Batch> b = std::move(spare);
    b->text.clear();
    b->pos = 0;
    b->frame = Frame{};
    b->error = absl::OkStatus();
    b->lines.clear();
    b->Clear();
    return b;
  };
  std::future<void> checking;
  // The next slice of `b`: at most slice_lines lines, and no more
  // bytes than kSliceBytes but for the one line that crosses it.
  slice_lines = std::max<size_t>(1, slice_lines);
  auto split = [slice_lines](Batch* b) {
    constexpr size_t kSliceBytes = 8 << 20;
    b->lines.clear();
    b->Clear();
    const std::string_view text(b->text);
    const size_t begin = b->pos;
    size_t start = b->pos;
    while (start < text.size() && b->lines.size() < slice_lines && start - begin < kSliceBytes) {
      size_t nl = text.find('\n', start);
      if (nl == std::string_view::npos) nl = text.size();
      b->lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    b->pos = start;
  };
  auto link_in_flight = [&]() -> absl::Status {
    if (!in_flight) return absl::OkStatus();
    checking.get();
    if (!in_flight->error.ok()) return in_flight->error;
    for (;;) {
      for (CheckedLine& l : in_flight->checked) {
        if (absl::Status st = link(l); !st.ok()) return st;
      }
      if (in_flight->pos >= in_flight->text.size()) break;
      // The frame's next slice; CheckLines spreads it over the cores.
      split(in_flight.get());
      CheckLines(in_flight->lines, threads, &in_flight->checked, &in_flight->arena);
    }
    spare = std::move(in_flight);
    return absl::OkStatus();
  };
  // Links the batch in flight while `batch` is being checked (`next`),
  // which then becomes the batch in flight. On an error, `next` is waited
  // for (it uses `batch`) before returning.
  auto hand_over = [&](std::unique_ptr<Batch> batch, std::future<void> next) -> absl::Status {
    absl::Status st = link_in_flight();
    in_flight = std::move(batch);
    checking = std::move(next);
    if (!st.ok()) checking.get();
    return st;
  };
  const bool tty = isatty(STDERR_FILENO);
  const absl::Time started = absl::Now();
  uint64_t consumed = 0;
  std::string carry;  // a line cut by the chunk boundary
  FrameSplitter frames(read, size);
  for (;;) {
    std::unique_ptr<Batch> batch = fresh();
    if (compressed) {
      absl::StatusOr<bool> more = frames.Next(&batch->frame);
      if (!more.ok()) {
        if (absl::Status st = link_in_flight(); !st.ok()) return st;
        return more.status();
      }
      if (!*more) break;
      ++stats->frames;
      consumed += batch->frame.bytes.size();
      Batch* b = batch.get();
      auto next = std::async(std::launch::async, [b, threads, &split] {
        auto text = DecodeFrame(b->frame);
        if (!text.ok()) {
          b->error = text.status();
          return;
        }
        b->text = std::move(*text);
        b->frame.bytes.clear();
        split(b);
        CheckLines(b->lines, threads, &b->checked, &b->arena);
      });
      const uint64_t content_bytes = batch->frame.content_bytes;
      if (absl::Status st = hand_over(std::move(batch), std::move(next)); !st.ok()) return st;
      stats->decoded_bytes += content_bytes;
      continue;
    }
    batch->text = std::move(carry);
    const size_t had = batch->text.size();
    batch->text.resize(had + (4 << 20));
    const size_t n = read(batch->text.data() + had, 4 << 20);
    batch->text.resize(had + n);
    if (n == 0) {
      carry = std::move(batch->text);
      break;
    }
    consumed += n;
    // Only the first line can be longer than a read: a line longer than a
    // frame may decode to cannot be in a compressed bundle either, and
    // unbounded, it would be copied whole at every read.
    const size_t first_nl = batch->text.find('\n', had);
    if ((first_nl == std::string::npos ? batch->text.size() : first_nl) > kMaxFrameContentBytes) {
      if (absl::Status st = link_in_flight(); !st.ok()) return st;
      return absl::DataLossError(StrCat(
          "records.jsonl: the line at byte ", consumed - batch->text.size(), " is longer than ",
          kMaxFrameContentBytes, " bytes, the most a record line may be"));
    }
    if (tty && consumed % (16 << 20) < n) {
      const double secs = absl::ToDoubleSeconds(absl::Now() - started);
      fprintf(stderr, "\rverify: %.0f/%.0f MB of records, %.0f MB/s   ",
              static_cast<double>(consumed) / 1e6, static_cast<double>(size) / 1e6,
              secs > 0 ? static_cast<double>(consumed) / 1e6 / secs : 0.0);
    }
    const size_t last_nl = batch->text.rfind('\n');
    if (last_nl == std::string::npos) {  // no whole line yet: read on, growing it in place
      carry = std::move(batch->text);
      continue;
    }
    const size_t whole = last_nl + 1;
    carry.assign(batch->text, whole, std::string::npos);
    batch->text.resize(whole);
    split(batch.get());
    Batch* b = batch.get();
    auto next = std::async(std::launch::async,
                           [b, threads] { CheckLines(b->lines, threads, &b->checked, &b->arena); });
    if (absl::Status st = hand_over(std::move(batch), std::move(next)); !st.ok()) return st;
  }
  if (absl::Status st = link_in_flight(); !st.ok()) return st;
  if (!carry.empty()) return absl::DataLossError("records.jsonl: the last line is cut off");
  return absl::OkStatus();
}

}  // namespace attest::ctl
