#!/usr/bin/python3
"""Any gRPC client calls a Scatter aggregate with the stubs its own generator makes.

Generates Python stubs from services/search/search.proto with protoc and grpc_python_plugin (our
scatter.fanout option is just an unknown-to-them custom option), starts 4 search-shard processes
and a search-aggregator on 127.0.0.1, calls search.Search/Query with the generated SearchStub, and
checks that its canonical hit lines are byte-identical to `search-client --format=lines` for the
same query, and that the scatter-legs trailer reaches a Python client; and that a 120-leg
answer still does, its per-leg entries cut to the trailer limit (failures kept, the rest counted),
and that --max-trailer-bytes gives all of them to a client that raised its own limit.

Run by ctest with /usr/bin/python3 (Debian's python3-grpcio and python3-protobuf); the binaries'
paths come from CMake. Ends with a PASS or FAIL line and exit status 0 or 1.
"""

import argparse
import ctypes
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
QUERIES = [("python parity", 10), ("h\u00e9llo w\u00f6rld", 3), ("defaults", 0)]
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child before exec: SIGKILL it if this test dies, so no server outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(argv):
    """Starts argv with stdout piped; returns (process, "HOST:PORT") once it prints its
    `listening on HOST:PORT` line, waiting at most READY_TIMEOUT_S."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, preexec_fn=die_with_parent)
    deadline = time.monotonic() + READY_TIMEOUT_S
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            p.wait()
            raise RuntimeError(f"{argv[0]}: no readiness line within {READY_TIMEOUT_S} s")
        ready, _, _ = select.select([p.stdout], [], [], left)
        if ready:
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


def generate_stubs(args, out):
    """protoc --python_out/--grpc_python_out for search.proto and the options it imports."""
    proto_dir = os.path.dirname(os.path.abspath(args.proto))
    includes = [f"-I{proto_dir}"] + [f"-I{d}" for d in args.proto_path]
    cmd = [args.protoc, *includes, f"--python_out={out}", f"--grpc_python_out={out}",
           f"--plugin=protoc-gen-grpc_python={args.grpc_plugin}",
           os.path.basename(args.proto), "scatter/options.proto"]
    subprocess.run(cmd, check=True, timeout=60)


def canonical_lines(resp):
    """The same lines search-client --format=lines prints."""
    return "".join(f"{i} {h.doc_id} {h.score:.6f} {h.shard} {h.title}\n"
                   for i, h in enumerate(resp.hits, start=1))


def check_wide_answer(search_pb2, search_pb2_grpc, grpc, addr, bad_addr):
    """A 120-leg answer reaches a client with gRPC's default metadata limit: OK, the failing
    leg's entry kept, the entries in leg order, the summary counting the ones left out.
    Returns None or what is wrong."""
    with grpc.insecure_channel(addr) as channel:
        stub = search_pb2_grpc.SearchStub(channel)
        try:
            resp, call = stub.Query.with_call(search_pb2.SearchRequest(query="wide", k=5),
                                              timeout=20)
        except grpc.RpcError as e:
            return f"120 legs: {e.code().name}: {e.details()}"
    md = call.trailing_metadata()
    summary = [v for k, v in md if k == "scatter-legs"]
    entries = [v for k, v in md if k == "scatter-leg"]
    if len(summary) != 1:
        return f"120 legs: scatter-legs trailers {summary!r}"
    fields = dict(f.split("=", 1) for f in summary[0].split())
    omitted = int(fields.get("omitted", "0"))
    want = {"total": "120", "ok": "119", "failed": "1", "cut": "0"}
    if any(fields.get(k) != v for k, v in want.items()) or omitted <= 0:
        return f"120 legs: summary {summary[0]!r}, want {want} and omitted > 0"
    if len(entries) != 120 - omitted:
        return f"120 legs: {len(entries)} scatter-leg entries, summary says {120 - omitted}"
    size = sum(len("scatter-leg") + len(v) + 32 for v in entries)
    if size > 6144:
        return f"120 legs: the entries weigh {size} bytes, over the 6 KiB default"
    index = [int(dict(f.split("=", 1) for f in v.split())["index"]) for v in entries]
    if index != sorted(index):
        return f"120 legs: entries out of leg order: {index}"
    failed = [v for v in entries if f"target={bad_addr} " in v]
    if index[-1] != 119 or len(failed) != 1 or "status=OK" in failed[0]:
        return f"120 legs: the failing leg's entry is missing: {failed!r}"
    if (resp.shards_total, resp.shards_ok, resp.shards_failed, len(resp.hits)) != (120, 119, 1, 5):
        return f"120 legs: header {resp.shards_total} {resp.shards_ok} {resp.shards_failed}, " \
               f"{len(resp.hits)} hits"
    print(f"ok: 120 legs: {len(entries)} entries ({size} bytes), omitted={omitted}, the failed "
          f"leg's kept")
    return None


def check_full_answer(search_pb2, search_pb2_grpc, grpc, addr):
    """--max-trailer-bytes past the 120 entries' weight: all of them, no omitted count."""
    options = [("grpc.max_metadata_size", 1 << 20)]
    with grpc.insecure_channel(addr, options=options) as channel:
        stub = search_pb2_grpc.SearchStub(channel)
        try:
            _, call = stub.Query.with_call(search_pb2.SearchRequest(query="wide", k=5),
                                           timeout=20)
        except grpc.RpcError as e:
            return f"120 legs, raised limit: {e.code().name}: {e.details()}"
    md = call.trailing_metadata()
    summary = [v for k, v in md if k == "scatter-legs"]
    entries = [v for k, v in md if k == "scatter-leg"]
    if summary != ["total=120 ok=119 failed=1 cut=0"] or len(entries) != 120:
        return f"120 legs, raised limit: summary {summary!r}, {len(entries)} entries"
    print("ok: 120 legs with --max-trailer-bytes 1048576: all 120 entries")
    return None


