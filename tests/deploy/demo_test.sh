#!/usr/bin/env bash
# ./scripts/demo --once on a small fleet, twice: the first run creates the
# PKI, starts attestd over mTLS with the built-in policy and the agent on
# this host, imports the fleet, prints the window summary and /metrics
# address, writes the HTML report, and exports an evidence bundle that verifies (the 12 simulated
# hosts and this one) with attestd's key and the demo witness's; the second
# reuses all of it. Both must leave nothing
# running.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1; build=$2
var=$(mktemp -d)
trap 'rm -rf "$var"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- output:" >&2; cat "$var/out" >&2; exit 1; }
run() {
  (cd "$src" && ATTEST_DEMO_VAR="$var/demo" ATTEST_DEMO_BUILD="$build" \
    ./scripts/demo --once --hosts 12 --days 10) >"$var/out" 2>&1 || fail "demo exited $?"
}

run
grep -q "dev PKI in $var/demo/pki" "$var/out" || fail "no PKI"
grep -q "over mTLS" "$var/out" || fail "attestd not on mTLS"
grep -q "simulating 12 hosts x 10 days" "$var/out" || fail "no import"
for control in patch-sla log-shipping access-approved agent-reporting; do
  grep -q "^$control " "$var/out" || fail "no summary row for $control (built-in policy)"
done
grep -Eq "operated effectively|exceptions noted" "$var/out" || fail "no verdict"
grep -Eq "^verified: 1[23] hosts, [0-9]+ records, checkpoint [0-9]+ of log attest.demo/.*cosigned by witness.demo/w1" \
  "$var/out" || fail "the exported bundle did not verify with the witness's key"
grep -q "^attest-witness witness.demo/w1+" "$var/out" || fail "no witness"
[ -s "$var/demo/evidence-demo-10d.tar" ] || fail "no evidence bundle"
grep -q "^HTML report: *$var/demo/report-demo-10d.html" "$var/out" || fail "no HTML report path"
grep -q "operated effectively\|exceptions noted" "$var/demo/report-demo-10d.html" || fail "empty report"
metrics=$(sed -n 's|^metrics: *http://\([^/]*\)/metrics|\1|p' "$var/out")
[ -n "$metrics" ] || fail "no /metrics address"
[ -s "$var/demo/pki/ca.key" ] && [ "$(stat -c %a "$var/demo/pki/ca.key")" = 600 ] || fail "CA key"
ca=$(sha256sum <"$var/demo/pki/ca.crt")
first_summary=$(sed -n '/^CONTROL\|^patch-sla /p' "$var/out")

run
grep -q "reusing the fleet history" "$var/out" || fail "second run imported again"
[ "$(sha256sum <"$var/demo/pki/ca.crt")" = "$ca" ] || fail "second run replaced the CA"
[ "$(sed -n '/^CONTROL\|^patch-sla /p' "$var/out")" = "$first_summary" ] ||
  fail "second run's summary differs"
# Everything stopped: the store is free to open again, nothing listens.
! pgrep -f "$var/demo/data" >/dev/null || fail "attestd still running"
! pgrep -f "$var/demo/agent-spool" >/dev/null || fail "attest-agent still running"
! pgrep -f "$var/demo/witness" >/dev/null || fail "attest-witness still running"
echo ok
