#include "daemon/admin/witnessing.h"

#include <charconv>

#include "common/strings.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace attest::admin {

namespace note = evidence::note;

struct Witnessing::Target {
  WitnessTarget config;
  HttpUrl url;
  uint64_t known_size = 0;  // the size the witness last cosigned, as far as we know
  uint64_t cosigned = 0;    // the newest of our checkpoints it cosigned
  absl::Time cosigned_at = absl::InfinitePast();
  absl::Time last_attempt = absl::InfinitePast();
  absl::Time next_attempt = absl::InfinitePast();
  absl::Duration backoff = absl::ZeroDuration();
  std::string last_error;
  prometheus::Gauge* cosigned_gauge = nullptr;
  prometheus::Gauge* behind_gauge = nullptr;
  prometheus::Gauge* success_gauge = nullptr;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
};

absl::StatusOr<WitnessTarget> ParseWitnessTarget(std::string_view text) {
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) {
    return absl::InvalidArgumentError("a witness is URL,VKEY (its verifier key)");
  }
  WitnessTarget t;
  t.url = std::string(text.substr(0, comma));
  if (auto u = ParseHttpUrl(t.url); !u.ok()) return u.status();
  auto key = note::ParseVerifierKey(text.substr(comma + 1));
  if (!key.ok()) return key.status();
  if (key->type != note::kCosignatureV1) {
    return absl::InvalidArgumentError(
        "a witness's verifier key has type 0x04 (Ed25519 cosignature/v1): attest-witness init "
        "prints it");
  }
  t.key = *key;
  return t;
}

Witnessing::Witnessing(Checkpoints& checkpoints, std::vector<WitnessTarget> witnesses,
                       const Clock& clock, WitnessingOptions options)
    : checkpoints_(checkpoints), clock_(clock), options_(std::move(options)) {
  prometheus::Family<prometheus::Gauge>* cosigned = nullptr;
  prometheus::Family<prometheus::Gauge>* behind = nullptr;
  prometheus::Family<prometheus::Gauge>* success = nullptr;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  if (options_.registry != nullptr) {
    auto& r = *options_.registry;
    latest_ = &prometheus::BuildGauge()
                   .Name("attest_checkpoint_latest_sequence")
                   .Help("Sequence number of the newest checkpoint attestd signed")
                   .Register(r)
                   .Add({});
    cosigned = &prometheus::BuildGauge()
                    .Name("attest_witness_cosigned_sequence")
                    .Help("Newest checkpoint each witness has cosigned (0: none)")
                    .Register(r);
    behind = &prometheus::BuildGauge()
                  .Name("attest_witness_behind_checkpoints")
                  .Help("Checkpoints made since the newest one each witness cosigned")
                  .Register(r);
    success = &prometheus::BuildGauge()
                   .Name("attest_witness_last_cosigned_timestamp_seconds")
                   .Help("Time of each witness's newest cosignature (0: none)")
                   .Register(r);
    requests = &prometheus::BuildCounter()
                    .Name("attest_witness_requests_total")
                    .Help("add-checkpoint requests to each witness, by result")
                    .Register(r);
  }
  for (WitnessTarget& w : witnesses) {
    auto t = std::make_unique<Target>();
    t->url = *ParseHttpUrl(w.url);
    const std::string name = w.key.name;
    t->config = std::move(w);
    if (cosigned != nullptr) {
      t->cosigned_gauge = &cosigned->Add({{"witness", name}});
      t->behind_gauge = &behind->Add({{"witness", name}});
      t->success_gauge = &success->Add({{"witness", name}});
      t->requests = requests;
    }
    targets_.push_back(std::move(t));
  }
}

Witnessing::~Witnessing() { Stop(); }

void Witnessing::Start() {
  if (targets_.empty()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Witnessing::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Witnessing::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  wake_.notify_all();
}

std::vector<v1::WitnessStatus> Witnessing::Status() const {
  std::vector<v1::WitnessStatus> out;
  uint64_t latest = 0;
  if (auto l = checkpoints_.Latest(); l.ok() && l->has_value()) latest = (*l)->sequence();
  std::lock_guard lock(mu_);
  for (const auto& t : targets_) {
    v1::WitnessStatus s;
    s.set_name(t->config.key.name);
    s.set_url(t->config.url);
    s.set_cosigned_sequence(t->cosigned);
    s.set_latest_sequence(latest);
    if (t->cosigned_at != absl::InfinitePast())
      *s.mutable_last_cosigned_at() = ToProto(t->cosigned_at);
    if (t->last_attempt != absl::InfinitePast())
      *s.mutable_last_attempt() = ToProto(t->last_attempt);
    s.set_last_error(t->last_error);
    out.push_back(std::move(s));
  }
  return out;
}

void Witnessing::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    notified_ = false;
    const absl::Time now = clock_.Now();
    std::vector<Target*> due;
    for (auto& t : targets_) {
      if (t->next_attempt <= now) due.push_back(t.get());
    }
    lock.unlock();
    for (Target* t : due) {
      const bool done = Deliver(*t);
      std::lock_guard relock(mu_);
      if (done) {
        t->backoff = absl::ZeroDuration();
        t->next_attempt = absl::InfiniteFuture();  // until the next checkpoint
      } else {
        t->backoff = std::clamp(t->backoff * 2, options_.min_backoff, options_.max_backoff);
        t->next_attempt = clock_.Now() + t->backoff;
      }
    }
    lock.lock();
    if (stopping_) return;
    absl::Time next = absl::InfiniteFuture();
    for (auto& t : targets_) next = std::min(next, t->next_attempt);
    const auto wait = next == absl::InfiniteFuture()
                          ? std::chrono::milliseconds(3'600'000)
                          : std::chrono::milliseconds(std::max<int64_t>(
                                0, absl::ToInt64Milliseconds(next - clock_.Now())));
    wake_.wait_for(lock, wait, [this] { return stopping_ || notified_; });
    if (stopping_) return;
    if (notified_) {
      for (auto& t : targets_) {
        // A new checkpoint: every witness is due, except one in backoff.
        if (t->next_attempt == absl::InfiniteFuture()) t->next_attempt = absl::InfinitePast();
      }
    }
  }
}

