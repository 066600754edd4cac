"""MC engine throughput: attempted moves/s and gap updates/s, against a naive sequential implementation
and against this machine's dense matmul rate, both measured in the same run.

The naive baseline is what a typical research script does: one move at a time in Python, recomputing
the affected gaps with NumPy (own gap + the N gaps of the next layer for a neuron flip, the M gaps of
the row for a weight move) before and after the move. It runs in the same process, on the same sizes.
A gap update = one gap whose change is evaluated: 1 + N per neuron flip (dense), M per weight move.
Matmul rate: float64 (2000 x 2000) @ (2000 x 2000) with numpy (its BLAS, all cores), best of 3, counted
as 2000^3 multiply-adds; a gap update is compared with one multiply-add.
Memory (grid): the state (S, h, Wt) + the peak of numpy allocations while drawing and stepping
(tracemalloc: random numbers, temporaries) + the numba kernels' scratch ((M + 10) N doubles per thread,
not seen by tracemalloc). Setting up the planted state (teacher forward pass) is not counted.
Usage: python benchmarks/bench_mc.py [--quick]
"""
from __future__ import annotations

import os
import platform
import sys
import time
import tracemalloc

import numba
import numpy as np

from deepglass.mc import BACKENDS, MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_to_internal
from deepglass.model import NetworkSpec, make_training_set

GRID_N, GRID_L, GRID_ALPHA = (20, 100, 400, 1000), (10, 20), (1, 4)
GRID_BATCH = 2                      # two systems: one per core (numba.prange over systems)
TIMED_GAPS = 1.5e9                  # gap updates timed per grid case (~2-5 s here); a fraction of a step if larger


def planted_batch(N, L, M, B, seed=0):
    spec = NetworkSpec(N=N, L=L)
    data = make_training_set(spec, "teacher-student", M, np.random.default_rng(seed), (B,))
    S = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)
    Wt = weights_to_internal(data.teacher.J, None, N)
    return spec, S, fields_from_scratch(S, Wt, N), Wt


def moves_per_step(N, L, M):
    neuron, weight = (L - 1) * N * M, L * N * N
    return neuron, weight, neuron * (1 + N) + weight * M   # moves of each kind, gap updates


def bench_engine(backend, N, L, M, B, steps, params=MCParams(), repeats=1):
    """Engine.step (draws included) on B planted systems: the best of `repeats` timings of `steps` steps."""
    spec, S, h, Wt = planted_batch(N, L, M, B)
    engine = Engine(N, L, N, M, 0.0, params, None, backend)
    rngs = [np.random.default_rng([7, b]) for b in range(B)]
    counts = np.zeros((B, L + 1)), np.zeros((B, L + 1))
    engine.step(S, h, Wt, rngs, np.arange(B), *counts)          # warm-up (numba: load / compile)
    dt = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            engine.step(S, h, Wt, rngs, np.arange(B), *counts)
        dt = min(dt, (time.perf_counter() - t0) / steps)
    nn, nw, gaps = moves_per_step(N, L, M)
    return B * (nn + nw) / dt, B * gaps / dt, dt


def bench_substep_loop(N, L, M, B, steps, params=MCParams()):
    """The numba sub-steps called one at a time from Python, serially (the engine path before fused_step)."""
    spec, S, h, Wt = planted_batch(N, L, M, B)
    engine = Engine(N, L, N, M, 0.0, params, None, "numba")
    be = engine.backend
    rngs = [np.random.default_rng([7, b]) for b in range(B)]
    cn, cw = np.zeros((B, L + 1)), np.zeros((B, L + 1))

    def step():
        r = engine.draw_batch(rngs)
        w = 0
        for s in range(N):
            for p, layers in enumerate(engine.parities):
                be.neuron_substep(S, h, Wt, layers, r[f"choice{p}"][s], None, cn)
            while w < N and engine.weight_after[w] == s:
                be.weight_substep(S, h, Wt, r["slot"][w], r["gauss"][w], r["uw"][w], cw)
                w += 1
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    nn, nw, gaps = moves_per_step(N, L, M)
    return B * (nn + nw) / dt, B * gaps / dt, dt


