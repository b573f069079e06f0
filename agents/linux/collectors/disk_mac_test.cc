// The disk_encryption and mac collectors, on /proc and /sys trees: one
// recorded on this machine, the others built from the kernel's documented
// layouts (tests/fixtures/host/README.md).
#include <filesystem>

#include "agents/linux/collectors/disk_encryption.h"
#include "agents/linux/collectors/mac.h"
#include "agents/linux/collectors/root_fs.h"
#include "agents/linux/collectors/test_support.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace attest::agent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795400000);

absl::StatusOr<std::vector<v1::Signal>> CollectFrom(Collector& c, const std::string& root) {
  RootFs fs(root);
  ProcessRunner commands;
  return c.Collect({fs, commands, kNow});
}

// A fixture tree copied with its symbolic links as links: /sys is made of
// them, and a partition finds its disk through one.
void CopyTree(const TempTree& tree, const std::string& fixture, const std::string& to) {
  std::filesystem::copy(
      FixturePath(fixture), tree / to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
}

v1::DiskEncryptionState Disk(const std::string& root) {
  DiskEncryptionCollector c;
  auto s = CollectFrom(c, root);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok() || s->size() != 1) return {};
  return (*s)[0].disk_encryption();
}

// "dm-1 lvm debian--vg-root|1:dm-0 crypt LUKS2|..." : a stack in one line.
std::string Stack(const v1::Volume& v) {
  std::string out;
  for (const auto& l : v.stack()) {
    StrAppend(&out, out.empty() ? "" : "|", l.depth() > 0 ? StrCat(l.depth(), ":") : "", l.name(),
              " ", l.kind(), l.detail().empty() ? "" : " ", l.detail());
  }
  return out;
}

const v1::Volume* Find(const v1::DiskEncryptionState& s, std::string_view path) {
  for (const auto& v : s.volumes()) {
    if (v.path() == path) return &v;
  }
  return nullptr;
}

std::vector<std::string> Paths(const v1::DiskEncryptionState& s) {
  std::vector<std::string> out;
  for (const auto& v : s.volumes()) out.push_back(v.path());
  return out;
}

// --- parsing

TEST(DiskEncryptionTest, MountinfoDecodesEscapesOptionalFieldsAndReadOnly) {
  auto m = ParseMountinfo(
      "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 shared:2 - ext3 /dev/root "
      "rw,errors=continue\n"
      "37 35 0:40 / /srv ro,relatime - nfs4 server:/export\\011x rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].major, 98u);
  EXPECT_EQ((*m)[0].mount_point, "/mnt/my disk");
  EXPECT_EQ((*m)[0].fstype, "ext3");
  EXPECT_EQ((*m)[0].source, "/dev/root");
  EXPECT_FALSE((*m)[0].read_only);
  EXPECT_TRUE((*m)[1].read_only);
  EXPECT_EQ((*m)[1].source, "server:/export\tx");
}

TEST(DiskEncryptionTest, MountinfoRefusesLinesThatAreNotMountinfo) {
  for (const char* bad : {"36 35 98:0 /mnt1 /mnt rw ext3 /dev/root rw\n",  // no separator
                          "36 35 98 / /mnt rw - ext3 /dev/root rw\n",      // no minor
                          "36 35 x:0 / /mnt rw - ext3 /dev/root rw\n",
                          "36 35 8:0 / mnt rw - ext3 /dev/root rw\n",  // relative
                          "36 35 8:0 / /mnt rw - ext3\n"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseMountinfo(bad).status())) << bad;
  }
  EXPECT_TRUE(ParseMountinfo("").ok());
}

TEST(DiskEncryptionTest, SwapsNeedTheHeaderAndKnowFilesFromPartitions) {
  auto s = ParseSwaps(
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/dm-3                               partition\t999420\t\t0\t\t-2\n"
      "/var/swap\\040file                      file\t\t4194300\t\t0\t\t-3\n");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].path, "/dev/dm-3");
  EXPECT_FALSE((*s)[0].is_file);
  EXPECT_EQ((*s)[1].path, "/var/swap file");
  EXPECT_TRUE((*s)[1].is_file);
  EXPECT_TRUE(ParseSwaps("Filename Type Size Used Priority\n")->empty());
  EXPECT_FALSE(ParseSwaps("/dev/sda2 partition 1 0 -2\n").ok());
  EXPECT_FALSE(ParseSwaps("Filename Type Size Used Priority\n/dev/sda2 disk 1 0 -2\n").ok());
}

