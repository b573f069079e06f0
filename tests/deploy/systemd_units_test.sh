#!/usr/bin/env bash
# deploy/systemd, checked with the real systemd tools:
#   - `systemd-analyze verify` accepts both units (ExecStart pointed at the
#     binaries just built, since verify checks that the command exists, and
#     the man pages Documentation= names found where the build wrote them);
#   - `systemd-analyze security --offline=true` rates attestd <= 2.0 and
#     attest-agent <= 4.0;
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
for unit in attestd attest-agent; do
  out=$(systemd-analyze verify "${man_check[@]}" "$work/$unit.service" 2>&1) ||
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

root="$work/root"
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp "$units/attest.sysusers.conf" "$root/usr/lib/sysusers.d/attest.conf"
cp "$units/attest.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/attest.conf"
systemd-sysusers --root="$root" >/dev/null 2>&1 || fail "systemd-sysusers refused the file"
systemd-tmpfiles --root="$root" --create >/dev/null 2>&1 || fail "systemd-tmpfiles refused the file"
uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; }
gid() { awk -F: -v g="$1" '$1 == g { print $3 }' "$root/etc/group"; }
expect() {  # path mode uid gid
  local got
  got=$(stat -c '%a %u %g' "$root$1" 2>/dev/null) || fail "$1 was not created"
  [ "$got" = "$2 $3 $4" ] || fail "$1 is '$got', want '$2 $3 $4'"
}
[ -n "$(uid attest)" ] && [ -n "$(uid attest-agent)" ] || fail "users not created"
expect /var/lib/attest 700 "$(uid attest)" "$(gid attest)"
expect /var/lib/attest-agent 700 "$(uid attest-agent)" "$(gid attest-agent)"
expect /etc/attest 750 0 "$(gid attest)"
expect /etc/attest/agent 750 0 "$(gid attest-agent)"
# Both units run as those users.
grep -qx "User=attest" "$units/attestd.service" || fail "attestd.service: User=attest"
grep -qx "User=attest-agent" "$units/attest-agent.service" || fail "attest-agent.service: User"
echo "ok"
