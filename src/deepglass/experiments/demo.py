"""The embedded default experiment run by ``make demo`` / ``deepglass demo``.

Planted teacher-student learning (MODEL.md section 4): the student starts at the teacher, a solution, and
greedy soft-core MC then samples the design space (the Gibbs measure of students that fit the data). Four
replicas copied at t_w = 0 (from the teacher itself) and later from the equilibrated host show which layers
stay frozen (q_l near 1: the boundaries) and which decorrelate (the liquid centre).
"""
from __future__ import annotations

from .config import RunConfig, parse_config

DEMO_T_MAX = 300  # MC steps; chosen from the measured engine speed so that `make demo` stays under 3 minutes


def demo_config(seed: int = 2024, t_max: int = DEMO_T_MAX) -> RunConfig:
    return parse_config({
        "seed": seed,
        "network": {"N": 20, "L": 10, "kappa": 0.0},
        "data": {"scenario": "teacher-student", "alpha": 2.0, "M_test": 1000},
        "mc": {"potential": "soft", "acceptance": "greedy", "delta": 0.1},
        "run": {"protocol": "planted", "t_max": t_max, "per_decade": 10, "n_samples": 8},
        "replicas": {"R": 4, "waiting_times": [0, max(1, t_max // 10)]},
    })
