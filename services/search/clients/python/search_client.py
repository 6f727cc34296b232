#!/usr/bin/python3
"""search_client.py: calls search.Search/Query on a Scatter aggregator from Python.

    search_client.py --target HOST:PORT --query "some words" [--k K] [--timeout-ms MS]
                     [--proto search.proto] [--proto-path DIR]... [--protoc protoc]
                     [--grpc-plugin grpc_python_plugin]

Prints the merged hits, one per line as `rank doc_id score shard title` (score as %.6f: the same
lines as `search-client --format=lines`), then every `scatter-*` trailer the aggregator sent, raw,
as `key: value`, in the order received. Exits 1 with the status on stderr when the call fails.

Stubs are generated at run time with protoc and grpc_python_plugin into a temporary directory:
search.proto imports scatter/options.proto, a custom option Python's generator simply carries.
The defaults fit this source tree on Debian (python3-grpcio, protobuf-compiler,
protobuf-compiler-grpc); with an installed Scatter, pass
--proto-path "$(pkg-config --variable=protodir scatter)".
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH_DIR = os.path.dirname(os.path.dirname(HERE))  # services/search
REPO_PROTO_DIR = os.path.join(os.path.dirname(os.path.dirname(SEARCH_DIR)), "proto")


def generate_stubs(args, out):
    """search_pb2, search_pb2_grpc and scatter/options_pb2 (search_pb2 imports it) into out."""
    proto = os.path.abspath(args.proto)
    includes = [f"-I{os.path.dirname(proto)}"] + [f"-I{d}" for d in args.proto_path]
    cmd = [args.protoc, *includes, f"--python_out={out}", f"--grpc_python_out={out}",
           f"--plugin=protoc-gen-grpc_python={args.grpc_plugin}",
           os.path.basename(proto), "scatter/options.proto"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"search_client.py: protoc failed: {' '.join(cmd)}\n{r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="the aggregator, HOST:PORT")
    ap.add_argument("--query", required=True)
    ap.add_argument("--k", type=int, default=0, help="hits wanted; 0: the method's default")
    ap.add_argument("--timeout-ms", type=int, default=10000)
    ap.add_argument("--proto", default=os.path.join(SEARCH_DIR, "search.proto"))
    ap.add_argument("--proto-path", action="append", default=None,
                    help="protoc -I for scatter/options.proto and descriptor.proto (repeatable)")
    ap.add_argument("--protoc", default="/usr/bin/protoc")
    ap.add_argument("--grpc-plugin", default="/usr/bin/grpc_python_plugin")
    args = ap.parse_args()
    if args.proto_path is None:
        args.proto_path = [REPO_PROTO_DIR, "/usr/include"]

    with tempfile.TemporaryDirectory(prefix="scatter-search-py-") as tmp:
        generate_stubs(args, tmp)
        sys.path.insert(0, tmp)
        import grpc  # noqa: E402 (after the stubs exist)
        import search_pb2
        import search_pb2_grpc

        with grpc.insecure_channel(args.target) as channel:
            stub = search_pb2_grpc.SearchStub(channel)
            try:
                resp, call = stub.Query.with_call(
                    search_pb2.SearchRequest(query=args.query, k=args.k),
                    timeout=args.timeout_ms / 1000)
            except grpc.RpcError as e:
                print(f"status {e.code().name}: {e.details()}", file=sys.stderr)
                for key, value in e.trailing_metadata() or ():
                    if key.startswith("scatter-"):
                        print(f"{key}: {value}", file=sys.stderr)
                return 1
    out = [f"{i} {h.doc_id} {h.score:.6f} {h.shard} {h.title}\n"
           for i, h in enumerate(resp.hits, start=1)]
    # Printed raw: the trailers' fields may grow, and a client should not need to know them.
    out += [f"{key}: {value}\n" for key, value in call.trailing_metadata()
            if key.startswith("scatter-")]
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
