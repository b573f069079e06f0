#!/usr/bin/env bash
# scripts/package refuses bad arguments with exit 2 before it installs or
# builds anything (docs/bad-input.md, "Packages").
#   package_usage_test.sh SOURCE_DIR
set -euo pipefail
src=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # want-exit want-message args...
  local want=$1 msg=$2 rc=0 err; shift 2
  err=$("$src/scripts/package" "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "scripts/package $*: exit $rc, want $want ($err)"
  grep -qF -- "$msg" <<<"$err" || fail "scripts/package $*: '$err' lacks '$msg'"
}
expect 2 "unknown argument --bogus" --bogus
expect 2 "--version-suffix may hold only" --version-suffix 'x y'
expect 2 "--version-suffix may hold only" --version-suffix '1;rm'
out=$("$src/scripts/package" --help) || fail "--help exited $?"
grep -q -- "--images" <<<"$out" || fail "--help does not describe --images"
echo "package usage: 1 passed, 0 failed"
