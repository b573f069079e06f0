#include "ctl/simulate.h"

#include <algorithm>
#include <map>
#include <vector>

#include "common/json.h"
#include "common/time_util.h"

namespace attest::ctl {
namespace {

constexpr int64_t kMin = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int64_t Between(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(Next() % 1000000) < p * 1e6; }

 private:
  uint64_t state_;
};

struct Span {
  int64_t start;
  int64_t end;
  bool Contains(int64_t t) const { return start <= t && t < end; }
};

bool InAny(const std::vector<Span>& spans, int64_t t) {
  return std::any_of(spans.begin(), spans.end(), [t](const Span& s) { return s.Contains(t); });
}

// A fleet-wide security advisory.
struct Advisory {
  std::string package;
  int64_t released;
  bool kernel;
};

std::string Time(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

// Up to `per_10_days` random spans of [lo, hi] seconds per 10 days.
std::vector<Span> Episodes(Rng& rng, int64_t from, int64_t to, double chance, int64_t lo,
                           int64_t hi) {
  std::vector<Span> out;
  for (int64_t block = from; block < to; block += 10 * kDay) {
    if (!rng.Chance(chance)) continue;
    const int64_t start = block + rng.Between(0, 10 * kDay / kMin - 1) * kMin;
    out.push_back({start, start + rng.Between(lo / kMin, hi / kMin) * kMin});
  }
  return out;
}

}  // namespace

SimulateStats Simulate(const SimulateOptions& o,
                       const std::function<void(const std::string&)>& record,
                       const std::function<void(const std::string&)>& approval) {
  SimulateStats stats;
  const int64_t window_end = o.start + o.days * kDay;
  Rng fleet(o.seed);
  static const char* kPackages[] = {"openssl", "curl", "libc6",  "openssh-server", "sudo",
                                    "libxml2", "bash", "tzdata", "systemd",        "git"};
  std::vector<Advisory> advisories;
  for (int64_t week = o.start; week < window_end; week += 7 * kDay) {
    const bool kernel = advisories.size() % 4 == 3;
    advisories.push_back({kernel ? "linux-image-amd64" : kPackages[fleet.Next() % 10],
                          week + fleet.Between(0, 7 * 24 - 1) * kHour, kernel});
  }

  for (int i = 0; i < o.hosts; ++i) {
    Rng rng(o.seed * 1000003 + static_cast<uint64_t>(i) * 7919 + 17);
    char name[16];
    snprintf(name, sizeof name, "h%04d", i + 1);
    const std::string host = name;
    const std::string instance = host + "-i1";
    const int64_t enroll = rng.Chance(0.15)
                               ? o.start + rng.Between(1, std::max(1, o.days / 2)) * kDay +
                                     rng.Between(0, 23 * 60) * kMin
                               : o.start + rng.Between(0, 60) * kMin;
    const int64_t leave =
        rng.Chance(0.08) ? window_end - rng.Between(1, std::max(1, o.days / 3)) * kDay : window_end;
    const bool late_patcher = rng.Chance(0.2);
    std::vector<Span> outages = Episodes(rng, enroll, leave, 0.15, 2 * kHour, 30 * kHour);
    std::vector<Span> lost = Episodes(rng, enroll, leave, 0.03, kHour, 3 * kHour);
    std::vector<Span> ship_gaps = Episodes(rng, enroll, leave, 0.4, 20 * kMin, 3 * kHour);
    std::vector<Span> unit_down = Episodes(rng, enroll, leave, 0.05, 30 * kMin, 90 * kMin);
    std::vector<Span> ntp_bad = Episodes(rng, enroll, leave, 0.3, 30 * kMin, 2 * kHour);
    std::vector<Span> ntp_unknown = Episodes(rng, enroll, leave, 0.1, 30 * kMin, 30 * kMin);
    std::vector<Span> patch_broken = Episodes(rng, enroll, leave, 0.05, kHour, 3 * kHour);
    // Install (and reboot) times per advisory on this host.
    std::vector<std::pair<int64_t, int64_t>> installed;
    for (size_t a = 0; a < advisories.size(); ++a) {
      const int64_t delay = late_patcher ? rng.Between(12 * 24, 25 * 24) : rng.Between(6, 10 * 24);
      const int64_t at = advisories[a].released + delay * kHour;
      installed.push_back({at, advisories[a].kernel ? at + rng.Between(0, 5 * 24) * kHour : at});
    }

    // Every observation in time order, then numbered.
    std::multimap<int64_t, Json> events;
    auto add = [&](int64_t t, const std::string& kind, Json body) {
      if (t < enroll || t >= leave || InAny(outages, t)) return;
      Json line = Json::MakeObject();
      line["kind"] = kind;
      line[kind] = std::move(body);
      events.emplace(t, std::move(line));
    };
    for (int64_t t = enroll; t < leave; t += 10 * kMin) {
      add(t, "heartbeat", Json::MakeObject());
      Json ship = Json::MakeObject();
      ship["shipper"] = "rsyslog-central";
      ship["unit"] = "rsyslog.service";
      ship["probe"] = "rsyslog_impstats";
      ship["active"] = !InAny(unit_down, t);
      int64_t last = t - kMin;
      for (const Span& g : ship_gaps) {
        if (g.Contains(t)) last = g.start;
      }
      ship["last_delivery"] = Time(last);
      ship["backlog"] = static_cast<uint64_t>((t - last) / kMin * 40);
      add(t + kMin, "log_shipping", std::move(ship));
    }
    for (int64_t t = enroll + 2 * kMin; t < leave; t += kHour) {
      if (InAny(patch_broken, t)) {
        Json err = Json::MakeObject();
        err["collector"] = "patch";
        err["error"] = "apt-get -s: could not get lock /var/lib/dpkg/lock-frontend";
        add(t, "collector_error", std::move(err));
        continue;
      }
      Json p = Json::MakeObject();
      p["os"] = "Debian GNU/Linux 12 (bookworm)";
      p["kernel_running"] = "6.1.0-25-amd64";
      p["kernel_latest"] = "6.1.0-25-amd64";
      p["package_manager"] = "dpkg";
      p["installed_packages"] = 612;
      bool reboot = false;
      Json pending = Json::MakeArray();
      for (size_t a = 0; a < advisories.size(); ++a) {
        if (advisories[a].released <= t && t < installed[a].first) {
          Json u = Json::MakeObject();
          u["package"] = advisories[a].package;
          u["installed_version"] = "1.0-" + std::to_string(a);
          u["candidate_version"] = "1.0-" + std::to_string(a + 1);
          u["security"] = true;
          u["source"] = "Debian-Security:12/stable-security";
          pending.push_back(std::move(u));
        }
        if (installed[a].first <= t && t < installed[a].second) reboot = true;
      }
      p["pending"] = std::move(pending);
      p["reboot_required"] = reboot;
      add(t, "patch", std::move(p));
    }
    for (int64_t t = enroll + 3 * kMin; t < leave; t += 6 * kHour) {
      Json snap = Json::MakeObject();
      Json users = Json::MakeArray();
      Json root = Json::MakeObject();
      root["name"] = "root";
      root["uid"] = 0;
      root["gid"] = 0;
      root["shell"] = "/bin/bash";
      root["home"] = "/root";
      users.push_back(std::move(root));
      snap["users"] = std::move(users);
      add(t, "access_snapshot", std::move(snap));
    }
    for (int64_t t = enroll + 4 * kMin; t < leave; t += 30 * kMin) {
      Json c = Json::MakeObject();
      c["name"] = "ntp";
      const bool unknown = InAny(ntp_unknown, t);
      const bool bad = InAny(ntp_bad, t);
      c["status"] = unknown ? "unknown" : bad ? "critical" : "ok";
      c["detail"] = unknown ? "chronyc: timeout" : bad ? "offset 2.4s" : "offset 0.002s";
      add(t, "check", std::move(c));
    }
    // Server controls, from an RNG of their own (the history above stays
    // what earlier versions simulated), hourly at heartbeat times so they
    // move no other control's evidence: the clock losing sync, the
    // firewall flushed, auditd stopped, passwords turned on in sshd.
    Rng hrng(o.seed * 2654435761ULL + static_cast<uint64_t>(i) * 104729 + 99);
    const std::vector<Span> unsynced = Episodes(hrng, enroll, leave, 0.2, kHour, 4 * kHour);
    const std::vector<Span> flushed = Episodes(hrng, enroll, leave, 0.05, kHour, 6 * kHour);
    const std::vector<Span> auditd_down = Episodes(hrng, enroll, leave, 0.1, kHour, 3 * kHour);
    const bool password_host = hrng.Chance(0.1);
    for (int64_t t = enroll + 10 * kMin; t < leave; t += kHour) {
      Json ts = Json::MakeObject();
      const bool synced = !InAny(unsynced, t);
      ts["synchronized"] = synced;
      ts["status"] = synced ? 0 : 0x40;
      ts["max_error_us"] = synced ? hrng.Between(100, 20000) : 16000000;
      ts["est_error_us"] = synced ? hrng.Between(10, 2000) : 16000000;
      ts["offset_ns"] = hrng.Between(-50000, 50000);
      Json daemons = Json::MakeArray();
      if (synced) daemons.push_back("chronyd");
      ts["daemons"] = std::move(daemons);
      add(t, "time_sync", std::move(ts));

      Json fw = Json::MakeObject();
      fw["source"] = "nftables";
      Json chains = Json::MakeArray();
      const bool up = !InAny(flushed, t);
      if (up) {
        for (const char* hook : {"input", "forward", "output"}) {
          Json c = Json::MakeObject();
          c["family"] = "inet";
          c["table"] = "filter";
          c["name"] = hook;
          c["hook"] = hook;
          c["priority"] = 0;
          c["policy"] = std::string(hook) == "output" ? "accept" : "drop";
          c["rules"] = std::string(hook) == "input" ? 6 : 0;
          c["ends_in_drop"] = false;
          chains.push_back(std::move(c));
        }
      }
      fw["chains"] = std::move(chains);
      fw["rules"] = up ? 6 : 0;
      fw["ruleset_sha256"] =
          up ? "sha256:" + std::string(64, 'a') : "sha256:" + std::string(64, '0');
      add(t, "firewall", std::move(fw));

      Json units = Json::MakeArray();
      Json auditd = Json::MakeObject();
      const bool running = !InAny(auditd_down, t);
      auditd["unit"] = "auditd.service";
      auditd["active_state"] = running ? "active" : "failed";
      auditd["sub_state"] = running ? "running" : "failed";
      auditd["load_state"] = "loaded";
      units.push_back(std::move(auditd));
      Json svc = Json::MakeObject();
      svc["units"] = std::move(units);
      add(t, "services", std::move(svc));

      Json sshd = Json::MakeObject();
      sshd["installed"] = true;
      Json settings = Json::MakeObject();
      settings["authenticationmethods"] = "any";
      settings["kbdinteractiveauthentication"] = "no";
      settings["passwordauthentication"] = password_host ? "yes" : "no";
      settings["permitemptypasswords"] = "no";
      settings["permitrootlogin"] = "without-password";
      settings["pubkeyauthentication"] = "yes";
      settings["usepam"] = "yes";
      sshd["settings"] = std::move(settings);
      Json pam = Json::MakeArray();
      for (const char* m : {"pam_unix.so", "pam_deny.so", "pam_permit.so"}) pam.push_back(m);
      sshd["pam_auth_modules"] = std::move(pam);
      Json required = Json::MakeArray();
      for (const char* m : {"pam_deny.so", "pam_permit.so"}) required.push_back(m);
      sshd["pam_auth_required"] = std::move(required);
      add(t, "sshd", std::move(sshd));
    }

    // Backups: nightly at 02:00 UTC, reported hourly with the server
    // controls; some nights fail (restic, so the snapshot is its short id).
    Rng brng(o.seed * 40503ULL + static_cast<uint64_t>(i) * 7 + 5);
    std::vector<int64_t> nights;  // successful backups, in time order
    for (int64_t night = (enroll / kDay) * kDay + 2 * kHour; night < leave; night += kDay) {
      if (!brng.Chance(0.07)) nights.push_back(night + brng.Between(0, 40) * kMin);
    }
    size_t done = 0;
    for (int64_t t = enroll + 10 * kMin; t < leave; t += kHour) {
      while (done < nights.size() && nights[done] <= t) ++done;
      Json b = Json::MakeObject();
      b["name"] = "nightly";
      b["probe"] = "restic";
      if (done > 0) {
        b["last_success"] = Time(nights[done - 1]);
        char id[16];
        snprintf(id, sizeof id, "%08llx",
                 static_cast<unsigned long long>(nights[done - 1] * 2654435761ULL % 0xffffffffULL));
        b["snapshot"] = std::string(id);
      } else {
        b["last_success"] = nullptr;
        b["snapshot"] = "";
      }
      add(t, "backup", std::move(b));
    }

    // Disk encryption and MAC, hourly with the other server controls, from
    // an RNG of their own: LVM on LUKS2 with /boot in the clear, and now
    // and then a data disk mounted unencrypted on /srv, or a boot without
    // AppArmor.
    Rng drng(o.seed * 69069ULL + static_cast<uint64_t>(i) * 31337 + 17);
    const std::vector<Span> clear_srv = Episodes(drng, enroll, leave, 0.05, 2 * kHour, 2 * kDay);
    const std::vector<Span> no_apparmor = Episodes(drng, enroll, leave, 0.05, kHour, 8 * kHour);
    auto layer = [](int depth, const char* dev, const char* kind, const char* detail) {
      Json l = Json::MakeObject();
      l["depth"] = depth;
      l["name"] = dev;
      l["kind"] = kind;
      l["detail"] = detail;
      return l;
    };
    auto volume = [](const char* path, const char* fstype, const char* source, bool swap,
                     Json stack) {
      Json v = Json::MakeObject();
      v["path"] = path;
      v["fstype"] = fstype;
      v["source"] = source;
      v["read_only"] = false;
      v["swap"] = swap;
      v["stack"] = std::move(stack);
      return v;
    };
    for (int64_t t = enroll + 10 * kMin; t < leave; t += kHour) {
      auto on_luks = [&](const char* dm, const char* lv) {
        Json s = Json::MakeArray();
        s.push_back(layer(0, dm, "lvm", lv));
        s.push_back(layer(1, "dm-0", "crypt", "LUKS2"));
        s.push_back(layer(2, "sda3", "partition", "3"));
        s.push_back(layer(3, "sda", "disk", ""));
        return s;
      };
      Json volumes = Json::MakeArray();
      volumes.push_back(
          volume("/", "ext4", "/dev/mapper/vg-root", false, on_luks("dm-1", "vg-root")));
      Json boot = Json::MakeArray();
      boot.push_back(layer(0, "sda2", "partition", "2"));
      boot.push_back(layer(1, "sda", "disk", ""));
      volumes.push_back(volume("/boot", "ext4", "/dev/sda2", false, std::move(boot)));
      volumes.push_back(volume("/tmp", "tmpfs", "tmpfs", false, Json::MakeArray()));
      if (InAny(clear_srv, t)) {
        Json srv = Json::MakeArray();
        srv.push_back(layer(0, "sdb1", "partition", "1"));
        srv.push_back(layer(1, "sdb", "disk", ""));
        volumes.push_back(volume("/srv", "xfs", "/dev/sdb1", false, std::move(srv)));
      }
      volumes.push_back(volume("/dev/dm-2", "swap", "/dev/dm-2", true, on_luks("dm-2", "vg-swap")));
      Json disk = Json::MakeObject();
      disk["volumes"] = std::move(volumes);
      disk["mounts_omitted"] = 0;
      add(t, "disk_encryption", std::move(disk));

      Json mac = Json::MakeObject();
      const bool apparmor = !InAny(no_apparmor, t);
      Json lsms = Json::MakeArray();
      for (const char* m : {"lockdown", "capability", "landlock", "yama"}) lsms.push_back(m);
      if (apparmor) lsms.push_back("apparmor");
      mac["lsms"] = std::move(lsms);
      mac["apparmor_enforce"] = apparmor ? 42 : 0;
      mac["apparmor_complain"] = 0;
      mac["apparmor_other"] = 0;
      mac["apparmor_not_enforcing"] = Json::MakeArray();
      mac["selinux_mode"] = "";
      mac["selinux_policy"] = "";
      add(t, "mac", std::move(mac));
    }

    int change = 0;
    for (int64_t block = enroll; block < leave; block += 15 * kDay) {
      const int64_t t = block + rng.Between(0, 15 * 24 * 60 - 1) * kMin;
      if (t >= leave || InAny(outages, t)) continue;
      const std::string id = host + "-c" + std::to_string(++change);
      Json c = Json::MakeObject();
      c["id"] = id;
      c["change"] = change % 3 == 0   ? "key_added"
                    : change % 3 == 1 ? "user_added"
                                      : "sudoers_changed";
      c["subject"] = change % 3 == 2 ? "/etc/sudoers.d/ops" : "deploy" + std::to_string(change);
      c["before"] = "";
      c["after"] = "sha256:" + std::to_string(rng.Next() % 1000000);
      c["diff"] = "+deploy" + std::to_string(change);
      add(t, "access_change", std::move(c));
      const uint64_t roll = rng.Next() % 10;
      const int64_t delay = roll < 6 ? rng.Between(10, 20 * 60) : rng.Between(26 * 60, 72 * 60);
      // Approvals after the simulated span have not happened yet.
      if (roll < 8 && t + delay * kMin < window_end) {
        Json a = Json::MakeObject();
        a["change_id"] = id;
        a["ticket"] = "CHG-" + std::to_string(1000 + i * 100 + change);
        a["approver"] = roll % 2 ? "ana" : "ben";
        a["at"] = Time(t + delay * kMin);
        approval(a.Canonical());
        ++stats.approvals;
      }
    }

    // The hello, then the signals numbered in time order; signals in a
    // "lost" span consume their seq but never reach the file.
    Json hello = Json::MakeObject();
    hello["host"] = host;
    hello["instance_id"] = instance;
    hello["seq"] = 0;
    hello["observed_at"] = Time(enroll);
    hello["kind"] = "hello";
    Json hb = Json::MakeObject();
    hb["agent_version"] = "0.1.0";
    hb["instance_id"] = instance;
    hb["boot_id"] = host + "-boot";
    Json labels = Json::MakeObject();
    labels["env"] = rng.Chance(0.8) ? "prod" : "staging";
    static const char* kTeams[] = {"payments", "search", "infra"};
    labels["team"] = kTeams[rng.Next() % 3];
    labels["region"] = rng.Chance(0.5) ? "eu" : "us";
    hb["labels"] = std::move(labels);
    hello["hello"] = std::move(hb);
    record(hello.Canonical());
    ++stats.records;
    uint64_t seq = 0;
    for (auto& [t, line] : events) {
      ++seq;
      if (InAny(lost, t)) continue;
      line["host"] = host;
      line["instance_id"] = instance;
      line["seq"] = seq;
      line["observed_at"] = Time(t);
      record(line.Canonical());
      ++stats.records;
    }
  }
  return stats;
}

}  // namespace attest::ctl
