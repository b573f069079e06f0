// The access review targets (issue 24): `review start` over 10,000 hosts
// with 50 access entries each, against a baseline of reading those hosts'
// latest access snapshots from the same RocksDB store; and `review status`
// on that campaign once half its entries are decided.
//
// The fleet goes through the real import path (validation, chain, group
// commit) into RocksDB and is judged by the real engine with a ledger, as
// in attestd. Each host's 50 entries: 8 login users (5 shared by every
// host, 3 of its own), 4 sudo members, 6 sudoers lines (4 shared), 32 keys
// (20 shared, 12 of its own): 500,000 (entry, host) pairs, 170,033
// distinct entries.
//
// Prints one line of key=value figures for scripts/bench.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/clock.h"
#include "common/flags.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "daemon/admin/import_batches.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/review_population.h"
#include "daemon/evidence/ledger.h"
#include "daemon/ingest/committer.h"
#include "daemon/store/keys.h"
#include "daemon/store/rocksdb_store.h"

namespace attest::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

v1::AccessSnapshot HostAccess(int h) {
  v1::AccessSnapshot s;
  auto user = [&](const std::string& name, uint32_t id) {
    auto* u = s.add_users();
    u->set_name(name);
    u->set_uid(id);
    u->set_gid(id);
    u->set_shell("/bin/bash");
    u->set_home("/home/" + name);
  };
  for (int i = 0; i < 5; ++i) user(StrCat("ops", i), 1000 + i);
  for (int i = 0; i < 3; ++i) user(StrCat("app", h, "-", i), 2000 + i);
  auto* sudo = s.add_groups();
  sudo->set_name("sudo");
  sudo->set_gid(27);
  for (int i = 0; i < 4; ++i) sudo->add_members(StrCat("ops", i));
  auto* f = s.add_sudoers();
  f->set_file("etc/sudoers");
  for (int i = 0; i < 4; ++i) f->add_rules(StrCat("ops", i, " ALL=(ALL:ALL) ALL"));
  for (int i = 0; i < 2; ++i)
    f->add_rules(StrCat("app", h, "-", i, " ALL=(root) /usr/bin/systemctl"));
  auto key = [&](const std::string& owner, const std::string& fp) {
    auto* k = s.add_keys();
    k->set_user(owner);
    k->set_type("ssh-ed25519");
    k->set_fingerprint("SHA256:" + fp);
    k->set_comment(owner + "@laptop");
  };
  for (int i = 0; i < 20; ++i) key(StrCat("ops", i % 5), StrCat("shared", i));
  for (int i = 0; i < 12; ++i) key(StrCat("app", h, "-", i % 3), StrCat("h", h, "k", i));
  return s;
}

