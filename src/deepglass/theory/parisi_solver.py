"""Anderson-accelerated fixed-point iteration for the Parisi chain saddle point, and the Dataset layout.

Anderson mixing (type II, a multisecant quasi-Newton method, equivalent to GMRES on linear problems)
finds the zero of r(x) = T(x) - x whether or not the plain iteration x <- T(x) is contracting; this
matters for the breakpoint equations ds/dm = 0, which are saddle (not maximum) conditions.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConvergenceError
from .parisi_chain import ChainState, GridOptions, Layout, residual_map
from .problem import ChainProblem


def anderson_solve(problem: ChainProblem, layout: Layout, state: ChainState, opts: GridOptions, *, tol: float,
                   max_iter: int, memory: int = 6, mixing: float = 0.5, breakpoint_step: float = 0.5,
                   what: str = "Parisi chain"):
    """Iterate to |T(x) - x|_max < tol; returns (state, evaluation, residual, iterations)."""
    x = layout.pack(state)
    X, R = [], []
    best = (np.inf, None, None, None)
    for it in range(1, max_iter + 1):
        state = layout.unpack(x, state)
        x = layout.pack(state)  # projected onto monotone levels / ordered breakpoints
        r, ev = residual_map(problem, layout, state, opts, breakpoint_step)
        res = float(np.max(np.abs(r))) if r.size else 0.0
        if res < best[0]:
            best = (res, state, ev, it)
        if res < tol:
            return state, ev, res, it
        if res > 1e3 * best[0] and X:  # blow-up: restart the Anderson memory from the best point
            X, R = [], []
            x = layout.pack(best[1])
            continue
        X.append(x.copy())
        R.append(r.copy())
        if len(X) > memory + 1:
            X.pop(0)
            R.pop(0)
        if len(X) >= 2:
            dX = np.array(X[1:]) - np.array(X[:-1])
            dR = np.array(R[1:]) - np.array(R[:-1])
            gamma, *_ = np.linalg.lstsq(dR.T, r, rcond=1e-10)
            x = x + mixing * r - (dX.T + mixing * dR.T) @ gamma
        else:
            x = x + mixing * r
    raise ConvergenceError(what, best[0], max_iter)


def to_dataset(problem: ChainProblem, state: ChainState, free_entropy: float, *, ansatz: str, steps: int,
               residual: float, iterations: int, eps: list | None = None, n_x: int = 101) -> xr.Dataset:
    """The theory contract's layout: q, Q per layer (EA values), q_x, Q_x on an x grid, levels/breakpoints."""
    L = problem.L
    layer = np.arange(L + 1)
    x = np.linspace(0.0, 1.0, n_x)
    nan = np.full(n_x, np.nan)
    q_x = np.array([state.q[l](x) if state.q[l].breakpoints.size else np.full(n_x, state.q[l].levels[0])
                    for l in layer])
    Q_x = np.array([nan] + [state.Q[l](x) for l in range(1, L + 1)])
    q_ea = np.array([state.q[l].levels[-1] for l in layer])
    Q_ea = np.array([np.nan] + [state.Q[l].levels[-1] for l in range(1, L + 1)])
    data = {"q": ("layer", q_ea), "Q": ("layer", Q_ea), "q_x": (("layer", "x"), q_x), "Q_x": (("layer", "x"), Q_x)}
    coords = {"layer": layer, "x": x}
    if ansatz == "krsb":
        nl = steps + 1

        def levels(f):
            return f.levels if f.levels.size == nl else np.full(nl, f.levels[0])

        def bps(f):
            return np.concatenate([[0.0], f.breakpoints]) if f.breakpoints.size == steps else np.full(nl, np.nan)

        data["q_levels"] = (("layer", "level"), np.array([levels(state.q[l]) for l in layer]))
        data["Q_levels"] = (("layer", "level"), np.array([np.full(nl, np.nan)] + [levels(state.Q[l]) for l in range(1, L + 1)]))
        data["breakpoints"] = (("layer", "level"), np.array([np.full(nl, np.nan)] + [bps(state.Q[l]) for l in range(1, L + 1)]))
        data["q_breakpoints"] = (("layer", "level"), np.array([np.full(nl, np.nan)] + [bps(state.q[l]) for l in range(1, L)]
                                                              + [np.full(nl, np.nan)]))
        coords["level"] = np.arange(nl)
    ds = xr.Dataset(data, coords=coords)
    if ansatz == "krsb":
        ds["breakpoints"].attrs["description"] = "m_0 = 0, m_1..m_k of the weight overlap Q^l(x)"
        ds["q_breakpoints"].attrs["description"] = "m_0 = 0, m_1..m_k of the neuron overlap q^l(x) (own breakpoints)"
    ds.attrs.update(ansatz=ansatz, steps=int(steps), scenario=problem.scenario, L=int(L), alpha=float(problem.alpha),
                    kappa=float(problem.kappa), field=float(problem.field), free_entropy=float(free_entropy),
                    residual=float(residual), iterations=int(iterations), converged=1)
    return ds
