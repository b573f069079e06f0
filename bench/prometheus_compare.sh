#!/usr/bin/env bash
# How fast does real Prometheus answer "control effectiveness over an audit
# window"? Samples each host/control PASS/FAIL timeline every step seconds
# (as a 0/1 exporter scraped at that interval would record it), backfills it
# into a fresh Prometheus TSDB with promtool, starts Prometheus on loopback
# and times the fleet effectiveness query per control through the HTTP API.
# If the input carries an "attest" object, compares with attest's answer.
#
# Usage: bench/prometheus_compare.sh [--keep] [--step N] INPUT.json
#   INPUT.json  {"start": S, "end": E, "step_seconds": 900,
#                "series": [{"host": .., "control": .., "intervals": [[a, b, "PASS"|"FAIL"|"NO_EVIDENCE"|"EXCEPTED"], ..]}, ..],
#                "attest": {"seconds": .., "effectiveness": {control: ..}}}   (attest optional)
#   --keep      keep the temp dir (OpenMetrics file, TSDB, logs) and print its path
#   --step N    sample interval in seconds (overrides step_seconds; default 900)
# Environment: PROM_MAX_BLOCK_DURATION (default 2400h) for promtool's backfill,
#   PROM_READY_TIMEOUT (default 300 s), PYTHON (default python3), TMPDIR.
# Installs Debian's `prometheus` package if promtool is missing (needs root).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=${PYTHON:-python3}
helper="$here/prometheus_compare.py"

