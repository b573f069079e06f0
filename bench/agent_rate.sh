#!/usr/bin/env bash
# Records and bytes per host at attest-agent's default intervals (issue 25).
# attest-agent-day runs the agent's own collectors on this host, with one
# log shipper (a marker file) and three custom checks, under a simulated
# clock for DAYS days; the same signals as HOSTS hosts then go through
# bench/bundle_bench.sh: imported into attestd, exported, verified.
# Baseline for the record rate: what the same collectors would send if the
# heartbeat went out every interval even when other signals did (its runs
# plus its skips), measured in the same run.
# Called by scripts/bench with: BUILD_DIR WORK_DIR HOSTS DAYS
set -euo pipefail
dir=$1; work=$2; hosts=$3; days=$4

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }

ar=$work/agent-rate
rm -rf "$ar" && mkdir -p "$ar/checks" "$ar/spool"
for c in disk-space ntp-drift root-login; do
  printf '#!/bin/sh\necho "OK: %s"\nexit 0\n' "$c" >"$ar/checks/$c"
  chmod +x "$ar/checks/$c"
done
# The shipper's marker: a delivery an hour into the simulated days (the
# collectors run days in the past, and a delivery dated after "now" would be
# a clock bug), so the shipper looks as on a working host: delivering, then
# falling behind.
touch -d "@$(( $(date +%s) - days * 86400 ))" "$ar/delivered"
out=$("$dir/bench/attest-agent-day" --days="$days" --out="$ar/signals.bin" \
  --daemon=127.0.0.1:1 --insecure --host-id=bench --spool-dir="$ar/spool" \
  --checks-dir="$ar/checks" --shipper="name=central,probe=marker_file,path=$ar/delivered" \
  --log-level=error)
per_day=$(sed -n 's/^signals=.* per_day=\([0-9]*\)$/\1/p' <<<"$out")
hb_skipped=$(sed -n 's/^collector=heartbeat .*skipped=\([0-9]*\) .*/\1/p' <<<"$out")
naive=$(awk -v p="$per_day" -v s="$hb_skipped" -v d="$days" 'BEGIN { printf "%.0f", p + s / d }')
row "agent records per host-day, defaults" "$per_day" "$naive" "$(ratio "$per_day" "$naive")" \
  "baseline: a heartbeat every interval too; 1 shipper, 3 checks"
grep '^collector=' <<<"$out" | while read -r line; do
  row "  $(sed 's/^collector=\([^ ]*\) .*/\1/' <<<"$line") runs/day" \
    "$(awk -v r="$(sed 's/.*runs=\([0-9]*\).*/\1/' <<<"$line")" -v d="$days" 'BEGIN { printf "%.0f", r / d }')" \
    "" "" "$(sed 's/^collector=[^ ]* //' <<<"$line") over ${days}d"
done
"$dir/bench/attest-agent-day-records" --in="$ar/signals.bin" --out="$ar/fleet.jsonl" \
  --hosts="$hosts" >/dev/null
rm -f "$ar/signals.bin"
bench/bundle_bench.sh "$dir" "$work" "$hosts" "$days" "$ar/fleet.jsonl" "agent defaults"
rm -rf "$ar"
