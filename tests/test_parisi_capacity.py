"""The k-RSB capacity's scan and extrapolation (theory/capacity_rsb.py) on stub solves with a known threshold:
1 - max c linear in (2 - alpha), solves that break down just below 2. The physics (Gardner's 2 by k-RSB) is
the slow test in test_theory_cli.py."""
import numpy as np
import pytest
import xarray as xr

import deepglass.theory.capacity_rsb as cr
from deepglass.errors import ConvergenceError
from deepglass.theory import ChainProblem


def _stub(fail_above, gap_at):
    def solve(problem, steps=1, init=None):
        if problem.alpha >= fail_above:
            raise ConvergenceError("stub: the map broke down", float("nan"), 0)
        ds = xr.Dataset({"Q": ("layer", [np.nan, 1.0 - gap_at(problem.alpha)]), "q": ("layer", [1.0, 1.0])})
        ds.attrs.update(collapsed_to_rs=0, free_entropy=-1.0, steps=steps)
        return ds
    return solve


def test_linear_approach_extrapolates_to_its_root(monkeypatch):
    monkeypatch.setattr(cr, "solve_krsb_chain", _stub(1.999, lambda a: 0.5 * (2.0 - a)))
    r = cr.krsb_capacity(ChainProblem("random", 1, 1.0), 1, alpha_start=1.0)
    assert r["alpha_c"] == pytest.approx(2.0, rel=1e-9) and r["alpha_c_linear"] == pytest.approx(2.0, rel=1e-9)
    assert r["lower_bound"] < 2.0 and r["stopped"] == "map broke down"


def test_failure_far_from_one_is_refused_not_extrapolated(monkeypatch):
    # the solver fails while 1 - c is still 0.3: that is no approach to a capacity
    monkeypatch.setattr(cr, "solve_krsb_chain", _stub(1.5, lambda a: 0.3))
    with pytest.raises(ConvergenceError, match="far from 1"):
        cr.krsb_capacity(ChainProblem("random", 1, 1.0), 1, alpha_start=1.0)


def test_failed_warm_start_is_retried_with_smaller_load_steps(monkeypatch):
    # the RSB branch moves fast near a capacity: a warm start more than 0.1 away in alpha fails (here at every
    # load). The scan used to stop at the first failure (1 - c = 0.37 there: "far from 1", no capacity);
    # it now halves the load step from the last solution and reaches the threshold at 2
    def solve(problem, steps=1, init=None):
        a = problem.alpha
        if init is not None and a - init.attrs["alpha"] > 0.1:
            raise ConvergenceError("stub: warm start too far", float("nan"), 0)
        if a >= 1.999:
            raise ConvergenceError("stub: the map broke down", float("nan"), 0)
        ds = xr.Dataset({"Q": ("layer", [np.nan, 1.0 - 0.5 * (2.0 - a)]), "q": ("layer", [1.0, 1.0])})
        ds.attrs.update(collapsed_to_rs=0, free_entropy=-1.0, steps=steps, alpha=a)
        return ds

    monkeypatch.setattr(cr, "solve_krsb_chain", solve)
    r = cr.krsb_capacity(ChainProblem("random", 1, 1.0), 1, alpha_start=1.0)
    assert r["alpha_c"] == pytest.approx(2.0, rel=1e-9) and r["lower_bound"] > 1.9
