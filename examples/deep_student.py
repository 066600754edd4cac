"""The deep-student study (issue 10): generalization overlap of a planted deep student in the exact ensemble
(design-space sampler) vs N, next to the Bayes-optimal chain theory, for L = 6, 10 and alpha = 1, 2, 4.

    PYTHONPATH=src python examples/deep_student.py OUT [--N 4,6,8,12,16] [--t-max 4000] [--samples 8] [--depths 6,10]

It is panel (v) of `deepglass reproduce` with the sizes given here (same code, same seeds for the same --seed):
one `compare` per (L, alpha) under OUT/runs/v/ (runs resume; a finished point is reused), then
OUT/deep_student.nc (the panel's Dataset), OUT/deep_student.png (its figure) and a markdown table of
m_L = 1 - 2 eps_g per N with each point's equilibrium verdict.
Cost measured on the shared 2-core development machine (numba, billiard, 8 samples x (host + 2 guests),
t_max = 4000, load 4-7): 2065 s for N = 4, 6, 8, 12 (24 points), 2590 s with N = 16 (30 points). The cost per step
grows like L N^2 M = L alpha N^3 (docs/experiments.md "The deep student").
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from deepglass.experiments.reproduce import Context, deep_student_study
from deepglass.experiments.store import write_dataset
from deepglass.plots.reproduce_figures import plot_generalization


def table(ds) -> str:
    Ns = [int(n) for n in ds["N"].values]
    lines = ["| L | alpha | " + " | ".join(f"m_L, N = {N}" for N in Ns) + " | theory m_L (N -> inf) | max tau_Q per N |",
             "|---|---|" + "---|" * len(Ns) + "---|---|"]
    for L in ds["depth"].values:
        for a in ds["alpha"].values:
            pick = ds.sel(depth=L, alpha=a)
            cells = [f"{m:.3f} +- {e:.3f}" + ("" if ok == 1 else " (NOT eq.)") for m, e, ok in
                     zip(pick["sim_m"].values, pick["sim_m_sem"].values, pick["equilibrated"].values)]
            taus = ", ".join(f"{t:.0f}" for t in pick["relaxation_time_max"].values)
            lines.append(f"| {int(L)} | {a:g} | " + " | ".join(cells) + f" | {float(pick['theory_m']):.3f} | {taus} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--N", default="4,6,8,12,16")
    parser.add_argument("--depths", default="6,10")
    parser.add_argument("--alphas", default="1,2,4")
    parser.add_argument("--t-max", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    p = {"depths": [int(x) for x in args.depths.split(",")], "alphas": [float(x) for x in args.alphas.split(",")],
         "N_values": [int(n) for n in args.N.split(",")], "n_samples": args.samples, "t_max": args.t_max,
         "M_test": 1000, "grid_points": 25, "backend": "auto", "delta": 0.3}
    start = time.monotonic()
    ds = deep_student_study(p, Context(args.out, args.seed, "custom", progress=lambda text: None))
    write_dataset(ds, args.out / "deep_student.nc")
    figure = plot_generalization(ds, args.out / "deep_student.png")
    print(table(ds))
    print(f"\n{int(np.sum(ds['equilibrated'].values == 1))} of {ds['equilibrated'].size} points equilibrated; "
          f"{time.monotonic() - start:.0f} s; {args.out / 'deep_student.nc'}, {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
