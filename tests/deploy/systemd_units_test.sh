#!/usr/bin/env bash
# deploy/systemd, checked with the real systemd tools:
#   - `systemd-analyze verify` accepts the three units (ExecStart pointed at the
#     binaries just built, since verify checks that the command exists, and
#     the man pages Documentation= names found where the build wrote them);
#   - `systemd-analyze security --offline=true` rates attestd and
#     attest-witness <= 2.0 and attest-agent <= 4.0;
#   - each unit's ExecCondition= skips the start of the packaged,
#     unconfigured program and lets a configured one start;
#   - sysusers.d and tmpfiles.d, applied to an empty root, create the users
#     and the directories with the owners and modes the units expect.
# Usage: systemd_units_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1; build=$2
units="$src/deploy/systemd"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sed "s|/usr/bin/attestd|$build/daemon/attestd|" "$units/attestd.service" >"$work/attestd.service"
sed "s|/usr/bin/attest-agent|$build/agents/linux/attest-agent|" "$units/attest-agent.service" \
  >"$work/attest-agent.service"
sed "s|/usr/bin/attest-witness|$build/witness/attest-witness|" "$units/attest-witness.service" \
  >"$work/attest-witness.service"
# Documentation= names the man pages: verify finds them where the build
# wrote them (sanitizer builds write none, and skip that check).
man_check=(--man=no)
if [ -e "$build/man/attestd.8" ]; then
  mkdir -p "$work/man/man8" "$work/man/man1"
  cp "$build"/man/*.8 "$work/man/man8/"
  cp "$build"/man/*.1 "$work/man/man1/"
  export MANPATH=$work/man
  man_check=()
fi
cp "$units/attest-agent.path" "$work/attest-agent.path"
for unit in attestd.service attest-agent.service attest-witness.service attest-agent.path; do
  out=$(systemd-analyze verify "${man_check[@]}" "$work/$unit" 2>&1) ||
    fail "verify $unit: $out"
  [ -z "$out" ] || fail "verify $unit warns: $out"
done

# Exposure is printed as 0.0-10.0; --threshold takes the same scale x10.
check_exposure() {  # unit max(x10)
  local out level
  out=$(systemd-analyze security --offline=true --threshold="$2" "$work/$1.service" 2>&1) ||
    fail "$1 exposure above $(awk -v t="$2" 'BEGIN { print t / 10 }'): $(tail -1 <<<"$out")"
  level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$level" ] || fail "no exposure level for $1: $out"
  echo "$1.service exposure $level (max $(awk -v t="$2" 'BEGIN { print t / 10 }'))"
}
check_exposure attestd 20
check_exposure attest-agent 40
check_exposure attest-witness 20

# ExecCondition=: the packaged configs (deploy/config) are "not configured
# yet" (exit 1, a skip, naming what is missing); configured ones pass (0);
# any other error is left for ExecStart to fail loudly (0 here).
condition() {  # unit -> its ExecCondition command line, with our binaries
  sed -n 's/^ExecCondition=//p' "$work/$1.service"
}
expect_condition() {  # unit config want-exit want-stderr-substring
  local cmd rc=0 err
  cmd=$(condition "$1" | sed "s|--config [^ ]*|--config $2|")
  err=$($cmd 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$3" ] || fail "$1 ExecCondition with $(basename "$2"): exit $rc, want $3 ($err)"
  [ -z "$4" ] || grep -q -- "$4" <<<"$err" || fail "$1 ExecCondition: '$err' lacks '$4'"
}
expect_condition attestd "$src/deploy/config/attestd.yaml" 1 "not configured yet: TLS needs"
expect_condition attest-agent "$src/deploy/config/agent.yaml" 1 "not configured yet: --daemon"
expect_condition attest-witness "$src/deploy/config/witness.yaml" 1 "not configured yet: no key"
printf 'tls_cert: a\ntls_key: b\nclient_ca: c\n' >"$work/d.yaml"
expect_condition attestd "$work/d.yaml" 0 ""
printf 'tls_cert: a\ntls_key: b\nclient_ca: c\njudge_delay: soon\n' >"$work/bad.yaml"
expect_condition attestd "$work/bad.yaml" 0 ""
printf 'daemon: [a:1]\ntls_cert: a\ntls_key: b\nca: c\n' >"$work/a.yaml"
expect_condition attest-agent "$work/a.yaml" 0 ""
printf 'daemon: [a:1]\n' >"$work/a2.yaml"
expect_condition attest-agent "$work/a2.yaml" 1 "TLS needs"

root="$work/root"
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
for p in attestd attest-agent attest-witness; do
  cp "$units/$p.sysusers.conf" "$root/usr/lib/sysusers.d/$p.conf"
  cp "$units/$p.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/$p.conf"
done
systemd-sysusers --root="$root" >/dev/null 2>&1 || fail "systemd-sysusers refused the file"
systemd-tmpfiles --root="$root" --create >/dev/null 2>&1 || fail "systemd-tmpfiles refused the file"
uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; }
gid() { awk -F: -v g="$1" '$1 == g { print $3 }' "$root/etc/group"; }
expect() {  # path mode uid gid
  local got
  got=$(stat -c '%a %u %g' "$root$1" 2>/dev/null) || fail "$1 was not created"
  [ "$got" = "$2 $3 $4" ] || fail "$1 is '$got', want '$2 $3 $4'"
}
[ -n "$(uid attest)" ] && [ -n "$(uid attest-agent)" ] && [ -n "$(uid attest-witness)" ] ||
  fail "users not created"
expect /var/lib/attest 700 "$(uid attest)" "$(gid attest)"
expect /var/lib/attest-agent 700 "$(uid attest-agent)" "$(gid attest-agent)"
expect /etc/attest 755 0 0
expect /etc/attest/agent 750 0 "$(gid attest-agent)"
expect /etc/attest/witness 750 0 "$(gid attest-witness)"
expect /var/lib/attest-witness 700 "$(uid attest-witness)" "$(gid attest-witness)"
# Both units run as those users.
grep -qx "User=attest" "$units/attestd.service" || fail "attestd.service: User=attest"
grep -qx "User=attest-agent" "$units/attest-agent.service" || fail "attest-agent.service: User"
grep -qx "User=attest-witness" "$units/attest-witness.service" || fail "attest-witness.service: User"
echo "ok"
