#!/usr/bin/env bash
# Soak: AGENTS concurrent agent streams on loopback for SECONDS, each
# sending one batch of two signals of the realistic mix (heartbeats,
# log-shipping health, patch state, checks, the odd access change) every
# 10 s. Prints errors, attestd's RSS growth after WARMUP seconds, the p99
# ack latency, attestd's CPU, against the same daemon's figures at the end
# of warm-up (RSS) and the paced load itself (signals/s).
#
# Warm-up is when every host's state has been filled in: at 10,000 streams
# on the 2-core VM attestd's RSS rose from 545 MiB at 50 s to 595 MiB at
# 171 s and then only to 604 MiB at 401 s (malloc's own figures agree: live
# heap +0.9% between minute 5 and minute 15), so scripts/bench measures the 10
# minutes after a 5-minute warm-up. The store's memory is printed apart, as
# attestd's /metrics report it.
# Called by scripts/bench with: BUILD_DIR WORK_DIR AGENTS SECONDS [WARMUP]
set -euo pipefail
dir=$1; work=$2; agents=$3; secs=$4
warmup=${5:-60}
[ "$secs" -gt $((warmup * 2)) ] || warmup=$((secs / 4))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The store's memory, in KiB, from attestd's own /metrics: unflushed write
# buffers, index and filter blocks, block cache.
store_kib() {
  curl -s "http://$metrics/metrics" | awk '/^attest_store_(memtable|table_reader|block_cache)_bytes/ {
    s += $2 } END { printf "%d", s / 1024 }'
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

rm -rf "$work/soak" && mkdir -p "$work/soak"
"$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/soak/data" \
  --ready-file="$work/soak/ready" --max-streams=$((agents + 1000)) --log-level=warn \
  --metrics-listen=127.0.0.1:0 --metrics-refresh=1h \
  2>>"$work/soak/attestd.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 1 300); do [ -s "$work/soak/ready" ] && break; sleep 0.1; done
address=$(head -1 "$work/soak/ready")
metrics=$(sed -n 's/^metrics //p' "$work/soak/ready")

nice -n 10 "$dir/bench/attest-loadgen" --daemon="$address" --agents="$agents" --batch=2 \
  --interval-ms=10000 --seconds="$secs" --host-prefix=soak >"$work/soak/loadgen.out" \
  2>>"$work/soak/loadgen.log" &
lg=$!
pids+=("$lg")
# Sampled from outside the daemon, as an operator's monitoring would.
sleep "$warmup"
rss_warm=$(rss_kib "$daemon"); ticks0=$(cpu_ticks "$daemon"); t0=$(date +%s.%N)
mem_warm=$(store_kib)
rss_max=$rss_warm
while kill -0 "$lg" 2>/dev/null; do
  r=$(rss_kib "$daemon"); [ "$r" -gt "$rss_max" ] && rss_max=$r
  ticks1=$(cpu_ticks "$daemon"); t1=$(date +%s.%N); rss_end=$r; mem_end=$(store_kib)
  sleep 5
done
wait "$lg" || true
out=$(cat "$work/soak/loadgen.out")
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v s="$t0" -v e="$t1" -v hz="$hz" \
  'BEGIN { printf "%.1f", 100 * (b - a) / hz / (e - s) }')
growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
row "soak: $agents streams x ${secs}s, errors" "$(field errors "$out")" "0" "" \
  "0 (streams opened: $(field open "$out"))"
row "  attestd RSS MiB at end (after warm-up)" "$((rss_end / 1024))" "$((rss_warm / 1024))" \
  "$(ratio "$rss_end" "$rss_warm")" "growth ${growth}% < 5%; peak $((rss_max / 1024)) MiB"
row "  of which the store's own MiB" "$((mem_end / 1024))" "$((mem_warm / 1024))" \
  "$(ratio "$mem_end" "$mem_warm")" "write buffers, index and filter blocks, block cache"
row "  ack p99 ms" "$(field p99_ms "$out")" "$(field p50_ms "$out")" \
  "$(ratio "$(field p99_ms "$out")" "$(field p50_ms "$out")")" "baseline: p50"
row "  signals/s delivered" "$(field signals_per_s "$out")" "$((agents * 2 / 10))" \
  "$(ratio "$(field signals_per_s "$out")" "$((agents * 2 / 10))")" "baseline: the paced load"
row "  attestd CPU % of one core" "$cpu" "" "" "after warm-up"
