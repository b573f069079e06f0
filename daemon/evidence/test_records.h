// Evidence records of every kind, with every list and optional field set,
// for tests of the evidence format (export and import).
#ifndef ATTEST_DAEMON_EVIDENCE_TEST_RECORDS_H_
#define ATTEST_DAEMON_EVIDENCE_TEST_RECORDS_H_

#include <string>
#include <vector>

#include "attest/v1/evidence.pb.h"
#include "common/time_util.h"

namespace attest::evidence::testing {

inline v1::EvidenceRecord Base(uint64_t index) {
  v1::EvidenceRecord r;
  r.set_host("web-1");
  r.set_index(index);
  r.set_instance_id("i-1");
  r.set_seq(index);
  *r.mutable_observed_at() = ToProto(absl::FromUnixSeconds(1767225600) + absl::Milliseconds(5));
  *r.mutable_received_at() = ToProto(absl::FromUnixSeconds(1767225601));
  r.set_origin(v1::ORIGIN_IMPORTED);
  r.set_prev_hash(std::string(32, '\x01'));
  r.set_hash(std::string(32, '\xab'));
  return r;
}

// One record of every kind, with every list and optional field populated.
inline std::vector<v1::EvidenceRecord> EveryKind() {
  std::vector<v1::EvidenceRecord> out;
  auto hello = Base(1);
  hello.mutable_hello()->set_agent_version("1.2.3");
  hello.mutable_hello()->set_instance_id("i-1");
  (*hello.mutable_hello()->mutable_labels())["zone"] = "b";
  (*hello.mutable_hello()->mutable_labels())["env"] = "prod";
  (*hello.mutable_hello()->mutable_labels())["Team"] = "x";
  out.push_back(hello);
  auto patch = Base(2);
  auto* p = patch.mutable_signal()->mutable_patch();
  p->set_os("Debian");
  p->set_package_manager(v1::PACKAGE_MANAGER_RPM);
  for (int i = 0; i < 2; ++i) {
    auto* u = p->add_pending();
    u->set_package("pkg" + std::to_string(i));
    u->set_security(i == 0);
  }
  out.push_back(patch);
  auto ship = Base(3);
  ship.mutable_signal()->mutable_log_shipping()->set_shipper("rsyslog");
  *ship.mutable_signal()->mutable_log_shipping()->mutable_last_delivery() =
      ToProto(absl::FromUnixSeconds(1767225000));
  out.push_back(ship);
  auto never = Base(4);
  never.mutable_signal()->mutable_log_shipping()->set_shipper("journal");
  out.push_back(never);
  auto change = Base(5);
  change.mutable_signal()->mutable_access_change()->set_id("c1");
  change.mutable_signal()->mutable_access_change()->set_change(v1::ACCESS_CHANGE_KIND_KEY_ADDED);
  out.push_back(change);
  auto snap = Base(6);
  auto* s = snap.mutable_signal()->mutable_access_snapshot();
  s->add_users()->set_name("root");
  auto* g = s->add_groups();
  g->set_name("sudo");
  g->add_members("alice");
  g->add_members("bob");
  auto* e = s->add_sudoers();
  e->set_file("/etc/sudoers");
  e->add_rules("%sudo ALL=(ALL:ALL) ALL");
  s->add_keys()->set_user("alice");
  out.push_back(snap);
  auto check = Base(7);
  check.mutable_signal()->mutable_check()->set_name("backup");
  check.mutable_signal()->mutable_check()->set_status(v1::CHECK_STATUS_WARNING);
  out.push_back(check);
  auto err = Base(8);
  err.mutable_signal()->mutable_collector_error()->set_collector("patch");
  out.push_back(err);
  auto beat = Base(9);
  beat.mutable_signal()->mutable_heartbeat();
  out.push_back(beat);
  auto gap = Base(10);
  gap.mutable_gap()->set_first_seq(4);
  gap.mutable_gap()->set_last_seq(9);
  out.push_back(gap);
  auto time = Base(11);
  auto* t = time.mutable_signal()->mutable_time_sync();
  t->set_synchronized(true);
  t->set_max_error_us(1004);
  t->set_est_error_us(3);
  t->set_offset_ns(-250);
  t->set_status(0x2001);
  t->add_daemons("chronyd");
  t->add_daemons("ptp4l");
  out.push_back(time);
  auto fw = Base(12);
  auto* f = fw.mutable_signal()->mutable_firewall();
  f->set_source(v1::FIREWALL_SOURCE_NFTABLES);
  f->set_rules(9);
  f->set_ruleset_sha256("sha256:" + std::string(64, 'c'));
  for (const char* family : {"inet", "ip6"}) {
    auto* c = f->add_chains();
    c->set_family(family);
    c->set_table("filter");
    c->set_name("input");
    c->set_hook("input");
    c->set_priority(-150);
    c->set_policy("drop");
    c->set_rules(4);
    c->set_ends_in_drop(true);
  }
  out.push_back(fw);
  auto services = Base(13);
  for (const char* unit : {"auditd.service", "falcon-sensor.service"}) {
    auto* u = services.mutable_signal()->mutable_services()->add_units();
    u->set_unit(unit);
    u->set_active_state("active");
    u->set_sub_state("running");
    u->set_load_state("loaded");
  }
  out.push_back(services);
  auto sshd = Base(14);
  auto* d = sshd.mutable_signal()->mutable_sshd();
  d->set_installed(true);
  for (const auto& [k, v] : {std::pair<const char*, const char*>{"authenticationmethods",
                                                                 "publickey,keyboard-interactive"},
                             {"passwordauthentication", "no"}}) {
    auto* kv = d->add_settings();
    kv->set_key(k);
    kv->set_value(v);
  }
  d->add_pam_auth_modules("pam_unix.so");
  d->add_pam_auth_modules("pam_u2f.so");
  d->add_pam_auth_required("pam_u2f.so");
  out.push_back(sshd);
  auto backup = Base(15);
  backup.mutable_signal()->mutable_backup()->set_name("nightly");
  backup.mutable_signal()->mutable_backup()->set_probe(v1::BACKUP_PROBE_BORG);
  *backup.mutable_signal()->mutable_backup()->mutable_last_success() =
      ToProto(absl::FromUnixSeconds(1767222000) + absl::Milliseconds(250));
  backup.mutable_signal()->mutable_backup()->set_snapshot("nightly-2");
  out.push_back(backup);
  auto unread = Base(16);
  unread.mutable_signal()->mutable_backup()->set_name("offsite");
  unread.mutable_signal()->mutable_backup()->set_probe(v1::BACKUP_PROBE_RESTIC);
  unread.mutable_signal()->mutable_backup()->set_error(
      "UNAVAILABLE: restic exited 1: Fatal: wrong password");
  out.push_back(unread);
  auto disk = Base(17);
  auto* volume = disk.mutable_signal()->mutable_disk_encryption()->add_volumes();
  volume->set_path("/");
  volume->set_fstype("ext4");
  volume->set_source("/dev/mapper/vg-root");
  for (const auto& [depth, name, kind, detail] :
       {std::tuple<uint32_t, const char*, const char*, const char*>{0, "dm-1", "lvm", "vg-root"},
        {1, "dm-0", "crypt", "LUKS2"},
        {2, "sda3", "partition", "3"},
        {3, "sda", "disk", ""}}) {
    auto* l = volume->add_stack();
    l->set_depth(depth);
    l->set_name(name);
    l->set_kind(kind);
    l->set_detail(detail);
  }
  auto* swap = disk.mutable_signal()->mutable_disk_encryption()->add_volumes();
  swap->set_path("/dev/zram0");
  swap->set_fstype("swap");
  swap->set_source("/dev/zram0");
  swap->set_swap(true);
  auto* zram = swap->add_stack();
  zram->set_name("zram0");
  zram->set_kind("ram");
  zram->set_detail("zram");
  disk.mutable_signal()->mutable_disk_encryption()->set_mounts_omitted(2);
  out.push_back(disk);
  auto mac = Base(18);
  auto* m = mac.mutable_signal()->mutable_mac();
  for (const char* lsm : {"capability", "yama", "apparmor"}) m->add_lsms(lsm);
  m->set_apparmor_enforce(7);
  m->set_apparmor_complain(1);
  m->add_apparmor_not_enforcing("/usr/sbin/cupsd (complain)");
  out.push_back(mac);
  return out;
}

}  // namespace attest::evidence::testing

#endif  // ATTEST_DAEMON_EVIDENCE_TEST_RECORDS_H_
