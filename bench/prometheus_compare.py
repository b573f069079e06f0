#!/usr/bin/env python3
"""Helper for bench/prometheus_compare.sh (standard library only).

Sub-commands:
  gen    INPUT.json OUT.om META.json [--step N]
         Sample each host/control series every step seconds over [start, end)
         and write it as OpenMetrics text for `promtool tsdb
         create-blocks-from openmetrics`. META.json records what was written
         (series, samples, PASS/total sample counts per control) so the
         Prometheus answer can be checked against it.
  port   print a free TCP port on 127.0.0.1.
  wait   --url URL --pid PID --since T0 [--timeout S] [--log FILE]
         poll URL/-/ready until it answers 200; fail if PID exits first.
         Prints the seconds elapsed since T0 (the launch time).
  query  --url URL --meta META.json --input INPUT.json [--runs 5]
         [--backfill S] [--startup S]
         run the fleet-effectiveness query (1 warm-up + RUNS timed runs),
         check the answer, and print the report.

Sampling model (what a 0/1 exporter scraped every `step` seconds would give):
sample times are t = start + i*step for t < end; the value is 1 if the
interval covering t is PASS, 0 if FAIL, and there is no sample at all if it
is NO_EVIDENCE or EXCEPTED or if no interval covers t.
"""

import argparse
import json
import math
import os
import socket
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

METRIC = "attest_control_pass"
VALUE = {"PASS": 1, "FAIL": 0, "NO_EVIDENCE": None, "EXCEPTED": None}


class BenchError(Exception):
    pass


def die(msg):
    print(f"prometheus_compare: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_input(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise BenchError(f"cannot read input {path}: {e}")
    if not isinstance(doc, dict):
        raise BenchError("input must be a JSON object")
    for k in ("start", "end", "series"):
        if k not in doc:
            raise BenchError(f"input lacks '{k}'")
    if not isinstance(doc["series"], list):
        raise BenchError("'series' must be a list")
    if not doc["end"] > doc["start"]:
        raise BenchError("'end' must be after 'start'")
    return doc


def num_str(x):
    """Seconds as OpenMetrics wants them: an integer if whole, else ms."""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.3f}"


def escape_label(v):
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def range_selector(start, end):
    """The range [end - start] in Prometheus duration syntax."""
    width = end - start
    if float(width).is_integer():
        return f"{int(width)}s"
    return f"{int(round(width * 1000))}ms"


# ---------------------------------------------------------------- gen

