#!/usr/bin/env bash
# Window-sized bundles (issue 25, item 1): a fleet with HISTORY days of
# evidence before a WINDOW-day audit window, exported whole (the baseline)
# and --window-sized, each verified. attestd's clock is injected
# (ATTESTD_TEST_CLOCK_FILE, docs/design.md "Layout") so that its daily
# checkpoint states are made on the days they would be in a fleet: the
# history is taken in a month, then (for the last 30 days before the
# window) a day at a time, then the window, with a checkpoint after each
# step, as attestd makes them every day.
# Called by scripts/bench with: BUILD_DIR WORK_DIR HOSTS HISTORY WINDOW
set -euo pipefail
dir=$1; work=$2; hosts=$3; history=$4; window=$5

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
daemon_pid=""
cleanup() { [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

ctl="$dir/ctl/attestctl"
wb="$work/wb"
rm -rf "$wb" && mkdir -p "$wb"
start=2025-01-01T00:00:00Z
start_s=$(date -u -d "$start" +%s)
window_start=$((start_s + history * 86400))
window_end=$((window_start + window * 86400))
"$ctl" simulate --hosts="$hosts" --days=$((history + window)) --seed=7 --start="$start" \
  --out="$wb/fleet.jsonl" >/dev/null
# The steps: a month at a time, the last 30 days before the window a day at
# a time, then the window, then six hours past its end.
steps=()
for ((t = start_s + 30 * 86400; t < window_start - 30 * 86400; t += 30 * 86400)); do steps+=("$t"); done
for ((t = window_start - 30 * 86400; t <= window_start; t += 86400)); do
  ((t > start_s)) && steps+=("$t")
done
steps+=("$window_end" "$((window_end + 6 * 3600))")
# Each step's records: every host's, in chain order, observed before it.
python3 - "$wb/fleet.jsonl" "$wb" "${steps[@]}" <<'EOF'
import datetime, re, sys
path, out, steps = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
hosts = {}
when = re.compile(r'"observed_at":"([0-9T:-]+)')
for line in open(path):
    host = re.search(r'"host":"([^"]+)"', line).group(1)
    t = int(datetime.datetime.strptime(when.search(line).group(1), "%Y-%m-%dT%H:%M:%S")
            .replace(tzinfo=datetime.timezone.utc).timestamp())
    hosts.setdefault(host, []).append((t, line))
at = {h: 0 for h in hosts}
for n, step in enumerate(steps):
    with open("%s/step%04d.jsonl" % (out, n), "w") as f:
        for h, lines in hosts.items():
            while at[h] < len(lines) and lines[at[h]][0] < step:
                f.write(lines[at[h]][1])
                at[h] += 1
EOF
echo "$start_s" >"$wb/clock"
ATTESTD_TEST_CLOCK_FILE="$wb/clock" "$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 \
  --data-dir="$wb/data" --ready-file="$wb/ready" --log-level=warn 2>>"$wb/attestd.log" &
daemon_pid=$!
for _ in $(seq 1 300); do [ -s "$wb/ready" ] && break; sleep 0.1; done
address=$(head -1 "$wb/ready")
# The window first: a review campaign names one.
"$ctl" --daemon="$address" windows create w --start="$(date -u -d "@$window_start" +%Y-%m-%dT%H:%M:%SZ)" \
  --end="$(date -u -d "@$window_end" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
# An access review of every host (every entry kept) at the first step at
# least 60 days before the window: without one, the default policy's
# review control fails every host from 90 days after its enrolment, a run
# in progress at the window's start that would carry every host whole.
review_at=""
for step in "${steps[@]}"; do
  if ((step >= window_start - 60 * 86400)); then review_at=$step; break; fi
done
review() {
  "$ctl" --daemon="$address" review start --id R1 --window=w \
    --due="$(date -u -d "@$((review_at + 14 * 86400))" +%Y-%m-%dT%H:%M:%SZ)" --reviewer=carol >/dev/null
  "$ctl" --daemon="$address" review export --campaign R1 >"$wb/review.csv"
  python3 - "$wb/review.csv" <<'EOF2'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[1], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["campaign"])
    w.writeheader()
    for r in rows:
        r.update(decision="keep", reviewer="carol", reason="still needed")
        w.writerow(r)
EOF2
  "$ctl" --daemon="$address" review decide --campaign R1 --from-file="$wb/review.csv" >/dev/null
}
n=0
for step in "${steps[@]}"; do
  echo "$step" >"$wb/clock.tmp" && mv "$wb/clock.tmp" "$wb/clock"
  "$ctl" --daemon="$address" import "$(printf '%s/step%04d.jsonl' "$wb" "$n")" >/dev/null
  "$ctl" --daemon="$address" checkpoint --create >/dev/null
  [ "$step" = "$review_at" ] && review
  n=$((n + 1))
done
if [ -s "$wb/fleet.jsonl.approvals" ]; then
  "$ctl" --daemon="$address" approve --from-file="$wb/fleet.jsonl.approvals" >/dev/null
fi
"$ctl" --daemon="$address" signing-key >"$wb/key.pem"
"$ctl" --daemon="$address" report --window=w >/dev/null  # judged before timing
t0=$(date +%s.%N)
"$ctl" --daemon="$address" export --window=w --out="$wb/whole.tar" >/dev/null 2>&1
t1=$(date +%s.%N)
"$ctl" --daemon="$address" export --window=w --window-sized --out="$wb/sized.tar" \
  >/dev/null 2>"$wb/sized.err"
t2=$(date +%s.%N)
# The same export with the pick made from every whole chain's replay, as
# before December 2026 (docs/design.md, "Layout"): the baseline of its cost.
ATTESTCTL_TEST_PICK_FROM_WHOLE_CHAINS=1 "$ctl" --daemon="$address" export --window=w --window-sized \
  --out="$wb/sized_from_whole.tar" >/dev/null 2>&1
t2w=$(date +%s.%N)
hosts_of() { tar -xOf "$1" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)["hosts"])'; }
[ "$(hosts_of "$wb/sized.tar")" = "$(hosts_of "$wb/sized_from_whole.tar")" ] ||
  { echo "window_bench: the pick differs from the whole chains' pick" >&2; exit 1; }