die() { echo "prometheus_compare: error: $*" >&2; exit 1; }
usage() { sed -n 's/^# \{0,1\}//; /^Usage:/,/^Installs/p' "${BASH_SOURCE[0]}" >&2; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

keep=0; step=(); input=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --step) [ $# -ge 2 ] || die "--step needs a value"
            [[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--step must be a positive number of seconds"
            step=(--step "$2"); shift ;;
    --step=*) v=${1#--step=}; [[ "$v" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--step must be a positive number of seconds"
            step=(--step "$v") ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$input" ] || die "only one input file expected"; input=$1 ;;
  esac
  shift
done
[ -n "$input" ] || usage
[ -r "$input" ] || die "cannot read input $input"
command -v "$py" >/dev/null || die "$py not found"
[ -r "$helper" ] || die "missing $helper"

# ------------------------------------------------------------ install
# The package's service must not run (it would hold port 9090 and load the
# machine); a prometheus we did not start is never touched.
ensure_prometheus() {
  if command -v promtool >/dev/null && command -v prometheus >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || die "promtool/prometheus missing; install Debian's 'prometheus' package (needs root)"
  local before after pid
  before=" $(pgrep -x prometheus | tr '\n' ' ' || true) "
  export DEBIAN_FRONTEND=noninteractive
  echo "prometheus_compare: installing Debian package prometheus" >&2
  if ! apt-get install -y --no-install-recommends prometheus >&2; then
    apt-get update >&2 || die "apt-get update failed"
    apt-get install -y --no-install-recommends prometheus >&2 || die "apt-get install prometheus failed"
  fi
  if command -v systemctl >/dev/null; then
    # Works with systemd running; without it `disable` still drops the links.
    systemctl disable --now prometheus >/dev/null 2>&1 \
      || systemctl disable prometheus >/dev/null 2>&1 || true
  fi
  # No systemd (or it failed): stop only a /usr/bin/prometheus that appeared
  # during the install and runs as the package's user.
  after=$(pgrep -x prometheus || true)
  for pid in $after; do
    [[ "$before" == *" $pid "* ]] && continue
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/prometheus ] || continue
    [ "$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')" = prometheus ] || continue
    echo "prometheus_compare: stopping prometheus service pid $pid started by the install" >&2
    kill -TERM "$pid" 2>/dev/null || true
  done
  command -v promtool >/dev/null && command -v prometheus >/dev/null \
    || die "prometheus package installed but promtool/prometheus not on PATH"
}
ensure_prometheus
version=$(prometheus --version 2>&1 | head -n1)

# ------------------------------------------------------------ work dir
work=$(mktemp -d "${TMPDIR:-/tmp}/prometheus_compare.XXXXXX")
prom_pid=""
cleanup() {
  local rc=$?
  if [ -n "$prom_pid" ] && kill -0 "$prom_pid" 2>/dev/null; then
    kill -TERM "$prom_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$prom_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then
    echo "prometheus_compare: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "prometheus: $version"

# ------------------------------------------------------------ OpenMetrics
"$py" "$helper" gen "$input" "$work/samples.om" "$work/meta.json" "${step[@]}" \
  || die "generating OpenMetrics failed"

# ------------------------------------------------------------ backfill
# promtool re-parses the whole input once per block it writes, and by default
# writes 2h blocks, so a 90-day window would parse the file ~1,080 times.
# --max-block-duration (a hidden flag in 2.42) rounds down to 2h*3^k: 2400h
# gives 1458h (~61 d) blocks, i.e. 2-3 blocks for a 90-day window.
max_block=${PROM_MAX_BLOCK_DURATION:-2400h}
block_flag=()
probe=$(promtool tsdb create-blocks-from openmetrics --max-block-duration="$max_block" \
          "$work/nonexistent.om" "$work/probe" 2>&1 || true)
rm -rf "$work/probe"
if [[ "$probe" == *"unknown long flag"* ]]; then
  echo "prometheus_compare: warning: this promtool has no --max-block-duration; 2h blocks (slow)" >&2
else
  block_flag=(--max-block-duration="$max_block")
fi
mkdir -p "$work/data"
t0=$(now)
promtool tsdb create-blocks-from openmetrics --quiet "${block_flag[@]}" \
  "$work/samples.om" "$work/data" >"$work/backfill.log" 2>&1 \
  || { tail -n 20 "$work/backfill.log" >&2; die "promtool backfill failed"; }
backfill_s=$(elapsed "$t0" "$(now)")
blocks=$(find "$work/data" -mindepth 2 -maxdepth 2 -name meta.json | wc -l)
echo "prometheus: backfill ${backfill_s}s into $blocks block(s) (${block_flag[*]:-default 2h blocks})"
[ "$blocks" -gt 0 ] || die "backfill produced no blocks"
[ "$keep" = 1 ] || rm -f "$work/samples.om"   # can be >1 GB

# ------------------------------------------------------------ prometheus
port=$("$py" "$helper" port)
cat >"$work/prometheus.yml" <<'EOF'
# No scrape targets: the TSDB only holds the backfilled blocks.
global:
  scrape_interval: 1h
  evaluation_interval: 1h
scrape_configs: []
EOF
# retention is measured back from the newest block, but make it huge anyway
# so nothing backfilled is ever dropped. The query limits are raised only so
# that larger sizings do not fail; they do not change how it is evaluated.
t0=$(now)
prometheus --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=100y \
  --web.listen-address="127.0.0.1:$port" \
  --query.timeout=15m --query.max-samples=1000000000 \
  >"$work/prometheus.log" 2>&1 &
prom_pid=$!
startup_s=$("$py" "$helper" wait --url "http://127.0.0.1:$port" --pid "$prom_pid" \
              --since "$t0" --timeout "${PROM_READY_TIMEOUT:-300}" --log "$work/prometheus.log") \
  || die "prometheus did not become ready"
echo "prometheus: ready on 127.0.0.1:$port after ${startup_s}s"

# ------------------------------------------------------------ query + report
"$py" "$helper" query --url "http://127.0.0.1:$port" --meta "$work/meta.json" \
  --input "$input" --runs 5 --backfill "$backfill_s" --startup "$startup_s" \
  || die "query/compare failed (prometheus log: $work/prometheus.log; use --keep to inspect)"