def cmd_gen(args):
    doc = load_input(args.input)
    start, end = doc["start"], doc["end"]
    step = args.step if args.step is not None else doc.get("step_seconds", 900)
    if not (isinstance(step, (int, float)) and step > 0):
        raise BenchError(f"bad step {step!r}")
    if float(start).is_integer() and float(step).is_integer():
        start, step = int(start), int(step)
    n = math.ceil((end - start) / step)          # samples t_i = start+i*step < end
    while n > 0 and start + (n - 1) * step >= end:   # float safety
        n -= 1
    # Every series shares the same sample times, so format them once; each
    # run of equal values is then one C-level str.join over a slice.
    ts = [num_str(start + i * step) for i in range(n)]

    per_control = {}                              # control -> [pass, total]
    seen = set()
    n_series = n_samples = 0
    t0 = time.perf_counter()
    with open(args.out, "w", encoding="utf-8", buffering=1 << 22) as out:
        out.write(f"# HELP {METRIC} 1 if the control passed at the sample time.\n")
        out.write(f"# TYPE {METRIC} gauge\n")
        for idx, s in enumerate(doc["series"]):
            try:
                host, control, intervals = s["host"], s["control"], s["intervals"]
            except (KeyError, TypeError):
                raise BenchError(f"series #{idx} needs host, control, intervals")
            host, control = str(host), str(control)
            key = (host, control)
            if key in seen:
                raise BenchError(f"duplicate series host={host} control={control}")
            seen.add(key)
            lab = f'{METRIC}{{host="{escape_label(host)}",control="{escape_label(control)}"}} '
            pre = {1: lab + "1 ", 0: lab + "0 "}
            sep = {1: "\n" + pre[1], 0: "\n" + pre[0]}
            counts = per_control.setdefault(control, [0, 0])
            prev_b = None
            chunks = []
            written = 0
            for iv in intervals:
                try:
                    a, b, status = iv
                except (TypeError, ValueError):
                    raise BenchError(f"series {host}/{control}: bad interval {iv!r}")
                if status not in VALUE:
                    raise BenchError(f"series {host}/{control}: unknown status {status!r}")
                if b < a or (prev_b is not None and a < prev_b):
                    raise BenchError(f"series {host}/{control}: intervals must be sorted, "
                                     f"non-overlapping, half-open (at {iv!r})")
                prev_b = b
                v = VALUE[status]
                if v is None:
                    continue
                # sample i is covered iff a <= start + i*step < b
                i0 = max(0, math.ceil((a - start) / step))
                i1 = min(n, math.ceil((b - start) / step))
                if i1 <= i0:
                    continue
                chunks.append(pre[v] + sep[v].join(ts[i0:i1]) + "\n")
                k = i1 - i0
                written += k
                counts[1] += k
                if v:
                    counts[0] += k
            if written:
                out.write("".join(chunks))
                n_series += 1
                n_samples += written
        out.write("# EOF\n")
    gen_s = time.perf_counter() - t0
    meta = {"start": doc["start"], "end": doc["end"], "step": step, "points": n,
            "series": n_series, "samples": n_samples, "gen_seconds": gen_s,
            "per_control": per_control}
    with open(args.meta, "w", encoding="utf-8") as f:
        json.dump(meta, f)
    size = os.path.getsize(args.out)
    print(f"openmetrics: series={n_series} samples={n_samples} step={step}s "
          f"size={size / 1e6:.1f}MB generated in {gen_s:.1f}s")
    if n_samples == 0:
        raise BenchError("no PASS/FAIL samples in the window: nothing to query")


# ---------------------------------------------------------------- port

def cmd_port(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


# ---------------------------------------------------------------- wait

def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "r") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def tail(path, n=20):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    url = args.url.rstrip("/") + "/-/ready"
    while True:
        if not pid_alive(args.pid):
            raise BenchError(f"prometheus (pid {args.pid}) exited before it was ready; "
                             f"log tail:\n{tail(args.log) if args.log else ''}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    print(f"{time.time() - args.since:.3f}")
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"prometheus not ready after {args.timeout:.0f}s; "
                             f"log tail:\n{tail(args.log) if args.log else ''}")
        time.sleep(0.2)


# ---------------------------------------------------------------- query

def prom_query(base, expr, at):
    qs = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    url = f"{base.rstrip('/')}/api/v1/query?{qs}"
    try:
        with urllib.request.urlopen(url, timeout=900) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        raise BenchError(f"query failed: HTTP {e.code}: {e.read()[:500]!r}")
    except (urllib.error.URLError, OSError) as e:
        raise BenchError(f"query failed: {e}")
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise BenchError(f"query failed: {doc.get('errorType')}: {doc.get('error')}")
    data = doc["data"]
    if data.get("resultType") != "vector":
        raise BenchError(f"unexpected result type {data.get('resultType')}")
    return data["result"]


