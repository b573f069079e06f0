#!/usr/bin/env bash
# The .debs on a Debian 12 root that has never seen the source, under a real
# systemd:
#   fresh_root_test.sh DEBS_N DEBS_N1
# (two output directories of scripts/package: version N, and N+1 built with
# --version-suffix).
#
#  1. mmdebstrap makes a minbase bookworm root from Debian's archive (plus
#     systemd, which a host has and the packages do not pull in); systemd
#     boots in it as PID 1 of a new PID and mount namespace.
#  2. apt-get installs the four .debs of version N, resolving every
#     dependency from the archive alone. The services are enabled and stay
#     stopped (ExecCondition=) until configured, and the packages say so.
#  3. A PKI made with the installed attestctl; attestd and the agent
#     configured and started with systemctl; the installed attestctl shows
#     the agent's evidence stored, and the agent's spool shows it acked.
#     systemd-analyze security rates the installed units within the targets.
#     The packaged witness, configured as witness.yaml says, cosigns the
#     packaged attestd's checkpoints.
#  4. Upgrade to N+1 with the services stopped (policy-rc.d keeps them so):
#     store, spool, signing key and configs survive byte for byte; attestd
#     N+1 then starts on the same store and every acked record is there.
#     A reinstall while running restarts both services.
#  5. remove keeps the store and the configs; purge keeps the store and
#     says where it is. Then systemd is powered off and the root deleted.
set -euo pipefail
debs_n=$(cd "$1" && pwd) debs_n1=$(cd "$2" && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/attest-fresh-root.XXXXXX")
root=$work/root
sd_pid=""
# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"
stop_systemd() {
  [ -n "$sd_pid" ] || return 0
  if kill -0 "$sd_pid" 2>/dev/null; then
    nsenter -t "$sd_pid" -m -p -r -w systemctl poweroff --no-block >/dev/null 2>&1 || true
    for _ in $(seq 1 300); do kill -0 "$sd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$sd_pid" 2>/dev/null || true
  fi
  sd_pid=""
}
cleanup() {
  rc=$?
  if [ $rc -ne 0 ] && [ -n "$sd_pid" ]; then
    echo "--- journal of the fresh root (last 60 lines)" >&2
    nsenter -t "$sd_pid" -m -p -r -w journalctl --no-pager -n 60 >&2 2>/dev/null || true
  fi
  stop_systemd
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# A command inside the booted root (its mount and PID namespaces, its root).
in_root() { nsenter -t "$sd_pid" -m -p -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
version_of() { dpkg-deb -f "$(ls "$1"/attestd_*_"$arch".deb)" Version; }
v_n=$(version_of "$debs_n") v_n1=$(version_of "$debs_n1")
dpkg --compare-versions "$v_n1" gt "$v_n" || fail "N+1 ($v_n1) is not newer than N ($v_n)"

echo "== 1. a fresh bookworm root, and systemd booted in it"
# Debian 12 as a host runs it: with its updates and security suites.
mmdebstrap --quiet --variant=minbase --include=systemd bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" \
  >/dev/null 2>"$work/mmdebstrap.log" ||
  { cat "$work/mmdebstrap.log" >&2; fail "mmdebstrap"; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No consoles to log in on: a getty on this machine's serial console would
# wait 90 s for a device that the namespace does not have.
for unit in getty.target serial-getty@.service console-getty.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
mkdir -p "$root/root/debs-n" "$root/root/debs-n1" "$root/.oldroot"
cp "$debs_n"/*_"$v_n"_"$arch".deb "$root/root/debs-n/"
cp "$debs_n1"/*_"$v_n1"_"$arch".deb "$root/root/debs-n1/"
# pivot_root, not chroot: the kernel refuses user namespaces (PrivateUsers=
# in attestd.service) to a chrooted process.
unshare -fp -m --propagation private sh -c "
  mount --bind '$root' '$root' && mount -t proc proc '$root/proc' && cd '$root' &&
  pivot_root . .oldroot && exec /bin/sh -c 'umount -l /.oldroot && exec /lib/systemd/systemd --system'
" >"$work/systemd.log" 2>&1 &
unshare_pid=$!
find_pid1() {
  sd_pid=$(pgrep -P "$unshare_pid" 2>/dev/null | head -1)
  [ -n "$sd_pid" ] && [ "$(readlink "/proc/$sd_pid/exe" 2>/dev/null)" = /usr/lib/systemd/systemd ] ||
    [ "$(cat "/proc/$sd_pid/comm" 2>/dev/null)" = systemd ]
}
eventually 30 find_pid1 || fail "systemd did not start: $(cat "$work/systemd.log")"
# Until boot has finished ("degraded" is fine: units a container cannot run).
manager_up() { in_root test -S /run/systemd/private; }
eventually 30 manager_up || fail "systemd's socket did not appear: $(cat "$work/systemd.log")"
state=$(in_root timeout 60 systemctl is-system-running --wait || true)
case "$state" in running|degraded) ;; *) fail "systemd did not finish booting: '$state'" ;; esac
echo "systemd is PID 1 of the root (host PID $sd_pid); state $state"

echo "== 2. apt-get install the .debs of $v_n"
in_root apt-get update -qq >/dev/null
out=$(in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  /root/debs-n/attestd_"$v_n"_"$arch".deb /root/debs-n/attest-agent_"$v_n"_"$arch".deb \
  /root/debs-n/attestctl_"$v_n"_"$arch".deb /root/debs-n/attest-witness_"$v_n"_"$arch".deb 2>&1) ||
  { echo "$out" >&2; fail "apt-get install of the .debs"; }
for p in attestd attest-agent attest-witness; do
  grep -q "$p: installed but not started" <<<"$out" || fail "$p did not say it is not started: $out"
  [ "$(in_root systemctl is-enabled "$p")" = enabled ] || fail "$p.service is not enabled"
  in_root systemctl is-active --quiet "$p" && fail "$p started without a configuration"
  in_root systemctl start "$p" || fail "systemctl start $p (unconfigured) failed rather than skipped"
  in_root systemctl is-active --quiet "$p" && fail "$p started without a configuration"
  journal=$(in_root journalctl --no-pager -u "$p")
  grep -q "not configured yet" <<<"$journal" || fail "$p's journal does not say why it did not start"
done
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' attestd attest-agent attest-witness)
for f in /etc/attest/attestd.yaml /etc/attest/agent.yaml /etc/attest/witness.yaml; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
for u in attest attest-agent attest-witness; do
  in_root getent passwd "$u" >/dev/null || fail "user $u not created"
done
[ "$(in_root attestd --version)" = "attestd $v_n" ] || fail "installed attestd is not $v_n"
echo "installed; services enabled and waiting for their configuration"

echo "== 3. configured with a PKI from the installed attestctl, started with systemctl"
port=$(free_port) metrics_port=$(free_port)
while [ "$metrics_port" = "$port" ]; do metrics_port=$(free_port); done
in_root attestctl pki init --pki-dir /etc/attest/pki >/dev/null
in_root attestctl pki issue-agent fresh-root --pki-dir /etc/attest/pki >/dev/null
in_root attestctl pki issue-admin ops --pki-dir /etc/attest/pki >/dev/null
in_root sh -c '
  cp /etc/attest/pki/server/attestd.crt /etc/attest/pki/server/attestd.key /etc/attest/pki/ca.crt /etc/attest/ &&
  chown attest:attest /etc/attest/attestd.crt /etc/attest/attestd.key /etc/attest/ca.crt &&
  cp /etc/attest/pki/agents/fresh-root.crt /etc/attest/agent/agent.crt &&
  cp /etc/attest/pki/agents/fresh-root.key /etc/attest/agent/agent.key &&
  cp /etc/attest/pki/ca.crt /etc/attest/agent/ca.crt &&
  chown attest-agent /etc/attest/agent/agent.key'
sed -i -e "s|^listen: .*|listen: 127.0.0.1:$port|" -e "s|^metrics_listen: .*|metrics_listen: 127.0.0.1:$metrics_port|" \
  -e 's|^# tls_cert:|tls_cert:|' -e 's|^# tls_key:|tls_key:|' -e 's|^# client_ca:|client_ca:|' \
  "$root/etc/attest/attestd.yaml"
sed -i -e "s|^# daemon: .*|daemon: 127.0.0.1:$port|" -e 's|^# tls_cert:|tls_cert:|' \
  -e 's|^# tls_key:|tls_key:|' -e 's|^# ca:|ca:|' "$root/etc/attest/agent.yaml"
in_root systemctl start attestd || fail "systemctl start attestd"
# No `systemctl start attest-agent`: attest-agent.path starts it once
# agent.yaml names a daemon and a certificate.
eventually 60 in_root systemctl is-active --quiet attest-agent ||
  fail "the agent did not start once configured: $(in_root systemctl status --no-pager attest-agent | tail -5)"
ctl=(attestctl --daemon "127.0.0.1:$port" --ca /etc/attest/pki/ca.crt
     --tls-cert /etc/attest/pki/admins/ops.crt --tls-key /etc/attest/pki/admins/ops.key)
acked() { spool_acked "$root/var/lib/attest-agent"; }
stored() {  # records of fresh-root that the installed attestctl shows
  in_root "${ctl[@]}" evidence fresh-root 2>/dev/null | grep -c '"index"' || true
}
has_evidence() { [ "$(acked)" -ge 2 ] && [ "$(stored)" -ge "$(acked)" ]; }
eventually 120 has_evidence ||
  fail "no acked evidence: acked $(acked), stored $(stored); agent: $(in_root journalctl --no-pager -u attest-agent -n 5)"
in_root systemctl is-active --quiet attestd || fail "attestd is not active"
hosts=$(in_root "${ctl[@]}" hosts) || fail "attestctl hosts"
grep -q fresh-root <<<"$hosts" || fail "attestctl hosts does not list fresh-root: $hosts"
echo "the agent's evidence is stored ($(stored) records) and acked (seq $(acked))"
# Under its shipped sandbox the agent reads the kernel's clock discipline
# (adjtimex) and the root's processes: a time_sync state, no time_sync or
# access failure. (This root has no nft and no sshd: the firewall collector's
# NOT_FOUND and sshd's installed=false are what a host without them reports.)
host_evidence() { in_root "${ctl[@]}" evidence fresh-root 2>/dev/null; }
has_time_sync() { local e; e=$(host_evidence) && grep -q '"kind":"time_sync"' <<<"$e"; }
eventually 60 has_time_sync || fail "no time_sync state from the packaged agent: $(host_evidence | grep -o '"collector_error":{[^}]*}' | sort -u)"
errors=$(host_evidence | grep -o '"collector_error":{[^}]*}' | sort -u)
if grep -q '"collector":"time_sync"\|"collector":"access"\|"collector":"disk_encryption"' <<<"$errors"; then
  fail "collector errors under the unit's sandbox: $errors"
fi
grep -q '"installed":false' <<<"$(host_evidence)" || fail "no sshd state (installed: false) from the packaged agent"
has_disk() { local e; e=$(host_evidence) && grep -q '"kind":"disk_encryption"' <<<"$e"; }
eventually 60 has_disk || fail "no disk_encryption state from the packaged agent (the mounts of PID 1 and /sys)"
echo "time_sync, access, sshd and disk_encryption read under the unit's sandbox${errors:+; errors: $errors}"
security() {  # unit max -> the exposure, failing above max
  local level
  level=$(in_root systemd-analyze security --no-pager "$1" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$level" ] || fail "no exposure level for $1"
  awk -v l="$level" -v m="$2" 'BEGIN { exit !(l <= m) }' || fail "$1 exposure $level > $2"
  echo "$1 exposure $level (max $2), installed"
}
security attestd.service 2.0
security attest-agent.service 4.0
security attest-witness.service 2.0

# The packaged witness, set up the way witness.yaml's comments say, cosigns
# the packaged attestd's checkpoints.
wport=$(free_port)
in_root attestctl pki issue-server witness --pki-dir /etc/attest/pki >/dev/null
in_root sh -c 'cp /etc/attest/pki/server/witness.crt /etc/attest/pki/server/witness.key /etc/attest/witness/ &&
  chown attest-witness /etc/attest/witness/witness.key'
log_vkey=$(in_root attestd --config /etc/attest/attestd.yaml --print-verifier-key)
sed -i -e 's|^# name: .*|name: witness.fresh-root.test/w1|' -e "s|^listen: .*|listen: 127.0.0.1:$wport|" \
  -e 's|^# tls_cert:|tls_cert:|' -e 's|^# tls_key:|tls_key:|' -e "s|^# log: .*|log: [\"$log_vkey\"]|" \
  "$root/etc/attest/witness.yaml"
witness_vkey=$(in_root runuser -u attest-witness -- attest-witness init --config /etc/attest/witness.yaml) ||
  fail "attest-witness init"
in_root systemctl start attest-witness
eventually 30 in_root systemctl is-active --quiet attest-witness ||
  fail "the configured witness did not start: $(in_root journalctl --no-pager -u attest-witness -n 5)"
printf 'witness: ["https://127.0.0.1:%s,%s"]\nwitness_ca: /etc/attest/ca.crt\n' "$wport" "$witness_vkey" \
  >>"$root/etc/attest/attestd.yaml"
in_root systemctl restart attestd
serving() { in_root "${ctl[@]}" status >/dev/null 2>&1; }
eventually 60 serving || fail "attestd did not come back with a witness"
in_root "${ctl[@]}" checkpoint --create >/dev/null || fail "attestctl checkpoint --create"
cosigned() { local st; st=$(in_root "${ctl[@]}" status) && grep -q "witness .*cosigned #" <<<"$st"; }
eventually 60 cosigned || fail "the packaged witness did not cosign: $(in_root "${ctl[@]}" status | grep witness)"
echo "the packaged witness cosigns: $(in_root "${ctl[@]}" status | grep '^witness')"

echo "== 4. upgrade $v_n -> $v_n1"
old_pid=$(in_root systemctl show -p MainPID --value attestd)
stored_before=$(stored)
in_root systemctl stop attest-agent.path attest-agent attestd
acked_before=$(acked)
[ "$stored_before" -ge "$acked_before" ] || stored_before=$acked_before
snapshot() {  # every file of the store, spool, signing key and configs, hashed
  (cd "$root" && find var/lib/attest var/lib/attest-agent etc/attest -type f -print0 | sort -z |
    xargs -0 sha256sum)
}
snapshot >"$work/before"
grep -q 'var/lib/attest/checkpoint-signing.key' "$work/before" || fail "no signing key in the store dir"
# Nothing may start while apt runs, so that the files are compared as the
# upgrade itself left them.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
out=$(in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
  /root/debs-n1/attestd_"$v_n1"_"$arch".deb /root/debs-n1/attest-agent_"$v_n1"_"$arch".deb \
  /root/debs-n1/attestctl_"$v_n1"_"$arch".deb /root/debs-n1/attest-witness_"$v_n1"_"$arch".deb 2>&1) ||
  { echo "$out" >&2; fail "apt-get install of $v_n1"; }
rm -f "$root/usr/sbin/policy-rc.d"
snapshot >"$work/after"
diff "$work/before" "$work/after" >&2 || fail "the upgrade changed the store, spool, key or configs"
[ "$(in_root attestd --version)" = "attestd $v_n1" ] || fail "attestd is not $v_n1 after the upgrade"
in_root systemctl start attestd attest-agent attest-agent.path
eventually 60 in_root systemctl is-active --quiet attestd || fail "attestd $v_n1 did not start"
new_pid=$(in_root systemctl show -p MainPID --value attestd)
[ "$new_pid" != "$old_pid" ] || fail "attestd was not restarted"
has_acked_records() { [ "$(stored)" -ge "$stored_before" ]; }
eventually 60 has_acked_records ||
  fail "records lost: $(stored) stored, $stored_before stored ($acked_before acked) before"
in_root "${ctl[@]}" status >/dev/null || fail "attestctl status after the upgrade"
echo "byte for byte across the upgrade; attestd $v_n1 on the same store, $(stored) >= $stored_before records"
echo "(the agent had $acked_before acked)"
# The usual path: an upgrade (here a reinstall) while the services run
# restarts them on the new binaries.
pid=$(in_root systemctl show -p MainPID --value attestd)
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall \
  /root/debs-n1/attestd_"$v_n1"_"$arch".deb /root/debs-n1/attest-agent_"$v_n1"_"$arch".deb >/dev/null 2>&1 ||
  fail "reinstall while running"
eventually 60 in_root systemctl is-active --quiet attestd || fail "attestd not running after reinstall"
[ "$(in_root systemctl show -p MainPID --value attestd)" != "$pid" ] || fail "reinstall did not restart attestd"
before_reinstall=$(stored)
more_evidence() { [ "$(stored)" -gt "$before_reinstall" ]; }
eventually 120 more_evidence || fail "no new evidence after the restart"
echo "a reinstall while running restarted attestd and the agent, and evidence flows"

echo "== 5. remove, then purge"
snapshot_store() { (cd "$root" && find var/lib/attest var/lib/attest-agent -type f -print0 | sort -z | xargs -0 sha256sum); }
in_root systemctl stop attest-agent.path attest-agent attestd
snapshot_store >"$work/store"
out=$(in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y attestd attest-agent attestctl attest-witness 2>&1) ||
  { echo "$out" >&2; fail "apt-get remove"; }
grep -q "attestd: removed; /var/lib/attest and its configuration in /etc/attest are kept" <<<"$out" ||
  fail "remove did not say the store is kept: $out"
[ ! -e "$root/usr/bin/attestd" ] || fail "attestd still installed"
[ -e "$root/etc/attest/attestd.yaml" ] || fail "remove deleted the configuration"
snapshot_store | diff "$work/store" - >&2 || fail "remove changed the store or spool"
out=$(in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y attestd attest-agent attestctl attest-witness 2>&1) ||
  { echo "$out" >&2; fail "apt-get purge"; }
grep -q "attestd: purged; /var/lib/attest was kept" <<<"$out" || fail "purge did not say where the store is: $out"
grep -q "rm -rf /var/lib/attest" <<<"$out" || fail "purge did not say how to delete the store"
[ ! -e "$root/etc/attest/attestd.yaml" ] || fail "purge left the conffile"
snapshot_store | diff "$work/store" - >&2 || fail "purge changed the store or spool"
[ "$(in_root dpkg-query -W -f='${db:Status-Abbrev}' attestd 2>/dev/null || true)" != "ii " ] ||
  fail "attestd still installed after purge"
echo "remove and purge kept the store and spool byte for byte, and said so"
stop_systemd
echo "fresh root: 1 passed, 0 failed"