rm -f "$wb/sized_from_whole.tar"
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
t2v=$(date +%s.%N)
"$ctl" verify "$wb/whole.tar" --pubkey="$wb/key.pem" --scratch-dir="$wb" >"$wb/whole.out" 2>&1
t3=$(date +%s.%N)
"$ctl" verify "$wb/sized.tar" --pubkey="$wb/key.pem" --scratch-dir="$wb" >"$wb/sized.out" 2>&1
t4=$(date +%s.%N)
diff <(sed -n '/summary follows/,$p' "$wb/whole.out") <(sed -n '/summary follows/,$p' "$wb/sized.out") \
  >/dev/null || { echo "window_bench: the two bundles' figures differ" >&2; exit 1; }
whole_bytes=$(stat -c %s "$wb/whole.tar")
sized_bytes=$(stat -c %s "$wb/sized.tar")
whole_records=$(sed -n 's/^verified: [0-9]* hosts, \([0-9]*\) records.*/\1/p' "$wb/whole.out")
sized_records=$(sed -n 's/^verified: [0-9]* hosts, \([0-9]*\) records.*/\1/p' "$wb/sized.out")
share=$(awk -v w="$window" -v h="$history" 'BEGIN { printf "%.3f", w / (w + h) }')
label="$hosts hosts, ${history}d history, ${window}d window"
row "window-sized records ($label)" "$sized_records" "$whole_records" \
  "$(ratio "$sized_records" "$whole_records")" "close to the window's share, $share (whole: 1)"
row "window-sized bundle MB" "$(awk -v b="$sized_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')" \
  "$(awk -v b="$whole_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')" \
  "$(ratio "$sized_bytes" "$whole_bytes")" "close to $share"
row "window-sized verify s (whole bundle's)" "$(secs "$t3" "$t4")" "$(secs "$t2v" "$t3")" \
  "$(ratio "$(secs "$t3" "$t4")" "$(secs "$t2v" "$t3")")" "< 1"
row "window-sized export s (whole export's)" "$(secs "$t1" "$t2")" "$(secs "$t0" "$t1")" \
  "$(ratio "$(secs "$t1" "$t2")" "$(secs "$t0" "$t1")")" "reported (it reads the whole chains, replays about a week more than the window)"
row "window-sized export s (pick from whole chains)" "$(secs "$t1" "$t2")" "$(secs "$t2" "$t2w")" \
  "$(ratio "$(secs "$t1" "$t2")" "$(secs "$t2" "$t2w")")" "< 1: the pick's replays start before the window, not at record 1"
sed -n 's/^export: window-sized: /  /p' "$wb/sized.err"
[ -n "${KEEP:-}" ] || rm -rf "$wb"
