#!/usr/bin/python3
"""grpc.health.v1 from Python's grpcio, with the HealthStub its own generator makes.

Debian's python3-grpcio has no grpc_health package, so the stubs are generated at run time from
proto/grpc/health/v1/health.proto (the same file libscatter serves with nanopb) with protoc and
grpc_python_plugin. Starts 2 search-shard processes and a search-aggregator from a config file,
then: Check("") and Check("search.Search") are SERVING, Check("no.Such") is NOT_FOUND; Watch("")
says SERVING, Watch("no.Such") says SERVICE_UNKNOWN; on SIGTERM both streams change and end: the
first says NOT_SERVING and ends OK, and the aggregator exits 0.

Run by ctest with /usr/bin/python3. Ends with a PASS or FAIL line and exit status 0 or 1.
"""

import argparse
import ctypes
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
WAIT_S = 10.0
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child before exec: SIGKILL it if this test dies, so no server outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


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
    """health_pb2 and health_pb2_grpc at out's top level: under grpc/health/v1/ they would hide
    behind the installed grpc package. The proto's package (grpc.health.v1) is unchanged."""
    with open(os.path.join(args.proto_dir, "grpc/health/v1/health.proto")) as src:
        text = src.read()
    with open(os.path.join(out, "health.proto"), "w") as dst:
        dst.write(text)
    cmd = [args.protoc, f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}",
           f"--plugin=protoc-gen-grpc_python={args.grpc_plugin}", "health.proto"]
    subprocess.run(cmd, check=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def follow(stream, q):
    """Puts every message of a Watch stream on q, then ("end", status code)."""
    import grpc
    try:
        for msg in stream:
            q.put(("msg", msg.status))
        q.put(("end", grpc.StatusCode.OK))
    except grpc.RpcError as e:
        q.put(("end", e.code()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shard", required=True)
    ap.add_argument("--aggregator", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--protoc", default="protoc")
    ap.add_argument("--grpc-plugin", default="/usr/bin/grpc_python_plugin")
    args = ap.parse_args()

    procs = []
    try:
        import grpc
        with tempfile.TemporaryDirectory() as tmp:
            generate_stubs(args, tmp)
            sys.path.insert(0, tmp)
            import health_pb2 as pb  # noqa: E402 (generated above)
            import health_pb2_grpc as pbg  # noqa: E402
            serving = pb.HealthCheckResponse

            shards = []
            for i in range(2):
                p, addr = start([args.shard, "--shard-id", str(i)])
                procs.append(p)
                shards.append(addr)
            cfg = os.path.join(tmp, "agg.yaml")
            with open(cfg, "w") as f:
                f.write("listen: 127.0.0.1:0\nthreads: 2\ndrain: {grace_ms: 3000}\n"
                        "groups:\n  shards:\n    targets: [%s]\n" % ", ".join(shards))
            agg, addr = start([args.aggregator, "--config", cfg])
            procs.append(agg)

            channel = grpc.insecure_channel(addr)
            stub = pbg.HealthStub(channel)
            r = stub.Check(pb.HealthCheckRequest(service=""), timeout=5)
            check(r.status == serving.SERVING, f"Check(\"\"): {r.status}")
            r = stub.Check(pb.HealthCheckRequest(service="search.Search"), timeout=5)
            check(r.status == serving.SERVING, f"Check(search.Search): {r.status}")
            try:
                stub.Check(pb.HealthCheckRequest(service="no.Such"), timeout=5)
                check(False, "Check(no.Such) answered")
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.NOT_FOUND, f"Check(no.Such): {e.code()}")

            watches = []
            for service in ("", "no.Such"):
                q = queue.Queue()
                stream = stub.Watch(pb.HealthCheckRequest(service=service), timeout=60)
                threading.Thread(target=follow, args=(stream, q), daemon=True).start()
                watches.append(q)
            check(watches[0].get(timeout=WAIT_S) == ("msg", serving.SERVING), "Watch(\"\") first")
            check(watches[1].get(timeout=WAIT_S) == ("msg", serving.SERVICE_UNKNOWN),
                  "Watch(no.Such) first")

            agg.send_signal(signal.SIGTERM)
            got = watches[0].get(timeout=WAIT_S)
            check(got == ("msg", serving.NOT_SERVING), f"Watch(\"\") after SIGTERM: {got}")
            got = watches[0].get(timeout=WAIT_S)
            check(got == ("end", grpc.StatusCode.OK), f"Watch(\"\") end: {got}")
            got = watches[1].get(timeout=WAIT_S)
            check(got[0] == "end", f"Watch(no.Such) end: {got}")
            channel.close()
            rc = agg.wait(timeout=WAIT_S)
            check(rc == 0, f"search-aggregator exited {rc}")
            for p in procs:
                check(stop(p) == 0, f"{p.args[0]} did not exit 0")
        print("PASS: grpc.health.v1 Check and Watch from Python")
        return 0
    except Exception as e:  # noqa: BLE001 (report any failure as FAIL)
        print(f"FAIL: health_test: {type(e).__name__}: {e}")
        return 1
    finally:
        for p in procs:
            stop(p)


if __name__ == "__main__":
    sys.exit(main())
