#include "bench/report_bench.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "ctl/engine_commands.h"
#include "daemon/admin/admin_service.h"
#include "daemon/ingest/committer.h"

namespace attest::bench {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs `report` with stdout sent to /dev/null (attestctl prints "wrote F"
// or the whole JSON), returning its exit code and the milliseconds it took.
template <typename Fn>
std::pair<int, double> Timed(Fn report) {
  fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  FILE* null = fopen("/dev/null", "w");
  dup2(fileno(null), STDOUT_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = report();
  fflush(stdout);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  dup2(saved, STDOUT_FILENO);
  close(saved);
  fclose(null);
  return {rc, ms};
}

}  // namespace

bool MeasureReport(engine::Engine& engine, store::Store& store, const Clock& clock,
                   const std::string& window, const std::string& dir, int runs) {
  ingest::Committer committer(store, clock);
  admin::AdminService admin(store, engine, committer, clock, {.insecure = true});
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    fprintf(stderr, "attest-engine-bench: report: cannot start the admin server\n");
    return false;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);  // as attestctl (ctl/client.cc)
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                           grpc::InsecureChannelCredentials(), args);
  auto stub = v1::AdminService::NewStub(channel);
  ctl::CommandFlags f;
  f.window = window;
  f.out = dir + "/report.html";
  std::vector<double> html_ms, json_ms;
  for (int r = 0; r < runs; ++r) {
    f.format = "html";
    auto [rc, ms] = Timed([&] { return ctl::PageReport({stub.get()}, {""}, f); });
    if (rc != 0) {
      fprintf(stderr, "attest-engine-bench: report --format html failed (%d)\n", rc);
      return false;
    }
    html_ms.push_back(ms);
    f.format = "json";
    auto [jrc, jms] = Timed([&] { return ctl::Report(*stub, f); });
    if (jrc != 0) {
      fprintf(stderr, "attest-engine-bench: report --format json failed (%d)\n", jrc);
      return false;
    }
    json_ms.push_back(jms);
  }
  printf("report_html_ms=%.1f report_json_ms=%.1f report_html_bytes=%ju\n", Median(html_ms),
         Median(json_ms), static_cast<uintmax_t>(std::filesystem::file_size(f.out)));
  server->Shutdown();
  return true;
}

}  // namespace attest::bench
