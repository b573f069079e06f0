// disk_encryption: what holds the host's data at rest. Every mount of the
// host's first process (/proc/1/mountinfo: the host's mount namespace, not
// the agent's sandbox) and every active swap (/proc/swaps), each with the
// block devices under it, resolved through /sys/dev/block, /sys/class/block,
// dm/uuid and slaves/. That covers LUKS1, LUKS2 and plain dm-crypt, LVM on
// LUKS, LUKS on md RAID and the other way round. attestd decides which
// mounts must be encrypted (host.disk_encrypted): the agent only reports.
#ifndef ATTEST_AGENTS_LINUX_COLLECTORS_DISK_ENCRYPTION_H_
#define ATTEST_AGENTS_LINUX_COLLECTORS_DISK_ENCRYPTION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/linux/collectors/collector.h"

namespace attest::agent {

// Bounds on what one signal reports (docs/bad-input.md, "Disk encryption").
inline constexpr size_t kMaxReportedMounts = 200;
inline constexpr size_t kMaxReportedSwaps = 32;
inline constexpr size_t kMaxStackLayers = 32;
inline constexpr uint32_t kMaxStackDepth = 8;
inline constexpr size_t kMaxTotalLayers = 4096;

// One line of /proc/PID/mountinfo (proc(5)), escapes (\040) decoded.
struct MountEntry {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string mount_point;
  std::string fstype;
  std::string source;
  bool read_only = false;
};

// InvalidArgument on a line that is not mountinfo's.
absl::StatusOr<std::vector<MountEntry>> ParseMountinfo(std::string_view text);

// One active swap from /proc/swaps.
struct SwapEntry {
  std::string path;  // "/dev/dm-2", "/swapfile"
  bool is_file = false;
};

// InvalidArgument when the header or a line is not /proc/swaps'.
absl::StatusOr<std::vector<SwapEntry>> ParseSwaps(std::string_view text);

// What a device-mapper uuid (dm/uuid) says the device is: `kind` as
// BlockLayer.kind ("crypt", "lvm", "multipath", "integrity", "verity",
// "partition", "dm") and, for crypt, the type ("LUKS2", "PLAIN").
struct DmKind {
  std::string kind;
  std::string crypt_type;
};
DmKind ClassifyDmUuid(std::string_view uuid);

// The mounts worth reporting: all but kernel filesystems, what lies under
// /proc and /sys, and what is not on a block device under /dev and /run/.
// Hidden mounts (mounted over) too. Those on block devices come first, each
// group by depth of mount point then path, at most kMaxReportedMounts;
// `omitted` counts the rest, `block_omitted` those of them on block devices.
std::vector<MountEntry> ReportedMounts(const std::vector<MountEntry>& all, uint32_t* omitted,
                                       uint32_t* block_omitted);

class DiskEncryptionCollector : public Collector {
 public:
  std::string_view name() const override { return "disk_encryption"; }
  absl::StatusOr<std::vector<v1::Signal>> Collect(const CollectContext& context) override;
};

}  // namespace attest::agent

#endif  // ATTEST_AGENTS_LINUX_COLLECTORS_DISK_ENCRYPTION_H_
