#include "ctl/bundle_lines.h"

#include <thread>

#include "common/json.h"
#include "common/strings.h"
#include "ctl/bundle_replay.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {

CheckedLine CheckLine(std::string_view text) {
  CheckedLine c;
  auto j = Json::Parse(text);
  if (!j.ok() || !j->is_object()) {
    c.unnamed_error = "not a JSON record";
    return c;
  }
  const Json* host = j->Find("host");
  const Json* index = j->Find("index");
  const Json* hash = j->Find("hash");
  const Json* prev = j->Find("prev_hash");
  if (!host || !host->is_string() || !index || !index->as_uint() || !hash || !hash->is_string() ||
      !prev || !prev->is_string()) {
    c.host = host && host->is_string() ? host->as_string() : "?";
    c.unnamed_error = "host, index, prev_hash and hash are required";
    return c;
  }
  c.host = host->as_string();
  c.index = *index->as_uint();
  if (!HexDecode(prev->as_string(), &c.claimed_prev)) c.claimed_prev.clear();
  auto record = RecordFromInterchange(*j);
  if (!record.ok()) {
    c.error = std::string(record.status().message());
    return c;
  }
  std::string claimed_hash;
  if (!HexDecode(hash->as_string(), &claimed_hash)) {
    c.error = "hash is not hex";
    return c;
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
    return c;
  }
  if (canonical != text) {
    c.error = "not in canonical form";
    return c;
  }
  record->clear_hash();  // the replay needs the content only
  record->clear_prev_hash();
  c.record = std::move(*record);
  return c;
}

void CheckLines(const std::vector<std::string_view>& lines, unsigned threads,
                std::vector<CheckedLine>* out) {
  out->clear();
  out->resize(lines.size());
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(lines.size() / 64 + 1)));
  auto slice = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) (*out)[i] = CheckLine(lines[i]);
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

}  // namespace attest::ctl
