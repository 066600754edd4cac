"""JAX backend throughput (jitted advance, own counter-based stream) against numpy and numba in the same process.

Same workload and units as bench_mc.py: soft potential, greedy, planted start, dense; a gap update is one
gap whose change is evaluated (1 + N per neuron flip, M per weight move). The JAX column times
Engine.advance over several steps after a warm-up call that compiles (compile time reported apart); it
includes the host <-> device copies of the state that every advance call makes.
With a GPU (jax.devices() shows one) it adds the production size N = 1000, L = 20, M = 4000 (target: >= 1e11
gap updates/s). Usage: python benchmarks/bench_mc_jax.py [--quick] [--gpu-only]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mc import bench_engine, moves_per_step, planted_batch  # noqa: E402

from deepglass.mc import BACKENDS, MCParams  # noqa: E402
from deepglass.mc.engine import Engine, gpu_present  # noqa: E402


def bench_jax(N, L, M, B, steps, precision="float64", params=MCParams()):
    """(moves/s, gap updates/s, seconds per MC step of the batch, compile + first step seconds)."""
    spec, S, h, Wt = planted_batch(N, L, M, B)
    engine = Engine(N, L, N, M, 0.0, params, None, "jax", precision)
    keys = np.random.default_rng(3).integers(0, 2 ** 32, (B, 2), dtype=np.uint32)
    counts = np.zeros((B, L + 1)), np.zeros((B, L + 1))
    t0 = time.perf_counter()
    engine.advance(S, h, Wt, None, keys, np.arange(B), *counts, 0, 1)   # compiles
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.advance(S, h, Wt, None, keys, np.arange(B), *counts, 1, steps)
    dt = (time.perf_counter() - t0) / steps
    nn, nw, gaps = moves_per_step(N, L, M)
    return B * (nn + nw) / dt, B * gaps / dt, dt, first


def main(quick=False, gpu_only=False):
    import jax
    print(f"jax {jax.__version__}, devices {jax.devices()}; numpy/numba via Engine.step in the same process")
    rows = []
    cases = [] if gpu_only else [(20, 10, 80, 8, 3), (100, 10, 400, 2, 1)]
    if gpu_present():
        cases.append((1000, 20, 4000, 1, 2))
    for N, L, M, B, steps in cases:
        print(f"\nN={N} L={L} M={M} batch {B}")
        base = None
        if N <= 100:
            for backend in [b for b in ("numpy", "numba") if b in BACKENDS]:
                if quick and backend == "numpy" and N == 100:
                    continue
                moves, gaps, dt = bench_engine(backend, N, L, M, B, steps)
                base = base or gaps
                rows.append((N, L, M, B, backend, gaps))
                print(f"  {backend:12s} {moves:10.3g} moves/s  {gaps:10.3g} gap updates/s  ({dt:.3g} s per step)")
        for precision in ("float64", "float32"):
            jsteps = steps if N < 1000 else (2 if precision == "float32" else 1)
            moves, gaps, dt, first = bench_jax(N, L, M, B, max(jsteps, 4 if N == 20 else jsteps), precision)
            rows.append((N, L, M, B, f"jax {precision}", gaps))
            ratio = f"  x{gaps / base:.2f} vs numpy" if base else ""
            print(f"  jax {precision}  {moves:10.3g} moves/s  {gaps:10.3g} gap updates/s  ({dt:.3g} s per step; "
                  f"compile + first step {first:.3g} s){ratio}")
    return rows


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(quick="--quick" in sys.argv, gpu_only="--gpu-only" in sys.argv)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s")
