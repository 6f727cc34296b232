#!/usr/bin/python3
"""Smoke test of scatter-bench (ctest label `bench`): one tiny scenario runs end to end.

Checks that the run exits 0, prints exactly one JSON line that parses, with the fields the
README documents, no errors, and that it left no process behind (no server, no fan-out floor
child). Asserts nothing about timing: the machine may be busy with other builds.

    smoke_test.py BENCH [--scenario cpu10] [--duration-s 0.3] [--count-allocs] [--floor]

With --count-allocs it also checks that the allocation-counting shim loaded and counted; with
--floor (a table-* scenario) that both floors were measured, without errors.
"""
import argparse
import json
import os
import secrets
import subprocess
import sys

FIELDS = ["scenario", "qps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors",
          "partial", "calls", "agg_cpu_us_per_call", "legs", "agg_cpu_cores", "load_core_busy"]
# Table scenarios: the fan-out floor (a child scatter-bench) and the single-shard floor.
FLOOR_FIELDS = ["floor_p50_us", "floor_p99_us", "floor_calls", "floor_errors",
                "overhead_p50_us", "overhead_p99_us", "floor_single_p50_us",
                "floor_single_p99_us", "floor_single_calls", "floor_single_errors",
                "overhead_single_p50_us", "overhead_single_p99_us"]
# Set in the bench's environment, which every process it starts inherits: a process still
# carrying it after the run was left behind, even if it was reparented away from the bench.
TOKEN_VAR = "SCATTER_BENCH_SMOKE_TOKEN"


def children_of(pid):
    """Pids whose parent is pid (from /proc), to prove the bench reaped its servers."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def carrying(token):
    """Pids other than ours whose environment holds TOKEN_VAR=token."""
    needle = f"{TOKEN_VAR}={token}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    out.append(int(d))
        except OSError:
            continue
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("--scenario", default="cpu10")
    ap.add_argument("--duration-s", default="0.3")
    ap.add_argument("--count-allocs", action="store_true")
    ap.add_argument("--floor", action="store_true")
    a = ap.parse_args()
    cmd = [a.bench, "--scenario", a.scenario, "--warmup-s", "0.1",
           "--duration-s", a.duration_s] + (["--count-allocs"] if a.count_allocs else [])
    token = secrets.token_hex(8)
    env = dict(os.environ, **{TOKEN_VAR: token})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=env)
    sys.stderr.write(p.stderr)
    print(p.stdout, end="")
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}")
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if len(lines) != 1:
        sys.exit(f"FAIL: expected one JSON line, got {len(lines)}")
    r = json.loads(lines[0])
    missing = [f for f in FIELDS if f not in r]
    if missing:
        sys.exit(f"FAIL: fields missing: {missing}")
    if r["scenario"] != a.scenario:
        sys.exit(f"FAIL: scenario {r['scenario']!r}")
    if r["errors"] != 0:
        sys.exit(f"FAIL: {r['errors']} errors: {r.get('first_error_message')}")
    if r["calls"] <= 0:
        sys.exit("FAIL: no calls measured")
    # Which core limits the throughput: shares of a core (null only when not pinned).
    busy = r["load_core_busy"]
    if busy is not None and not 0.0 <= busy <= 1.0:
        sys.exit(f"FAIL: load_core_busy {busy} is not a share")
    if not isinstance(r["agg_cpu_cores"], (int, float)) or r["agg_cpu_cores"] <= 0:
        sys.exit(f"FAIL: agg_cpu_cores {r['agg_cpu_cores']!r}")
    if a.count_allocs and not r.get("agg_allocs_per_call", 0) > 0:
        sys.exit(f"FAIL: no allocations counted: {r.get('agg_allocs_per_call')}")
    if a.floor:
        bad = [f for f in FLOOR_FIELDS if not isinstance(r.get(f), (int, float))]
        if bad:
            sys.exit(f"FAIL: floor fields missing or not numbers: {bad}")
        if r["floor_errors"] != 0 or r["floor_single_errors"] != 0:
            sys.exit(f"FAIL: floor errors: fan-out {r['floor_errors']}, single-shard "
                     f"{r['floor_single_errors']}")
        if r["floor_calls"] <= 0 or r["floor_single_calls"] <= 0:
            sys.exit("FAIL: a floor measured no calls")
    left = children_of(os.getpid()) + carrying(token)
    if left:
        sys.exit(f"FAIL: processes left behind: {sorted(set(left))}")
    print("ok")


if __name__ == "__main__":
    main()
