#include "agents/linux/collectors/disk_encryption.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "common/strings.h"
#include "common/time_util.h"

namespace attest::agent {
namespace {

// Kernel filesystems that hold no data of the host's.
const std::set<std::string, std::less<>>& PseudoFilesystems() {
  static const auto* names = new std::set<std::string, std::less<>>{
      "autofs",    "binfmt_misc", "bpf",      "cgroup",          "cgroup2",    "configfs",
      "debugfs",   "devpts",      "devtmpfs", "efivarfs",        "fusectl",    "hugetlbfs",
      "mqueue",    "nsfs",        "proc",     "pstore",          "rpc_pipefs", "securityfs",
      "selinuxfs", "sysfs",       "tracefs",  "fuse.gvfsd-fuse", "fuse.portal"};
  return *names;
}

bool AtOrUnder(std::string_view path, std::string_view top) {
  return path == top ||
         (path.starts_with(top) && path.size() > top.size() && path[top.size()] == '/');
}

// Mounts that hold no data at rest: the kernel's (under /proc and /sys),
// and, unless on a block device, what lies under /dev and /run/ (the
// runtime's tmpfs and container roots).
bool Unreported(const MountEntry& m, bool block) {
  if (AtOrUnder(m.mount_point, "/proc") || AtOrUnder(m.mount_point, "/sys")) return true;
  if (block) return false;
  return AtOrUnder(m.mount_point, "/dev") ||
         (m.mount_point.starts_with("/run/") && m.mount_point.size() > 5);
}

// proc(5): space, tab, newline and backslash in paths are written \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ParseU32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

size_t Depth(std::string_view path) {
  if (path == "/") return 0;
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// The value of KEY=VALUE in a uevent file.
std::string UeventValue(std::string_view uevent, std::string_view key) {
  for (std::string_view line : Split(uevent, "\n")) {
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == '=') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return "";
}

constexpr std::pair<std::string_view, std::string_view> kCryptTypes[] = {
    {"LUKS1", "LUKS1"}, {"LUKS2", "LUKS2"},     {"PLAIN", "PLAIN"},     {"TCRYPT", "TCRYPT"},
    {"BITLK", "BITLK"}, {"LOOPAES", "LOOPAES"}, {"FVAULT2", "FVAULT2"}, {"LUKS", "LUKS"},
};

// The mount a path lies on: the longest mount point that is the path or one
// of its parent directories (the last mounted, when several are there).
const MountEntry* Containing(const std::vector<MountEntry>& mounts, std::string_view path) {
  const MountEntry* best = nullptr;
  for (const MountEntry& m : mounts) {
    const std::string& p = m.mount_point;
    const bool holds = p == "/" || AtOrUnder(path, p);
    if (holds && (best == nullptr || p.size() >= best->mount_point.size())) best = &m;
  }
  return best;
}

// Reads the stack under block devices through --root's /sys, each device
// once per collection.
class StackReader {
 public:
  // `mounts`: every mount of the host, to find what a loop device's
  // backing file rests on.
  StackReader(const RootFs& root, const std::vector<MountEntry>& mounts)
      : root_(root), mounts_(mounts) {}

  // The stack under the device numbered major:minor.
  std::vector<v1::BlockLayer> ByNumber(uint32_t major, uint32_t minor) {
    const std::string number = StrCat(major, ":", minor);
    auto uevent = root_.ReadFile(StrCat("/sys/dev/block/", number, "/uevent"), 4096);
    const std::string name = uevent.ok() ? UeventValue(*uevent, "DEVNAME") : "";
    if (name.empty()) return {Unknown(0, number, "not in /sys/dev/block")};
    return ByName(name);
  }

  // The stack under a device named by a path under /dev ("/dev/sda1",
  // "/dev/mapper/vg-root", "/dev/dm-2"); empty when `source` is not one.
  std::vector<v1::BlockLayer> BySource(std::string_view source) {
    if (!source.starts_with("/dev/")) return {};
    std::string_view rest = source.substr(5);
    if (rest.starts_with("mapper/")) {
      const std::string name = DmByName(rest.substr(7));
      if (name.empty())
        return {Unknown(0, std::string(source), "no device-mapper device of that name")};
      return ByName(name);
    }
    if (rest.find('/') != std::string_view::npos || rest.empty()) {
      return {Unknown(0, std::string(source), "not a /dev/NAME or /dev/mapper/NAME path")};
    }
    if (!root_.Exists(StrCat("/sys/class/block/", rest))) {
      return {Unknown(0, std::string(rest), "not in /sys/class/block")};
    }
    return ByName(rest);
  }

  std::vector<v1::BlockLayer> ByName(std::string_view name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    std::vector<v1::BlockLayer> out;
    Walk(std::string(name), 0, &out);
    cache_.emplace(std::string(name), out);
    return out;
  }

 private:
  static v1::BlockLayer Unknown(uint32_t depth, std::string name, std::string why) {
    v1::BlockLayer l;
    l.set_depth(depth);
    l.set_name(std::move(name));
    l.set_kind("unknown");
    l.set_detail(std::move(why));
    return l;
  }

  std::string Read(const std::string& path) {
    auto text = root_.ReadFile(path, 4096);
    return text.ok() ? std::string(TrimWhitespace(*text)) : "";
  }

  std::string DmByName(std::string_view dm_name) {
    auto names = root_.ListDir("/sys/class/block");
    if (!names.ok()) return "";
    for (const std::string& n : *names) {
      if (n.starts_with("dm-") && Read(StrCat("/sys/class/block/", n, "/dm/name")) == dm_name) {
        return n;
      }
    }
    return "";
  }

  // The device name under a mount: /sys/dev/block's for a real device
  // number, else its /dev source's; "" when there is none.
  std::string DeviceOf(const MountEntry& m) {
    if (m.major != 0) {
      auto uevent =
          root_.ReadFile(StrCat("/sys/dev/block/", m.major, ":", m.minor, "/uevent"), 4096);
      return uevent.ok() ? UeventValue(*uevent, "DEVNAME") : "";
    }
    if (!m.source.starts_with("/dev/")) return "";
    std::string_view rest = std::string_view(m.source).substr(5);
    if (rest.starts_with("mapper/")) return DmByName(rest.substr(7));
    return std::string(rest);
  }

  void Walk(const std::string& name, uint32_t depth, std::vector<v1::BlockLayer>* out) {
    if (out->size() >= kMaxStackLayers) return;
    // The last slot says the stack goes on: never a silent cut, which could
    // drop a clear member of an LVM group.
    if (out->size() == kMaxStackLayers - 1) {
      out->push_back(Unknown(depth, name, "stack longer than the agent's bound"));
      return;
    }
    if (depth > kMaxStackDepth) {
      out->push_back(Unknown(depth, name, "stack deeper than the agent's bound"));
      return;
    }
    const std::string base = StrCat("/sys/class/block/", name);
    auto uevent = root_.ReadFile(base + "/uevent", 4096);
    if (!uevent.ok()) {
      out->push_back(Unknown(depth, name, "not in /sys/class/block"));
      return;
    }
    v1::BlockLayer layer;
    layer.set_depth(depth);
    layer.set_name(name);
    std::vector<std::string> children;
    bool slaves = false;
    if (root_.Exists(base + "/dm/uuid")) {
      const DmKind k = ClassifyDmUuid(Read(base + "/dm/uuid"));
      layer.set_kind(k.kind);
      layer.set_detail(k.kind == "crypt" ? k.crypt_type : Read(base + "/dm/name"));
      slaves = true;
    } else if (root_.Exists(base + "/md/level")) {
      layer.set_kind("raid");
      layer.set_detail(Read(base + "/md/level"));
      slaves = true;
    } else if (UeventValue(*uevent, "DEVTYPE") == "partition") {
      layer.set_kind("partition");
      layer.set_detail(UeventValue(*uevent, "PARTN"));
      // The disk is the partition's parent directory in /sys/devices.
      auto parent = root_.ReadFile(base + "/../uevent", 4096);
      const std::string disk = parent.ok() ? UeventValue(*parent, "DEVNAME") : "";
      if (!disk.empty()) children.push_back(disk);
    } else if (name.starts_with("loop")) {
      // A loop device's file is as safe as the filesystem that holds it.
      layer.set_kind("loop");
      std::string file = Read(base + "/loop/backing_file");
      layer.set_detail(file);
      if (file.ends_with(" (deleted)")) file.resize(file.size() - 10);
      if (const MountEntry* m = file.starts_with("/") ? Containing(mounts_, file) : nullptr) {
        if (std::string dev = DeviceOf(*m); !dev.empty()) children.push_back(dev);
      }
    } else if (name.starts_with("zram")) {
      // Without a writeback device a zram device lives in memory only; one
      // whose setting cannot be read is not assumed to.
      auto backing_dev = root_.ReadFile(base + "/backing_dev", 4096);
      const std::string backing = backing_dev.ok() ? std::string(TrimWhitespace(*backing_dev)) : "";
      if (!backing_dev.ok() && !absl::IsNotFound(backing_dev.status())) {
        layer.set_kind("unknown");
        layer.set_detail(StrCat("zram backing_dev: ", backing_dev.status().message()));
      } else if (backing.empty() || backing == "none") {
        layer.set_kind("ram");
        layer.set_detail("zram");
      } else {
        layer.set_kind("zram");
        layer.set_detail(backing);
        if (backing.starts_with("/dev/")) children.push_back(backing.substr(5));
      }
    } else if (name.starts_with("ram") && UeventValue(*uevent, "MAJOR") == "1") {
      layer.set_kind("ram");
      layer.set_detail("brd");
    } else {
      layer.set_kind("disk");
    }
    if (slaves) {
      if (auto list = root_.ListDir(base + "/slaves"); list.ok()) children = *list;
    }
    out->push_back(std::move(layer));
    for (const std::string& child : children) Walk(child, depth + 1, out);
  }

  const RootFs& root_;
  const std::vector<MountEntry>& mounts_;
  std::map<std::string, std::vector<v1::BlockLayer>, std::less<>> cache_;
};

std::vector<v1::BlockLayer> StackOf(StackReader& reader, const MountEntry& m) {
  if (m.major != 0) return reader.ByNumber(m.major, m.minor);
  // Anonymous device numbers (btrfs subvolumes, tmpfs, nfs): the source
  // names the device when there is one.
  return reader.BySource(m.source);
}

}  // namespace

absl::StatusOr<std::vector<MountEntry>> ParseMountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  int line_no = 0;
  for (std::string_view line : Split(text, "\n")) {
    ++line_no;
    if (TrimWhitespace(line).empty()) continue;
    const std::vector<std::string_view> f = SplitWords(line);
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
    if (f.size() < 7 || dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 3) {
      return absl::InvalidArgumentError(StrCat(
          "mountinfo line ", line_no,
          ": not id parent major:minor root mount_point options ... - fstype source options"));
    }
    MountEntry m;
    const size_t colon = f[2].find(':');
    if (colon == std::string_view::npos || !ParseU32(f[2].substr(0, colon), &m.major) ||
        !ParseU32(f[2].substr(colon + 1), &m.minor)) {
      return absl::InvalidArgumentError(
          StrCat("mountinfo line ", line_no, ": \"", f[2], "\" is not major:minor"));
    }
    m.mount_point = Unescape(f[4]);
    if (m.mount_point.empty() || m.mount_point[0] != '/') {
      return absl::InvalidArgumentError(
          StrCat("mountinfo line ", line_no, ": mount point is not an absolute path"));
    }
    for (std::string_view opt : Split(f[5], ",")) {
      if (opt == "ro") m.read_only = true;
    }
    m.fstype = Unescape(dash[1]);
    m.source = Unescape(dash[2]);
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<SwapEntry>> ParseSwaps(std::string_view text) {
  std::vector<SwapEntry> out;
  bool header = false;
  int line_no = 0;
  for (std::string_view line : Split(text, "\n")) {
    ++line_no;
    if (TrimWhitespace(line).empty()) continue;
    const std::vector<std::string_view> f = SplitWords(line);
    if (!header) {
      if (f.empty() || f[0] != "Filename") {
        return absl::InvalidArgumentError(
            "/proc/swaps: no Filename Type Size Used Priority header");
      }
      header = true;
      continue;
    }
    if (f.size() < 5 || (f[1] != "partition" && f[1] != "file")) {
      return absl::InvalidArgumentError(
          StrCat("/proc/swaps line ", line_no, ": not Filename Type Size Used Priority"));
    }
    // A path with spaces is written \040; "(deleted)" follows a removed file.
    out.push_back({Unescape(f[0]), f[1] == "file"});
  }
  if (!header && !TrimWhitespace(text).empty()) {
    return absl::InvalidArgumentError("/proc/swaps: no header");
  }
  return out;
}

DmKind ClassifyDmUuid(std::string_view uuid) {
  if (uuid.starts_with("CRYPT-")) {
    std::string_view rest = uuid.substr(6);
    const std::string_view type = rest.substr(0, rest.find('-'));
    for (const auto& [prefix, name] : kCryptTypes) {
      if (type == prefix) return {"crypt", std::string(name)};
    }
    if (type == "VERITY") return {"verity", ""};
    if (type == "INTEGRITY" || type == "SUBDEV") return {"integrity", ""};
    return {"dm", ""};  // a type cryptsetup does not document: not counted as encryption
  }
  if (uuid.starts_with("LVM-")) return {"lvm", ""};
  if (uuid.starts_with("mpath-")) return {"multipath", ""};
  // kpartx's partitions of a dm device: "part1-mpath-...".
  if (uuid.starts_with("part")) return {"partition", ""};
  return {"dm", ""};
}

bool OnBlockDevice(const MountEntry& m) { return m.major != 0 || m.source.starts_with("/dev/"); }

std::vector<MountEntry> ReportedMounts(const std::vector<MountEntry>& all, uint32_t* omitted,
                                       uint32_t* block_omitted) {
  std::vector<MountEntry> out;
  for (const MountEntry& m : all) {
    if (!PseudoFilesystems().contains(m.fstype) && !Unreported(m, OnBlockDevice(m))) {
      out.push_back(m);
    }
  }
  // Every mount, hidden ones too (a tmpfs mounted over a disk leaves the
  // disk mounted): those on block devices first, then by depth and path.
  std::stable_sort(out.begin(), out.end(), [](const MountEntry& a, const MountEntry& b) {
    const bool ba = OnBlockDevice(a), bb = OnBlockDevice(b);
    if (ba != bb) return ba;
    const size_t da = Depth(a.mount_point), db = Depth(b.mount_point);
    return da != db ? da < db : a.mount_point < b.mount_point;
  });
  *omitted = 0;
  *block_omitted = 0;
  if (out.size() > kMaxReportedMounts) {
    *omitted = static_cast<uint32_t>(out.size() - kMaxReportedMounts);
    *block_omitted = static_cast<uint32_t>(
        std::count_if(out.begin() + kMaxReportedMounts, out.end(), OnBlockDevice));
    out.resize(kMaxReportedMounts);
  }
  return out;
}

absl::StatusOr<std::vector<v1::Signal>> DiskEncryptionCollector::Collect(
    const CollectContext& ctx) {
  // The host's first process sees the host's mounts; the agent's own
  // namespace may not (systemd's ProtectHome= puts a tmpfs on /home).
  auto mountinfo = ctx.root.ReadFile("/proc/1/mountinfo", 16 << 20);
  if (!mountinfo.ok()) {
    return absl::Status(mountinfo.status().code(),
                        StrCat(mountinfo.status().message(),
                               " (disk_encryption reads the mounts of the host's first process)"));
  }
  auto mounts = ParseMountinfo(*mountinfo);
  if (!mounts.ok()) return mounts.status();
  auto swaps_text = ctx.root.ReadFile("/proc/swaps", 1 << 20);
  if (!swaps_text.ok()) return swaps_text.status();
  auto swaps = ParseSwaps(*swaps_text);
  if (!swaps.ok()) return swaps.status();
  if (auto dir = ctx.root.ListDir("/sys/class/block"); !dir.ok()) {
    return absl::Status(dir.status().code(),
                        StrCat(dir.status().message(),
                               " (disk_encryption reads the block devices from the host's /sys)"));
  }

  StackReader reader(ctx.root, *mounts);
  v1::Signal s;
  *s.mutable_observed_at() = ToProto(ctx.now);
  v1::DiskEncryptionState* state = s.mutable_disk_encryption();
  size_t layers = 0;
  // A stack past the bound on all layers is one unknown layer: judged
  // "not encrypted", never left out.
  auto add_stack = [&](v1::Volume* v, std::vector<v1::BlockLayer> stack) {
    if (layers + stack.size() > kMaxTotalLayers && !stack.empty()) {
      v1::BlockLayer l;
      l.set_name(stack[0].name());
      l.set_kind("unknown");
      l.set_detail("stacks past the agent's bound on layers");
      stack = {std::move(l)};
    }
    layers += stack.size();
    for (v1::BlockLayer& l : stack) *v->add_stack() = std::move(l);
  };
  uint32_t omitted = 0, block_omitted = 0;
  for (const MountEntry& m : ReportedMounts(*mounts, &omitted, &block_omitted)) {
    v1::Volume* v = state->add_volumes();
    v->set_path(m.mount_point);
    v->set_fstype(m.fstype);
    v->set_source(m.source);
    v->set_read_only(m.read_only);
    add_stack(v, StackOf(reader, m));
  }
  state->set_mounts_omitted(omitted);
  state->set_block_mounts_omitted(block_omitted);
  size_t n = 0;
  for (const SwapEntry& sw : *swaps) {
    if (++n > kMaxReportedSwaps) break;
    v1::Volume* v = state->add_volumes();
    v->set_path(sw.path);
    v->set_fstype("swap");
    v->set_swap(true);
    std::vector<v1::BlockLayer> stack;
    if (sw.is_file) {
      // A swap file is as safe as the filesystem it is in.
      std::string_view path = sw.path;
      if (path.ends_with(" (deleted)")) path.remove_suffix(10);
      if (const MountEntry* m = Containing(*mounts, path); m != nullptr) {
        v->set_source(m->source);
        stack = StackOf(reader, *m);
      }
    } else {
      v->set_source(sw.path);
      stack = reader.BySource(sw.path);
    }
    add_stack(v, std::move(stack));
  }
  return std::vector<v1::Signal>{std::move(s)};
}

}  // namespace attest::agent