def bench_naive(N, L, M, n_moves=3000, seed=1):
    """One move at a time; affected gaps recomputed from the weights and neurons (no cached fields)."""
    rng = np.random.default_rng(seed)
    spec, S, _, Wt = planted_batch(N, L, M, 1)
    S, J = S[0], np.swapaxes(Wt[0], -1, -2).copy()               # J[l-1] (N_out, N_in)
    sq = np.sqrt(N)
    V = lambda r: np.minimum(r, 0.0) ** 2
    t0 = time.perf_counter()
    for _ in range(n_moves):                                      # neuron flips
        l, mu, i = rng.integers(1, L), rng.integers(M), rng.integers(N)
        def local_cost():
            own = S[l, mu, i] * (J[l - 1, i] @ S[l - 1, mu]) / sq
            nxt = S[l + 1, mu] * (J[l] @ S[l, mu]) / sq
            return V(own) + V(nxt).sum()
        before = local_cost()
        S[l, mu, i] *= -1
        if local_cost() - before > 0:
            S[l, mu, i] *= -1
    t_neuron = (time.perf_counter() - t0) / n_moves
    delta = 0.1
    t0 = time.perf_counter()
    for _ in range(n_moves):                                      # weight moves
        l, k, j = rng.integers(L), rng.integers(N), rng.integers(N)
        row = J[l, k].copy()
        before = V(S[l + 1, :, k] * (S[l] @ row) / sq).sum()
        new = row.copy()
        new[j] = (new[j] + delta * rng.standard_normal()) / np.sqrt(1 + delta * delta)
        new *= np.sqrt(N / (new @ new))
        if V(S[l + 1, :, k] * (S[l] @ new) / sq).sum() - before <= 0:
            J[l, k] = new
    t_weight = (time.perf_counter() - t0) / n_moves
    nn, nw, gaps = moves_per_step(N, L, M)
    dt = nn * t_neuron + nw * t_weight                            # one MC step of one system
    return (nn + nw) / dt, gaps / dt, dt


