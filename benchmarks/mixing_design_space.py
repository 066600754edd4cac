"""Mixing of the design-space sampler: the Nishimori identity and autocorrelation times per layer.

Per case (L, N, c, alpha): n_samples teacher-student data sets, R = 2 chains per sample started at the
teacher (numba engine, greedy, row moves). Move sizes tuned per chain and layer for `tune` steps
(mc/tuning.py), then frozen; then T steps, Q_l, q_l of every chain against the teacher (ST) and between the
two chains (SS) recorded every `every` steps. Reported per layer: ST and SS averaged over the second half
of the run (ST over both chains), d = ST - SS with its error over samples, and tau_int of the ST series
(observables.integrated_autocorrelation_time, all chains pooled) in MC steps; plus the acceptance, the
tuned sizes and the wall time per MC step of one system (tau x this = the work per independent sample).
Proposals: row (default), weight (both tuned unless --delta), billiard (mc/design_space_billiard.py, no move size:
--time sets billiard_time; also reports reflections and pass-throughs per row update). tau is also given in CPU
seconds per system (tau x wall time per step and system), the cost of one independent sample.
Usage: PYTHONPATH=src python benchmarks/mixing_design_space.py L N c alpha T [--delta D] [--samples S]
       [--proposal row|weight|billiard] [--time T_max]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal, weights_to_internal
from deepglass.mc.tuning import robbins_monro_step
from deepglass.model import NetworkSpec, make_training_set
from deepglass.observables import integrated_autocorrelation_time


def run_case(L, N, c, alpha, T, delta=None, n_samples=6, R=2, tune=200, every=1, seed=0, proposal="row",
             billiard_time=None):
    spec = NetworkSpec(N=N, L=L, c=c)
    M = spec.n_patterns(alpha)
    data = make_training_set(spec, "teacher-student", M, np.random.default_rng(seed), (n_samples,))
    B = n_samples * R
    sample = np.repeat(np.arange(n_samples), R)
    S = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)[sample]
    idx_b = None if data.idx is None else data.idx[sample]
    Wt = weights_to_internal(data.teacher.J[sample], idx_b, N)
    h = fields_from_scratch(S, Wt, spec.c)
    start = 0.05 if delta is None else delta
    extra = {} if billiard_time is None else {"billiard_time": billiard_time}
    params = MCParams(sampler="design-space", delta=start, proposal=proposal, **extra)
    engine = Engine(N, L, spec.c, M, 0.0, params, data.idx, "numba")
    rngs = [np.random.default_rng([seed, 1, b]) for b in range(B)]
    cn, cw = np.zeros((B, L + 1)), np.zeros((B, L + 1))
    size = np.full((B, L), start)
    Jt = data.teacher.J[sample]
    St = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)[sample]
    n_tune = tune if delta is None and proposal != "billiard" else 0
    for t in range(n_tune):
        before = cw[:, 1:].copy()
        engine.step(S, h, Wt, rngs, sample, cn, cw, size)
        size = robbins_monro_step(size, (cw[:, 1:] - before) / N, params.target_acceptance, t + 1)
    if n_tune == 0:   # one untimed step: loads the compiled kernels (their cache) outside the timing
        engine.step(S, h, Wt, rngs, sample, cn, cw, size)
    cw[:] = 0
    n_rec = T // every
    Qst, qst = np.empty((n_rec, B, L)), np.empty((n_rec, B, max(L - 1, 1)))
    Qss, qss = np.empty((n_rec, n_samples, L)), np.empty((n_rec, n_samples, max(L - 1, 1)))
    wall = 0.0   # CPU seconds of this process (all threads) in the MC steps only: the machine is shared
    for k in range(n_rec):
        t0 = time.process_time()
        for _ in range(every):
            engine.step(S, h, Wt, rngs, sample, cn, cw, size)
        wall += time.process_time() - t0
        J = weights_from_internal(Wt, idx_b)                                    # (B, L, N, c)
        Qst[k] = (J * Jt).sum((-1, -2)) / (N * spec.c)
        qst[k] = (S[:, 1:L] * St[:, 1:L]).mean((-1, -2)) if L > 1 else 1.0
        Jr = J.reshape(n_samples, R, *J.shape[1:])
        Qss[k] = (Jr[:, 0] * Jr[:, 1]).sum((-1, -2)) / (N * spec.c)
        Sr = S.reshape(n_samples, R, *S.shape[1:])
        qss[k] = (Sr[:, 0, 1:L] * Sr[:, 1, 1:L]).mean((-1, -2)) if L > 1 else 1.0
    half = n_rec // 2
    out = {"L": L, "N": N, "c": spec.c, "alpha": alpha, "M": M, "T": T, "tune": n_tune,
           "acceptance": (cw[:, 1:].sum(0) / (B * N * T)).tolist(), "size": size.mean(0).tolist(),
           "s_per_step_system": wall / (T * B), "layers": {}, "proposal": proposal,
           "time": params.billiard_time if proposal == "billiard" else None}
    bs = engine.moves.billiard_stats
    if bs is not None:   # reflections, pass-throughs per row update; per layer the fraction of walls passed
        tot = bs.sum(0)                                                       # (L, 3)
        out["reflections"], out["passes"] = float(tot[:, 1].sum() / tot[:, 0].sum()), float(tot[:, 2].sum() / tot[:, 0].sum())
        out["pass_fraction"] = (tot[:, 2] / np.maximum(tot[:, 1] + tot[:, 2], 1)).tolist()
        out["walls_per_row"] = ((tot[:, 1] + tot[:, 2]) / np.maximum(tot[:, 0], 1)).tolist()
    for name, st, ss, nl in (("Q", Qst, Qss, L), ("q", qst, qss, L - 1)):
        for l in range(nl):
            st_s = st[half:, :, l].mean(0).reshape(n_samples, R).mean(1)         # per sample
            ss_s = ss[half:, :, l].mean(0)
            d = st_s - ss_s
            tau = integrated_autocorrelation_time(st[n_rec // 4:, :, l].T)
            out["layers"][f"{name}_{l + 1}"] = {
                "ST": float(st_s.mean()), "SS": float(ss_s.mean()), "d": float(d.mean()),
                "err": float(d.std(ddof=1) / np.sqrt(n_samples)), "tau": tau["tau"] * every,
                "tau_reliable": tau["reliable"], "tau_cpu": tau["tau"] * every * wall / (T * B)}
    return out


def row(r):
    cells = []
    for name, v in r["layers"].items():
        z = v["d"] / v["err"] if v["err"] > 0 else float("nan")
        cells.append(f"{name}: {v['ST']:.3f}/{v['SS']:.3f} d={v['d']:+.3f}±{v['err']:.3f} ({z:+.1f}σ) "
                     f"τ={v['tau']:.3g}{'' if v['tau_reliable'] else '*'} ({v['tau_cpu']:.2g} s)")
    move = r["proposal"] + (f" T_max={r['time']:.3g}, refl {r['reflections']:.2f}, pass {r['passes']:.2f}, walls/row "
                            + "/".join(f"{x:.1f}" for x in r["walls_per_row"]) + ", passed "
                            + "/".join(f"{x:.3f}" for x in r["pass_fraction"]) if r["proposal"] == "billiard" else "")
    return (f"| {move} | {r['L']} | {r['N']} | {r['c']} | {r['alpha']:g} | {r['T']} | {r['tune']} | "
            f"{' / '.join(f'{a:.2f}' for a in r['acceptance'])} | {' / '.join(f'{d:.3g}' for d in r['size'])} | "
            f"{r['s_per_step_system'] * 1e3:.3g} | " + "; ".join(cells) + " |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    for name in ("L", "N", "c"):
        ap.add_argument(name, type=int)
    ap.add_argument("alpha", type=float)
    ap.add_argument("T", type=int)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--tune", type=int, default=200)
    ap.add_argument("--proposal", default="row", help="row, weight or billiard, or a comma list run one after the "
                                                      "other in this process (wall times under the same load)")
    ap.add_argument("--time", type=float, default=None, help="billiard_time (default MCParams')")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--T-billiard", type=int, default=None, help="steps of the billiard (default T)")
    a = ap.parse_args()
    for proposal in a.proposal.split(","):
        T = a.T_billiard if proposal == "billiard" and a.T_billiard else a.T
        print(row(run_case(a.L, a.N, a.c or None, a.alpha, T, a.delta, a.samples, tune=a.tune, every=a.every,
                           proposal=proposal, billiard_time=a.time, seed=a.seed)), flush=True)
