"""Design-space sampler vs the fused local-move step (numba), same sizes, same process, planted start.

A gap update = one gap whose new value is computed: local step 1 + N per neuron flip and M per weight move
(every attempted move); design-space sampler M per row move plus N per (layer, pattern) the cascade
visits (counted by the kernel, early rejection included); the billiard M per event (reflection, pass-through or
the end of a row's trajectory) plus the cascades. Reported per case: moves/s, gap updates/s and
their ratio to the local step, row acceptance per layer, neurons flipped per accepted move.
Usage: PYTHONPATH=src python benchmarks/bench_design_space.py [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_to_internal
from deepglass.model import NetworkSpec, make_training_set

CASES = [(100, 3, None, 2.0), (400, 3, None, 1.0), (1000, 3, 20, 2.0), (1000, 3, 80, 2.0)]
PROPOSALS = {"row": MCParams(sampler="design-space", delta=0.02),
             "weight": MCParams(sampler="design-space", proposal="weight", delta=0.5),
             "billiard": MCParams(sampler="design-space", proposal="billiard")}   # no move size (delta unused)
B = 2


def planted(N, L, c, M, seed=0):
    spec = NetworkSpec(N=N, L=L, c=c)
    data = make_training_set(spec, "teacher-student", M, np.random.default_rng(seed), (B,))
    S = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)
    Wt = weights_to_internal(data.teacher.J, data.idx, N)
    return spec, data.idx, S, fields_from_scratch(S, Wt, spec.c), Wt


REPEATS = 3   # the shortest of 3 timings: on a shared machine the others include other jobs' time


def timed_steps(engine, state, steps):
    S, h, Wt = state
    rngs = [np.random.default_rng([7, b]) for b in range(B)]
    counts = np.zeros((B, engine.L + 1)), np.zeros((B, engine.L + 1))
    engine.step(S, h, Wt, rngs, np.arange(B), *counts)       # warm-up (load compiled kernels)
    best = np.inf
    for _ in range(REPEATS):
        counts[1][:] = 0
        engine.move_stats = None
        t0 = time.perf_counter()
        for _ in range(steps):
            engine.step(S, h, Wt, rngs, np.arange(B), *counts)
        best = min(best, time.perf_counter() - t0)
    return best, counts


def case(N, L, c, alpha, steps):
    c = N if c is None else c
    M = NetworkSpec(N=N, L=L, c=c).n_patterns(alpha)
    spec, idx, S, h, Wt = planted(N, L, c, M)
    local = Engine(N, L, c, M, 0.0, MCParams(), idx, "numba")
    dt_l, _ = timed_steps(local, (S.copy(), h.copy(), Wt.copy()), 1)
    gaps_l = B * ((L - 1) * N * M * (1 + N) + L * N * c * M)
    moves_l = B * ((L - 1) * N * M + L * N * c)
    for name, params in PROPOSALS.items():
        ds = Engine(N, L, c, M, 0.0, params, idx, "numba")
        dt_d, (_, cw) = timed_steps(ds, (S.copy(), h.copy(), Wt.copy()), steps)
        st = ds.move_stats                                    # (the last timing's counters)
        moves_d = B * L * N * steps
        acc = cw[:, 1:].sum(0) / (B * N * steps)
        flips = st[:, 1:L].sum() / max(cw.sum(), 1)
        r_local, r_ds = gaps_l / dt_l, st[:, 0].sum() / dt_d
        size = "" if name == "billiard" else f" {params.delta:g}"
        print(f"| {N} | {L} | {c} | {alpha:g} | {M} | {moves_l / dt_l:.2e} | {r_local:.2e} | {name}{size} | "
              f"{moves_d / dt_d:.2e} | {r_ds:.2e} | {r_ds / r_local:.2f} | {' / '.join(f'{a:.2f}' for a in acc)} | "
              f"{flips:.2f} |", flush=True)


def main(quick=False):
    print("| N | L | c | alpha | M | local moves/s | local gaps/s | proposal, delta | design moves/s | design gaps/s | "
          "ratio | acceptance l=1..L | flips per accepted move |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for N, L, c, alpha in (CASES[:2] if quick else CASES):
        case(N, L, c, alpha, steps=10 if N <= 200 else 2)


if __name__ == "__main__":
    main("--quick" in sys.argv)
