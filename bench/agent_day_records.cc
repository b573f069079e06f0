// attest-agent-day-records: turns attest-agent-day's signals into the
// interchange format `attestctl import` loads (docs/evidence-format.md), as
// --hosts hosts (h0001, ...) that each sent them all: a hello, then every
// signal in order with seq from 1, observed when the collectors observed it.
// The hosts' lines are interleaved as a fleet streams them, every host's
// n-th record before any host's (n+1)-th, so that attestd stores records of
// many hosts in each write, as it does live (its store's compaction, and so
// its bytes at rest, follow that; one host's chain after another's would
// only ever move whole files down).
// Also prints the records' bytes as canonical JSON with links, as a bundle's
// records.jsonl holds them (each host's chain hashed from genesis).
//
//   attest-agent-day-records --in=SIGNALS --out=FILE.jsonl [--hosts=N]
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

#include "attest/v1/evidence.pb.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/record_json.h"

namespace {

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in_path, out_path;
  int64_t hosts = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a.rfind("--in=", 0) == 0) {
      in_path = std::string(a.substr(5));
    } else if (a.rfind("--out=", 0) == 0) {
      out_path = std::string(a.substr(6));
    } else if (a.rfind("--hosts=", 0) == 0) {
      hosts = std::stoll(std::string(a.substr(8)));
    } else {
      in_path.clear();
      break;
    }
  }
  std::ifstream in(in_path, std::ios::binary);
  if (in_path.empty() || out_path.empty() || hosts < 1 || !in) {
    fprintf(stderr, "usage: attest-agent-day-records --in=SIGNALS --out=FILE.jsonl [--hosts=N]\n");
    return 2;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<attest::v1::Signal> signals;
  for (std::string_view rest(bytes); !rest.empty();) {
    uint64_t size = 0;
    attest::v1::Signal s;
    if (!GetVarint(&rest, &size) || size > rest.size() ||
        !s.ParseFromArray(rest.data(), static_cast<int>(size))) {
      fprintf(stderr, "attest-agent-day-records: %s is not attest-agent-day's output\n",
              in_path.c_str());
      return 1;
    }
    rest.remove_prefix(size);
    signals.push_back(std::move(s));
  }
  if (signals.empty()) {
    fprintf(stderr, "attest-agent-day-records: no signals in %s\n", in_path.c_str());
    return 1;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  uint64_t import_bytes = 0, linked_bytes = 0, records = 0;
  std::string line, linked;
  struct Host {
    attest::v1::EvidenceRecord r;
    std::string prev = attest::evidence::GenesisHash();
  };
  std::vector<Host> fleet(static_cast<size_t>(hosts));
  auto emit = [&](Host& h) {
    attest::v1::EvidenceRecord& r = h.r;
    r.set_index(r.index() + 1);
    *r.mutable_received_at() = r.observed_at();
    line.clear();
    attest::evidence::AppendCanonicalRecord(&line, r, /*with_links=*/false);
    r.set_prev_hash(h.prev);
    r.set_hash(attest::evidence::Sha256(h.prev + line));
    h.prev = r.hash();
    linked.clear();
    attest::evidence::AppendCanonicalRecord(&linked, r, /*with_links=*/true);
    r.clear_prev_hash();
    r.clear_hash();
    line.push_back('\n');
    out << line;
    import_bytes += line.size();
    linked_bytes += linked.size() + 1;
    ++records;
  };
  for (size_t i = 0; i < fleet.size(); ++i) {
    char host[32];
    snprintf(host, sizeof(host), "h%04zu", i + 1);
    const std::string instance = attest::StrCat(host, "-i1");
    attest::v1::EvidenceRecord& r = fleet[i].r;
    r.set_host(host);
    r.set_instance_id(instance);
    r.set_origin(attest::v1::ORIGIN_IMPORTED);
    attest::v1::Hello* hello = r.mutable_hello();
    hello->set_agent_version("bench");
    hello->set_instance_id(instance);
    hello->set_boot_id(attest::StrCat(host, "-boot"));
    *r.mutable_observed_at() = signals.front().observed_at();
    r.set_seq(0);
    emit(fleet[i]);
  }
  for (size_t n = 0; n < signals.size(); ++n) {
    for (Host& h : fleet) {
      *h.r.mutable_signal() = signals[n];
      h.r.set_seq(n + 1);
      *h.r.mutable_observed_at() = signals[n].observed_at();
      emit(h);
    }
  }
  out.close();
  if (!out) {
    fprintf(stderr, "attest-agent-day-records: writing %s failed\n", out_path.c_str());
    return 1;
  }
  printf("records=%llu import_bytes=%llu bundle_json_bytes=%llu\n",
         static_cast<unsigned long long>(records), static_cast<unsigned long long>(import_bytes),
         static_cast<unsigned long long>(linked_bytes));
  return 0;
}
