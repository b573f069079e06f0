// attest-witness's HTTP(S) server: HTTP/1.1 with keep-alive on Boost.Beast,
// one thread per connection up to a bound, every read and write with a
// deadline, bodies bounded (docs/bad-input.md).
#ifndef ATTEST_WITNESS_HTTP_SERVER_H_
#define ATTEST_WITNESS_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "witness/witness.h"

namespace attest::witness {

struct ServerOptions {
  std::string listen = "127.0.0.1:7380";
  std::string tls_cert;  // PEM; both empty: plain HTTP (loopback only, checked by the caller)
  std::string tls_key;
  size_t max_connections = 64;
  int io_timeout_seconds = 30;  // per request read, and per response write
};

class HttpServer {
 public:
  // `witness` must outlive the server.
  HttpServer(Witness& witness, ServerOptions options);
  ~HttpServer();

  // Binds and starts accepting; the bound address (port 0 resolved).
  absl::StatusOr<std::string> Start();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attest::witness

#endif  // ATTEST_WITNESS_HTTP_SERVER_H_