def cmd_query(args):
    with open(args.meta, "r", encoding="utf-8") as f:
        meta = json.load(f)
    start, end = meta["start"], meta["end"]
    rng = range_selector(start, end)
    # Boundaries. The samples lie at start, start+step, ... < end. Prometheus
    # 2.x selects a range [t-range, t] closed at both ends; 3.x selects
    # (t-range, t], open on the left. Evaluating at t = end - 1ms with
    # range = end - start selects [start-1ms, end-1ms] (2.x) or
    # (start-1ms, end-1ms] (3.x): in both cases exactly the half-open window
    # [start, end) at Prometheus' millisecond resolution, so the sample at
    # `start` is counted and one at `end` (there is none) would not be.
    at = end - 0.001
    expr = (f"sum by (control) (sum_over_time({METRIC}[{rng}])) / "
            f"sum by (control) (count_over_time({METRIC}[{rng}]))")

    prom_query(args.url, expr, at)  # warm-up
    times, result = [], None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        res = prom_query(args.url, expr, at)
        times.append(time.perf_counter() - t0)
        got = {r["metric"].get("control"): float(r["value"][1]) for r in res}
        if len(got) != len(res):
            raise BenchError(f"result has duplicate or unlabeled controls: {res!r}")
        if result is not None and got != result:
            raise BenchError("query answers differ between runs")
        result = got
    median = statistics.median(times)

    # Checks: one value per control that has samples, and each value equals
    # PASS samples / all samples as generated (proves the range boundaries
    # above cover exactly the generated samples).
    expected = {c: p / t for c, (p, t) in meta["per_control"].items() if t > 0}
    if set(result) != set(expected):
        raise BenchError(f"controls in answer {sorted(result)} != expected {sorted(expected)}")
    for c, v in expected.items():
        if abs(result[c] - v) > 1e-9:
            raise BenchError(f"control {c}: prometheus {result[c]!r} != generated "
                             f"samples' {v!r} (range boundary or backfill problem)")
    total = prom_query(args.url, f"sum(count_over_time({METRIC}[{rng}]))", at)
    total_n = int(float(total[0]["value"][1])) if total else 0
    if total_n != meta["samples"]:
        raise BenchError(f"prometheus holds {total_n} samples in the window, "
                         f"{meta['samples']} were generated")

    print(f"prometheus: series={meta['series']} samples={meta['samples']} "
          f"step={meta['step']}s backfill={args.backfill:.1f}s startup={args.startup:.1f}s")
    print(f"prometheus: effectiveness query median {median:.3f} s over {args.runs} runs "
          f"(min {min(times):.3f} max {max(times):.3f}); query at end-1ms, range [{rng}]")
    print(f"prometheus: answer checked: {len(result)} controls, equal to the generated "
          f"samples' PASS fraction, all {total_n} samples in range")

    attest = load_input(args.input).get("attest") if args.input else None
    if not attest:
        return
    a_s = attest.get("seconds")
    a_eff = attest.get("effectiveness") or {}
    if isinstance(a_s, (int, float)):
        print(f"attest:     window summary {a_s:.4f} s")
        if a_s > 0:
            ratio = median / a_s
            print(f"ratio prometheus/attest: {ratio:.1f}x (target >= 20x)")
        else:
            print("ratio prometheus/attest: n/a (attest time is 0)")
    controls = sorted(set(a_eff) | set(result))
    w = max([len("control")] + [len(str(c)) for c in controls]) + 2
    print(f"{'control':<{w}}{'attest_exact':<14}{'prometheus_sampled':<20}abs_diff")
    for c in controls:
        a = a_eff.get(c)
        p = result.get(c)
        a_txt = f"{a:.6f}" if isinstance(a, (int, float)) else "-"
        p_txt = f"{p:.6f}" if p is not None else "-"
        d_txt = f"{abs(a - p):.6f}" if isinstance(a, (int, float)) and p is not None else "-"
        print(f"{str(c):<{w}}{a_txt:<14}{p_txt:<20}{d_txt}")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("input")
    g.add_argument("out")
    g.add_argument("meta")
    g.add_argument("--step", type=float)
    sub.add_parser("port")
    w = sub.add_parser("wait")
    w.add_argument("--url", required=True)
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--since", type=float, required=True)
    w.add_argument("--timeout", type=float, default=300)
    w.add_argument("--log")
    q = sub.add_parser("query")
    q.add_argument("--url", required=True)
    q.add_argument("--meta", required=True)
    q.add_argument("--input")
    q.add_argument("--runs", type=int, default=5)
    q.add_argument("--backfill", type=float, default=0.0)
    q.add_argument("--startup", type=float, default=0.0)
    args = ap.parse_args()
    if getattr(args, "step", None) is not None and float(args.step).is_integer():
        args.step = int(args.step)
    try:
        {"gen": cmd_gen, "port": cmd_port, "wait": cmd_wait, "query": cmd_query}[args.cmd](args)
    except BenchError as e:
        die(str(e))


if __name__ == "__main__":
    main()