def run(args, tmp):
    generate_stubs(args, tmp)
    sys.path.insert(0, tmp)
    import grpc  # noqa: E402 (after the stubs exist)
    import search_pb2
    import search_pb2_grpc

    procs = []
    try:
        shards = []
        for i, latency in enumerate([0, 10, 20, 30]):
            p, addr = start([args.shard, "--shard-id", str(i), "--latency-ms", str(latency)])
            procs.append(p)
            shards.append(addr)
        agg, agg_addr = start([args.aggregator, "--shards", ",".join(shards)])
        procs.append(agg)

        with grpc.insecure_channel(agg_addr) as channel:
            stub = search_pb2_grpc.SearchStub(channel)
            for query, k in QUERIES:
                resp, call = stub.Query.with_call(search_pb2.SearchRequest(query=query, k=k),
                                                  timeout=10)
                py = canonical_lines(resp)
                c = subprocess.run([args.client, "--target", agg_addr, "--query", query,
                                    "--k", str(k), "--format=lines"],
                                   capture_output=True, timeout=30, check=True).stdout.decode()
                want_hits = k if k else 10
                if len(resp.hits) != want_hits:
                    return f"{query!r} k={k}: {len(resp.hits)} hits, want {want_hits}"
                if py != c:
                    return (f"{query!r} k={k}: Python and search-client differ\n"
                            f"--- python\n{py}--- search-client\n{c}")
                trailers = dict(call.trailing_metadata())
                if trailers.get("scatter-legs") != "total=4 ok=4 failed=0 cut=0":
                    return f"{query!r}: scatter-legs trailer {trailers.get('scatter-legs')!r}"
                if (resp.shards_total, resp.shards_ok, resp.shards_failed) != (4, 4, 0):
                    return f"{query!r}: shard header {resp.shards_total} {resp.shards_ok} " \
                           f"{resp.shards_failed}"
                print(f"ok: {query!r} k={k}: {len(resp.hits)} identical hit lines")
                sys.stdout.write(py)

        # 120 legs (the four shards 30 times over, the last leg a failing shard): one
        # scatter-leg entry each would pass gRPC's default 8 KiB metadata limit and the client
        # would drop the whole answer. The aggregator keeps the failure's entry and counts
        # the legs it left out.
        bad, bad_addr = start([args.shard, "--shard-id", "9", "--fail"])
        procs.append(bad)
        wide, wide_addr = start([args.aggregator,
                                 "--shards", ",".join((shards * 30)[:-1] + [bad_addr])])
        procs.append(wide)
        failure = check_wide_answer(search_pb2, search_pb2_grpc, grpc, wide_addr, bad_addr)
        if failure:
            return failure
        # A client that raises its own limit, and an aggregator told to match: every entry.
        full, full_addr = start([args.aggregator, "--max-trailer-bytes", "1048576",
                                 "--shards", ",".join((shards * 30)[:-1] + [bad_addr])])
        procs.append(full)
        failure = check_full_answer(search_pb2, search_pb2_grpc, grpc, full_addr)
        if failure:
            return failure
    finally:
        bad = [(p.args[0], rc) for p in procs if (rc := stop(p)) != 0]
    if bad:
        return f"processes did not exit 0 on SIGTERM: {bad}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shard", required=True)
    ap.add_argument("--aggregator", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--proto", required=True)
    ap.add_argument("--proto-path", action="append", default=[])
    ap.add_argument("--protoc", default="/usr/bin/protoc")
    ap.add_argument("--grpc-plugin", default="/usr/bin/grpc_python_plugin")
    args = ap.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="scatter-py-") as tmp:
            failure = run(args, tmp)
    except Exception as e:  # report any error as a FAIL line, not just a traceback
        failure = f"{type(e).__name__}: {e}"
    if failure:
        print(f"FAIL: python_client_test: {failure}")
        return 1
    print(f"PASS: python_client_test: {len(QUERIES)} queries, Python stubs match search-client")
    return 0


if __name__ == "__main__":
    sys.exit(main())