TEST(DiskEncryptionTest, DeviceMapperUuidsAsCryptsetupAndLvmWriteThem) {
  const std::pair<const char*, std::pair<const char*, const char*>> cases[] = {
      {"CRYPT-LUKS2-6f1c2b0e9a4d4e52b1c3a7d8e9f01234-sda3_crypt", {"crypt", "LUKS2"}},
      {"CRYPT-LUKS1-2a7f4c9e1b3d4f6a8c0e2b4d6f8a0c1e-md1_crypt", {"crypt", "LUKS1"}},
      {"CRYPT-PLAIN-cryptswap1", {"crypt", "PLAIN"}},
      {"CRYPT-BITLK-0123-usb", {"crypt", "BITLK"}},
      {"CRYPT-TCRYPT-vol", {"crypt", "TCRYPT"}},
      // Checked or integrity-protected, not encrypted.
      {"CRYPT-VERITY-8f0e-root", {"verity", ""}},
      {"CRYPT-INTEGRITY-x", {"integrity", ""}},
      {"CRYPT-SUBDEV-1a2b-sda3_crypt_dif", {"integrity", ""}},
      {"CRYPT-NEWTYPE-x", {"dm", ""}},
      {"LVM-Xq3nKp0b7yTzR2mV9sW4cD6fH8jL1aE5", {"lvm", ""}},
      {"mpath-3600508b400105e210000900000490000", {"multipath", ""}},
      {"part1-mpath-3600508b400105e210000900000490000", {"partition", ""}},
      {"", {"dm", ""}},
  };
  for (const auto& [uuid, want] : cases) {
    const DmKind k = ClassifyDmUuid(uuid);
    EXPECT_EQ(k.kind, want.first) << uuid;
    EXPECT_EQ(k.crypt_type, want.second) << uuid;
  }
}

TEST(DiskEncryptionTest, ReportedMountsSkipKernelFilesystemsAndKeepHiddenMounts) {
  std::vector<MountEntry> all = {
      {0, 21, "/proc", "proc", "proc", false},
      {0, 5, "/dev", "devtmpfs", "udev", false},
      {8, 1, "/", "ext4", "/dev/sda1", false},
      {0, 40, "/run/containerd/x/rootfs", "overlay", "overlay", false},
      {0, 41, "/sys/fs/cgroup", "cgroup2", "cgroup2", false},
      {8, 2, "/srv", "ext4", "/dev/sda2", false},
      {0, 45, "/srv", "tmpfs", "tmpfs", false},  // mounted over /srv: hides it
      {0, 23, "/run", "tmpfs", "tmpfs", false},
      {8, 33, "/run/media/usb", "vfat", "/dev/sdc1", false},  // a block device: kept
      {0, 24, "/dev/shm", "tmpfs", "tmpfs", false},
  };
  uint32_t omitted = 9, block_omitted = 9;
  const std::vector<MountEntry> out = ReportedMounts(all, &omitted, &block_omitted);
  EXPECT_EQ(omitted, 0u);
  EXPECT_EQ(block_omitted, 0u);
  std::vector<std::string> points;
  for (const auto& m : out) points.push_back(m.mount_point + " " + m.fstype);
  // Block devices first; the disk under the tmpfs on /srv too.
  EXPECT_EQ(points, (std::vector<std::string>{"/ ext4", "/srv ext4", "/run/media/usb vfat",
                                              "/run tmpfs", "/srv tmpfs"}));
}

