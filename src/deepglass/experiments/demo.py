"""The embedded default experiment run by ``make demo`` / ``deepglass demo``.

Planted teacher-student learning (MODEL.md section 4): the student starts at the teacher, a solution, and
greedy soft-core MC then samples the design space (the Gibbs measure of students that fit the data). Four
replicas copied from the host at t_w = 0 (i.e. from the teacher itself) then diffuse apart.

At kappa = 0 a single neuron flip inside the design space always makes its own gap negative, so greedy MC
never accepts one: the internal representations (q_l on the training set) stay exactly those of the teacher,
and the weights diffuse inside the cone of solutions (Q_l < 1). Small weight changes amplify with depth on
fresh inputs, which the test-overlap profile shows.
"""
from __future__ import annotations

from .config import RunConfig, parse_config

# MC steps. Measured on the 2-core dev machine with the fused numba step: `deepglass demo` takes ~15 s
# (8 samples x (host + 4 guests)); with the venv install and the one-time ~20 s numba compile, a clean
# `make demo` stays well under 3 minutes.
DEMO_T_MAX = 500


def demo_config(seed: int = 2024, t_max: int = DEMO_T_MAX) -> RunConfig:
    return parse_config({
        "seed": seed,
        "network": {"N": 20, "L": 10, "kappa": 0.0},
        "data": {"scenario": "teacher-student", "alpha": 2.0, "M_test": 1000},
        "mc": {"potential": "soft", "acceptance": "greedy", "delta": 0.1},
        "run": {"protocol": "planted", "t_max": t_max, "per_decade": 10, "n_samples": 8},
        "replicas": {"R": 4, "waiting_times": [0]},
    })