bool Witnessing::Deliver(Target& t) {
  auto latest = checkpoints_.Latest();
  if (!latest.ok() || !latest->has_value() || (*latest)->note().empty()) return true;
  const v1::Checkpoint& c = **latest;
  if (latest_ != nullptr) latest_->Set(static_cast<double>(c.sequence()));
  auto count = [&](const char* result) {
    if (t.requests != nullptr) {
      t.requests->Add({{"witness", t.config.key.name}, {"result", result}}).Increment();
    }
  };
  auto fail = [&](std::string why, const char* result) {
    count(result);
    spdlog::warn("witness {}: checkpoint {} not cosigned: {}", t.config.key.name, c.sequence(),
                 why);
    std::lock_guard lock(mu_);
    t.last_error = std::move(why);
    if (t.behind_gauge != nullptr)
      t.behind_gauge->Set(static_cast<double>(c.sequence() - t.cosigned));
    return false;
  };
  if (t.cosigned >= c.sequence()) return true;
  auto n = note::Parse(c.note());
  if (!n.ok()) return fail(StrCat("our note: ", n.status().message()), "error");
  // Only attestd's own signature goes to a witness.
  note::Note ours;
  ours.text = n->text;
  for (const note::Signature& s : n->signatures) {
    if (s.name == checkpoints_.origin()) ours.signatures.push_back(s);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mu_);
      t.last_attempt = clock_.Now();
    }
    if (t.known_size > c.sequence()) {
      return fail(StrCat("the witness has cosigned size ", t.known_size, " of log ",
                         checkpoints_.origin(), ", larger than ours (", c.sequence(),
                         "): another log uses this origin, or ours was rolled back"),
                  "conflict");
    }
    auto proof = checkpoints_.ConsistencyProof(t.known_size, c.sequence());
    if (!proof.ok()) return fail(std::string(proof.status().message()), "error");
    std::string body = StrCat("old ", t.known_size, "\n");
    for (const std::string& h : *proof) StrAppend(&body, Base64Encode(h), "\n");
    StrAppend(&body, "\n", ours.Format());
    auto r = HttpRequest("POST", t.url, "/add-checkpoint", body, "text/plain; charset=utf-8",
                         options_.timeout, options_.tls);
    if (!r.ok()) return fail(std::string(r.status().message()), "unreachable");
    if (r->status == 409) {
      uint64_t size = 0;
      std::string_view b = TrimWhitespace(r->body);
      auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), size);
      if (ec != std::errc() || end != b.data() + b.size()) {
        return fail("409 without a tree size", "refused");
      }
      count("conflict");
      t.known_size = size;
      continue;  // once more, from the size the witness has
    }
    if (r->status != 200) {
      return fail(StrCat("HTTP ", r->status, ": ", TrimWhitespace(r->body).substr(0, 200)),
                  "refused");
    }
    auto cosigned = note::Parse(StrCat(n->text, "\n", r->body));
    if (!cosigned.ok())
      return fail(StrCat("the response: ", cosigned.status().message()), "refused");
    uint64_t when = 0;
    if (absl::Status s = note::VerifySignature(*cosigned, t.config.key, &when); !s.ok()) {
      return fail(StrCat("the response holds no valid cosignature: ", s.message()), "refused");
    }
    std::vector<note::Signature> lines;
    for (const note::Signature& s : cosigned->signatures) {
      if (s.name == t.config.key.name && s.key_id == t.config.key.key_id) lines.push_back(s);
    }
    if (absl::Status s = checkpoints_.AddCosignatures(c.sequence(), lines); !s.ok()) {
      return fail(StrCat("cannot store the cosignature: ", s.message()), "error");
    }
    count("cosigned");
    std::lock_guard lock(mu_);
    t.known_size = c.sequence();
    t.cosigned = c.sequence();
    t.cosigned_at = absl::FromUnixSeconds(static_cast<int64_t>(when));
    t.last_error.clear();
    if (t.cosigned_gauge != nullptr) {
      t.cosigned_gauge->Set(static_cast<double>(t.cosigned));
      t.behind_gauge->Set(0);
      t.success_gauge->Set(static_cast<double>(when));
    }
    spdlog::info("witness {} cosigned checkpoint {}", t.config.key.name, c.sequence());
    return true;
  }
  return fail("the witness's tree size keeps changing", "conflict");
}

}  // namespace attest::admin
