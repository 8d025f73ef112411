#!/usr/bin/env python3
"""SecretFlow's PSI (spu 0.9.5, libpsi) on two CSV files: the peer that `weinong bench psi`
compares itself with, as ECDH-PSI (curve 25519) or RR22 (--protocol RR22, SecretFlow's
fastest) or KKRT (--protocol KKRT).

Runs the two parties as two processes over brpc on loopback, receiver = party 0 (the
first file), and prints one JSON line:

    {"peer": "secretflow-spu", "version": "0.9.5", "protocol": "ECDH", "curve": "CURVE_25519",
     "seconds": 33.9, "intersection": 524288, "rows_a": 1048576, "rows_b": 1048576}

`seconds` is the wall time from starting both parties to both finishing (link set-up
included, interpreter start-up excluded). Install with scripts/spu-venv.sh, run with
.venv-spu/bin/python scripts/psi_secretflow_bench.py --a A.csv --b B.csv --column id.
"""

import argparse
import json
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def party(rank: int, ports, path: str, column: str, out_dir: str, curve: str, protocol: str, result_queue) -> None:
    from spu import libspu, psi

    desc = libspu.link.Desc()
    desc.id = "weinong-psi-bench"
    desc.recv_timeout_ms = 3600 * 1000
    desc.http_max_payload_size = 64 * 1024 * 1024
    desc.connect_retry_times = 120
    desc.connect_retry_interval_ms = 500
    for i, port in enumerate(ports):
        desc.add_party(f"party{i}", f"127.0.0.1:{port}")
    link = libspu.link.create_brpc(desc, rank)

    conf = dict(
        protocol=getattr(psi.PsiProtocol, f"PROTOCOL_{protocol}"),
        receiver_rank=0,
        broadcast_result=False,
    )
    if protocol == "ECDH":
        conf["ecdh_params"] = psi.EcdhParams(curve=getattr(psi.EllipticCurveType, curve))
    protocol_conf = psi.PsiProtocolConfig(**conf)
    config = psi.PsiExecuteConfig(
        protocol_conf=protocol_conf,
        input_params=psi.InputParams(path=path, selected_keys=[column], keys_unique=True),
        output_params=psi.OutputParams(path=os.path.join(out_dir, f"out{rank}.csv"), disable_alignment=True),
    )
    started = time.perf_counter()
    report = psi.psi_execute(config, link)
    elapsed = time.perf_counter() - started
    link.stop_link()
    result_queue.put((rank, elapsed, report.original_count, report.intersection_count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="receiver's CSV (party 0)")
    parser.add_argument("--b", required=True, help="sender's CSV (party 1)")
    parser.add_argument("--column", default="id")
    parser.add_argument("--curve", default="CURVE_25519")
    parser.add_argument("--protocol", default="ECDH", choices=["ECDH", "RR22", "KKRT"])
    args = parser.parse_args()

    import spu

    ports = [free_port(), free_port()]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="weinong-spu-psi-") as out_dir:
        procs = [
            ctx.Process(target=party, args=(rank, ports, path, args.column, out_dir, args.curve, args.protocol, queue))
            for rank, path in enumerate([args.a, args.b])
        ]
        started = time.perf_counter()
        for p in procs:
            p.start()
        results = {}
        for _ in procs:
            rank, elapsed, rows, inter = queue.get(timeout=7200)
            results[rank] = (elapsed, rows, inter)
        for p in procs:
            p.join()
        wall = time.perf_counter() - started
    if any(p.exitcode != 0 for p in procs) or len(results) != 2:
        print(json.dumps({"error": "a SecretFlow party failed", "exit_codes": [p.exitcode for p in procs]}))
        return 1
    print(json.dumps({
        "peer": "secretflow-spu",
        "version": spu.__version__,
        "protocol": args.protocol,
        "curve": args.curve if args.protocol == "ECDH" else None,
        "seconds": round(max(r[0] for r in results.values()), 3),
        "wall_seconds_with_startup": round(wall, 3),
        "intersection": results[0][2],
        "rows_a": results[0][1],
        "rows_b": results[1][1],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
