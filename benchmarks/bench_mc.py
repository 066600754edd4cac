"""MC engine throughput: attempted moves/s and gap updates/s, against a naive sequential implementation.

The naive baseline is what a typical research script does: one move at a time in Python, recomputing
the affected gaps with NumPy (own gap + the N gaps of the next layer for a neuron flip, the M gaps of
the row for a weight move) before and after the move. It runs in the same process, on the same sizes.
A gap update = one gap whose change is evaluated: 1 + N per neuron flip (dense), M per weight move.
Usage: python benchmarks/bench_mc.py [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from deepglass.mc import BACKENDS, MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.state import fields_from_scratch, weights_to_internal
from deepglass.model import NetworkSpec, make_training_set


def planted_batch(N, L, M, B, seed=0):
    spec = NetworkSpec(N=N, L=L)
    data = make_training_set(spec, "teacher-student", M, np.random.default_rng(seed), (B,))
    S = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)
    # perturb the planted state so that moves are accepted and rejected in realistic proportions
    Wt = weights_to_internal(data.teacher.J, None, N)
    return spec, S, fields_from_scratch(S, Wt, N), Wt


def moves_per_step(N, L, M):
    neuron, weight = (L - 1) * N * M, L * N * N
    return neuron, weight, neuron * (1 + N) + weight * M   # moves of each kind, gap updates


def bench_engine(backend, N, L, M, B, steps, params=MCParams()):
    spec, S, h, Wt = planted_batch(N, L, M, B)
    engine = Engine(N, L, N, M, 0.0, params, None, backend)
    rngs = [np.random.default_rng([7, b]) for b in range(B)]
    counts = np.zeros((B, L + 1)), np.zeros((B, L + 1))
    engine.step(S, h, Wt, rngs, np.arange(B), *counts)          # warm-up (numba: load / compile)
    t0 = time.perf_counter()
    for _ in range(steps):
        engine.step(S, h, Wt, rngs, np.arange(B), *counts)
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


def main(quick: bool = False):
    backends = [b for b in ("numpy", "numba") if b in BACKENDS]
    print(f"backends: {backends}; soft potential, greedy, planted start (dense)")
    rows = []
    for N, L, M, B, steps in [(20, 10, 80, 8, 3), (100, 10, 400, 2, 1), (20, 10, 40, 40, 3)]:
        if quick and N == 100:
            continue
        naive = bench_naive(N, L, M, n_moves=1000 if quick else 3000)
        print(f"\nN={N} L={L} M={M}: naive sequential  {naive[0]:10.3g} moves/s  {naive[1]:10.3g} gap updates/s"
              f"  ({naive[2]:.3g} s per MC step of one system)")
        for backend in backends:
            steps_b = steps if backend == "numba" or N == 20 else 1
            moves, gaps, dt = bench_engine(backend, N, L, M, B, steps_b)
            ratio = moves / naive[0]
            rows.append((N, L, M, B, backend, moves, gaps, ratio))
            print(f"  engine {backend:5s} batch {B:3d}  {moves:10.3g} moves/s  {gaps:10.3g} gap updates/s"
                  f"  ({dt:.3g} s per MC step of the batch)  x{ratio:.0f} vs naive")
    return rows


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(quick="--quick" in sys.argv)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s")
