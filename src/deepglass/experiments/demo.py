"""The embedded default experiment run by ``make demo`` / ``deepglass demo``: theory and simulation in the
same ensemble.

Planted teacher-student learning with the exact sampler of the design space (MODEL.md section 4,
``mc.sampler = "design-space"``): the student starts at the teacher, itself an equilibrium sample of the
uniform measure over the design space of its own data, and the row moves (hidden neurons slaved to the
forward pass) then sample that measure, the one the replica theory describes (MODEL.md section 5). Two
guest replicas copied from the host at t_w = 0 give the student-student overlaps of the Nishimori identity,
the run's equilibrium verdict; the final student-teacher profiles are drawn over the Bayes-optimal RS chain.

The case (L = 2, alpha = 2, above the first crystalline transition alpha = pi^2/8 of L = 2; N = 6) is the one
found to pass the equilibrium verdict within the demo's time (docs/experiments.md "The demo"). The theory is
the N -> infinity limit; what the profile shows at N = 6 is said in DEMO_NOTE.
"""
from __future__ import annotations

import xarray as xr

from .config import RunConfig, parse_config

# MC steps, measured on the 2-core dev machine with numba (docs/experiments.md "The demo" has the timing).
DEMO_T_MAX = 60000
DEMO = {"N": 6, "L": 2, "alpha": 2.0, "delta": 0.6, "n_samples": 8, "R": 2}


DEMO_NOTE = ("note: the theory is N -> inf. At N = 6 the equilibrium chain visits the gauge images of the teacher "
             "(a hidden neuron flipped with its row and outgoing column, permutations), so Q_l and q_l average to ~0 "
             "in equilibrium while the theory's crystal (Q_l > 0) is the symmetry-broken large-N state; the output "
             "overlap m_L is gauge invariant, and a 6-wide student generalizes far better than the N -> inf theory. "
             "The gauge-fixed overlaps (max over gauge images) are biased upward by ~sqrt(log N / N) (about 0.5 at N = 6 "
             "for q_1, Q_1): docs/simulation.md \"Gauge-fixed student-teacher overlaps\", docs/experiments.md \"The demo\".")


def demo_config(seed: int = 2024, t_max: int = DEMO_T_MAX) -> RunConfig:
    return parse_config({
        "seed": seed,
        "network": {"N": DEMO["N"], "L": DEMO["L"], "kappa": 0.0},
        "data": {"scenario": "teacher-student", "alpha": DEMO["alpha"], "M_test": 1000},
        "mc": {"sampler": "design-space", "acceptance": "greedy", "delta": DEMO["delta"], "backend": "auto"},
        "run": {"protocol": "planted", "t_max": t_max, "per_decade": 10, "n_samples": DEMO["n_samples"]},
        "replicas": {"R": DEMO["R"], "waiting_times": [0]},
    })


def demo_theory(config: RunConfig) -> xr.Dataset:
    """The Bayes-optimal RS chain at the demo's depth and load (Q_l, q_l, m_l of fresh inputs, eps_g)."""
    from ..theory import ChainProblem, solve

    return solve(ChainProblem("teacher-student", config.network.L, float(config.data.alpha)), "rs")
