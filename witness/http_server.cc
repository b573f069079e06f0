#include "witness/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "common/files.h"
#include "common/net.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace attest::witness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Runs `io` until `done`, the deadline or the server stopping; false
// unless done.
bool RunUntil(asio::io_context& io, const bool& done, int seconds,
              const std::atomic<bool>& stopping) {
  io.restart();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done && !stopping && !io.stopped() && std::chrono::steady_clock::now() < until) {
    io.run_one_until(until);
  }
  return done;
}

http::response<http::string_body> Handle(Witness& witness,
                                         const http::request<http::string_body>& req) {
  Response r;
  const std::string target(req.target());
  if (req.method() == http::verb::post && target == "/add-checkpoint") {
    r = witness.AddCheckpoint(req.body());
  } else if (req.method() == http::verb::get && target.size() == 1 + 64 + 11 &&
             target.substr(65) == "/checkpoint") {
    r = witness.GetCheckpoint(target.substr(1, 64));
  } else if (target == "/add-checkpoint" || target.ends_with("/checkpoint")) {
    r = Response{405, "text/plain; charset=utf-8", "method not allowed\n"};
  } else {
    r = Response{404, "text/plain; charset=utf-8",
                 "not found: POST /add-checkpoint, GET /<origin hash>/checkpoint\n"};
  }
  http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
  res.set(http::field::content_type, r.content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

template <typename Stream>
void Serve(Stream& stream, asio::io_context& io, Witness& witness, int timeout,
           const std::atomic<bool>& stopping) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8192);
    parser.body_limit(kMaxRequestBytes);
    bool done = false;
    beast::error_code ec;
    http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntil(io, done, timeout, stopping)) return;
    if (ec == http::error::body_limit) {
      http::response<http::string_body> res{http::status::payload_too_large, 11};
      res.body() = StrCat("a request is at most ", kMaxRequestBytes, " bytes\n");
      res.keep_alive(false);
      res.prepare_payload();
      done = false;
      http::async_write(stream, res, [&](beast::error_code, size_t) { done = true; });
      RunUntil(io, done, timeout, stopping);
      return;
    }
    if (ec) return;
    auto res = Handle(witness, parser.get());
    const bool keep = res.keep_alive();
    done = false;
    http::async_write(stream, res, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntil(io, done, timeout, stopping) || ec || !keep) return;
  }
}

}  // namespace

struct HttpServer::Impl {
  Witness& witness;
  ServerOptions options;
  asio::io_context accept_io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<ssl::context> tls;
  tcp protocol = tcp::v4();
  std::thread acceptor_thread;
  std::mutex mu;
  std::condition_variable idle;
  std::set<asio::io_context*> ios;  // of the open connections
  size_t connections = 0;           // guarded by mu
  std::atomic<bool> stopping{false};

  void Connection(int fd) {
    asio::io_context io;
    {
      std::lock_guard lock(mu);
      ios.insert(&io);
    }
    Talk(io, fd);
    std::lock_guard lock(mu);
    ios.erase(&io);
    if (--connections == 0) idle.notify_all();
  }

  void Talk(asio::io_context& io, int fd) {
    beast::tcp_stream tcp_stream(tcp::socket(io, protocol, fd));
    const int timeout = options.io_timeout_seconds;
    if (tls) {
      beast::ssl_stream<beast::tcp_stream&> stream(tcp_stream, *tls);
      bool done = false;
      beast::error_code ec;
      stream.async_handshake(ssl::stream_base::server, [&](beast::error_code e) {
        ec = e;
        done = true;
      });
      if (RunUntil(io, done, timeout, stopping) && !ec) {
        Serve(stream, io, witness, timeout, stopping);
      }
    } else {
      Serve(tcp_stream, io, witness, timeout, stopping);
    }
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream.socket().close(ignored);
  }

  void AcceptLoop() {
    while (!stopping) {
      beast::error_code ec;
      tcp::socket socket(accept_io);
      acceptor->accept(socket, ec);
      if (stopping) return;
      if (ec) continue;
      {
        std::lock_guard lock(mu);
        if (connections >= options.max_connections) {
          // Over the bound: closed at once, so that clients cannot hold
          // more threads than that.
          socket.close(ec);
          continue;
        }
        ++connections;
      }
      const int fd = socket.release(ec);
      std::thread([this, fd] { Connection(fd); }).detach();
    }
  }
};

HttpServer::HttpServer(Witness& witness, ServerOptions options)
    : impl_(new Impl{witness, std::move(options)}) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::string> HttpServer::Start() {
  Impl& s = *impl_;
  if (!s.options.tls_cert.empty()) {
    auto cert = ReadFileToString(s.options.tls_cert);
    if (!cert.ok()) return cert.status();
    auto key = ReadFileToString(s.options.tls_key);
    if (!key.ok()) return key.status();
    s.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    s.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    s.tls->use_certificate_chain(asio::buffer(*cert), ec);
    if (!ec) s.tls->use_private_key(asio::buffer(*key), ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("--tls-cert/--tls-key: not a certificate and its key: ", ec.message()));
    }
  }
  auto hp = SplitHostPort(s.options.listen);
  if (!hp.ok() || !hp->has_port) {
    return absl::InvalidArgumentError(StrCat("--listen ", s.options.listen, ": HOST:PORT"));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(hp->host, ec);
  if (ec) return absl::InvalidArgumentError(StrCat("--listen: not an IP address: ", hp->host));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(std::stoi(hp->port)));
  s.acceptor = std::make_unique<tcp::acceptor>(s.accept_io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", s.options.listen, ": ", ec.message()));
  }
  s.protocol = endpoint.protocol();
  const tcp::endpoint bound = s.acceptor->local_endpoint();
  s.acceptor_thread = std::thread([&s] { s.AcceptLoop(); });
  const std::string host = bound.address().to_string();
  return bound.address().is_v6() ? StrCat("[", host, "]:", bound.port())
                                 : StrCat(host, ":", bound.port());
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  if (s.acceptor) {
    beast::error_code ec;
    // accept() blocks: a connection to ourselves wakes it.
    tcp::socket wake(s.accept_io);
    wake.connect(s.acceptor->local_endpoint(), ec);
    s.acceptor->close(ec);
  }
  if (s.acceptor_thread.joinable()) s.acceptor_thread.join();
  std::unique_lock lock(s.mu);
  for (asio::io_context* io : s.ios) io->stop();
  s.idle.wait(lock, [&] { return s.connections == 0; });
}

}  // namespace attest::witness
