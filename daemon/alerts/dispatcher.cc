#include "daemon/alerts/dispatcher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/http_client.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::alerts {

// The dispatcher's metrics (docs/metrics.md), all declared here.
struct Dispatcher::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : active(prometheus::BuildGauge()
                   .Name("attest_alertmanager_events_active")
                   .Help("Per-host events attestd holds active for Alertmanager.")
                   .Register(r)),
        sends(prometheus::BuildCounter()
                  .Name("attest_alertmanager_sends_total")
                  .Help("POSTs to an Alertmanager by result (ok, error).")
                  .Register(r)),
        pending(prometheus::BuildGauge()
                    .Name("attest_alertmanager_pending_resolutions")
                    .Help("Resolved events not yet delivered, summed over Alertmanagers.")
                    .Register(r)
                    .Add({})),
        ok(sends.Add({{"result", "ok"}})),
        error(sends.Add({{"result", "error"}})) {
    for (const char* name : {kAccessChangeUnapproved, kPatchSlaBreached}) {
      by_name[name] = &active.Add({{"alertname", name}});
    }
  }
  prometheus::Family<prometheus::Gauge>& active;
  prometheus::Family<prometheus::Counter>& sends;
  prometheus::Gauge& pending;
  prometheus::Counter& ok;
  prometheus::Counter& error;
  std::map<std::string, prometheus::Gauge*> by_name;
};

