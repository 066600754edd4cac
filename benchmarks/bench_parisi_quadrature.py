"""Parisi blocks: the uniform 301-node grid (parisi.parisi_recursion, before issue 9) against the accurate
quadrature (parisi_quadrature.accurate_recursion), same process: time per block and error against the
refined accurate evaluation. Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_parisi_quadrature.py
"""
from __future__ import annotations

import time

import numpy as np

from deepglass.theory.parisi import FieldGrid, gap_bottom, ising_bottom, parisi_recursion
from deepglass.theory.parisi_quadrature import Bottom, QuadratureOptions, accurate_recursion


def best(fn, repeat=3):
    t = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def old_gap(c, m, kappa):
    c = np.asarray(c, float)
    sd = np.sqrt(c[-1])
    grid = FieldGrid.fixed(max(9.0 * sd, abs(kappa) + 6.0 * sd), 150)
    return parisi_recursion(c, np.asarray(m, float), gap_bottom(kappa, c[-1]), grid)


def old_ising(a, m):
    a = np.asarray(a, float)
    grid = FieldGrid.fixed(9.0 * np.sqrt(a[-1]) + a[-1], 150)
    return parisi_recursion(a, np.asarray(m, float), ising_bottom, grid)


def main():
    cases = [("gap 3RSB c = 0.1..0.8, kappa 0", "gap", [0.1, 0.3, 0.6, 0.8], [0.2, 0.4, 0.7], 0.0),
             ("gap 1RSB c_max = 1 - 1e-6, m 0.05", "gap", [0.5, 1 - 1e-6], [0.05], 0.0),
             ("gap 1RSB c_max = 1 - 1e-10, m 0.01, kappa 1", "gap", [0.9, 1 - 1e-10], [0.01], 1.0),
             ("spins RS eps = 100", "ising", [100.0], [], 0.0),
             ("spins 1RSB eps = 1e4..1e6, m 0.05", "ising", [1e4, 1e6], [0.05], 0.0)]
    print("| block | old grid (s) | accurate (s) | old error (value, sq_slope) | accurate error (value, sq_slope) |")
    print("|---|---|---|---|---|")
    for name, kind, a, m, kappa in cases:
        if kind == "gap":
            b = Bottom("gap", kappa, np.sqrt(1 - a[-1]))
            t_old, r_old = best(lambda: old_gap(a, m, kappa))
        else:
            b = Bottom("ising")
            t_old, r_old = best(lambda: old_ising(a, m))
        t_new, r_new = best(lambda: accurate_recursion(a, m, b))
        fine = accurate_recursion(a, m, b, QuadratureOptions().refined())

        def err(r):
            return (abs(r.value - fine.value) / abs(fine.value),
                    float(np.max(np.abs(r.sq_slope - fine.sq_slope) / np.abs(fine.sq_slope))))
        eo, en = err(r_old), err(r_new)
        print(f"| {name} | {t_old:.4f} | {t_new:.4f} | {eo[0]:.1e}, {eo[1]:.1e} | {en[0]:.1e}, {en[1]:.1e} |")


if __name__ == "__main__":
    main()
