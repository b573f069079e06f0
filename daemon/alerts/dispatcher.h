// Delivers per-host events (events.h) to Alertmanager's v2 API.
//
// Every `evaluate_every` the dispatcher asks its source for the events
// active now. An event that appears is sent at once; an active event is
// re-sent every `resend` with endsAt = now + 4 x resend (so Alertmanager
// resolves it by itself if attestd dies); an event that is gone is sent
// once more with endsAt = the time it was found gone. Each Alertmanager
// gets its own schedule: a failed POST is retried with exponential backoff
// (with jitter, capped at `max_backoff`), and resolutions are kept for
// that Alertmanager until one POST carrying them succeeds, so an
// Alertmanager that was down gets everything when it returns.
//
// All of it runs on the dispatcher's own thread; nothing here is on the
// ingest path.
#ifndef ATTEST_DAEMON_ALERTS_DISPATCHER_H_
#define ATTEST_DAEMON_ALERTS_DISPATCHER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "daemon/alerts/events.h"

namespace prometheus {
class Registry;
}

namespace attest::alerts {

struct DispatcherOptions {
  std::vector<std::string> urls;  // Alertmanager base URLs (http[s]://HOST[:PORT][/PREFIX])
  HttpTls tls;                    // for https URLs
  absl::Duration evaluate_every = absl::Seconds(30);
  absl::Duration resend = absl::Minutes(1);
  absl::Duration min_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(1);
  absl::Duration timeout = absl::Seconds(10);  // one POST
  // Resolutions kept per Alertmanager while it is unreachable; beyond
  // this the oldest are dropped (Alertmanager expires them by endsAt).
  size_t max_pending_resolutions = 100000;
  prometheus::Registry* registry = nullptr;  // optional: delivery metrics
};

// POSTs `body` (JSON) to `url` + "/api/v2/alerts". The default sends it
// over HTTP(S); tests of the schedule pass their own.
using PostFn = std::function<absl::Status(const std::string& url, const std::string& body)>;
absl::Status PostToAlertmanager(const std::string& url, const std::string& body,
                                absl::Duration timeout, const HttpTls& tls = {});

class Dispatcher {
 public:
  using Source = std::function<absl::StatusOr<std::vector<Event>>()>;

  // InvalidArgument for a URL that is not http[s]://HOST[:PORT][/PREFIX].
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(Source source, const Clock& clock,
                                                            DispatcherOptions options,
                                                            PostFn post = nullptr);
  ~Dispatcher();

  // Runs Evaluate and Deliver on a thread until Stop.
  void Start();
  void Stop();

  // One step each, for the thread and for tests (which drive a FakeClock).
  // Evaluate asks the source and updates the active set; Deliver sends to
  // every Alertmanager that is due and returns how many POSTs failed.
  void Evaluate();
  int Deliver();
  // When the next Alertmanager is due (InfiniteFuture: none).
  absl::Time NextDue() const;

  size_t active() const;
  size_t pending_resolutions(const std::string& url) const;
  // The JSON body the next POST to `url` would carry.
  std::string Body(const std::string& url) const;

 private:
  struct Target {
    std::string url;
    absl::Time next_send = absl::InfinitePast();
    absl::Duration backoff;
    std::map<std::string, std::pair<Event, absl::Time>> resolved;  // key -> (event, ended)
  };
  struct Metrics;

  Dispatcher(Source source, const Clock& clock, DispatcherOptions options, PostFn post);
  std::string BodyLocked(const Target& target, absl::Time now) const;
  void Loop();

  const Source source_;
  const Clock& clock_;
  const DispatcherOptions options_;
  const PostFn post_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::map<std::string, Event> active_;  // by Key()
  std::vector<Target> targets_;
  std::mt19937_64 jitter_{std::random_device{}()};

  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace attest::alerts

#endif  // ATTEST_DAEMON_ALERTS_DISPATCHER_H_