TEST(DiskEncryptionTest, ReportedMountsKeepTheShallowestWithinTheBound) {
  std::vector<MountEntry> all = {{8, 1, "/", "ext4", "/dev/sda1", false}};
  for (int i = 0; i < 300; ++i) {
    all.push_back({0, 100u + i, StrCat("/var/lib/kubelet/pods/p", i, "/volumes/secret"), "tmpfs",
                   "tmpfs", false});
  }
  all.push_back({8, 2, "/var/lib/data/deep/disk", "ext4", "/dev/sda2", false});
  uint32_t omitted = 0, block_omitted = 0;
  std::vector<MountEntry> out = ReportedMounts(all, &omitted, &block_omitted);
  ASSERT_EQ(out.size(), kMaxReportedMounts);
  EXPECT_EQ(omitted, 302u - kMaxReportedMounts);
  EXPECT_EQ(block_omitted, 0u);  // a flood of tmpfs pushes no disk out
  EXPECT_EQ(out[0].mount_point, "/");
  EXPECT_EQ(out[1].mount_point, "/var/lib/data/deep/disk");
  // A flood of mounts on block devices: those past the bound are counted.
  for (int i = 0; i < 250; ++i) {
    all.push_back(
        {8, 1, StrCat("/var/lib/kubelet/pods/p", i, "/subpath"), "ext4", "/dev/sda1", false});
  }
  out = ReportedMounts(all, &omitted, &block_omitted);
  EXPECT_EQ(omitted, 552u - kMaxReportedMounts);
  EXPECT_EQ(block_omitted, 252u - kMaxReportedMounts);
}

// --- collecting: the device stack under each mount and swap

TEST(DiskEncryptionTest, DebianEncryptedLvmLayout) {
  const v1::DiskEncryptionState s = Disk(FixturePath("host/disk/luks2-lvm"));
  EXPECT_EQ(Paths(s), (std::vector<std::string>{
                          "/", "/boot", "/home", "/boot/efi", "/var/lib/docker", "/run", "/tmp",
                          "/var/lib/docker/overlay2/4c1d2e9f/merged", "/dev/dm-3"}));
  EXPECT_EQ(s.mounts_omitted(), 0u);
  const v1::Volume* root = Find(s, "/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->fstype(), "ext4");
  EXPECT_EQ(root->source(), "/dev/mapper/debian--vg-root");
  EXPECT_EQ(Stack(*root),
            "dm-1 lvm debian--vg-root|1:dm-0 crypt LUKS2|2:sda3 partition 3|3:sda disk");
  EXPECT_EQ(Stack(*Find(s, "/boot")), "sda2 partition 2|1:sda disk");
  EXPECT_EQ(Stack(*Find(s, "/home")),
            "dm-2 lvm debian--vg-home|1:dm-0 crypt LUKS2|2:sda3 partition 3|3:sda disk");
  // A bind mount of the root filesystem rests on the same devices.
  EXPECT_EQ(Stack(*Find(s, "/var/lib/docker")), Stack(*root));
  EXPECT_EQ(Find(s, "/tmp")->stack_size(), 0);
  EXPECT_EQ(Find(s, "/var/lib/docker/overlay2/4c1d2e9f/merged")->fstype(), "overlay");
  const v1::Volume* swap = Find(s, "/dev/dm-3");
  ASSERT_NE(swap, nullptr);
  EXPECT_TRUE(swap->swap());
  EXPECT_EQ(swap->fstype(), "swap");
  EXPECT_EQ(Stack(*swap),
            "dm-3 lvm debian--vg-swap_1|1:dm-0 crypt LUKS2|2:sda3 partition 3|3:sda disk");
}

TEST(DiskEncryptionTest, Luks1OnRaid1AndPlainDmCryptSwap) {
  const v1::DiskEncryptionState s = Disk(FixturePath("host/disk/luks1-raid1"));
  EXPECT_EQ(Stack(*Find(s, "/")),
            "dm-0 crypt LUKS1|1:md1 raid raid1|2:sda2 partition 2|3:sda disk|2:sdb2 partition "
            "2|3:sdb disk");
  EXPECT_EQ(Stack(*Find(s, "/boot")),
            "md0 raid raid1|1:sda1 partition 1|2:sda disk|1:sdb1 partition 1|2:sdb disk");
  EXPECT_EQ(Stack(*Find(s, "/dev/dm-1")),
            "dm-1 crypt PLAIN|1:md2 raid raid1|2:sda3 partition 3|3:sda disk|2:sdb3 partition "
            "3|3:sdb disk");
}

TEST(DiskEncryptionTest, BtrfsByItsSourceLvmOverOneClearDiskLoopNfsSwapFileAndZram) {
  const v1::DiskEncryptionState s = Disk(FixturePath("host/disk/mixed"));
  // btrfs: mountinfo gives 0:32, the source names the dm device.
  EXPECT_EQ(Stack(*Find(s, "/")), "dm-0 crypt LUKS2|1:nvme0n1p2 partition 2|2:nvme0n1 disk");
  EXPECT_EQ(Stack(*Find(s, "/home")), Stack(*Find(s, "/")));
  EXPECT_EQ(Stack(*Find(s, "/srv")),
            "dm-2 lvm data-srv|1:dm-1 crypt LUKS2|2:nvme1n1 disk|1:nvme2n1 disk");
  EXPECT_EQ(Stack(*Find(s, "/var/lib/postgresql")), "nvme3n1p1 partition 1|1:nvme3n1 disk");
  const v1::Volume* images = Find(s, "/mnt/images");
  ASSERT_NE(images, nullptr);
  EXPECT_TRUE(images->read_only());
  // A loop device's file rests on the filesystem that holds it.
  EXPECT_EQ(Stack(*images),
            "loop0 loop /var/lib/images/base.squashfs|1:dm-0 crypt LUKS2|2:nvme0n1p2 partition "
            "2|3:nvme0n1 disk");
  const v1::Volume* nfs = Find(s, "/mnt/nfs share");
  ASSERT_NE(nfs, nullptr);
  EXPECT_EQ(nfs->source(), "fileserver:/export");
  EXPECT_EQ(nfs->stack_size(), 0);
  // A swap file rests on the filesystem that holds it.
  const v1::Volume* file = Find(s, "/swapfile");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->source(), "/dev/mapper/root_crypt");
  EXPECT_EQ(Stack(*file), Stack(*Find(s, "/")));
  EXPECT_EQ(Stack(*Find(s, "/dev/zram0")), "zram0 ram zram");
}

