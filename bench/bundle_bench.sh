#!/usr/bin/env bash
# Evidence bundles (issues 6 and 25): `attestctl export` and the offline
# `attestctl verify` of an ended window of HOSTS x DAYS simulated at the
# simulator's signal rate, in MB/s of records.jsonl, against sha256sum
# reading the same bundle (the cost of merely touching the bytes). Also
# the import rate on the way, verify's peak memory, and the compressed
# bundle's size against the store's evidence family (the same records at
# rest) and against the records as plain JSON.
# Called by scripts/bench with: BUILD_DIR WORK_DIR HOSTS DAYS [FLEET SOURCE]
# With FLEET (import lines of HOSTS hosts over the DAYS days that end now,
# e.g. bench/agent_rate.sh's) the same figures are taken of it instead of a
# simulated fleet; SOURCE names it in the rows.
set -euo pipefail
dir=$1; work=$2; bundle_hosts=$3; bundle_days=$4; fleet=${5:-}; source=${6:-simulated fleet}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }
daemon_pid=""
cleanup() { [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

bundle_end=$(( $(date +%s) / 86400 * 86400 ))
bundle_start=$(date -u -d "@$((bundle_end - bundle_days * 86400))" +%Y-%m-%dT%H:%M:%SZ)
ctl="$dir/ctl/attestctl"
if [ -n "$fleet" ]; then
  # Its days end now: the window takes the whole days before today and
  # today (the bytes are of every record either way: bundles carry whole chains).
  bundle_end=$(( bundle_end + 86400 ))
  bundle_start=$(date -u -d "@$((bundle_end - (bundle_days + 1) * 86400))" +%Y-%m-%dT%H:%M:%SZ)
  cp "$fleet" "$work/fleet.jsonl"
else
  "$ctl" simulate --hosts="$bundle_hosts" --days="$bundle_days" --seed=7 --start="$bundle_start" \
    --out="$work/fleet.jsonl" >/dev/null
fi
rm -rf "$work/bb" && mkdir -p "$work/bb"
"$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/bb/data" \
  --ready-file="$work/bb/ready" --log-level=warn 2>>"$work/bb/attestd.log" &
daemon_pid=$!
for _ in $(seq 1 300); do [ -s "$work/bb/ready" ] && break; sleep 0.1; done
address=$(head -1 "$work/bb/ready")
t0=$(date +%s.%N)
"$ctl" --daemon="$address" import "$work/fleet.jsonl" >"$work/import.out"
t1=$(date +%s.%N)
if [ -s "$work/fleet.jsonl.approvals" ]; then
  "$ctl" --daemon="$address" approve --from-file="$work/fleet.jsonl.approvals" >/dev/null
fi
"$ctl" --daemon="$address" windows create bundle --start="$bundle_start" \
  --end="$(date -u -d "@$bundle_end" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
"$ctl" --daemon="$address" signing-key >"$work/key.pem"
"$ctl" --daemon="$address" report --window=bundle >/dev/null  # judged before timing
t2=$(date +%s.%N)
"$ctl" --daemon="$address" export --window=bundle --out="$work/bundle.tar" >/dev/null
t3=$(date +%s.%N)
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
# attestd flushes its write buffers at a clean stop: started again, its
# table files hold every record, and the metric gives the evidence family.
rm -f "$work/bb/ready"
"$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/bb/data" \
  --ready-file="$work/bb/ready" --metrics-listen=127.0.0.1:0 --log-level=warn \
  2>>"$work/bb/attestd.log" &
daemon_pid=$!
for _ in $(seq 1 300); do grep -q '^metrics ' "$work/bb/ready" 2>/dev/null && break; sleep 0.1; done
store_bytes=$(curl -s "http://$(sed -n 's/^metrics //p' "$work/bb/ready")/metrics" |
  sed -n 's/^attest_store_file_bytes{family="evidence"} \([0-9.e+]*\)$/\1/p' |
  awk '{ printf "%.0f", $1 }')
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
rm -rf "$work/bb" "$work/fleet.jsonl" "$work/fleet.jsonl.approvals"
bundle_bytes=$(stat -c %s "$work/bundle.tar")
json_bytes=$(tar -xOf "$work/bundle.tar" records.jsonl.zst | zstd -q -dc | wc -c)
records_mb=$(awk -v b="$json_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
# Verify and its baselines (sha256sum of the same bytes: the bundle as
# written, and its records as plain JSON), interleaved RUNS times
# (BUNDLE_BENCH_RUNS, default 3): each figure is the median of its runs,
# since one run on a shared machine can be a fifth off either way.
tar -xOf "$work/bundle.tar" records.jsonl.zst | zstd -q -dc >"$work/records.jsonl"
runs=${BUNDLE_BENCH_RUNS:-3}
timed() {  # OUT COMMAND...: the seconds COMMAND took, its output in OUT
  local out=$1 a b
  shift
  a=$(date +%s.%N)
  "$@" >"$out" || return 1
  b=$(date +%s.%N)
  awk -v a="$a" -v b="$b" 'BEGIN { print b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$work/verify.times"; : >"$work/sha.times"; : >"$work/sha_bundle.times"
for ((i = 0; i < runs; i++)); do
  timed "$work/verify.out" /usr/bin/time -f %M -o "$work/verify.rss" "$ctl" verify \
    "$work/bundle.tar" --pubkey="$work/key.pem" --scratch-dir="$work" 2>"$work/verify.err" \
    >>"$work/verify.times" || { cat "$work/verify.err" >&2; exit 1; }
  timed /dev/null sha256sum "$work/records.jsonl" >>"$work/sha.times"
  timed /dev/null sha256sum "$work/bundle.tar" >>"$work/sha_bundle.times"
done
rm -f "$work/records.jsonl"
verify_s=$(median <"$work/verify.times")
sha_s=$(median <"$work/sha.times")
sha_bundle_s=$(median <"$work/sha_bundle.times")
# The spans the rows below take: verify from t4 to t5, the bundle's
# sha256sum from t5 to t6, the records' from t7 to t8.
t4=0; t5=$verify_s; t6=$(awk -v a="$t5" -v b="$sha_bundle_s" 'BEGIN { print a + b }')
t7=0; t8=$sha_s
bundle_mb=$(awk -v b="$bundle_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
mbs() { awk -v mb="${3:-$records_mb}" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", mb / (b - a) }'; }
sha_mbs=$(mbs "$t7" "$t8")
sha_bundle_mbs=$(mbs "$t5" "$t6" "$bundle_mb")
records=$(sed -n 's/^accepted \([0-9]*\),.*/\1/p' "$work/import.out")
row "import records/s, $bundle_hosts hosts x${bundle_days}d" \
  "$(awk -v n="$records" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" "" "" \
  "$records records, attestctl import"
row "export MB/s of records.jsonl (${records_mb} MB)" "$(mbs "$t2" "$t3")" "$sha_mbs" \
  "$(ratio "$(mbs "$t2" "$t3")" "$sha_mbs")" ">= 50 MB/s (baseline: sha256sum of the plain records)"
row "verify MB/s of records.jsonl, summary recomputed" "$(mbs "$t4" "$t5")" "$sha_mbs" \
  "$(ratio "$(mbs "$t4" "$t5")" "$sha_mbs")" ">= 0.5 (issue 25); median of $runs; $(grep -o 'summary finished in [0-9.]* s after' "$work/verify.err") (last run)"
row "verify MB/s of the bundle (${bundle_mb} MB)" "$(mbs "$t4" "$t5" "$bundle_mb")" "$sha_bundle_mbs" \
  "$(ratio "$(mbs "$t4" "$t5" "$bundle_mb")" "$sha_bundle_mbs")" "baseline: sha256sum of the same bundle file"
row "  verify peak RSS MiB" "$(awk '{ print int($1 / 1024) }' "$work/verify.rss")" "$records_mb" "" \
  "baseline: MB of records (over 2 GiB they replay from disk)"
# Per host-year at the fleet's signal rate (records per host-day in the
# next row): the window's bytes scaled to 365 days of one host.
host_year() { awk -v b="$1" -v h="$bundle_hosts" -v d="$bundle_days" 'BEGIN { printf "%.0f", b / h / d * 365 }'; }
row "  records per host-day ($source)" "$(awk -v n="$records" -v h="$bundle_hosts" -v d="$bundle_days" \
  'BEGIN { printf "%.0f", n / h / d }')" "" "" "the records imported, per host and day"
row "store bytes per host-year (evidence)" "$(host_year "$store_bytes")" "$(host_year "$json_bytes")" \
  "$(ratio "$store_bytes" "$json_bytes")" "baseline: the same records as plain JSON"
row "bundle bytes per host-year" "$(host_year "$bundle_bytes")" "$(host_year "$store_bytes")" \
  "$(ratio "$bundle_bytes" "$store_bytes")" "<= 1.5 (baseline: store bytes, same records)"
row "  records as plain JSON bytes" "$json_bytes" "$bundle_bytes" "$(ratio "$json_bytes" "$bundle_bytes")" \
  "baseline: the compressed bundle (--uncompressed writes this)"
# A 12-month window of 10,000 hosts, extrapolated linearly from this run:
# a whole bundle carries every record of each host, so its bytes are this
# run's bytes per host-day times 10,000 x 365; verify checks and replays
# each record once (the per-record cost does not grow with the fleet; the
# replay goes to disk past 2 GiB of records, as it would there), so its
# time scales the same way on this machine's cores.
scale=$(awk -v h="$bundle_hosts" -v d="$bundle_days" 'BEGIN { printf "%.6f", 10000 * 365 / (h * d) }')
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
row "10,000 hosts x 365 d: bundle GB (extrapol.)" \
  "$(awk -v b="$bundle_bytes" -v k="$scale" 'BEGIN { printf "%.1f", b * k / 1e9 }')" \
  "$(awk -v b="$store_bytes" -v k="$scale" 'BEGIN { printf "%.1f", b * k / 1e9 }')" \
  "$(ratio "$bundle_bytes" "$store_bytes")" \
  "x$scale of ${bundle_hosts}x${bundle_days}d ($source); baseline: store GB"
row "10,000 hosts x 365 d: verify hours (extrapol.)" \
  "$(awk -v s="$(secs "$t4" "$t5")" -v k="$scale" 'BEGIN { printf "%.2f", s * k / 3600 }')" \
  "$(awk -v s="$(secs "$t5" "$t6")" -v k="$scale" 'BEGIN { printf "%.2f", s * k / 3600 }')" \
  "$(ratio "$(secs "$t4" "$t5")" "$(secs "$t5" "$t6")")" \
  "$(nproc) cores, linear in records; baseline: sha256sum of the bundle, scaled alike"
rm -f "$work/bundle.tar"
