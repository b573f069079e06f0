#!/usr/bin/env bash
# attest-agent footprint next to prometheus-node-exporter, both doing their
# default work on this host, plus a burst of 1,000 access changes. The pair
# is measured twice in the same window: at node_exporter's default (plain
# HTTP; the agent with --insecure toward loopback), and both over TLS as a
# fleet runs them (the agent on mTLS to attestd, node_exporter serving
# HTTPS), since TLS adds OpenSSL's and Go's TLS state to each.
# Called by scripts/bench with: BUILD_DIR WORK_DIR SECONDS
set -euo pipefail
dir=$1; work=$2; secs=$3

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# USS: pages only this process holds (RSS minus shared library pages).
uss_kib() { awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$1/smaps_rollup"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
row() { printf '%-44s %14s %14s %8s  %s\n' "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

rm -rf "$work/fp" && mkdir -p "$work/fp"
"$dir/daemon/attestd" --insecure --listen=127.0.0.1:0 --data-dir="$work/fp/data" \
  --ready-file="$work/fp/ready" --log-level=warn 2>>"$work/fp/attestd.log" &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$work/fp/ready" ] && break; sleep 0.1; done
address=$(cat "$work/fp/ready")

# Both at their defaults on this very host. node_exporter only works when
# scraped, so it is scraped every 15 s, as Prometheus commonly does.
"$dir/agents/linux/attest-agent" --daemon="$address" --insecure --host-id=footprint \
  --spool-dir="$work/fp/spool" --checks-dir="$work/fp/checks" --log-level=warn \
  --service=ssh.service --service=auditd.service \
  2>>"$work/fp/agent.log" &
agent=$!; pids+=($agent)
ne_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" 2>>"$work/fp/ne.log" &
ne=$!; pids+=($ne)

# The TLS pair: a CA, attestd's certificate (which node_exporter serves too)
# and the agent's, from attestctl pki.
pki="$work/fp/pki"
"$dir/ctl/attestctl" pki init --pki-dir="$pki" >/dev/null
"$dir/ctl/attestctl" pki issue-server attestd --ip=127.0.0.1 --pki-dir="$pki" >/dev/null
"$dir/ctl/attestctl" pki issue-agent footprint-tls --pki-dir="$pki" >/dev/null
"$dir/ctl/attestctl" pki issue-admin bench --pki-dir="$pki" >/dev/null
tls_port=$(free_port)
"$dir/daemon/attestd" --listen="127.0.0.1:$tls_port" --tls-cert="$pki/server/attestd.crt" \
  --tls-key="$pki/server/attestd.key" --client-ca="$pki/ca.crt" --data-dir="$work/fp/data-tls" \
  --ready-file="$work/fp/ready-tls" --log-level=warn 2>>"$work/fp/attestd-tls.log" &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$work/fp/ready-tls" ] && break; sleep 0.1; done
"$dir/agents/linux/attest-agent" --daemon="127.0.0.1:$tls_port" --ca="$pki/ca.crt" \
  --tls-cert="$pki/agents/footprint-tls.crt" --tls-key="$pki/agents/footprint-tls.key" \
  --host-id=footprint-tls --spool-dir="$work/fp/spool-tls" --checks-dir="$work/fp/checks" \
  --log-level=warn --service=ssh.service --service=auditd.service 2>>"$work/fp/agent-tls.log" &
agent_tls=$!; pids+=($agent_tls)
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' "$pki/server/attestd.crt" \
  "$pki/server/attestd.key" >"$work/fp/ne-web.yml"
ne_tls_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_tls_port" \
  --web.config.file="$work/fp/ne-web.yml" 2>>"$work/fp/ne-tls.log" &
ne_tls=$!; pids+=($ne_tls)

sleep 30  # warm-up: the agent's first patch/access runs are not steady state
hz=$(getconf CLK_TCK)
a0=$(cpu_ticks $agent); n0=$(cpu_ticks $ne); t0=$(date +%s.%N)
end=$(( $(date +%s) + secs ))
while [ "$(date +%s)" -lt "$end" ]; do
  curl -s "http://127.0.0.1:$ne_port/metrics" >/dev/null || true
  curl -s --cacert "$pki/ca.crt" "https://127.0.0.1:$ne_tls_port/metrics" >/dev/null || true
  sleep 15
done
a1=$(cpu_ticks $agent); n1=$(cpu_ticks $ne); t1=$(date +%s.%N)
agent_rss=$(rss_kib $agent); ne_rss=$(rss_kib $ne)
agent_uss=$(uss_kib $agent); ne_uss=$(uss_kib $ne)
agent_tls_rss=$(rss_kib $agent_tls); ne_tls_rss=$(rss_kib $ne_tls)
# The TLS agent must really be delivering, or its figure means nothing.
tls_records=$("$dir/ctl/attestctl" --daemon="127.0.0.1:$tls_port" --ca="$pki/ca.crt" \
  --tls-cert="$pki/admins/bench.crt" --tls-key="$pki/admins/bench.key" \
  hosts --format=json 2>/dev/null |
  python3 -c 'import json,sys; print(sum(h["records"] for h in json.load(sys.stdin)))' || echo 0)
agent_cpu=$(awk -v d=$((a1 - a0)) -v hz=$hz -v t0=$t0 -v t1=$t1 'BEGIN { printf "%.3f", 100 * d / hz / (t1 - t0) }')
ne_cpu=$(awk -v d=$((n1 - n0)) -v hz=$hz -v t0=$t0 -v t1=$t1 'BEGIN { printf "%.3f", 100 * d / hz / (t1 - t0) }')
row "agent RSS MiB (vs node_exporter)" "$(awk -v k=$agent_rss 'BEGIN{printf "%.1f", k/1024}')" \
  "$(awk -v k=$ne_rss 'BEGIN{printf "%.1f", k/1024}')" "$(ratio "$agent_rss" "$ne_rss")" "<= 1.0; seed aim 0.6"
row "  USS MiB: private pages only" "$(awk -v k=$agent_uss 'BEGIN{printf "%.1f", k/1024}')" \
  "$(awk -v k=$ne_uss 'BEGIN{printf "%.1f", k/1024}')" "$(ratio "$agent_uss" "$ne_uss")" \
  "(RSS less shared libraries)"
row "  over TLS: agent mTLS vs node_exporter HTTPS" \
  "$(awk -v k=$agent_tls_rss 'BEGIN{printf "%.1f", k/1024}')" \
  "$(awk -v k=$ne_tls_rss 'BEGIN{printf "%.1f", k/1024}')" "$(ratio "$agent_tls_rss" "$ne_tls_rss")" \
  "<= 1.0 ($tls_records records over mTLS)"
row "agent CPU % of a core, ${secs}s (vs node_exp.)" "$agent_cpu" "$ne_cpu" \
  "$(ratio "$agent_cpu" "$ne_cpu")" "<= 0.2 %"

# Burst: 1,000 users appear at once in a host tree the agent watches; time
# until attestd holds all 1,000 access changes. Baseline: the same number of
# signals sent straight to attestd by one simulated agent.
tree="$work/fp/tree"
mkdir -p "$tree/etc" "$tree/proc/sys/kernel"
cp tests/fixtures/debian12/etc/passwd tests/fixtures/debian12/etc/group "$tree/etc/"
"$dir/agents/linux/attest-agent" --daemon="$address" --insecure --host-id=burst --root="$tree" \
  --spool-dir="$work/fp/burst-spool" --checks-dir="$work/fp/checks" --disable=patch \
  --interval=access=1h --log-level=warn 2>>"$work/fp/burst.log" &
pids+=($!)
records() { "$dir/ctl/attestctl" --daemon="$address" hosts --format=json |
  python3 -c 'import json,sys; print(sum(h["records"] for h in json.load(sys.stdin) if h["host"]=="burst"))'; }
for _ in $(seq 1 300); do [ "$(records)" -ge 2 ] && break; sleep 0.1; done  # hello + snapshot
before=$(records)
start=$(date +%s.%N)
python3 -c "
import sys
lines = ''.join(f'burst{i}:x:{20000+i}:{20000+i}::/home/burst{i}:/bin/bash\n' for i in range(1000))
open('$tree/etc/passwd', 'a').write(lines)"
for _ in $(seq 1 600); do [ "$(records)" -ge $((before + 1000)) ] && break; sleep 0.05; done
burst_s=$(awk -v s=$start -v e=$(date +%s.%N) 'BEGIN { printf "%.2f", e - s }')
base=$("$dir/bench/attest-loadgen" --daemon="$address" --agents=1 --batch=1000 --batches=1 \
  --host-prefix=burst-base 2>/dev/null)
base_s=$(awk -v s="$(field seconds "$base")" 'BEGIN { printf "%.2f", s }')
row "1000 access changes delivered, s" "$burst_s" "$base_s" "$(ratio "$burst_s" "$base_s")" "<= 10 s"