TEST(DiskEncryptionTest, RecordedOnThisMachine) {
  const v1::DiskEncryptionState s = Disk(FixturePath("host/disk/this-machine"));
  EXPECT_EQ(Stack(*Find(s, "/")), "vda disk");
  EXPECT_EQ(Stack(*Find(s, "/srv/recorded")), "loop0 loop /tmp/loopimg|1:vda disk");
  EXPECT_EQ(Stack(*Find(s, "/dev/zram0")), "zram0 ram zram");
  EXPECT_EQ(Find(s, "/dev/shm"), nullptr);  // under /dev
  EXPECT_EQ(Find(s, "/sys/fs/cgroup"), nullptr);
}

TEST(DiskEncryptionTest, ADeviceMissingFromSysAndACycleAreBoundedNotFatal) {
  TempTree tree("disk_cycle");
  CopyTree(tree, "host/disk/luks2-lvm", "root");
  // dm-0 made to rest on dm-1, which rests on dm-0.
  std::filesystem::create_directory_symlink(
      "../../dm-1", tree / "root/sys/devices/virtual/block/dm-0/slaves/dm-1");
  // /home's device no longer in /sys/dev/block.
  std::filesystem::remove(tree / "root/sys/dev/block/253:2");
  const v1::DiskEncryptionState s = Disk(tree / "root");
  const v1::Volume* root = Find(s, "/");
  ASSERT_NE(root, nullptr);
  EXPECT_LE(static_cast<size_t>(root->stack_size()), kMaxStackLayers);
  EXPECT_NE(Stack(*root).find("unknown stack deeper than the agent's bound"), std::string::npos)
      << Stack(*root);
  EXPECT_EQ(Stack(*Find(s, "/home")), "253:2 unknown not in /sys/dev/block");
}

