"""k-step replica symmetry breaking for the deep chain (docs/theory.md, sections R3-R4).

Every order parameter -- the weight overlap Q^l(x) of each layer and the neuron overlap q^l(x) of each
hidden layer -- is a step function with its own k + 1 levels on one Parisi hierarchy of k breakpoints
shared by all layers and optimised (ds/dm = 0); a layer may close some of its steps (equal levels).
Why shared: docs/theory.md section R4 (per-function breakpoints drifted apart and lost the RSB mode).
k = 0 is the replica-symmetric chain.

Scenario: random data only (replica limit n -> 0). Teacher-student sits on the Nishimori line where
RS is exact, so RSB is not needed there; it raises ConfigError (use ansatz "rs").
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConfigError, DeepglassError
from .parisi import StepFunction
from .parisi_chain import ONE, ChainState, GridOptions, level_to_y
from .parisi_solver import check_solution, map_breakdown_as_convergence_error, polish, solve_chain, to_dataset
from .problem import ChainProblem


def check_random_scenario(problem: ChainProblem, ansatz: str) -> None:
    if problem.scenario != "random":
        raise ConfigError("scenario", problem.scenario,
                          f"'random' for ansatz '{ansatz}' (teacher-student is replica symmetric on the Nishimori "
                          "line: use ansatz 'rs')")


def _levels_from_value(value: float, n: int) -> np.ndarray:
    """k+1 increasing levels ending at ``value`` (a spread guess that k-RSB may collapse if RS is right)."""
    return value * np.linspace(0.55, 1.0, n) if n > 1 else np.array([value])


def _steps_of(ds: xr.Dataset) -> int:
    return int(ds.attrs.get("steps", 0)) if ds.attrs.get("ansatz") in ("rs", "krsb") else -1


def split_step(levels: np.ndarray, breakpoints: np.ndarray, where: int) -> tuple[np.ndarray, np.ndarray]:
    """(k-1)-RSB -> k-RSB: the jump at breakpoint ``where`` opens into two jumps around it."""
    edges = np.concatenate([[0.0], breakpoints, [1.0]])
    m = edges[where + 1]
    d = 0.3 * min(m - edges[where], edges[where + 2] - m)
    new_bp = np.concatenate([breakpoints[:where], [m - d, m + d], breakpoints[where + 1:]])
    mid = 0.5 * (levels[where] + levels[where + 1])
    new_lv = np.concatenate([levels[:where + 1], [mid], levels[where + 1:]])
    return new_lv, new_bp


def initial_state(problem: ChainProblem, steps: int, init: xr.Dataset | None) -> ChainState:
    """Warm start from a k- or (k-1)-RSB solution (split open), from any Dataset's EA overlaps, or a guess."""
    if init is not None and init.attrs.get("ansatz") == "krsb" and _steps_of(init) == steps - 1 and steps >= 2:
        return _split_open(problem, steps, init)
    L, n = problem.L, steps + 1
    Q, q = [None], [ONE]
    for f_index in range(1, 2 * L):
        is_Q = f_index <= L
        l = f_index if is_Q else f_index - L
        bp = np.linspace(0.3, 0.7, steps) if steps else np.zeros(0)
        lv = None
        if init is not None:
            name = "Q" if is_Q else "q"
            if f"{name}_levels" in init and init.attrs.get("steps") == steps and init.attrs.get("L") == L:
                lv = np.asarray(init[f"{name}_levels"].sel(layer=l), dtype=float)
                bp = np.asarray(init["breakpoints"].sel(layer=1), dtype=float)[1:]
            elif int(init.attrs.get("L", -1)) == L:
                lv = _levels_from_value(float(init[name].sel(layer=l)), n)
        if lv is None:
            edge = min(l, L - l)  # distance to the boundary: glassy near it
            top = 0.9 if edge <= 1 else 0.6
            lv = _levels_from_value(top, n)
        f = StepFunction(bp, np.clip(np.maximum.accumulate(lv), 0.0, 1.0 - 1e-9))
        (Q if is_Q else q).append(f)
    q.append(ONE)
    return ChainState(Q, q)


def _split_open(problem: ChainProblem, steps: int, init: xr.Dataset) -> ChainState:
    L = problem.L
    bp = np.asarray(init["breakpoints"].sel(layer=1), dtype=float)[1:]
    Ql = np.asarray(init["Q_levels"].values[1:], dtype=float)
    ql = np.asarray(init["q_levels"].values[1:L], dtype=float)
    allv = np.concatenate([Ql, ql]) if L > 1 else Ql
    where = int(np.argmax(np.max(np.diff(level_to_y(allv), axis=1), axis=0)))
    Q, q = [None], [ONE]
    for l in range(1, L + 1):
        lv, new_bp = split_step(Ql[l - 1], bp, where)
        Q.append(StepFunction(new_bp, lv))
    for l in range(1, L):
        lv, new_bp = split_step(ql[l - 1], bp, where)
        q.append(StepFunction(new_bp, lv))
    q.append(ONE)
    return ChainState(Q, q)


