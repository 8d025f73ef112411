#!/usr/bin/env python3
"""SecretFlow SPU (0.9.5, ABY3, FM64, three parties in its in-memory simulator) on the
three workloads of `weinong bench mpc`; the peer that benchmark prints ratios against.

Workloads (sizes overridable):
  mul      x * y, x and y secret int64 vectors of --mul-n elements (a ring multiplication)
  mul_fxp  the same on float vectors (fixed-point multiplication, with truncation)
  cmp      x < 1000, x secret int64, the threshold public, --cmp-n elements
  wsum     (X @ w) > 0, X secret --rows x --features floats, w secret floats

Each workload is compiled once, secret-shared once, then run --repeat times; the time
of a run is from the first party starting `rt.run` to the last one finishing (so
compilation, sharing and reconstruction are excluded, as in the Rust bench). Results are
checked against numpy. Prints one JSON line per workload:

  {"peer": "spu", "version": "0.9.5", "workload": "mul", "n": 1000000, "seconds": 0.21, "runs": [...]}

Install: scripts/spu-venv.sh (creates .venv-spu). Run: scripts/spu_bench.sh, or
.venv-spu/bin/python scripts/spu_bench.py [--mul-n N] [--cmp-n N] [--rows R] [--features F].
"""

import argparse
import json
import sys
import threading
import time

import numpy as np


def run_timed(sim, executable, args, repeat):
    """Runs `executable` on the simulator's three parties `repeat` times; returns the
    per-run wall times and the last outputs."""
    from spu import api as spu_api
    from spu import libspu

    params = [sim.io.make_shares(np.asarray(a), libspu.Visibility.VIS_SECRET) for a in args]
    times = []
    outputs = None
    for _ in range(repeat):
        desc = libspu.link.Desc()
        for rank in range(sim.wsize):
            desc.add_party(f"id_{rank}", f"thread_{rank}")
        starts = [0.0] * sim.wsize
        ends = [0.0] * sim.wsize
        results = [None] * sim.wsize
        errors = []
        barrier = threading.Barrier(sim.wsize)

        def party(rank):
            try:
                lctx = libspu.link.create_mem(desc, rank)
                rt = spu_api.Runtime(lctx, libspu.RuntimeConfig(sim.rt_config))
                for idx, param in enumerate(params):
                    rt.set_var(executable.input_names[idx], param[rank])
                barrier.wait()
                starts[rank] = time.perf_counter()
                rt.run(executable)
                ends[rank] = time.perf_counter()
                results[rank] = [rt.get_var(name) for name in executable.output_names]
            except Exception as e:  # reported below, never swallowed
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=party, args=(r,)) for r in range(sim.wsize)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        times.append(max(ends) - min(starts))
        outputs = [sim.io.reconstruct(list(out)) for out in zip(*results)]
    return times, outputs


def compile_fn(fn, args):
    from spu import libspu
    from spu.utils import frontend as spu_fe

    names = [f"in{i}" for i in range(len(args))]
    executable, _ = spu_fe.compile(
        spu_fe.Kind.JAX,
        fn,
        args,
        {},
        names,
        [libspu.Visibility.VIS_SECRET] * len(args),
        lambda out: [f"out{i}" for i in range(len(out))],
    )
    return executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mul-n", type=int, default=1_000_000)
    parser.add_argument("--cmp-n", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="mul,mul_fxp,cmp,wsum")
    opts = parser.parse_args()

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import spu
    from spu import libspu
    from spu.utils.simulation import Simulator

    sim = Simulator.simple(3, libspu.ProtocolKind.ABY3, libspu.FieldType.FM64)
    rng = np.random.default_rng(7)
    only = set(opts.only.split(","))

    def report(workload, n, times, extra=None):
        line = {
            "peer": "spu",
            "version": spu.__version__,
            "protocol": "ABY3",
            "field": "FM64",
            "workload": workload,
            "n": n,
            "seconds": min(times),
            "runs": [round(t, 4) for t in times],
        }
        line.update(extra or {})
        print(json.dumps(line), flush=True)

    if "mul" in only:
        x = rng.integers(-(1 << 20), 1 << 20, opts.mul_n, dtype=np.int64)
        y = rng.integers(-(1 << 20), 1 << 20, opts.mul_n, dtype=np.int64)
        exe = compile_fn(lambda a, b: a * b, (x, y))
        times, out = run_timed(sim, exe, (x, y), opts.repeat)
        assert np.array_equal(np.asarray(out[0]).astype(np.int64), x * y), "SPU mul disagrees with numpy"
        report("mul", opts.mul_n, times)

    if "mul_fxp" in only:
        x = rng.uniform(-100, 100, opts.mul_n)
        y = rng.uniform(-100, 100, opts.mul_n)
        exe = compile_fn(lambda a, b: a * b, (x, y))
        times, out = run_timed(sim, exe, (x, y), opts.repeat)
        assert np.allclose(np.asarray(out[0]), x * y, atol=1e-2), "SPU fixed-point mul disagrees"
        report("mul_fxp", opts.mul_n, times)

    if "cmp" in only:
        x = rng.integers(-(1 << 20), 1 << 20, opts.cmp_n, dtype=np.int64)
        exe = compile_fn(lambda a: a < 1000, (x,))
        times, out = run_timed(sim, exe, (x,), opts.repeat)
        assert np.array_equal(np.asarray(out[0]).astype(bool), x < 1000), "SPU compare disagrees"
        report("cmp", opts.cmp_n, times)

    if "wsum" in only:
        xs = rng.uniform(0, 1, (opts.rows, opts.features))
        w = rng.uniform(-1, 1, opts.features) / opts.features
        exe = compile_fn(lambda a, b: jnp.matmul(a, b) > 0.0, (xs, w))
        times, out = run_timed(sim, exe, (xs, w), opts.repeat)
        want = xs @ w > 0.0
        agree = float(np.mean(np.asarray(out[0]).astype(bool) == want))
        assert agree > 0.999, f"SPU weighted sum agrees on only {agree:.4f}"
        report("wsum", opts.rows, times, {"features": opts.features})
    return 0


if __name__ == "__main__":
    sys.exit(main())
