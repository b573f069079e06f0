#!/usr/bin/env bash
# The container images of scripts/package --images, without a container
# runtime (podman run cannot set rlimits in this sandbox):
#   images_test.sh OUT_DIR VERSION SOURCE_DIR
#  1. each OCI archive unpacks with umoci; its config names the user the Helm
#     chart's securityContext runs it as (neither is root), the entrypoint,
#     the ports and the volumes; only the agent's binary has a file
#     capability (CAP_DAC_READ_SEARCH) and nothing is set-user-ID;
#  2. `helm template` (defaults, tag = VERSION) renders exactly the image
#     references the archives carry;
#  3. attestd runs from its unpacked root, as the image's user, through
#     unshare and chroot, and serves; the agent runs from its root the way
#     the chart runs it (the spool chowned by its init container, the node's
#     root read-only under /host), reads root's authorized key as uid 10002
#     through its capability, and delivers to that attestd, which stores and
#     acks its evidence.
set -euo pipefail
out=$(cd "$1" && pwd) version=$2 src=$(cd "$3" && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/attest-images.XXXXXX")
pids=()
# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"
cleanup() {
  rc=$?
  # unshare ignores SIGTERM while it waits: stop the program it runs (PID 1
  # of its namespace, which takes SIGTERM through sigwait), then unshare ends.
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    pkill -KILL -P "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for f in "$work"/*.log; do [ -e "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# 1. unpack, and read the image configs.
declare -A user name
for p in attestd attest-agent; do
  archive="$out/${p}_$version.oci.tar"
  [ -f "$archive" ] || fail "no $archive"
  mkdir -p "$work/$p.oci"
  tar -C "$work/$p.oci" -xf "$archive"
  umoci unpack --image "$work/$p.oci:$version" "$work/$p" >/dev/null || fail "umoci unpack $p"
  read -r user[$p] name[$p] entry ports volumes < <(python3 - "$work/$p.oci" "$version" <<'EOF'
import json, sys
layout, tag = sys.argv[1], sys.argv[2]
blob = lambda d: json.load(open(f"{layout}/blobs/{d.replace(':', '/')}"))
index = json.load(open(f"{layout}/index.json"))
m = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag][0]
config = blob(blob(m["digest"])["config"]["digest"])["config"]
print(config["User"], m["annotations"]["io.containerd.image.name"], ",".join(config["Entrypoint"]),
      ",".join(sorted(config.get("ExposedPorts", {}))) or "-", ",".join(sorted(config.get("Volumes", {}))))
EOF
)
  echo "$p image: user ${user[$p]}, entrypoint $entry, ports $ports, volumes $volumes, name ${name[$p]}"
  [ "$entry" = "/usr/bin/$p" ] || fail "$p entrypoint is $entry"
  [ -x "$work/$p/rootfs/usr/bin/$p" ] || fail "$p image lacks /usr/bin/$p"
  # Nothing the program does not need: no package manager state, no docs
  # beyond the copyright files, no man pages.
  for unwanted in var/lib/dpkg usr/share/man usr/bin/dpkg usr/share/doc/libc6/NEWS.Debian.gz; do
    [ ! -e "$work/$p/rootfs/$unwanted" ] || fail "$p image holds /$unwanted"
  done
  [ -e "$work/$p/rootfs/usr/share/doc/$p/copyright" ] || fail "$p image lacks its copyright file"
done
[ "${user[attestd]}" = "10001:10001" ] || fail "attestd image user ${user[attestd]}"
[ "${user[attest-agent]}" = "10002:10002" ] || fail "attest-agent image user ${user[attest-agent]}"
grep -q '^attest:x:10001:10001:' "$work/attestd/rootfs/etc/passwd" || fail "attestd image has no user 10001"
grep -q '^attest-agent:x:10002:10002:' "$work/attest-agent/rootfs/etc/passwd" ||
  fail "attest-agent image has no user 10002"
# Neither runs as root. The agent's one privilege is the file capability on
# its binary; no other file in either image carries one, and no program is
# set-user-ID or set-group-ID (the agent's container allows escalation).
for p in attestd attest-agent; do
  caps=$(getcap -r "$work/$p/rootfs" 2>/dev/null | sed "s|^$work/$p/rootfs||")
  want_caps=""
  [ "$p" = attest-agent ] && want_caps="/usr/bin/attest-agent cap_dac_read_search=ep"
  [ "$caps" = "$want_caps" ] || fail "$p image file capabilities: '$caps', want '$want_caps'"
  suid=$(find "$work/$p/rootfs" -xdev -type f -perm /6000 | sed "s|^$work/$p/rootfs||")
  [ -z "$suid" ] || fail "$p image has set-user/group-ID files: $suid"
done
[ -x "$work/attest-agent/rootfs/bin/chown" ] || fail "attest-agent image lacks /bin/chown (the chart's init container)"
[ ! -e "$work/attest-agent/rootfs/bin/ls" ] || fail "attest-agent image holds coreutils beyond chown"

# 2. the chart deploys these images, as these users.
helm="$src/.tools/bin/helm"
"$helm" template attest "$src/deploy/helm/attest" --namespace compliance \
  --set daemon.image.tag="$version",agent.image.tag="$version" >"$work/chart.yaml" ||
  fail "helm template"
rendered=$(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/chart.yaml" | sort -u | paste -sd' ')
want=$(printf '%s\n' "${name[attestd]}" "${name[attest-agent]}" | sort -u | paste -sd' ')
[ "$rendered" = "$want" ] || fail "helm renders images '$rendered', the archives are '$want'"
"$helm" template attest "$src/deploy/helm/attest" --namespace compliance >"$work/chart-default.yaml"
default=$(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/chart-default.yaml" | sort -u | paste -sd' ')
# The chart's appVersion (its default tag) follows the project's version.
project=$(sed -n 's/^project(attest VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
app=$(sed -n 's/^appVersion: "\(.*\)"/\1/p' "$src/deploy/helm/attest/Chart.yaml")
[ "$app" = "$project" ] || fail "Chart.yaml appVersion $app is not the project's version $project"
if [ "$version" = "$project" ]; then
  [ "$default" = "$want" ] || fail "the chart's defaults render '$default', not the built '$want'"
fi
python3 - "$work/chart.yaml" "${user[attestd]}" "${user[attest-agent]}" <<'EOF' || fail "chart and image users differ"
import re, sys
text = open(sys.argv[1]).read()
want = {"attestd": sys.argv[2], "attest-agent": sys.argv[3]}
for doc in text.split("\n---"):
    for container, uid in re.findall(r"- name: (attestd|attest-agent)\n(?:.*\n)*?\s+runAsUser: (\d+)", doc):
        uid_in_image = want[container].split(":")[0]
        if uid != uid_in_image:
            sys.exit(f"{container}: chart runAsUser {uid}, image user {want[container]}")
        print(f"{container}: chart runAsUser {uid} = image user")
EOF
echo "ok: helm template renders $want, as the images' users"

# 3. run them. A PKI from the packaged attestctl.
ctl_root=$work/attestctl
dpkg-deb -x "$out/attestctl_${version}_$arch.deb" "$ctl_root"
ctl=$ctl_root/usr/bin/attestctl
"$ctl" pki init --pki-dir "$work/pki" >/dev/null
"$ctl" pki issue-agent image-host --pki-dir "$work/pki" >/dev/null
"$ctl" pki issue-admin ops --pki-dir "$work/pki" >/dev/null
d=$work/attestd/rootfs a=$work/attest-agent/rootfs
mkdir -p "$d/etc/attest/tls" "$a/etc/attest-agent/tls"
cp "$work/pki/server/attestd.crt" "$work/pki/server/attestd.key" "$work/pki/ca.crt" "$d/etc/attest/tls/"
chown -R 10001:10001 "$d/etc/attest/tls"
cp "$work/pki/agents/image-host.crt" "$a/etc/attest-agent/tls/tls.crt"
cp "$work/pki/agents/image-host.key" "$a/etc/attest-agent/tls/tls.key"
cp "$work/pki/ca.crt" "$a/etc/attest-agent/tls/ca.crt"
# As the chart's Secret volume gives them: root's, mode 0440, group fsGroup.
chown -R 0:10002 "$a/etc/attest-agent/tls" && chmod 0440 "$a"/etc/attest-agent/tls/*
port=$(free_port)
# What a container runtime gives a container: its own mount and PID
# namespaces, /proc, and a /dev with the usual nodes.
run_in() {  # rootfs uid:gid extra-mounts log program args...
  local rootfs=$1 ids=$2 mounts=$3 log=$4; shift 4
  unshare -m -p -f --kill-child=SIGTERM --propagation private sh -c '
    rootfs=$1 ids=$2 mounts=$3; shift 3
    mount -t proc proc "$rootfs/proc" && mount -t tmpfs -o mode=755 tmpfs "$rootfs/dev" &&
    for n in null zero full random urandom; do touch "$rootfs/dev/$n" && mount --bind "/dev/$n" "$rootfs/dev/$n"; done &&
    mount -t tmpfs tmpfs "$rootfs/tmp" && eval "$mounts" &&
    exec chroot --userspec="$ids" "$rootfs" "$@"' sh "$rootfs" "$ids" "$mounts" "$@" >"$log" 2>&1 &
  pids+=($!)
}
run_in "$d" "${user[attestd]}" : "$work/attestd.log" /usr/bin/attestd \
  --listen "127.0.0.1:$port" --data-dir /var/lib/attest --tls-cert /etc/attest/tls/attestd.crt \
  --tls-key /etc/attest/tls/attestd.key --client-ca /etc/attest/tls/ca.crt \
  --metrics-listen 127.0.0.1:0 --ready-file /var/lib/attest/ready --log-format json
eventually 60 test -s "$d/var/lib/attest/ready" || fail "attestd in its image did not serve"
echo "attestd serves from its image as ${user[attestd]} on 127.0.0.1:$port"
# The chart's init container: the kubelet made the spool hostPath root's,
# and chown in the agent's image hands it to the agent's user.
chown 0:0 "$a/var/lib/attest-agent" && chmod 0755 "$a/var/lib/attest-agent"
chroot "$a" /bin/chown -R "${user[attest-agent]}" /var/lib/attest-agent ||
  fail "chown in the agent's image failed"
[ "$(stat -c %u:%g "$a/var/lib/attest-agent")" = "${user[attest-agent]}" ] ||
  fail "the spool is $(stat -c %u:%g "$a/var/lib/attest-agent") after the init container's chown"
# The chart mounts the node's files read-only under /host. The node's /root
# (0700, root's) holds an authorized key here, which the agent, not root,
# can read only through its file capability.
mkdir -m 0700 "$work/node-root" "$work/node-root/.ssh"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkIGp+GCuNo9KcvxE/Ibx9sYagR8yhwO0mxYFayVaQL images-test@root\n' \
  >"$work/node-root/.ssh/authorized_keys"
chmod 0600 "$work/node-root/.ssh/authorized_keys"
grep -q '^root:x:0:0:[^:]*:/root:/bin/\(ba\)\{0,1\}sh$' /etc/passwd ||
  fail "this machine's root has no login shell in /root: the key check below needs one"
# A node's systemd mounts securityfs (the LSMs the mac collector reads); this
# sandbox's host may not have, so it is mounted in the agent's namespace.
run_in "$a" "${user[attest-agent]}" "mount --rbind / \"\$rootfs/host\" && mount -o remount,bind,ro \"\$rootfs/host\" && mount --bind \"$work/node-root\" \"\$rootfs/host/root\" && { mountpoint -q /sys/kernel/security || mount -t securityfs securityfs \"\$rootfs/host/sys/kernel/security\"; }" \
  "$work/agent.log" /usr/bin/attest-agent --root /host --spool-dir /var/lib/attest-agent \
  --daemon "127.0.0.1:$port" --tls-cert /etc/attest-agent/tls/tls.crt \
  --tls-key /etc/attest-agent/tls/tls.key --ca /etc/attest-agent/tls/ca.crt \
  --checks-dir /etc/attest/checks.d --log-format json --max-backoff 1s \
  --disable firewall --disable sshd  # as the chart does (values.yaml agent.disable)
acked() { spool_acked "$a/var/lib/attest-agent"; }
admin=(--daemon "127.0.0.1:$port" --ca "$work/pki/ca.crt" --tls-cert "$work/pki/admins/ops.crt"
       --tls-key "$work/pki/admins/ops.key")
stored() { "$ctl" "${admin[@]}" evidence image-host 2>/dev/null | grep -c '"index"' || true; }
delivered() { [ "$(acked)" -ge 2 ] && [ "$(stored)" -ge "$(acked)" ]; }
eventually 120 delivered || fail "the agent's image delivered nothing: acked $(acked), stored $(stored)"
# Its collectors ran against the node (/host), not the image: the patch
# collector read the node's dpkg status and apt lists through the image's
# apt-get, and nothing failed.
# (Output captured first: grep -q would end the pipe early, and pipefail
# would call that a failure.)
evidence() { "$ctl" "${admin[@]}" evidence image-host; }
has_patch() { local e; e=$(evidence) && grep -q '"installed_packages"' <<<"$e"; }
eventually 90 has_patch || fail "no patch state from the agent's image: $(evidence | grep '"patch"' | cut -c1-400)"
if evidence | grep '"collector_error"' >"$work/errors"; then
  fail "collector errors in the agent's image: $(cut -c1-300 "$work/errors")"
fi
# It ran as its user with CAP_DAC_READ_SEARCH alone, granted on exec by the
# file capability, and read root's key with it.
agent_pid=$(pgrep -P "${pids[-1]}" -x attest-agent) || fail "no attest-agent process under ${pids[-1]}"
status=$(cat "/proc/$agent_pid/status")
grep -q $'^Uid:\t10002\t10002\t10002\t10002$' <<<"$status" || fail "the agent's uids: $(grep ^Uid <<<"$status")"
grep -q $'^CapEff:\t0000000000000004$' <<<"$status" || fail "the agent's effective capabilities: $(grep ^CapEff <<<"$status")"
grep -q $'^CapPrm:\t0000000000000004$' <<<"$status" || fail "the agent's permitted capabilities: $(grep ^CapPrm <<<"$status")"
has_root_key() { local e; e=$(evidence) && grep -q 'images-test@root' <<<"$e"; }
eventually 60 has_root_key || fail "the agent's access snapshot lacks root's authorized key"
echo "the agent ran as 10002 with CapEff=CAP_DAC_READ_SEARCH and read root's authorized key"
echo "the agent delivered from its image: $(stored) records stored, seq $(acked) acked"
echo "images: 1 passed, 0 failed"