TEST(DiskEncryptionTest, AStackLongerThanTheBoundEndsInAnUnknownLayer) {
  // A volume group over 40 LUKS devices and a clear one listed last.
  TempTree tree("disk_wide");
  CopyTree(tree, "host/disk/luks2-lvm", "root");
  const std::string slaves = tree / "root/sys/devices/virtual/block/dm-1/slaves";
  const std::string dm0 = tree / "root/sys/devices/virtual/block/dm-0";
  const std::string sda = tree /
                          "root/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/"
                          "block/sda";
  for (int i = 0; i < 40; ++i) {
    const std::string name = StrCat("dm-0x", 10 + i);
    std::filesystem::create_directory_symlink(dm0, StrCat(slaves, "/", name));
    std::filesystem::create_directory_symlink(dm0, tree / ("root/sys/class/block/" + name));
  }
  std::filesystem::create_directory_symlink(sda, slaves + "/zz-clear");
  std::filesystem::create_directory_symlink(sda, tree / "root/sys/class/block/zz-clear");
  const v1::DiskEncryptionState s = Disk(tree / "root");
  const v1::Volume* root = Find(s, "/");
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(static_cast<size_t>(root->stack_size()), kMaxStackLayers);
  EXPECT_EQ(root->stack(root->stack_size() - 1).kind(), "unknown");
  EXPECT_EQ(root->stack(root->stack_size() - 1).detail(), "stack longer than the agent's bound");
}

TEST(DiskEncryptionTest, AZramWhoseWritebackCannotBeReadIsNotMemory) {
  TempTree tree("disk_zram");
  CopyTree(tree, "host/disk/mixed", "root");
  tree.Chmod("root/sys/devices/virtual/block/zram0/backing_dev", std::filesystem::perms::none);
  WithoutFileCapabilities no_caps;
  const v1::DiskEncryptionState s = Disk(tree / "root");
  const v1::Volume* zram = Find(s, "/dev/zram0");
  ASSERT_NE(zram, nullptr);
  EXPECT_EQ(zram->stack(0).kind(), "unknown") << Stack(*zram);
}

TEST(DiskEncryptionTest, WithoutTheHostsMountsOrSysItIsAnErrorNotAnEmptyList) {
  TempTree tree("disk_missing");
  CopyTree(tree, "host/disk/luks2-lvm", "root");
  std::filesystem::remove_all(tree / "root/sys");
  DiskEncryptionCollector c;
  auto s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsNotFound(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("block devices from the host's /sys"), std::string::npos);
  std::filesystem::remove(tree / "root/proc/1/mountinfo");
  s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsNotFound(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("host's first process"), std::string::npos);
}

// --- mac

v1::MacState Mac(const std::string& root) {
  MacCollector c;
  auto s = CollectFrom(c, root);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok() || s->size() != 1) return {};
  return (*s)[0].mac();
}

TEST(MacTest, AppArmorProfilesFileNamesMayHoldSpaces) {
  auto p = ParseAppArmorProfiles(
      "/usr/sbin/chronyd (enforce)\n/opt/My App/bin/run (complain)\nnvidia_modprobe//kmod "
      "(kill)\n");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[1], AppArmorProfile("/opt/My App/bin/run", "complain"));
  EXPECT_EQ((*p)[2].second, "kill");
  EXPECT_FALSE(ParseAppArmorProfiles("/usr/sbin/chronyd enforce\n").ok());
  EXPECT_FALSE(ParseAppArmorProfiles("(enforce)\n").ok());
}

TEST(MacTest, AppArmorOnDebian) {
  const v1::MacState m = Mac(FixturePath("host/mac/apparmor-debian12"));
  EXPECT_EQ(StrCat(m.lsms().size()), "6");
  EXPECT_EQ(m.apparmor_enforce(), 7u);
  EXPECT_EQ(m.apparmor_complain(), 1u);
  EXPECT_EQ(m.apparmor_other(), 0u);
  ASSERT_EQ(m.apparmor_not_enforcing_size(), 1);
  EXPECT_EQ(m.apparmor_not_enforcing(0), "/usr/sbin/cupsd (complain)");
  EXPECT_EQ(m.selinux_mode(), "");
}

