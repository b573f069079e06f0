// host.disk_encrypted and host.mac_enforcing: state by state, and over
// time through the judge, with hand-computed seconds at every boundary.
#include "common/strings.h"
#include "daemon/engine/host_rules.h"
#include "daemon/engine/judge_test_support.h"
#include "gtest/gtest.h"

namespace attest::engine {
namespace {

using namespace testing_support;  // NOLINT: the tests' shared vocabulary

// A stack written "dm-1 lvm vg-root > dm-0 crypt LUKS2 > sda3 partition 3":
// each ">" one layer deeper, each "<" one back up.
void AddStack(v1::Volume* v, std::string_view text) {
  uint32_t depth = 0;
  for (std::string_view token : SplitWords(text)) {
    if (token == ">") {
      ++depth;
      continue;
    }
    if (token == "<") {
      --depth;
      continue;
    }
    // "name:kind[:detail]"
    const std::vector<std::string_view> f = Split(token, ":");
    v1::BlockLayer* l = v->add_stack();
    l->set_depth(depth);
    l->set_name(std::string(f[0]));
    l->set_kind(std::string(f[1]));
    if (f.size() > 2) l->set_detail(std::string(f[2]));
  }
}

struct Vol {
  std::string path;
  std::string fstype;
  std::string stack;  // as AddStack reads it; "" for none
  bool swap = false;
  bool read_only = false;
};

v1::Signal Disk(const std::vector<Vol>& vols, uint32_t omitted = 0, uint32_t block_omitted = 0) {
  v1::Signal s;
  v1::DiskEncryptionState* d = s.mutable_disk_encryption();
  for (const Vol& v : vols) {
    v1::Volume* out = d->add_volumes();
    out->set_path(v.path);
    out->set_fstype(v.swap ? "swap" : v.fstype);
    out->set_source(v.swap ? v.path : "/dev/x");
    out->set_swap(v.swap);
    out->set_read_only(v.read_only);
    AddStack(out, v.stack);
  }
  d->set_mounts_omitted(omitted);
  d->set_block_mounts_omitted(block_omitted);
  return s;
}

const std::string kLvmOnLuks = "dm-1:lvm:vg-root > dm-0:crypt:LUKS2 > sda3:partition:3 > sda:disk";
const std::string kClear = "sdb1:partition:1 > sdb:disk";

Control DiskEncrypted() {
  Control c;
  c.id = "disk-encrypted";
  c.rule = Rule::kHostDiskEncrypted;
  c.freshness = absl::Hours(1);
  return c;
}

struct Row {
  std::string name;
  std::vector<Vol> volumes;
  char want;
  std::string cause;  // a part of the cause
  void (*tweak)(Control&) = nullptr;
  uint32_t omitted = 0;
  uint32_t block_omitted = 0;
};

TEST(DiskEncryptedTest, StatesTable) {
  const std::vector<Row> rows = {
      {"LVM on LUKS2, /tmp a tmpfs, swap on the same LUKS",
       {{"/", "ext4", kLvmOnLuks},
        {"/boot", "ext4", "sda2:partition:2 > sda:disk"},
        {"/tmp", "tmpfs", ""},
        {"/dev/dm-2", "", "dm-2:lvm:vg-swap > dm-0:crypt:LUKS2 > sda3:partition:3 > sda:disk",
         true}},
       'P',
       "2 volumes on dm-crypt (LUKS2)"},
      {"/var and /srv are directories of /: judged once, as /",
       {{"/", "xfs",
         "dm-0:crypt:LUKS1 > md1:raid:raid1 > sda2:partition:2 > sda:disk < "
         "sdb2:partition:2 > sdb:disk"}},
       'P',
       "1 volume on dm-crypt (LUKS1)"},
      {"/home straight on a partition",
       {{"/", "ext4", kLvmOnLuks}, {"/home", "ext4", kClear}},
       'F',
       "/home (ext4 on /dev/x): no dm-crypt layer above sdb (disk)"},
      {"an LVM group spanning a LUKS disk and a clear one",
       {{"/", "ext4", kLvmOnLuks},
        {"/srv", "xfs", "dm-2:lvm:data > dm-1:crypt:LUKS2 > nvme1n1:disk < nvme2n1:disk"}},
       'F',
       "no dm-crypt layer above nvme2n1 (disk)"},
      {"dm-verity checks, it does not encrypt",
       {{"/", "ext4", "dm-0:verity > vda2:partition:2 > vda:disk"}},
       'F',
       "above vda (disk)"},
      {"an unencrypted swap partition",
       {{"/", "ext4", kLvmOnLuks}, {"/dev/sdb2", "", "sdb2:partition:2 > sdb:disk", true}},
       'F',
       "swap /dev/sdb2"},
      {"... which the policy may leave out",
       {{"/", "ext4", kLvmOnLuks}, {"/dev/sdb2", "", "sdb2:partition:2 > sdb:disk", true}},
       'P',
       "",
       [](Control& c) { c.encrypted_swap = false; }},
      {"zram swap lives in memory",
       {{"/", "ext4", kLvmOnLuks}, {"/dev/zram0", "", "zram0:ram:zram", true}},
       'P',
       "2 volumes"},
      {"zram writing back to a clear partition",
       {{"/", "ext4", kLvmOnLuks},
        {"/dev/zram0", "", "zram0:zram:/dev/sdc1 > sdc1:partition:1 > sdc:disk", true}},
       'F',
       "swap /dev/zram0"},
      {"NFS is not a local block device",
       {{"/", "ext4", kLvmOnLuks}, {"/srv", "nfs4", ""}},
       'F',
       "/srv (nfs4 from /dev/x) is not on a local block device"},
      {"... unless its type is exempt",
       {{"/", "ext4", kLvmOnLuks}, {"/srv", "nfs4", ""}},
       'P',
       "exempt: /srv (nfs4)",
       [](Control& c) { c.exempt_fstypes.push_back("nfs4"); }},
      {"a container's overlay root is exempt only when the policy says",
       {{"/", "overlay", ""}},
       'F',
       "/ (overlay"},
      {"a clear disk anywhere below / fails; /boot and /boot/efi are exempt",
       {{"/", "ext4", kLvmOnLuks},
        {"/boot", "ext4", "sda2:partition:2 > sda:disk"},
        {"/boot/efi", "vfat", "sda1:partition:1 > sda:disk"},
        {"/var/lib/mysql", "ext4", kClear}},
       'F',
       "/var/lib/mysql (ext4"},
      {"a tmpfs mounted over a clear /srv hides nothing: the disk is still mounted",
       {{"/", "ext4", kLvmOnLuks}, {"/srv", "xfs", kClear}, {"/srv", "tmpfs", ""}},
       'F',
       "/srv (xfs on /dev/x): no dm-crypt layer above sdb (disk)"},
      {"a loop device's file on the encrypted root",
       {{"/", "ext4", kLvmOnLuks},
        {"/snap/core/1", "squashfs",
         "loop0:loop:/var/lib/snapd/snaps/core_1.snap > dm-1:lvm:vg-root > dm-0:crypt:LUKS2 > "
         "sda3:partition:3 > sda:disk"}},
       'P',
       "2 volumes on dm-crypt (LUKS2)"},
      {"a read-only image on a clear disk, exempt_read_only",
       {{"/", "ext4", kLvmOnLuks},
        {"/mnt/images", "squashfs", "loop0:loop:/img.sqfs > sdb1:partition:1 > sdb:disk", false,
         true}},
       'P',
       "exempt: /mnt/images (read-only)",
       [](Control& c) { c.exempt_read_only = true; }},
      {"a read-only image on a clear disk without exempt_read_only",
       {{"/", "ext4", kLvmOnLuks},
        {"/mnt/images", "squashfs", "loop0:loop:/img.sqfs > sdb1:partition:1 > sdb:disk", false,
         true}},
       'F',
       "/mnt/images (squashfs"},
      {"a mount on a block device past the agent's bound: not every one judged",
       {{"/", "ext4", kLvmOnLuks}},
       'N',
       "3 mounts on block devices past the agent's bound were not reported",
       nullptr,
       5,
       3},
      {"... but a clear one reported still fails",
       {{"/", "ext4", kLvmOnLuks}, {"/data", "ext4", kClear}},
       'F',
       "/data",
       nullptr,
       5,
       3},
      {"other mounts past the bound may hold /srv/data, deeper than any reported",
       {{"/", "ext4", kLvmOnLuks}, {"/tmp", "tmpfs", ""}},
       'N',
       "the mount holding /srv/data may be among the 4 mounts past the agent's bound",
       [](Control& c) {
         c.encrypted_mounts = {"/", "/srv/data"};
       },
       4},
      {"... not /srv, as shallow as a reported one",
       {{"/", "ext4", kLvmOnLuks}, {"/tmp", "tmpfs", ""}},
       'P',
       "1 volume",
       [](Control& c) {
         c.encrypted_mounts = {"/", "/srv"};
       },
       4},
      {"a named path on its own mount",
       {{"/", "ext4", kLvmOnLuks}, {"/var/lib/postgresql", "ext4", kClear}},
       'F',
       "/var/lib/postgresql",
       [](Control& c) { c.encrypted_mounts.push_back("/var/lib/postgresql/16/main"); }},
      {"a device /sys did not describe is not encrypted",
       {{"/", "ext4", "253_9:unknown:missing"}},
       'F',
       "above 253_9 (unknown missing)"},
      {"no mount reported at all: unknown",
       {},
       'N',
       "no mount holding /, /var, /home, /srv was reported"},
  };
  for (const Row& r : rows) {
    Control c = DiskEncrypted();
    if (r.tweak != nullptr) r.tweak(c);
    const HostVerdict v = JudgeHostState(c, Disk(r.volumes, r.omitted, r.block_omitted));
    EXPECT_EQ(Letter(v.state), r.want) << r.name << ": " << v.cause;
    EXPECT_NE(v.cause.find(r.cause), std::string::npos) << r.name << ": " << v.cause;
  }
}

TEST(DiskEncryptedTest, EncryptionLostAndRegainedMidDayFailsExactlyThatSpan) {
  // Every 15 minutes; /srv mounted from a clear disk in [36000, 50400).
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < kD; t += 900) {
    std::vector<Vol> vols = {{"/", "ext4", kLvmOnLuks}};
    if (t >= 36000 && t < 50400) vols.push_back({"/srv", "xfs", kClear});
    obs.push_back(Host(t, Disk(vols)));
  }
  Case c{.control = DiskEncrypted(), .observations = obs, .to = kD};
  // The last state, at 85500, stays fresh past the day's end.
  Expect(c.Run(), {{0, 36000, 'P'}, {36000, 50400, 'F'}, {50400, kD, 'P'}});
  EXPECT_NE(c.Run()[1].cause().find("/srv (xfs"), std::string::npos) << c.Run()[1].cause();
}

TEST(DiskEncryptedTest, ACollectorErrorIsNoEvidenceNeverAPass) {
  Case c{
      .control = DiskEncrypted(),
      .observations = {Host(0, Disk({{"/", "ext4", kLvmOnLuks}})), Failed(1800, "disk_encryption")},
      .to = 2 * kH};
  // The failure voids the state; an hour after it the state is stale too.
  Expect(c.Run(), {{0, 1800, 'P'}, {1800, kH, 'N'}, {kH, 2 * kH, 'N'}});
  EXPECT_EQ(c.Run()[1].cause(), "the disk_encryption collector failed");
}

// --- mac

v1::Signal Mac(std::vector<std::string> lsms, uint32_t enforce, uint32_t complain,
               std::string selinux = "") {
  v1::Signal s;
  v1::MacState* m = s.mutable_mac();
  for (auto& l : lsms) m->add_lsms(l);
  m->set_apparmor_enforce(enforce);
  m->set_apparmor_complain(complain);
  for (uint32_t i = 0; i < complain; ++i)
    m->add_apparmor_not_enforcing(StrCat("p", i, " (complain)"));
  m->set_selinux_mode(std::move(selinux));
  if (!m->selinux_mode().empty()) m->set_selinux_policy("targeted");
  return s;
}

// `n` more profiles in unconfined mode.
v1::Signal Unconfined(v1::Signal s, uint32_t n) {
  s.mutable_mac()->set_apparmor_other(n);
  for (uint32_t i = 0; i < n; ++i)
    s.mutable_mac()->add_apparmor_not_enforcing(StrCat("u", i, " (unconfined)"));
  return s;
}

const std::vector<std::string> kAppArmor = {"lockdown", "capability", "landlock", "yama",
                                            "apparmor"};
const std::vector<std::string> kSelinux = {"lockdown", "capability", "yama", "selinux", "bpf"};
const std::vector<std::string> kNone = {"lockdown", "capability", "landlock", "bpf"};

Control MacEnforcing(std::string require = "any") {
  Control c;
  c.id = "mac-enforcing";
  c.rule = Rule::kHostMacEnforcing;
  c.freshness = absl::Hours(1);
  c.mac = std::move(require);
  return c;
}

TEST(MacEnforcingTest, StatesTable) {
  struct MacRow {
    std::string name;
    Control control;
    v1::Signal state;
    char want;
    std::string cause;
  };
  Control strict = MacEnforcing();
  strict.allow_complain = false;
  Control none_needed = MacEnforcing("apparmor");
  none_needed.min_enforced_profiles = 0;
  const std::vector<MacRow> rows = {
      {"AppArmor enforcing", MacEnforcing(), Mac(kAppArmor, 7, 1), 'P',
       "AppArmor enforcing 7 profiles, 1 not enforcing"},
      {"AppArmor active, every profile complaining", MacEnforcing(), Mac(kAppArmor, 0, 3), 'F',
       "AppArmor enforces 0 profiles (at least 1 wanted); SELinux is not active (active LSMs: "
       "lockdown,capability,landlock,yama,apparmor)"},
      {"one complaining profile, allow_complain false", strict, Mac(kAppArmor, 7, 1), 'F',
       "AppArmor has 1 profiles in complain mode (p0 (complain))"},
      {"unconfined-mode profiles (Ubuntu 24.04's flags=(unconfined)), allow_complain false", strict,
       Unconfined(Mac(kAppArmor, 7, 0), 3), 'P', "AppArmor enforcing 7 profiles, 3 not enforcing"},
      {"min_enforced_profiles 0: active is enough", none_needed, Mac(kAppArmor, 0, 0), 'P',
       "AppArmor enforcing 0 profiles"},
      {"no MAC at all", MacEnforcing(), Mac(kNone, 0, 0), 'F',
       "AppArmor is not active; SELinux is not active (active LSMs: "
       "lockdown,capability,landlock,bpf)"},
      {"SELinux enforcing", MacEnforcing(), Mac(kSelinux, 0, 0, "enforcing"), 'P',
       "SELinux enforcing (targeted)"},
      {"SELinux permissive", MacEnforcing(), Mac(kSelinux, 0, 0, "permissive"), 'F',
       "SELinux is permissive"},
      {"SELinux without a policy", MacEnforcing("selinux"), Mac(kSelinux, 0, 0, "disabled"), 'F',
       "SELinux is disabled"},
      {"the policy wants SELinux, the host runs AppArmor", MacEnforcing("selinux"),
       Mac(kAppArmor, 7, 0), 'F', "SELinux is not active"},
      {"the policy wants AppArmor, the host runs SELinux", MacEnforcing("apparmor"),
       Mac(kSelinux, 0, 0, "enforcing"), 'F', "AppArmor is not active"},
  };
  for (const MacRow& r : rows) {
    const HostVerdict v = JudgeHostState(r.control, r.state);
    EXPECT_EQ(Letter(v.state), r.want) << r.name << ": " << v.cause;
    EXPECT_NE(v.cause.find(r.cause), std::string::npos) << r.name << ": " << v.cause;
  }
}

TEST(MacEnforcingTest, SetenforceZeroForTenMinutesFailsForTenMinutes) {
  // Every 5 minutes; permissive at 3600 and 3900, enforcing again at 4200.
  std::vector<v1::Observation> obs;
  for (Seconds t = 0; t < 2 * kH; t += 300) {
    const bool permissive = t >= kH && t < kH + 600;
    obs.push_back(Host(t, Mac(kSelinux, 0, 0, permissive ? "permissive" : "enforcing")));
  }
  Case c{.control = MacEnforcing(), .observations = obs, .to = 2 * kH};
  Expect(c.Run(), {{0, kH, 'P'}, {kH, kH + 600, 'F'}, {kH + 600, 2 * kH, 'P'}});
}

}  // namespace
}  // namespace attest::engine
