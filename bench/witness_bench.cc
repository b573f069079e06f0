// attest-witness under load (scripts/bench, bench/witness_bench.sh): a log
// of growing size whose every checkpoint is sent, with its consistency
// proof, to a running attest-witness, one request after another, as
// attestd would. Prints the cosigning latency and the checkpoints per
// second one witness sustains, next to the baseline: the same HTTP round
// trip to the same witness for a request it answers without signing or
// storing anything (GET of an unknown log's checkpoint).
//   attest-witness-bench --key FILE --print-vkey
//   attest-witness-bench --key FILE --witness http://HOST:PORT --n N
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/http_client.h"
#include "common/strings.h"
#include "daemon/evidence/checkpoint.h"
#include "daemon/evidence/merkle.h"
#include "daemon/evidence/note.h"

namespace {

namespace note = attest::evidence::note;
namespace merkle = attest::evidence::merkle;
constexpr char kOrigin[] = "attest.bench/log";

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string key_path, url;
  bool print_vkey = false;
  int64_t n = 1000;
  attest::FlagSet flags("attest-witness-bench", "see the file comment");
  flags.String("key", &key_path, "the log's key (created if absent)");
  flags.Bool("print-vkey", &print_vkey, "print the log's verifier key and exit");
  flags.String("witness", &url, "the witness's URL");
  flags.Int("n", &n, "checkpoints to send");
  if (!flags.Parse(argc, argv).ok() || key_path.empty()) return 2;
  auto key = attest::evidence::SigningKey::LoadOrCreate(key_path);
  if (!key.ok()) return 1;
  note::VerifierKey vkey{kOrigin, note::kEd25519, 0, (*key)->raw_public_key()};
  vkey.key_id = note::KeyId(vkey.name, vkey.type, vkey.public_key);
  if (print_vkey) {
    printf("%s\n", vkey.Format().c_str());
    return 0;
  }
  auto u = attest::ParseHttpUrl(url);
  if (!u.ok()) return 2;
  std::vector<std::string> leaves;
  std::vector<double> cosign_ms, base_ms;
  uint64_t old_size = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int64_t i = 1; i <= n; ++i) {
    leaves.push_back(merkle::LeafHash(attest::StrCat("state ", i)));
    note::Note c;
    c.text =
        note::Checkpoint{kOrigin, leaves.size(), merkle::Root(leaves, leaves.size()), {}}.Format();
    c.signatures.push_back({kOrigin, vkey.key_id, (*key)->Sign(c.text)});
    std::string body = attest::StrCat("old ", old_size, "\n");
    for (const std::string& h : merkle::ConsistencyProof(leaves, old_size, leaves.size())) {
      attest::StrAppend(&body, attest::Base64Encode(h), "\n");
    }
    body += "\n" + c.Format();
    auto t0 = std::chrono::steady_clock::now();
    auto r = attest::HttpRequest("POST", *u, "/add-checkpoint", body, "text/plain");
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok() || r->status != 200) {
      fprintf(stderr, "checkpoint %lld: %s\n", static_cast<long long>(i),
              r.ok() ? r->body.c_str() : std::string(r.status().message()).c_str());
      return 1;
    }
    old_size = leaves.size();
    cosign_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    auto b = attest::HttpRequest("GET", *u, "/" + std::string(64, '0') + "/checkpoint");
    auto t2 = std::chrono::steady_clock::now();
    if (!b.ok()) return 1;
    base_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  double cosign_total = 0;
  for (double v : cosign_ms) cosign_total += v;
  printf(
      "checkpoints=%lld cosign_p50_ms=%.3f cosign_p99_ms=%.3f base_p50_ms=%.3f base_p99_ms=%.3f "
      "cosigned_per_s=%.1f base_per_s=%.1f elapsed_s=%.1f\n",
      static_cast<long long>(n), Percentile(cosign_ms, 0.5), Percentile(cosign_ms, 0.99),
      Percentile(base_ms, 0.5), Percentile(base_ms, 0.99), 1000.0 * n / cosign_total,
      1000.0 * n /
          [&] {
            double t = 0;
            for (double v : base_ms) t += v;
            return t;
          }(),
      secs);
  return 0;
}
