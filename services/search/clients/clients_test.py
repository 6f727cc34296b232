#!/usr/bin/python3
"""The search clients in other languages, against real processes.

    clients_test.py --client python|node --shard BIN --aggregator BIN --search-client BIN
                    [--proto-path DIR]... [--node NODE]

Starts 4 search-shard processes and a search-aggregator on 127.0.0.1, runs
services/search/clients/<client>/search_client.* for a few queries and checks that its hit lines
are byte-identical to `search-client --format=lines` for the same query, and that it printed the
scatter-legs trailer (exactly "total=4 ok=4 failed=0 cut=0") and scatter-leg trailers (printed
raw, not parsed: their fields may grow). Every server must exit 0 on SIGTERM.

Run by ctest (label e2e) with /usr/bin/python3. The Node.js client needs node and `npm ci` in
clients/node (tools/deps runs it): without them this test fails and says so. Ends with a PASS or
FAIL line and exit status 0 or 1.
"""

import argparse
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 60.0
QUERIES = [("client parity", 10), ("h\u00e9llo w\u00f6rld", 3), ("defaults", 0)]
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child before exec: SIGKILL it if this test dies, so no server outlives it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(argv):
    """Starts argv; returns (process, "HOST:PORT") once it prints `listening on HOST:PORT`."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, preexec_fn=die_with_parent)
    deadline = time.monotonic() + READY_TIMEOUT_S
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            p.wait()
            raise RuntimeError(f"{argv[0]}: no readiness line within {READY_TIMEOUT_S} s")
        if select.select([p.stdout], [], [], left)[0]:
            chunk = os.read(p.stdout.fileno(), 512)
            if not chunk:
                p.wait()
                raise RuntimeError(f"{argv[0]}: exited ({p.returncode}) before it was ready")
            buf += chunk
    line = buf.split(b"\n", 1)[0].decode()
    if not line.startswith("listening on "):
        p.kill()
        p.wait()
        raise RuntimeError(f"{argv[0]}: unexpected first line: {line!r}")
    return p, line[len("listening on "):]


def stop(p):
    """SIGTERM, a bounded wait, then SIGKILL. Returns the exit status (negative: a signal)."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def client_argv(args):
    """The client's command without its per-call flags; raises with a clear reason when the
    language's runtime or dependencies are missing."""
    paths = [a for d in args.proto_path for a in ("--proto-path", d)]
    if args.client == "python":
        return [sys.executable, os.path.join(HERE, "python", "search_client.py"), *paths]
    node = shutil.which(args.node)
    if not node:
        raise RuntimeError(f"Node.js ({args.node}) is not installed: run tools/deps")
    if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "@grpc", "grpc-js")):
        raise RuntimeError(f"@grpc/grpc-js is missing: run tools/deps (npm ci in {HERE}/node)")
    return [node, os.path.join(HERE, "node", "search_client.js"), *paths]


def check(query, k, out, want):
    """None if the client's output out has search-client's hit lines want and the trailers."""
    lines = out.splitlines(keepends=True)
    hits = "".join(ln for ln in lines if not ln.startswith("scatter-"))
    want_n = k if k else 10
    if hits != want:
        return f"{query!r} k={k}: the client and search-client differ\n--- client\n{hits}" \
               f"--- search-client\n{want}"
    if hits.count("\n") != want_n:
        return f"{query!r} k={k}: {hits.count(chr(10))} hits, want {want_n}"
    summary = [ln for ln in lines if ln.startswith("scatter-legs: ")]
    if len(summary) != 1 or summary[0].split()[1:] != ["total=4", "ok=4", "failed=0", "cut=0"]:
        return f"{query!r}: want one scatter-legs trailer total=4 ok=4 failed=0 cut=0:\n{out}"
    if not any(ln.startswith("scatter-leg: ") for ln in lines):
        return f"{query!r}: no scatter-leg trailer:\n{out}"
    return None


def run(args):
    client = client_argv(args)
    procs = []
    try:
        shards = []
        for i, latency in enumerate([0, 10, 20, 30]):
            p, addr = start([args.shard, "--shard-id", str(i), "--latency-ms", str(latency)])
            procs.append(p)
            shards.append(addr)
        agg, agg_addr = start([args.aggregator, "--shards", ",".join(shards)])
        procs.append(agg)

        for query, k in QUERIES:
            flags = ["--target", agg_addr, "--query", query, "--k", str(k)]
            want = subprocess.run([args.search_client, *flags, "--format=lines"],
                                  capture_output=True, timeout=CALL_TIMEOUT_S,
                                  check=True).stdout.decode()
            r = subprocess.run([*client, *flags], capture_output=True, timeout=CALL_TIMEOUT_S)
            out = r.stdout.decode()
            if r.returncode != 0:
                return f"{query!r}: {args.client} client exited {r.returncode}:\n" \
                       f"{out}{r.stderr.decode()}"
            failure = check(query, k, out, want)
            if failure:
                return failure
            print(f"ok: {query!r} k={k}: {args.client} client output:")
            sys.stdout.write("".join(f"  {ln}" for ln in out.splitlines(keepends=True)))
    finally:
        bad = [(p.args[0], rc) for p in procs if (rc := stop(p)) != 0]
    if bad:
        return f"processes did not exit 0 on SIGTERM: {bad}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client", choices=["python", "node"], required=True)
    ap.add_argument("--shard", required=True)
    ap.add_argument("--aggregator", required=True)
    ap.add_argument("--search-client", required=True)
    ap.add_argument("--proto-path", action="append", default=[])
    ap.add_argument("--node", default="node")
    args = ap.parse_args()
    name = f"{args.client}_search_client_test"
    try:
        failure = run(args)
    except Exception as e:  # report any error as a FAIL line, not just a traceback
        failure = f"{type(e).__name__}: {e}"
    if failure:
        print(f"FAIL: {name}: {failure}")
        return 1
    print(f"PASS: {name}: {len(QUERIES)} queries, hits match search-client, trailers printed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