TEST(MacTest, WithoutRootTheProfilesComeFromThePolicyTree) {
  // Only uid or gid 0 may open apparmor/profiles; the agent runs as
  // neither, and its per-profile files give the same answer.
  TempTree tree("mac_policy");
  CopyTree(tree, "host/mac/apparmor-debian12", "root");
  tree.Chmod("root/sys/kernel/security/apparmor/profiles", std::filesystem::perms::none);
  WithoutFileCapabilities no_caps;
  const v1::MacState m = Mac(tree / "root");
  EXPECT_EQ(m.apparmor_enforce(), 7u);
  EXPECT_EQ(m.apparmor_complain(), 1u);
  ASSERT_EQ(m.apparmor_not_enforcing_size(), 1);
  EXPECT_EQ(m.apparmor_not_enforcing(0), "/usr/sbin/cupsd (complain)");
}

TEST(MacTest, AppArmorInComplainModeOrNotActive) {
  v1::MacState m = Mac(FixturePath("host/mac/apparmor-complain"));
  EXPECT_EQ(m.apparmor_enforce(), 0u);
  EXPECT_EQ(m.apparmor_complain(), 3u);
  EXPECT_EQ(m.apparmor_not_enforcing_size(), 3);
  m = Mac(FixturePath("host/mac/apparmor-disabled"));
  EXPECT_EQ(absl::StrJoin(m.lsms(), ","), "lockdown,capability,landlock,yama");
  EXPECT_EQ(m.apparmor_enforce() + m.apparmor_complain(), 0u);
}

TEST(MacTest, SelinuxEnforcingAndPermissive) {
  v1::MacState m = Mac(FixturePath("host/mac/selinux-enforcing"));
  EXPECT_EQ(m.selinux_mode(), "enforcing");
  EXPECT_EQ(m.selinux_policy(), "targeted");
  m = Mac(FixturePath("host/mac/selinux-permissive"));
  EXPECT_EQ(m.selinux_mode(), "permissive");
  // SELINUX=disabled: active, enforce reads 0, but no policy is loaded.
  m = Mac(FixturePath("host/mac/selinux-disabled"));
  EXPECT_EQ(m.selinux_mode(), "disabled");
  // selinuxfs not mounted where the agent looks: an error, not "disabled".
  TempTree tree("mac_selinux");
  CopyTree(tree, "host/mac/selinux-enforcing", "root");
  std::filesystem::remove_all(tree / "root/sys/fs/selinux");
  MacCollector c;
  auto s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsNotFound(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("selinuxfs"), std::string::npos);
}

TEST(MacTest, RecordedOnThisMachineAndWithoutSecurityfs) {
  const v1::MacState m = Mac(FixturePath("host/mac/this-machine"));
  EXPECT_EQ(absl::StrJoin(m.lsms(), ","), "lockdown,capability,landlock,bpf");
  EXPECT_EQ(m.selinux_mode(), "");
  TempTree tree("mac_none");
  tree.Write("root/sys/kernel/.keep", "");
  MacCollector c;
  auto s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsNotFound(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("securityfs"), std::string::npos);
}

TEST(MacTest, AProfileWhoseModeCannotBeReadIsAnErrorNotSkipped) {
  TempTree tree("mac_mode");
  CopyTree(tree, "host/mac/apparmor-debian12", "root");
  tree.Chmod("root/sys/kernel/security/apparmor/profiles", std::filesystem::perms::none);
  tree.Chmod("root/sys/kernel/security/apparmor/policy/profiles/usr.sbin.cupsd.6/mode",
             std::filesystem::perms::none);
  WithoutFileCapabilities no_caps;
  MacCollector c;
  auto s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsPermissionDenied(s.status())) << s.status();
}

TEST(MacTest, AnAppArmorTreeThatCannotBeReadIsAnError) {
  TempTree tree("mac_unreadable");
  CopyTree(tree, "host/mac/apparmor-debian12", "root");
  tree.Chmod("root/sys/kernel/security/apparmor/profiles", std::filesystem::perms::none);
  tree.Chmod("root/sys/kernel/security/apparmor/policy/profiles", std::filesystem::perms::none);
  WithoutFileCapabilities no_caps;
  MacCollector c;
  auto s = CollectFrom(c, tree / "root");
  EXPECT_TRUE(absl::IsPermissionDenied(s.status())) << s.status();
}

}  // namespace
}  // namespace attest::agent