def replica_symmetric_start(problem: ChainProblem) -> xr.Dataset | None:
    """The RS solution (largest fixed point, deepglass.theory.rs) as the default warm start, if available."""
    try:
        from .rs import solve_rs
    except ImportError:  # RS solver absent: start from the glassy guess of initial_state
        return None
    try:
        return solve_rs(problem)
    except DeepglassError:
        return None


def grid_options(panel_nodes: int) -> GridOptions:
    """Field quadrature (parisi_quadrature.QuadratureOptions) with ``panel_nodes`` Gauss-Legendre nodes per panel."""
    if not isinstance(panel_nodes, (int, np.integer)) or not 6 <= panel_nodes <= 32:
        raise ConfigError("panel_nodes", panel_nodes, "an integer in 6..32 (Gauss-Legendre nodes per field panel)")
    return GridOptions(q_grid=int(panel_nodes))


def solve_on(problem: ChainProblem, steps: int, init: xr.Dataset | None, opts: GridOptions, *, tol: float,
             max_iter: int, breakpoint_method: str = "newton"):
    """k-RSB saddle point with the quadrature ``opts``, by continuation in k from RS (or from ``init``).

    Returns (state, evaluation, residual, iterations, collapsed), not audited: the first stage of
    solve_krsb_chain (and of full RSB's start), done on a cheap grid.
    """
    iterations = 0
    if init is None or _steps_of(init) not in (steps, steps - 1):
        # continuation in k: RS -> 1RSB -> ... -> k-RSB, each step split open from the previous solution
        if steps <= 1:
            init = replica_symmetric_start(problem)
        else:
            st, ev, res, iterations, coll = solve_on(problem, steps - 1, None, opts, tol=max(tol, 1e-7),
                                                     max_iter=max_iter, breakpoint_method=breakpoint_method)
            init = to_dataset(problem, st, ev.free_entropy, ansatz="krsb", steps=steps - 1, residual=res,
                              iterations=iterations, collapsed=coll)
    state = initial_state(problem, steps, init)
    what = f"{steps}-RSB chain (L = {problem.L}, alpha = {problem.alpha}, kappa = {problem.kappa})"
    with map_breakdown_as_convergence_error(what):
        # a warm start on the RSB branch (continuation in the load) that collapses onto RS is retried robustly
        warm_rsb = init is not None and init.attrs.get("ansatz") == "krsb" and not init.attrs.get("collapsed_to_rs")
        st, ev, res, it, collapsed = solve_chain(problem, state, opts, tol=tol, max_iter=max_iter,
                                                 optimise_breakpoints=steps > 0, what=what, try_joint_first=False,
                                                 retry_on_collapse=warm_rsb, method=breakpoint_method)
    return st, ev, res, iterations + it, collapsed


def solve_krsb_chain(problem: ChainProblem, steps: int = 1, init: xr.Dataset | None = None, tol: float = 1e-8,
                     max_iter: int = 1000, panel_nodes: int = 12, breakpoint_method: str = "newton") -> xr.Dataset:
    """k-RSB saddle point of the chain, shared breakpoints optimised; contract layout (ansatz "krsb").

    Two stages (docs/theory.md R2a): the continuation in k on the cheaper rule opts.coarse(), then the
    polish on ``opts`` from that point; the reported residual is the larger of the polish's and the
    one re-evaluated with opts.refined() (parisi_solver.check_solution). ``breakpoint_method``: "newton"
    (parisi_newton.py) or "nested" (the older secant iteration, kept for benchmarks/bench_theory.py).
    """
    check_random_scenario(problem, "krsb")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ConfigError("steps", steps, "an integer k >= 0 (number of RSB steps)")
    opts = grid_options(panel_nodes)
    steps = int(steps)
    what = f"{steps}-RSB chain (L = {problem.L}, alpha = {problem.alpha}, kappa = {problem.kappa})"
    st, ev, res, it1, collapsed = solve_on(problem, steps, init, opts.coarse(), tol=max(tol, 1e-9),
                                           max_iter=max_iter, breakpoint_method=breakpoint_method)
    with map_breakdown_as_convergence_error(what):
        state, ev, residual, it2, collapsed = polish(problem, st, opts, tol=tol, max_iter=max_iter,
                                                     optimise_breakpoints=steps > 0, collapsed=collapsed, what=what,
                                                     method=breakpoint_method)
    iterations = it1 + it2
    audit = check_solution(problem, state, ev, opts, residual, what, iterations=iterations,
                           breakpoints=steps > 0 and not collapsed, tol=tol)
    ds = to_dataset(problem, state, ev.free_entropy, ansatz="krsb", steps=int(steps), residual=audit["residual"],
                    iterations=iterations, collapsed=collapsed)
    ds.attrs.update({k: v for k, v in audit.items() if k != "residual"})
    return ds
