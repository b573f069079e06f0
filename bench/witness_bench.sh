#!/usr/bin/env bash
# Witnessing (docs/witness.md): one attest-witness's cosigning latency and
# sustained checkpoints per second, against the same HTTP round trip to
# the same witness for a request it answers without signing or storing;
# and what checkpointing and witnessing cost ingest, as attestd's ingest
# rate with a witness against the same run without one (a checkpoint made
# every second in both, two rounds of each, alternated).
# Called by scripts/bench with: BUILD_DIR WORK_DIR SECONDS CHECKPOINTS
set -euo pipefail
dir=$1; work=$2; secs=$3; checkpoints=$4

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 1 300); do [ -s "$1" ] && break; sleep 0.1; done; head -1 "$1"; }

rm -rf "$work/wb" && mkdir -p "$work/wb"
witness="$dir/witness/attest-witness"
start_witness() {  # LOG_VKEY: a fresh witness for that log
  rm -rf "$work/wb/state" "$work/wb/witness.ready"
  "$witness" serve --key "$work/wb/witness.key" --name bench.example/w1 --state-dir "$work/wb/state" \
    --log "$1" --insecure --listen 127.0.0.1:0 --ready-file "$work/wb/witness.ready" \
    --log-level warn 2>>"$work/wb/witness.log" &
  pids+=($!)
  witness_pid=$!
  witness_address=$(wait_ready "$work/wb/witness.ready")
}
wvkey=$("$witness" init --key "$work/wb/witness.key" --name bench.example/w1)

# (a) The witness alone.
log_vkey=$("$dir/bench/attest-witness-bench" --key "$work/wb/log.key" --print-vkey)
start_witness "$log_vkey"
out=$("$dir/bench/attest-witness-bench" --key "$work/wb/log.key" --witness "http://$witness_address" \
  --n "$checkpoints")
kill -TERM "$witness_pid"; wait "$witness_pid" 2>/dev/null || true
row "witness cosign p50 ms ($checkpoints checkpoints)" "$(field cosign_p50_ms "$out")" \
  "$(field base_p50_ms "$out")" "$(ratio "$(field cosign_p50_ms "$out")" "$(field base_p50_ms "$out")")" \
  "baseline: an HTTP round trip it answers without signing"
row "  cosign p99 ms" "$(field cosign_p99_ms "$out")" "$(field base_p99_ms "$out")" \
  "$(ratio "$(field cosign_p99_ms "$out")" "$(field base_p99_ms "$out")")" "(two fsyncs per checkpoint)"
row "  checkpoints cosigned/s, one client" "$(field cosigned_per_s "$out")" \
  "$(field base_per_s "$out")" "$(ratio "$(field cosigned_per_s "$out")" "$(field base_per_s "$out")")" \
  ">= 10/s (attestd makes one a day, and one per export)"

# (b) Ingest with and without a witness; a checkpoint every second in both.
ingest() {  # extra attestd flags...; the data dir holds just attestd's key
  rm -rf "$work/wb/ready"
  "$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/wb/data" \
    --ready-file="$work/wb/ready" --rate-per-host=0 --log-level=warn --log-origin=attest.bench/ingest \
    "$@" 2>>"$work/wb/attestd.log" &
  local daemon=$!
  pids+=($daemon)
  local address
  address=$(wait_ready "$work/wb/ready")
  ( end=$((SECONDS + secs)); while [ $SECONDS -lt $end ]; do
      "$dir/ctl/attestctl" --daemon="$address" checkpoint --create >/dev/null 2>&1 || true; sleep 1
    done ) &
  local ticker=$!
  nice -n 10 "$dir/bench/attest-loadgen" --daemon="$address" --agents=200 --batch=10 \
    --seconds="$secs" --host-prefix=wb 2>>"$work/wb/loadgen.log"
  wait "$ticker" || true
  local cosigned
  cosigned=$("$dir/ctl/attestctl" --daemon="$address" status --format=json | \
    python3 -c 'import json,sys; w=json.load(sys.stdin)["witnesses"]; print(w[0]["cosigned_sequence"] if w else 0)')
  echo "cosigned=$cosigned" >>"$work/wb/cosigned"
  kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true
}
# attestd's log key is made at its first start: learn it, then witness it.
"$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/wb/data" \
  --ready-file="$work/wb/ready" --log-level=warn --log-origin=attest.bench/ingest 2>>"$work/wb/attestd.log" &
first=$!
address=$(wait_ready "$work/wb/ready")
attestd_vkey=$("$dir/ctl/attestctl" --daemon="$address" signing-key --vkey)
kill -TERM "$first"; wait "$first" 2>/dev/null || true
cp "$work/wb/data/checkpoint-signing.key" "$work/wb/attestd.key"
restore_key() { mkdir -p "$work/wb/data"; cp "$work/wb/attestd.key" "$work/wb/data/checkpoint-signing.key"; }
# Alternated twice, each run on a fresh store: this machine's noise between
# two runs (±7%) is larger than the cost measured.
off_total=0; on_total=0; runs=""
for round in 1 2; do
  off=$(rm -rf "$work/wb/data"; restore_key; ingest)
  # A fresh witness each time: a fresh store restarts the log at size 1,
  # which a witness that saw the last run's log rightly refuses.
  start_witness "$attestd_vkey"
  on=$(rm -rf "$work/wb/data"; restore_key; ingest --witness="http://$witness_address,$wvkey")
  kill -TERM "$witness_pid"; wait "$witness_pid" 2>/dev/null || true
  off_total=$((off_total + $(field signals_per_s "$off")))
  on_total=$((on_total + $(field signals_per_s "$on")))
  runs="$runs $(field signals_per_s "$on")/$(field signals_per_s "$off")"
done
row "ingest signals/s, witnessed (200 streams)" "$((on_total / 2))" "$((off_total / 2))" \
  "$(ratio "$on_total" "$off_total")" \
  ">= 0.95 (baseline: no witness; a checkpoint a second in both; on/off:$runs; $(tail -1 "$work/wb/cosigned"))"
