"""Timing of the theory solvers, with ratios against a naive baseline run in the same process.

Run: .venv/bin/python benchmarks/bench_theory.py [--rsb [--alphas 6,30] [--compare]]   (writes nothing; the table
goes into RESULTS.md)
Baselines: the plain fixed-point iteration of the same RS map (what one would write first), and for the
transitions a bisection on the onset of non-zero overlaps in full solves (no stability root).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from deepglass.errors import ConvergenceError
from deepglass.theory import ChainProblem, solve
from deepglass.theory.rs import _iterate, n_unknowns, residual, solve_rs_vector, top_start
from deepglass.theory.transitions import find_transitions


def timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def naive_rs(problem, tol=1e-10, max_iter=200_000):
    """Plain iteration from the top start until the max-norm residual < tol."""
    x = top_start(problem.L)
    pinned = np.zeros(n_unknowns(problem.L), bool)
    x, res, it = _iterate(x, problem, pinned, max_iter, tol)
    return x, res, it


def naive_alpha_g(problem_template, layer, lo, hi, tol=1e-6):
    """Bisection on 'Q_layer > 0 in the full solution' (one full solve per step)."""
    while hi - lo > tol * lo:
        mid = 0.5 * (lo + hi)
        x, _, _, _ = solve_rs_vector(dataclasses.replace(problem_template, alpha=mid))
        if x[layer - 1] > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def main():
    rows = []
    # 1. RS chain L = 20 at one load
    p = ChainProblem("random", 20, 50.0)
    t_fast, ds = timed(lambda: solve(p), repeat=5)
    t_naive, (x, res, it) = timed(lambda: naive_rs(p))
    rows.append(("RS chain L=20, alpha=50 (random)", t_fast, "< 0.05 s", t_naive,
                 f"residual {ds.attrs['residual']:.1e}; naive: {it} iterations, residual {res:.1e}"))
    p = ChainProblem("random", 20, 21.2)  # 1% above alpha_g(2): critical slowing down of the plain map
    t_fast, ds = timed(lambda: solve(p), repeat=5)
    t_naive, (x, res, it) = timed(lambda: naive_rs(p))
    err = np.max(np.abs(x - np.concatenate([ds.Q.values[1:], ds.q.values[1:-1]])))
    rows.append(("RS chain L=20, alpha=21.2 (random, near alpha_g(2))", t_fast, "< 0.05 s", t_naive,
                 f"naive: {it} iterations to residual {res:.0e}, still off by {err:.1e}"))
    p = ChainProblem("teacher-student", 20, 50.0)
    t_fast, ds = timed(lambda: solve(p), repeat=5)
    t_naive, (x, res, it) = timed(lambda: naive_rs(p))
    rows.append(("RS chain L=20, alpha=50 (teacher-student)", t_fast, "< 0.05 s", t_naive,
                 f"3 branches compared; naive: {it} iterations (one branch)"))
    # 2. alpha_g(l), l <= 5, at L = 12
    p = ChainProblem("random", 12, 1.0)
    t_fast, tr = timed(lambda: find_transitions(p, alpha_max=2000.0, max_layer=5))
    a5 = tr.alpha_g_weights[4]
    # naive: bisection of the onset for layers 1..5 from brackets 0.5x..2x the true value (generous)
    try:
        t_naive, naive = timed(lambda: [naive_alpha_g(p, l, 0.7 * tr.alpha_g_weights[l - 1],
                                                      1.3 * tr.alpha_g_weights[l - 1]) for l in range(1, 6)])
        err = max(abs(a - b) / b for a, b in zip(naive, tr.alpha_g_weights[:5]))
        note = f"naive onset bisection to 1e-6 agrees to {err:.1e} (rel)"
    except ConvergenceError as exc:  # a full solve in the bisection failed: no baseline time
        t_naive, note = np.nan, f"naive onset bisection failed: {exc}"[:160]
    rows.append(("alpha_g(l), l<=5, L=12 (random)", t_fast, "< 10 s", t_naive, f"alpha_g(5) = {a5:.6f}; {note}"))
    return rsb_rows(rows)


def rsb_rows(rows, alphas=(6.0, 30.0), methods=("newton",)):
    # 3. RSB chains at L = 10, at loads where the chain replicon is negative (RSB present); the
    # reference column is the RS solve of the same problem (ratio = cost of breaking the symmetry).
    # methods: breakpoint_method of the k-RSB solver, "nested" = the older secant iteration (and, for full
    # RSB, its damped level iteration), timed one after the other in this process (--compare)
    for alpha in alphas:
        p = ChainProblem("random", 10, alpha)
        t_rs, rs = timed(lambda: solve(p, "rs"))
        for label, ansatz, steps, target in (("3-RSB chain L=10", "krsb", 3, "< 10 s"),
                                             ("full-RSB chain L=10", "frsb", 0, "< 60 s")):
            for method in methods:
                name = f"{label}, alpha={alpha:g}" + (f" [{method}]" if len(methods) > 1 else "")
                print(f"# {name} ...", flush=True)  # progress: these rows take minutes
                cpu = time.process_time()
                try:
                    t, ds = timed(lambda: solve(p, ansatz, steps=steps, breakpoint_method=method))
                except ConvergenceError as exc:
                    rows.append((name, np.nan, target, t_rs, f"no convergence: {exc}"[:120]))
                    continue
                cpu = time.process_time() - cpu
                gain = ds.attrs["free_entropy"] - rs.attrs["free_entropy"]
                rows.append((name, t, target, t_rs,
                             f"s = {ds.attrs['free_entropy']:.10f} (s - s_RS = {gain:.2e}), CPU {cpu:.1f} s, "
                             f"{ds.attrs['iterations']} evaluations, residual {ds.attrs['residual']:.1e}, quadrature_error "
                             f"{ds.attrs.get('quadrature_error', float('nan')):.1e}; baseline = RS solve"))
                print(f"# {rows[-1][0]}: {t:.2f} s; {rows[-1][-1]}", flush=True)
    print("| case | time (s) | target | naive baseline (s) | speed-up | notes |")
    print("|---|---|---|---|---|---|")
    for name, t, target, tn, note in rows:
        ratio = tn / t if np.isfinite(tn) and np.isfinite(t) else np.nan
        print(f"| {name} | {t:.4f} | {target} | {tn:.4f} | {ratio:.1f}x | {note} |")


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    if "--rsb" in args:  # only the RSB rows; --alphas 6,30 (loads), --compare: the nested path first, then Newton
        alphas = tuple(float(a) for a in args[args.index("--alphas") + 1].split(",")) if "--alphas" in args else (6.0, 30.0)
        rsb_rows([], alphas, ("nested", "newton") if "--compare" in args else ("newton",))
    else:
        main()
