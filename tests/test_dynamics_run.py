"""On a real run: where the replica theory says the boundary layers are frozen and the centre liquid, the centre
decorrelates faster than the boundaries, for neurons and for weights (thermal local moves at beta = 66.7, the
beta of published codes; about a minute on 2 cores)."""
from __future__ import annotations

import numpy as np
import pytest

from deepglass.experiments.dynamics import LOWER, MEASURED, relaxation
from deepglass.experiments.runner import run_simulation
from deepglass.theory import ChainProblem, solve

L, ALPHA, TW = 6, 4.0, 100
CONFIG = {"seed": 7, "network": {"N": 12, "L": L, "kappa": 0.0},
          "data": {"scenario": "random", "alpha": ALPHA, "M_test": 0},
          "mc": {"acceptance": "metropolis", "beta": 66.7, "potential": "soft", "backend": "numba"},
          "run": {"protocol": "learning", "t_max": 3000, "per_decade": 8, "n_samples": 2},
          "replicas": {"R": 2, "waiting_times": [TW]}}


def test_theory_freezes_the_boundaries_and_keeps_the_centre_liquid_here():
    rs = solve(ChainProblem("random", L, ALPHA), "rs")
    assert float(rs["Q"].sel(layer=1)) > 0.1 and float(rs["Q"].sel(layer=L)) > 0.1       # alpha > pi^2/4
    assert abs(float(rs["Q"].sel(layer=3))) < 1e-6 and abs(float(rs["q"].sel(layer=3))) < 1e-6


@pytest.mark.slow
def test_liquid_centre_decorrelates_faster_than_frozen_boundaries(tmp_path):
    rel = relaxation(run_simulation(CONFIG, tmp_path / "run")).sel(tw=TW)
    for kind, boundary, centre in (("neurons", [1, L - 1], [3]), ("weights", [1, L], [3, 4])):
        sel = rel.sel(kind=kind)
        flags = sel["tau_decorrelation_flag"]
        assert (flags.sel(layer=centre) == MEASURED).all(), kind       # the centre decorrelates within the run
        fastest_centre = float(sel["tau_decorrelation"].sel(layer=centre).max())
        boundary_times = np.where(flags.sel(layer=boundary) == LOWER, sel["tau_decorrelation_bound"].sel(layer=boundary),
                                  sel["tau_decorrelation"].sel(layer=boundary))  # a lower bound only strengthens it
        assert boundary_times.min() > 1.5 * fastest_centre, (kind, boundary_times, fastest_centre)