# --------------------------------------------------------------------------- machine rates
def matmul_rate(n=2000, repeats=3):
    """Multiply-adds/s of a float64 (n x n) @ (n x n) numpy matmul, best of `repeats`."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return n ** 3 / best


def read_bandwidth(n_bytes=4e8, repeats=3):
    """Bytes/s read by numpy's sum over a float64 array far larger than the caches, best of `repeats`."""
    x = np.ones(int(n_bytes // 8))
    x.sum()
    return x.nbytes / min(_timed(x.sum) for _ in range(repeats))


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the grid
def draws_for_rounds(engine, rngs, rounds):
    """Engine.draw_systems' arrays restricted to the first `rounds` neuron rounds and their weight sub-steps
    (dense, greedy: no neuron uniforms), system axis first."""
    N, L, c, M = engine.N, engine.L, engine.c, engine.M
    n_w = int(np.searchsorted(engine.weight_after, rounds))
    out = {}
    for p, layers in enumerate(engine.parities):
        out[f"choice{p}"] = np.stack([g.integers(0, N, size=(rounds, len(layers), M)) for g in rngs])
    out["slot"] = np.stack([g.integers(0, c, size=(n_w, L, N)) for g in rngs])
    out["gauss"] = np.stack([g.standard_normal((n_w, L, N)) for g in rngs])
    out["uw"] = np.stack([g.random((n_w, L, N)) for g in rngs])
    return out, n_w


def bench_grid_case(N, L, alpha, B=GRID_BATCH, params=MCParams()):
    """Fused numba step on B planted systems (greedy, soft, dense, c = N, M = alpha c): rounds of one MC step
    (all of it when it is small enough) timed with the random numbers drawn beforehand."""
    M = alpha * N
    nn, nw, gaps = moves_per_step(N, L, M)
    rounds = int(max(1, min(N, TIMED_GAPS / (B * gaps / N))))
    spec, S, h, Wt = planted_batch(N, L, M, B)
    tracemalloc.start()
    engine = Engine(N, L, N, M, 0.0, params, None, "numba")
    rngs = [np.random.default_rng([7, b]) for b in range(B)]
    counts = np.zeros((B, L + 1)), np.zeros((B, L + 1))
    dt, spent, calls = np.inf, 0.0, 0
    while spent < 0.5:   # short cases: the best of several calls, each with fresh numbers (continued streams)
        draws, n_w = draws_for_rounds(engine, rngs, rounds)
        calls += 1
        t0 = time.perf_counter()
        engine.backend.fused_step(engine, S, h, Wt, draws, draws["slot"], *counts, rounds=(0, rounds))
        dt = min(dt, time.perf_counter() - t0)
        spent += time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak += S.nbytes + h.nbytes + Wt.nbytes + min(B, numba.get_num_threads()) * (M + 10) * N * 8
    moves = B * (rounds * (nn // N) + n_w * L * N)
    gap_updates = B * (rounds * (nn // N) * (N + 1) + n_w * L * N * M)
    return dict(N=N, L=L, alpha=alpha, M=M, B=B, fraction=rounds / N, seconds=dt, moves=moves / dt,
                gaps=gap_updates / dt, step_s=dt * gaps * B / gap_updates, peak_mb=peak / 2 ** 20,
                accepted=float(counts[1].sum() / max(1, B * n_w * L * N * calls)))


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{model}, {os.cpu_count()} cores, numba {numba.__version__} ({numba.get_num_threads()} threads), "
            f"numpy {np.__version__}, load average {os.getloadavg()[0]:.2f}")


def main(quick: bool = False):
    print(f"machine: {machine()}")
    mm, bw = matmul_rate(), read_bandwidth()
    print(f"dense matmul (numpy float64 2000^3): {mm:.3g} multiply-adds/s;  read bandwidth {bw / 1e9:.3g} GB/s")
    backends = [b for b in ("numpy", "numba") if b in BACKENDS]
    print(f"\nbackends: {backends}; soft potential, greedy, planted start (dense)")
    # (N, L, M, batch, steps timed for numpy / numba); numba: best of 3 such timings
    for N, L, M, B, steps, steps_numba in [(20, 10, 80, 8, 3, 40), (100, 10, 400, 2, 1, 3), (20, 10, 40, 40, 3, 10)]:
        if quick and N == 100:
            continue
        naive = bench_naive(N, L, M, n_moves=1000 if quick else 3000)
        print(f"\nN={N} L={L} M={M}: naive sequential  {naive[0]:10.3g} moves/s  {naive[1]:10.3g} gap updates/s"
              f"  ({naive[2]:.3g} s per MC step of one system)")
        runs = [(b, lambda b=b: bench_engine(b, N, L, M, B, steps_numba if b == "numba" else steps,
                                             repeats=3 if b == "numba" else 1)) for b in backends]
        if "numba" in backends:
            runs.insert(1, ("numba sub-step loop", lambda: bench_substep_loop(N, L, M, B, steps)))
        for name, run in runs:
            moves, gaps, dt = run()
            print(f"  {name:19s} batch {B:3d}  {moves:10.3g} moves/s  {gaps:10.3g} gap updates/s"
                  f"  ({dt:.3g} s per MC step of the batch)  x{moves / naive[0]:.0f} vs naive"
                  f"  {gaps / mm:6.2%} of matmul")
    if "numba" not in backends:
        return
    print(f"\ngrid: numba fused step, batch {GRID_BATCH}, soft, greedy, planted, dense (c = N, M = alpha c); "
          "random numbers drawn beforehand; a fraction of one MC step when the step is large")
    print(f"{'N':>5} {'L':>3} {'alpha':>5} {'M':>5} {'timed':>7} {'moves/s':>9} {'gap upd/s':>9} "
          f"{'of matmul':>9} {'s/step':>8} {'peak MB':>8} {'w acc':>6}")
    grid = [(N, L, a) for N in GRID_N for L in GRID_L for a in GRID_ALPHA]
    if quick:
        grid = [(N, 10, a) for N in (20, 100, 400) for a in GRID_ALPHA]
    for N, L, alpha in grid:
        r = bench_grid_case(N, L, alpha)
        print(f"{N:5d} {L:3d} {alpha:5d} {r['M']:5d} {r['fraction']:7.1%} {r['moves']:9.3g} {r['gaps']:9.3g} "
              f"{r['gaps'] / mm:9.2%} {r['step_s']:8.3g} {r['peak_mb']:8.0f} {r['accepted']:6.2f}", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(quick="--quick" in sys.argv)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s")
