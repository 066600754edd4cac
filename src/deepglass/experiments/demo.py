"""The embedded default experiment run by ``make demo`` / ``deepglass demo``: theory and simulation in the
same ensemble, in two parts.

1. Gibbs learning (L = 1), the agreement: the exact sampler of the design space (MODEL.md section 4,
   ``mc.sampler = "design-space"``, row billiard) at N = 10, 20, 40, alpha = 2, planted; deepglass compare's
   N -> infinity fit of the student-teacher overlap and of eps_g against the replica theory (RS is exact on the
   Nishimori line; the perceptron's classic Gibbs-learning curve). The billiard decorrelates a perceptron in
   ~3 MC steps at every N (benchmarks/RESULTS.md), so 300 steps are ~100 relaxation times.
2. The deep network (L = 2, N = 10, alpha = 2, above the first crystalline transition alpha = pi^2/8 of L = 2):
   a planted run whose profiles are drawn over the Bayes-optimal RS chain, with its equilibrium verdict (the
   Nishimori identity: two guests copied at t_w = 0). What the profile shows at N = 10 is said in DEMO_NOTE.
"""
from __future__ import annotations

import xarray as xr

from .config import RunConfig, parse_config

# MC steps, measured on the 2-core dev machine with numba (docs/experiments.md "The demo" has the timing): the
# deep run passes its verdict (tau_Q ~ 120-170 steps, >= 10 tau needed), the Gibbs runs are ~100 tau long
DEMO_T_MAX = 4000
DEMO = {"N": 10, "L": 2, "alpha": 2.0, "n_samples": 8, "R": 2}
GIBBS_T_MAX = 300
GIBBS = {"L": 1, "alpha": 2.0, "N_values": (10, 20, 40), "n_samples": 8}
GIBBS_DIR = "gibbs_learning"   # the L = 1 comparison, inside the demo's output folder


DEMO_NOTE = ("note: the theory is N -> inf. At N = 10 the equilibrium chain visits the gauge images of the teacher "
             "(a hidden neuron flipped with its row and outgoing column, permutations), so Q_l and q_l average to ~0 "
             "in equilibrium while the theory's crystal (Q_l > 0) is the symmetry-broken large-N state; the output "
             "overlap m_L is gauge invariant, and a 10-wide student generalizes far better than the N -> inf theory. "
             "The gauge-fixed overlaps (max over gauge images) are biased upward by ~sqrt(log N / N) (about 0.45 at "
             "N = 10 for q_1, Q_1): docs/simulation.md \"Gauge-fixed student-teacher overlaps\", docs/experiments.md \"The demo\".")


def demo_config(seed: int = 2024, t_max: int = DEMO_T_MAX) -> RunConfig:
    return parse_config({
        "seed": seed,
        "network": {"N": DEMO["N"], "L": DEMO["L"], "kappa": 0.0},
        "data": {"scenario": "teacher-student", "alpha": DEMO["alpha"], "M_test": 1000},
        "mc": {"sampler": "design-space", "acceptance": "greedy", "proposal": "billiard", "backend": "auto"},
        "run": {"protocol": "planted", "t_max": t_max, "per_decade": 10, "n_samples": DEMO["n_samples"]},
        "replicas": {"R": DEMO["R"], "waiting_times": [0]},
    })


def demo_theory(config: RunConfig) -> xr.Dataset:
    """The Bayes-optimal RS chain at the demo's depth and load (Q_l, q_l, m_l of fresh inputs, eps_g)."""
    from ..theory import ChainProblem, solve

    return solve(ChainProblem("teacher-student", config.network.L, float(config.data.alpha)), "rs")


def gibbs_config(seed: int = 2024, t_max: int = GIBBS_T_MAX):
    """The L = 1 comparison of the demo's first part (experiments/compare.py, billiard, numba)."""
    from .compare import CompareConfig

    return CompareConfig(scenario="teacher-student", L=GIBBS["L"], alpha=GIBBS["alpha"], N_values=GIBBS["N_values"],
                         n_samples=GIBBS["n_samples"], t_max=t_max, seed=seed, backend="auto", M_test=1000)
