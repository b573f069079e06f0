// Validation of the server-control kinds (validate_host.cc).
#include <functional>

#include "daemon/ingest/test_signals.h"
#include "daemon/ingest/validate.h"
#include "gtest/gtest.h"

namespace attest::ingest {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

// Server-control states: each list and string is bounded, enums named,
// and sshd's settings (a JSON object in the evidence) sorted and distinct.
// A volume with a disk layer at each of `depths`, added to `s`.
v1::Volume* AddVolume(v1::Signal& s, const char* path, const char* fstype,
                      const std::vector<uint32_t>& depths = {}) {
  v1::Volume* v = s.mutable_disk_encryption()->add_volumes();
  v->set_path(path);
  v->set_fstype(fstype);
  for (uint32_t d : depths) {
    v1::BlockLayer* l = v->add_stack();
    l->set_depth(d);
    l->set_name("sda");
    l->set_kind("disk");
  }
  return v;
}

TEST(ValidateTest, ServerControlStatesAreBounded) {
  auto one = [](std::function<void(v1::Signal&)> fill) {
    v1::SignalBatch b;
    v1::Signal* s = b.add_signals();
    s->set_seq(1);
    *s->mutable_observed_at() = ToProto(kNow);
    fill(*s);
    return ValidateBatch(b, kNow, Limits{});
  };
  auto firewall = [](v1::Signal& s) {
    s.mutable_firewall()->set_source(v1::FIREWALL_SOURCE_NFTABLES);
    s.mutable_firewall()->set_ruleset_sha256("sha256:" + std::string(64, '0'));
  };
  EXPECT_TRUE(one([](v1::Signal& s) { s.mutable_time_sync()->add_daemons("chronyd"); }).ok());
  EXPECT_TRUE(one(firewall).ok());
  EXPECT_TRUE(one([](v1::Signal& s) { s.mutable_sshd()->set_installed(false); }).ok());
  struct Row {
    const char* why;
    std::function<void(v1::Signal&)> fill;
    const char* field;
  } rows[] = {
      {"negative error", [](v1::Signal& s) { s.mutable_time_sync()->set_est_error_us(-1); },
       "time_sync.est_error_us"},
      {"inexact error",
       [](v1::Signal& s) { s.mutable_time_sync()->set_max_error_us(int64_t{1} << 60); },
       "time_sync.max_error_us"},
      {"17 daemons",
       [](v1::Signal& s) {
         for (int i = 0; i < 17; ++i) s.mutable_time_sync()->add_daemons("x");
       },
       "time_sync.daemons"},
      {"no source",
       [](v1::Signal& s) {
         s.mutable_firewall()->set_ruleset_sha256("sha256:" + std::string(64, '0'));
       },
       "firewall.source"},
      {"no fingerprint",
       [](v1::Signal& s) { s.mutable_firewall()->set_source(v1::FIREWALL_SOURCE_IPTABLES); },
       "firewall.ruleset_sha256"},
      {"257 chains",
       [&](v1::Signal& s) {
         firewall(s);
         for (int i = 0; i < 257; ++i) s.mutable_firewall()->add_chains();
       },
       "firewall.chains"},
      {"a short fingerprint",
       [](v1::Signal& s) {
         s.mutable_firewall()->set_source(v1::FIREWALL_SOURCE_NFTABLES);
         s.mutable_firewall()->set_ruleset_sha256("sha256:00");
       },
       "firewall.ruleset_sha256"},
      {"a policy other than accept or drop",
       [&](v1::Signal& s) {
         firewall(s);
         auto* c = s.mutable_firewall()->add_chains();
         c->set_family("inet");
         c->set_table("t");
         c->set_name("n");
         c->set_hook("input");
         c->set_policy("maybe");
       },
       "firewall.chains.policy"},
      {"a chain without a hook",
       [&](v1::Signal& s) {
         firewall(s);
         auto* c = s.mutable_firewall()->add_chains();
         c->set_family("inet");
         c->set_table("t");
         c->set_name("n");
         c->set_policy("drop");
       },
       "firewall.chains.hook"},
      {"65 units",
       [](v1::Signal& s) {
         for (int i = 0; i < 65; ++i) {
           auto* u = s.mutable_services()->add_units();
           u->set_unit("u.service");
           u->set_active_state("active");
         }
       },
       "services.units"},
      {"a unit without a state",
       [](v1::Signal& s) { s.mutable_services()->add_units()->set_unit("u.service"); },
       "services.units.active_state"},
      {"settings out of order",
       [](v1::Signal& s) {
         s.mutable_sshd()->set_installed(true);
         s.mutable_sshd()->add_settings()->set_key("usepam");
         s.mutable_sshd()->add_settings()->set_key("passwordauthentication");
       },
       "sshd.settings"},
      {"a key twice",
       [](v1::Signal& s) {
         s.mutable_sshd()->set_installed(true);
         s.mutable_sshd()->add_settings()->set_key("usepam");
         s.mutable_sshd()->add_settings()->set_key("usepam");
       },
       "sshd.settings"},
      {"settings of no sshd",
       [](v1::Signal& s) { s.mutable_sshd()->add_settings()->set_key("usepam"); }, "sshd"},
      {"a backup without a probe", [](v1::Signal& s) { s.mutable_backup()->set_name("b"); },
       "backup.probe"},
      {"a backup without a name",
       [](v1::Signal& s) { s.mutable_backup()->set_probe(v1::BACKUP_PROBE_BORG); }, "backup.name"},
      {"a success after the observation",
       [](v1::Signal& s) {
         s.mutable_backup()->set_name("b");
         s.mutable_backup()->set_probe(v1::BACKUP_PROBE_RESTIC);
         *s.mutable_backup()->mutable_last_success() = ToProto(kNow + absl::Minutes(6));
       },
       "backup.last_success"},
      {"257 volumes",
       [](v1::Signal& s) {
         for (int i = 0; i < 257; ++i) AddVolume(s, "/", "ext4");
       },
       "disk_encryption.volumes"},
      {"a relative mount point", [](v1::Signal& s) { AddVolume(s, "srv", "ext4"); },
       "disk_encryption.volumes.path"},
      {"a swap that says it is a filesystem",
       [](v1::Signal& s) { AddVolume(s, "/dev/sda2", "ext4")->set_swap(true); },
       "disk_encryption.volumes.fstype"},
      {"a stack that does not start at depth 0",
       [](v1::Signal& s) { AddVolume(s, "/", "ext4", {1}); },
       "disk_encryption.volumes.stack.depth"},
      {"a layer two below the one before it",
       [](v1::Signal& s) {
         AddVolume(s, "/", "ext4", {0, 2});
       },
       "disk_encryption.volumes.stack.depth"},
      {"a second root in one stack",
       [](v1::Signal& s) {
         AddVolume(s, "/", "ext4", {0, 0});
       },
       "disk_encryption.volumes.stack.depth"},
      {"an unknown layer kind",
       [](v1::Signal& s) {
         AddVolume(s, "/", "ext4", {0})->mutable_stack(0)->set_kind("encrypted-trust-me");
       },
       "disk_encryption.volumes.stack.kind"},
      {"33 layers",
       [](v1::Signal& s) {
         std::vector<uint32_t> depths(33, 1);
         depths[0] = 0;
         AddVolume(s, "/", "ext4", depths);
       },
       "disk_encryption.volumes.stack"},
      {"more block mounts omitted than mounts omitted",
       [](v1::Signal& s) {
         s.mutable_disk_encryption()->set_mounts_omitted(1);
         s.mutable_disk_encryption()->set_block_mounts_omitted(2);
       },
       "disk_encryption.block_mounts_omitted"},
      {"counts that would wrap around when added",
       [](v1::Signal& s) {
         s.mutable_mac()->add_lsms("apparmor");
         s.mutable_mac()->set_apparmor_complain(4294967295u);
         s.mutable_mac()->set_apparmor_other(1);
       },
       "mac.apparmor_complain"},
      {"more names than profiles not enforcing",
       [](v1::Signal& s) {
         s.mutable_mac()->add_lsms("apparmor");
         s.mutable_mac()->add_apparmor_not_enforcing("p (complain)");
       },
       "mac.apparmor_not_enforcing"},
      {"AppArmor profiles without AppArmor",
       [](v1::Signal& s) {
         s.mutable_mac()->add_lsms("capability");
         s.mutable_mac()->set_apparmor_enforce(3);
       },
       "mac.apparmor_enforce"},
      {"an SELinux mode without SELinux",
       [](v1::Signal& s) {
         s.mutable_mac()->add_lsms("capability");
         s.mutable_mac()->set_selinux_mode("enforcing");
       },
       "mac.selinux_mode"},
      {"an SELinux mode that is not one",
       [](v1::Signal& s) {
         s.mutable_mac()->add_lsms("selinux");
         s.mutable_mac()->set_selinux_mode("mostly");
       },
       "mac.selinux_mode"},
      {"33 modules",
       [](v1::Signal& s) {
         for (int i = 0; i < 33; ++i) s.mutable_mac()->add_lsms("m");
       },
       "mac.lsms"},
      {"a 5000-byte value",
       [](v1::Signal& s) {
         s.mutable_sshd()->set_installed(true);
         auto* kv = s.mutable_sshd()->add_settings();
         kv->set_key("allowusers");
         kv->set_value(std::string(5000, 'a'));
       },
       "sshd.settings.value"},
  };
  for (const Row& r : rows) {
    const absl::Status s = one(r.fill);
    ASSERT_FALSE(s.ok()) << r.why;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << r.why;
    EXPECT_NE(s.message().find(r.field), std::string::npos) << r.why << ": " << s;
  }
}

}  // namespace
}  // namespace attest::ingest