int Run(const std::string& dir, int hosts) {
  auto store = store::OpenRocksDbStore(dir);
  if (!store.ok()) {
    fprintf(stderr, "review-bench: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const absl::Time now = absl::Now();
  FakeClock clock(now);
  evidence::Ledger ledger(**store);
  if (absl::Status s = ledger.Open(); !s.ok()) return 1;
  engine::Engine engine(**store, clock, {.judge_delay = absl::ZeroDuration(), .ledger = &ledger});
  ingest::CommitterOptions options;
  options.on_durable = [&](const std::vector<std::string>& names) {
    for (const auto& h : names) engine.NotifyEvidence(h);
  };
  ingest::Committer committer(**store, clock, options);
  if (!engine.Start().ok() || !committer.Start().ok()) return 1;
  auto policy = engine::ParsePolicy(
      "controls:\n"
      "  - {id: access-review, tsc: [CC6.2], rule: access.review_performed,\n"
      "     params: {cadence: 90d, revoke_within: 7d, privileged_groups: [sudo]}}\n"
      "windows:\n  - {id: fy, start: " +
          FormatRfc3339(now - absl::Hours(24 * 30)) +
          ", end: " + FormatRfc3339(now + absl::Hours(24 * 300)) + "}\n",
      "bench.yaml");
  if (!policy.ok() || !engine.LoadPolicy(*policy, "bench.yaml").ok()) return 1;

  // The fleet: a hello and one access snapshot per host, 1,000 hosts a call.
  const auto import_started = Clock::now();
  for (int from = 0; from < hosts; from += 1000) {
    google::protobuf::RepeatedPtrField<v1::ImportRecord> records;
    for (int h = from; h < std::min(hosts, from + 1000); ++h) {
      const std::string host = StrCat("host-", h);
      v1::ImportRecord& hello = *records.Add();
      hello.set_line(static_cast<uint64_t>(records.size()));
      hello.set_host(host);
      hello.mutable_hello()->set_agent_version("bench");
      *hello.mutable_hello()->mutable_sent_at() = ToProto(now - absl::Hours(2));
      (*hello.mutable_hello()->mutable_labels())["env"] = "prod";
      v1::ImportRecord& snap = *records.Add();
      snap.set_line(static_cast<uint64_t>(records.size()));
      snap.set_host(host);
      snap.mutable_signal()->set_seq(1);
      *snap.mutable_signal()->mutable_observed_at() = ToProto(now - absl::Hours(1));
      *snap.mutable_signal()->mutable_access_snapshot() = HostAccess(h);
    }
    if (absl::Status s = admin::CommitImport(committer, now, &records); !s.ok()) {
      fprintf(stderr, "review-bench: import: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  engine.Sync();
  const double import_ms = Ms(Clock::now() - import_started);

  // Baseline: read every host's latest snapshot (the records a campaign
  // reads), each a RocksDB point read and a parse.
  std::vector<std::pair<std::string, uint64_t>> latest;
  engine.Read([&](const engine::EngineState& state) {
    for (const auto& [host, eh] : state.hosts)
      latest.emplace_back(host, eh.access_snapshot_index());
  });
  const auto base_started = Clock::now();
  size_t users = 0;
  for (const auto& [host, index] : latest) {
    auto value = (*store)->Get(store::Family::kEvidence, store::EvidenceKey(host, index));
    v1::EvidenceRecord r;
    if (!value.ok() || !r.ParseFromString(*value)) return 1;
    users += r.signal().access_snapshot().users_size();
  }
  const double baseline_ms = Ms(Clock::now() - base_started);

  v1::StartReviewRequest req;
  req.set_id("bench-1");
  req.set_window("fy");
  *req.mutable_due() = ToProto(now + absl::Hours(24 * 14));
  const auto start_started = Clock::now();
  auto campaign = engine.StartReview(req, "admin:bench");
  const double start_ms = Ms(Clock::now() - start_started);
  if (!campaign.ok()) {
    fprintf(stderr, "review-bench: %s\n", campaign.status().ToString().c_str());
    return 1;
  }
  uint64_t pairs = 0;
  auto detail = engine.Review("bench-1");
  if (!detail.ok()) return 1;
  for (const v1::ReviewEntry& e : detail->entries()) pairs += e.hosts_size();

  // Half the entries decided (one in ten revoked), 10,000 a call.
  std::vector<v1::ReviewDecision> batch;
  size_t decided = 0;
  for (int i = 0; i < detail->entries_size(); i += 2) {
    v1::ReviewDecision& d = batch.emplace_back();
    d.set_campaign("bench-1");
    d.set_entry(detail->entries(i).id());
    d.set_outcome(i % 20 == 0 ? v1::REVIEW_OUTCOME_REVOKE : v1::REVIEW_OUTCOME_KEEP);
    d.set_reviewer("reviewer-x");
    if (batch.size() == 10000 || i + 2 >= detail->entries_size()) {
      auto r = engine.DecideReview(std::move(batch), "admin:bench");
      if (!r.ok()) {
        fprintf(stderr, "review-bench: decide: %s\n", r.status().ToString().c_str());
        return 1;
      }
      decided += r->size();
      batch.clear();
    }
  }
  engine.Sync();
  std::vector<double> status_ms, detail_ms;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = Clock::now();
    const auto list = engine.Reviews();
    status_ms.push_back(Ms(Clock::now() - t0));
    if (list.size() != 1) return 1;
    const auto t1 = Clock::now();
    auto one = engine.Review("bench-1");
    detail_ms.push_back(Ms(Clock::now() - t1));
    if (!one.ok()) return 1;
  }
  std::sort(status_ms.begin(), status_ms.end());
  std::sort(detail_ms.begin(), detail_ms.end());
  printf(
      "hosts=%d entries=%llu pairs=%llu users_read=%zu import_ms=%.0f baseline_ms=%.1f "
      "start_ms=%.1f decided=%zu status_ms=%.2f status_detail_ms=%.1f\n",
      hosts, static_cast<unsigned long long>(campaign->entries()),
      static_cast<unsigned long long>(pairs), users, import_ms, baseline_ms, start_ms, decided,
      status_ms[2], detail_ms[2]);
  committer.Stop();
  engine.Stop();
  return 0;
}

}  // namespace
}  // namespace attest::bench

int main(int argc, char** argv) {
  std::string dir;
  int64_t hosts = 10000;
  attest::FlagSet flags("attest-review-bench", "[flags]\n\nThe access review targets.");
  flags.String("dir", &dir, "store directory (created; must not hold another store)");
  flags.Int("hosts", &hosts, "hosts, each with 50 access entries");
  if (absl::Status s = flags.Parse(argc, argv); !s.ok() || dir.empty()) {
    fprintf(stderr, "attest-review-bench: --dir is required\n");
    return 2;
  }
  return attest::bench::Run(dir, static_cast<int>(hosts));
}
