"""Full replica symmetry breaking for the deep chain (docs/theory.md, section R5).

Each Parisi function q^l(x), Q^l(x) is discretised on a fixed uniform x grid of ``n_x`` cells (value
constant on each cell): on such a function the step-function Parisi recursion of parisi.py is the
exact solution of the Parisi PDE, so this is the PDE with a first-order-in-dx discretisation of q(x)
(no breakpoint optimisation needed: the grid resolves where q(x) varies). The saddle point for the
n_x levels of every function is the same map as k-RSB (parisi_chain.py), solved with Anderson mixing.

Start: the 1RSB solution (or ``init``) sampled on the grid, so the iteration begins on the RSB branch.
Two stages (docs/theory.md R2a): the 1RSB start and a first level solve on opts.coarse(), then the
level solve on the accurate rule and the refined audit; every reported residual is of the latter two.
Scenario: random data only (teacher-student is RS on the Nishimori line: ConfigError, use "rs").
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConfigError, ConvergenceError
from .krsb import check_random_scenario, grid_options, replica_symmetric_start, solve_on
from .parisi import StepFunction
from .parisi_chain import ONE, ChainState
from .parisi_solver import (
    check_solution,
    level_spread,
    map_breakdown_as_convergence_error,
    solve_levels,
    solve_levels_fast,
    to_dataset,
)
from .problem import ChainProblem


def _sample(ds: xr.Dataset, name: str, layer: int, x_mid: np.ndarray, smoothing: float) -> np.ndarray:
    """A Parisi function of a solution Dataset at the cell centres, smoothed over a window in x.

    The smoothing matters: functions with plateaus on the grid cells (a k-RSB step function) span a
    subspace that the level map leaves invariant, so a step-function start would never leave it.
    """
    if "x" in ds.coords and f"{name}_x" in ds:
        xs = ds["x"].values
        fx = ds[f"{name}_x"].sel(layer=layer).values
        window = np.linspace(-smoothing, smoothing, 41)
        pts = np.clip(x_mid[:, None] + window[None, :], 0.0, 1.0)
        return np.interp(pts, xs, fx).mean(axis=1)
    return np.full(x_mid.size, float(ds[name].sel(layer=layer)))


def solve_frsb_chain(problem: ChainProblem, init: xr.Dataset | None = None, tol: float = 1e-8,
                     max_iter: int = 2000, n_x: int = 20, panel_nodes: int = 12,
                     start_steps: int = 1, smoothing: float = 0.15, breakpoint_method: str = "newton") -> xr.Dataset:
    """Full-RSB saddle point of the chain on an x grid of n_x cells; contract layout (ansatz "frsb")."""
    check_random_scenario(problem, "frsb")
    if not isinstance(n_x, (int, np.integer)) or not 4 <= n_x <= 400:
        raise ConfigError("n_x", n_x, "an integer in 4..400 (cells of the x grid)")
    opts = grid_options(panel_nodes)
    L = problem.L
    cheap = opts.coarse()  # first stage (docs/theory.md R2a); the reported solution is polished on opts
    # the old path (breakpoint_method "nested", kept for benchmarks/bench_theory.py) also keeps the damped levels
    levels = solve_levels if breakpoint_method == "nested" else solve_levels_fast
    it0 = 0
    if init is None:
        if start_steps == 0:
            init = replica_symmetric_start(problem)
        else:
            st0, ev0, res0, it0, coll0 = solve_on(problem, start_steps, None, cheap, tol=max(tol, 1e-8),
                                                  max_iter=max_iter, breakpoint_method=breakpoint_method)
            init = to_dataset(problem, st0, ev0.free_entropy, ansatz="krsb", steps=start_steps, residual=res0,
                              iterations=it0, collapsed=coll0)
    if int(init.attrs.get("L", -1)) != L:
        raise ConfigError("init", f"L = {init.attrs.get('L')}", f"a solution with the same depth L = {L}")
    edges = np.linspace(0.0, 1.0, n_x + 1)
    bp, x_mid = edges[1:-1], 0.5 * (edges[:-1] + edges[1:])
    Q = [None] + [StepFunction(bp, np.maximum.accumulate(_sample(init, "Q", l, x_mid, smoothing))) for l in range(1, L + 1)]
    q = [ONE] + [StepFunction(bp, np.maximum.accumulate(_sample(init, "q", l, x_mid, smoothing))) for l in range(1, L)] + [ONE]
    state = ChainState(Q, q)
    what = f"full-RSB chain (L = {L}, alpha = {problem.alpha}, kappa = {problem.kappa}, n_x = {n_x})"
    with map_breakdown_as_convergence_error(what):
        state, ev, residual, it1, ok = levels(problem, state, cheap, tol=max(tol, 1e-9), max_iter=max_iter)
        if not ok:
            raise ConvergenceError(what + " (first stage)", residual, it0 + it1)
        state, ev, residual, it2, ok = levels(problem, state, opts, tol=tol, max_iter=max_iter)
    iterations = it0 + it1 + it2  # the k-RSB start's evaluations included
    if not ok:
        raise ConvergenceError(what, residual, iterations)
    audit = check_solution(problem, state, ev, opts, residual, what, iterations=iterations, breakpoints=False, tol=tol)
    ds = to_dataset(problem, state, ev.free_entropy, ansatz="frsb", steps=0, residual=audit["residual"],
                    iterations=iterations, collapsed=level_spread(state, L) == 0.0, n_x=max(101, 2 * n_x + 1))
    ds.attrs.update({k: v for k, v in audit.items() if k != "residual"})
    ds.attrs["n_x"] = int(n_x)
    return ds
