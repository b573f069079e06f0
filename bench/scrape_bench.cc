#include "bench/scrape_bench.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/http_client.h"
#include "daemon/metrics/compliance.h"
#include "daemon/metrics/ingest_metrics.h"

namespace attest::bench {
namespace {

template <typename F>
double TimeMs(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

bool MeasureScrape(engine::Engine& engine, store::Store& store, const Clock& clock, int runs) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::IngestMetrics ingest(*registry);
  auto compliance = std::make_shared<metrics::ComplianceCollector>(engine, store, clock, "bench");
  std::vector<double> refresh_ms;
  for (int i = 0; i < std::max(1, runs / 3); ++i) {
    refresh_ms.push_back(TimeMs([&] { compliance->Refresh(); }));
  }
  prometheus::Exposer exposer("127.0.0.1:0", 2);
  exposer.RegisterCollectable(registry);
  exposer.RegisterCollectable(compliance);
  const std::string port = std::to_string(exposer.GetListeningPorts().front());
  size_t bytes = 0;
  auto scrape = [&]() -> double {
    absl::StatusOr<HttpResponse> res;
    const double ms = TimeMs([&] { res = HttpRequest("GET", "127.0.0.1", port, "/metrics"); });
    if (!res.ok() || res->status != 200) {
      fprintf(stderr, "scrape failed: %s\n",
              res.ok() ? std::to_string(res->status).c_str() : res.status().ToString().c_str());
      return -1;
    }
    bytes = res->body.size();
    return ms;
  };
  std::vector<double> quiet;
  for (int i = 0; i < std::max(5, runs * 4); ++i) {
    const double ms = scrape();
    if (ms < 0) return false;
    quiet.push_back(ms);
  }
  // Scrapes while a refresh runs all the time on another thread.
  std::atomic<bool> stop{false};
  std::thread refresher([&] {
    while (!stop) compliance->Refresh();
  });
  std::vector<double> busy;
  for (int i = 0; i < std::max(5, runs * 4); ++i) {
    const double ms = scrape();
    if (ms < 0) break;
    busy.push_back(ms);
  }
  stop = true;
  refresher.join();
  if (busy.empty()) return false;
  printf("scrape_ms=%.2f scrape_max_ms=%.2f scrape_busy_ms=%.2f refresh_ms=%.1f scrape_bytes=%zu\n",
         Median(quiet), *std::max_element(quiet.begin(), quiet.end()),
         *std::max_element(busy.begin(), busy.end()), Median(refresh_ms), bytes);
  return true;
}

}  // namespace attest::bench