absl::Status PostToAlertmanager(const std::string& url, const std::string& body,
                                absl::Duration timeout, const HttpTls& tls) {
  auto u = ParseHttpUrl(url);
  if (!u.ok()) return u.status();
  auto res = HttpRequest("POST", *u, "/api/v2/alerts", body, "application/json", timeout, tls);
  if (!res.ok()) return res.status();
  if (res->status != 200) {
    return absl::UnavailableError(attest::StrCat("POST ", url, "/api/v2/alerts: HTTP ", res->status,
                                                 ": ", res->body.substr(0, 200)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(Source source, const Clock& clock,
                                                               DispatcherOptions options,
                                                               PostFn post) {
  for (const std::string& url : options.urls) {
    if (auto u = ParseHttpUrl(url); !u.ok()) return u.status();
  }
  if (options.resend <= absl::ZeroDuration() || options.evaluate_every <= absl::ZeroDuration() ||
      options.min_backoff <= absl::ZeroDuration() || options.max_backoff < options.min_backoff) {
    return absl::InvalidArgumentError("alert intervals must be positive");
  }
  if (!post) {
    post = [timeout = options.timeout, tls = options.tls](const std::string& url,
                                                          const std::string& body) {
      return PostToAlertmanager(url, body, timeout, tls);
    };
  }
  return std::unique_ptr<Dispatcher>(
      new Dispatcher(std::move(source), clock, std::move(options), std::move(post)));
}

Dispatcher::Dispatcher(Source source, const Clock& clock, DispatcherOptions options, PostFn post)
    : source_(std::move(source)),
      clock_(clock),
      options_(std::move(options)),
      post_(std::move(post)) {
  if (options_.registry != nullptr) metrics_ = std::make_unique<Metrics>(*options_.registry);
  for (const std::string& url : options_.urls) targets_.push_back({.url = url});
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Evaluate() {
  auto events = source_();
  if (!events.ok()) {
    spdlog::warn("alerts: cannot evaluate events: {}", events.status().ToString());
    return;
  }
  const absl::Time now = clock_.Now();
  std::map<std::string, Event> next;
  for (Event& e : *events) {
    std::string key = e.Key();
    next.emplace(std::move(key), std::move(e));
  }
  std::lock_guard lock(mu_);
  bool changed = false;
  for (const auto& [key, e] : next) {
    if (active_.count(key)) continue;
    changed = true;
    for (Target& t : targets_) t.resolved.erase(key);
  }
  for (auto& [key, e] : active_) {
    if (next.count(key)) continue;
    changed = true;
    for (Target& t : targets_) {
      t.resolved[key] = {e, now};
      while (t.resolved.size() > options_.max_pending_resolutions) {
        auto oldest = t.resolved.begin();
        for (auto it = t.resolved.begin(); it != t.resolved.end(); ++it) {
          if (it->second.second < oldest->second.second) oldest = it;
        }
        spdlog::warn("alerts: {}: dropping the undelivered resolution of {}", t.url,
                     oldest->second.first.labels["alertname"]);
        t.resolved.erase(oldest);
      }
    }
  }
  active_ = std::move(next);
  if (changed) {
    // Send news at once, except where a failure's backoff is running.
    for (Target& t : targets_) {
      if (t.backoff == absl::ZeroDuration()) t.next_send = absl::InfinitePast();
    }
  }
  if (metrics_) {
    for (auto& [name, g] : metrics_->by_name) g->Set(0);
    for (const auto& [key, e] : active_) {
      auto it = metrics_->by_name.find(e.labels.at("alertname"));
      if (it != metrics_->by_name.end()) it->second->Increment();
    }
  }
}

std::string Dispatcher::BodyLocked(const Target& target, absl::Time now) const {
  Json alerts = Json::MakeArray();
  auto add = [&](const Event& e, absl::Time ends) {
    Json a = Json::MakeObject();
    Json labels = Json::MakeObject();
    for (const auto& [k, v] : e.labels) labels[k] = v;
    Json annotations = Json::MakeObject();
    for (const auto& [k, v] : e.annotations) annotations[k] = v;
    a["labels"] = std::move(labels);
    a["annotations"] = std::move(annotations);
    a["startsAt"] = FormatRfc3339(absl::FromUnixSeconds(e.starts_at));
    a["endsAt"] = FormatRfc3339(ends);
    alerts.push_back(std::move(a));
  };
  for (const auto& [key, e] : active_) add(e, now + 4 * options_.resend);
  for (const auto& [key, r] : target.resolved) add(r.first, r.second);
  return alerts.Canonical();
}

std::string Dispatcher::Body(const std::string& url) const {
  std::lock_guard lock(mu_);
  for (const Target& t : targets_) {
    if (t.url == url) return BodyLocked(t, clock_.Now());
  }
  return "";
}

int Dispatcher::Deliver() {
  int failures = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    std::string body, url;
    std::map<std::string, absl::Time> sent;  // resolutions this POST carries
    const absl::Time now = clock_.Now();
    {
      std::lock_guard lock(mu_);
      Target& t = targets_[i];
      if (t.next_send > now) continue;
      if (active_.empty() && t.resolved.empty()) {
        t.next_send = now + options_.resend;
        continue;
      }
      body = BodyLocked(t, now);
      url = t.url;
      for (const auto& [key, r] : t.resolved) sent[key] = r.second;
    }
    const absl::Status s = post_(url, body);
    std::lock_guard lock(mu_);
    Target& t = targets_[i];
    if (s.ok()) {
      for (const auto& [key, ended] : sent) {
        auto it = t.resolved.find(key);
        if (it != t.resolved.end() && it->second.second == ended) t.resolved.erase(it);
      }
      if (t.backoff > absl::ZeroDuration()) spdlog::info("alerts: {} reachable again", url);
      t.backoff = absl::ZeroDuration();
      t.next_send = now + options_.resend;
      if (metrics_) metrics_->ok.Increment();
    } else {
      ++failures;
      t.backoff = t.backoff == absl::ZeroDuration() ? options_.min_backoff
                                                    : std::min(2 * t.backoff, options_.max_backoff);
      // Equal jitter: half the backoff, plus up to the other half at random.
      std::uniform_real_distribution<double> half(0.5, 1.0);
      const absl::Duration wait = t.backoff * half(jitter_);
      t.next_send = now + wait;
      spdlog::warn("alerts: {} ({} resolutions pending); retrying in {}", s.ToString(),
                   t.resolved.size(), absl::FormatDuration(wait));
      if (metrics_) metrics_->error.Increment();
    }
  }
  if (metrics_) {
    std::lock_guard lock(mu_);
    double pending = 0;
    for (const Target& t : targets_) pending += static_cast<double>(t.resolved.size());
    metrics_->pending.Set(pending);
  }
  return failures;
}

absl::Time Dispatcher::NextDue() const {
  std::lock_guard lock(mu_);
  absl::Time due = absl::InfiniteFuture();
  for (const Target& t : targets_) due = std::min(due, t.next_send);
  return due;
}

size_t Dispatcher::active() const {
  std::lock_guard lock(mu_);
  return active_.size();
}

size_t Dispatcher::pending_resolutions(const std::string& url) const {
  std::lock_guard lock(mu_);
  for (const Target& t : targets_) {
    if (t.url == url) return t.resolved.size();
  }
  return 0;
}

void Dispatcher::Start() {
  if (targets_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::Loop() {
  absl::Time next_eval = absl::InfinitePast();
  while (true) {
    if (clock_.Now() >= next_eval) {
      Evaluate();
      next_eval = clock_.Now() + options_.evaluate_every;
    }
    Deliver();
    const absl::Time wake_at = std::min(next_eval, NextDue());
    std::unique_lock lock(mu_);
    const absl::Duration wait = std::max(wake_at - clock_.Now(), absl::Milliseconds(10));
    if (wake_.wait_for(lock, absl::ToChronoMilliseconds(std::min(wait, options_.evaluate_every)),
                       [&] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace attest::alerts
