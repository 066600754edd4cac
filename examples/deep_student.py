"""The deep-student study (issue 10): generalization overlap of a planted deep student in the exact ensemble
(design-space sampler) vs N, next to the Bayes-optimal chain theory, for L = 6, 10 and alpha = 1, 2, 4.

    PYTHONPATH=src python examples/deep_student.py OUT [--N 4,6] [--t-max 2000] [--samples 8] [--depths 6,10]

One `deepglass compare` per (L, alpha) into OUT/L<L>_alpha<alpha>/ (runs resume; a finished point is reused),
then a markdown table of m_L = 1 - 2 eps_g per N with each point's equilibrium verdict.
Cost on the 2-core development machine (numba, 8 samples x (host + 2 guests)): about 10-30 s per point at
N = 4..6 and t_max = 2000 (about 5 minutes for the 12 points of the default); the cost per step grows like
L N^2 alpha N, and the relaxation time grows with N too (docs/experiments.md "The deep student").
The same study is panel (v) of `deepglass reproduce` (--quick: L = 6 only; full: N up to 24, t_max = 20000).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deepglass.experiments.compare import CompareConfig, run_compare


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--N", default="4,6")
    parser.add_argument("--depths", default="6,10")
    parser.add_argument("--alphas", default="1,2,4")
    parser.add_argument("--t-max", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    Ns = [int(n) for n in args.N.split(",")]
    rows = []
    for L in [int(x) for x in args.depths.split(",")]:
        for alpha in [float(x) for x in args.alphas.split(",")]:
            config = CompareConfig(L=L, alpha=alpha, N_values=Ns, n_samples=args.samples, t_max=args.t_max,
                                   seed=args.seed, delta=0.3, M_test=1000)
            start = time.monotonic()
            ds = run_compare(config, args.out / f"L{L}_alpha{alpha:g}").isel(c=0)
            seconds = time.monotonic() - start
            m = ds["sim_mean"].sel(observable="test_overlap", layer=L).values
            e = ds["sim_sem"].sel(observable="test_overlap", layer=L).values
            cells = []
            for N, mv, ev, ok, tau in zip(Ns, m, e, ds["equilibrated"].values, ds["relaxation_time_Q"].values):
                cells.append(f"{mv:.3f} +- {ev:.3f}" + ("" if ok == 1 else " (NOT eq.)"))
            theory = float(ds["theory_m"].sel(layer=L))
            rows.append(f"| {L} | {alpha:g} | " + " | ".join(cells) + f" | {theory:.3f} | {seconds:.0f} s |")
            print(rows[-1], flush=True)
    print("\n| L | alpha | " + " | ".join(f"m_L, N = {N}" for N in Ns) + " | theory m_L (N -> inf) | wall |")
    print("|---|---|" + "---|" * len(Ns) + "---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
