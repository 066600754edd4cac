"""Breakpoints of the k-RSB chain by Newton steps on the reduced stationarity equations (docs/theory.md R4a).

At fixed breakpoints m the levels y*(m) are the fixed point of the level map (parisi_solver.solve_levels).
The reduced free entropy S(m) = s(m, y*(m)) has the gradient G(m) = ds/dm at (m, y*(m)) (envelope
theorem: the level gradients vanish there), and the breakpoint equations are G(m) = 0 at a *minimum* of
S (the Parisi functional is minimised over x(q), docs/theory.md R9). Its Hessian H = dG/dm contains the
implicit response of the levels, dG/dm = G_m + G_y dy*/dm; it is computed by forward differences of
warm-started level solves, which give dy*/dm as well: the level solve at the next point then starts from
the linear prediction y* + (dy*/dm) delta. Steps: Newton on the symmetrised H (its absolute eigenvalues
where H is not positive definite: still a descent direction of S), scaled into the trust region where no
gap of 0 < m_1 < ... < m_k < 1 shrinks by more than 4x, backtracked until S or the scaled residual
|G| / jump^2 decreases; then BFGS updates of H (and Broyden updates of dy*/dm) from the secant pairs,
with a fresh difference Hessian when a step gained too little.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConvergenceError
from .parisi_chain import (
    ChainState,
    GridOptions,
    breakpoint_gradient,
    level_spread,
    pack_breakpoints,
    pack_levels,
    step_jumps,
    unpack_breakpoints,
    unpack_levels,
)
from .problem import ChainProblem

SHRINK = 0.25  # no gap of 0 = m_0 < m_1 < ... < m_k < m_{k+1} = 1 shrinks below this fraction in one step


class StartLevelsError(ConvergenceError):
    """The level solve at the starting breakpoints failed (undamped and damped): the nested iteration, which
    begins with the same damped solve from the same start, would fail identically, so it is not tried."""


class Collapsed(Exception):
    """The steps close while m is iterated: the RS point is the solution (solved for by the caller from
    ``state``, the last level solution; ``iterations``: the evaluations spent)."""

    def __init__(self, state: ChainState, iterations: int):
        super().__init__("the steps closed")
        self.state, self.iterations = state, iterations


def largest_feasible_fraction(m: np.ndarray, delta: np.ndarray) -> float:
    """Largest t <= 1 with every gap of (0, m + t delta, 1) at least SHRINK times its present size."""
    gaps = np.diff(np.concatenate([[0.0], m, [1.0]]))
    change = np.diff(np.concatenate([[0.0], delta, [0.0]]))
    limit = -(1.0 - SHRINK) * gaps
    shrinking = change < limit  # at t = 1 this gap would shrink too much
    if not np.any(shrinking):
        return 1.0
    return float(np.min(limit[shrinking] / change[shrinking]))


def descent_direction(H: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Newton step -H^{-1} G on the symmetrised H; with |eigenvalues| (floored) where H is not positive
    definite, so that the step still descends S (we look for a minimum in m)."""
    lam, V = np.linalg.eigh(0.5 * (H + H.T))
    top = float(np.max(np.abs(lam))) if lam.size else 0.0
    if not np.isfinite(top) or top == 0.0:
        return -G.copy()
    lam = np.maximum(np.abs(lam), 1e-6 * top)
    return -V @ ((V.T @ G) / lam)


def step_jumps2(state: ChainState, L: int) -> np.ndarray:
    """Squared largest level jump at each shared breakpoint (ds/dm vanishes like it as a step closes)."""
    return step_jumps(state, L) ** 2 + 1e-14


def newton_breakpoints(problem: ChainProblem, state: ChainState, opts: GridOptions, solve_levels, *, tol: float,
                       max_iter: int, what: str, max_steps: int = 40, collapse_spread: float = 2e-3):
    """Levels and breakpoints of the k-RSB chain from ``state``: Newton on G(m) = dS/dm (module docstring).

    ``solve_levels(problem, state, opts, tol=, max_iter=)`` is the level solver (parisi_solver.solve_levels_fast).
    Returns (state, evaluation, residual, iterations, collapsed); residual = max(level residual, |ds/dm|) <= tol.
    Raises ConvergenceError (with the evaluations spent) where it fails, Collapsed where the steps close.
    """
    L = problem.L
    total = 0
    spreads = []

    def levels_at(m, start: ChainState, y_start, inner_tol):
        nonlocal total
        trial = unpack_breakpoints(m, start, L)
        if y_start is not None:
            trial = unpack_levels(y_start, trial, L)
        st, ev, res, it, ok = solve_levels(problem, trial, opts, tol=inner_tol, max_iter=max_iter)
        total += it
        if not ok:
            raise ConvergenceError(what + " (levels at fixed breakpoints)", res, total)
        return st, ev, res

    def record(st):
        spreads.append(level_spread(st, L))
        s = spreads
        if len(s) >= 4 and s[-1] < collapse_spread and s[-1] < s[-2] < s[-3] < s[-4]:
            raise Collapsed(st, total)

    def inner_tol_for(G):
        return float(np.clip(1e-2 * np.max(np.abs(G)), tol, 1e-6))

    m = pack_breakpoints(state, L)
    try:
        st, ev, res = levels_at(m, state, None, 1e-6)
    except ConvergenceError as exc:
        raise StartLevelsError(what + " (levels at the starting breakpoints)", exc.residual, exc.iterations) from None
    G = breakpoint_gradient(ev, L)
    if inner_tol_for(G) < 1e-6:
        st, ev, res = levels_at(m, st, None, inner_tol_for(G))
        G = breakpoint_gradient(ev, L)
    record(st)
    H = Y = None
    if state.curvature is not None and state.curvature[0].shape == m.shape and state.curvature[2].shape[0] == \
            pack_levels(st, L).size:  # the curvature of an earlier solve (coarser rule, nearby load) as first model
        H, Y = state.curvature[1], state.curvature[2]
    for _ in range(max_steps):
        if level_spread(st, L) == 0.0:  # every function replica symmetric: ds/dm = 0 identically
            return st, ev, res, total, True
        gmax = float(np.max(np.abs(G)))
        if gmax <= tol:
            if res <= tol:
                if H is not None:
                    st.curvature = (m.copy(), H, Y)
                return st, ev, max(res, gmax), total, False
            st, ev, res = levels_at(m, st, None, tol)
            G = breakpoint_gradient(ev, L)
            continue
        if H is None:
            H, Y, st, ev, res, G = difference_hessian(m, st, ev, res, L, levels_at, tol)
            gmax = float(np.max(np.abs(G)))
        y = pack_levels(st, L)
        delta = descent_direction(H, G)
        t = min(1.0, largest_feasible_fraction(m, delta))
        scaled = float(np.max(np.abs(G) / step_jumps2(st, L)))
        slope = float(G @ delta)
        inner = inner_tol_for(G)
        for _ in range(6):
            m_new = m + t * delta
            st_new, ev_new, res_new = levels_at(m_new, st, y + Y @ (t * delta), inner)
            G_new = breakpoint_gradient(ev_new, L)
            scaled_new = float(np.max(np.abs(G_new) / step_jumps2(st_new, L)))
            armijo = ev_new.free_entropy <= ev.free_entropy + 1e-4 * t * slope and slope < 0
            if scaled_new < scaled or armijo:
                break
            t *= 0.5
        else:
            raise ConvergenceError(what + " (Newton steps on the breakpoints: no decrease)", gmax, total)
        s_vec, g_vec = m_new - m, G_new - G
        y_new = pack_levels(st_new, L)
        gained = float(np.max(np.abs(G_new))) < 0.3 * gmax
        m, st, ev, res, G = m_new, st_new, ev_new, res_new, G_new
        record(st)
        if t < 1.0 or not gained and float(np.max(np.abs(G))) > gmax:
            H = None  # the quadratic model failed: a fresh difference Hessian at the new point
            continue
        Hs = H @ s_vec
        curvature_pair = float(s_vec @ g_vec) > 1e-12 * np.linalg.norm(s_vec) * np.linalg.norm(g_vec)
        if curvature_pair and float(s_vec @ Hs) > 0:  # BFGS: keeps a positive definite H positive definite
            H = H + np.outer(g_vec, g_vec) / float(s_vec @ g_vec) - np.outer(Hs, Hs) / float(s_vec @ Hs)
        Y = Y + np.outer(y_new - y - Y @ s_vec, s_vec) / float(s_vec @ s_vec)
    raise ConvergenceError(what + " (Newton steps on the breakpoints)", float(np.max(np.abs(G))), total)


def difference_hessian(m, st, ev, res, L, levels_at, tol):
    """H = dG/dm and Y = dy*/dm by forward differences of warm-started level solves (one per breakpoint).

    The step h_j is 1 % of the smaller gap beside m_j. Every level solve of the quotient (the base point
    included) is converged to fd_tol, 1e-3 of the expected change h |H| of G (|H| ~ 0.03 jump^2, measured
    at L = 10, alpha = 6), so that the quotient is accurate to ~1e-2 relative (enough: Newton then gains >= 2 digits a step).
    Returns (H, Y, state, evaluation, residual, G) at the (re-solved) base point.
    """
    k = m.size
    gaps = np.diff(np.concatenate([[0.0], m, [1.0]]))
    steps = 1e-2 * np.minimum(gaps[:-1], gaps[1:])
    fd_tol = float(np.clip(1e-3 * np.min(steps) * float(np.max(step_jumps2(st, L))), tol, 1e-8))
    if res > fd_tol:
        st, ev, res = levels_at(m, st, None, fd_tol)
    G = breakpoint_gradient(ev, L)
    y = pack_levels(st, L)
    H, Y = np.zeros((k, k)), np.zeros((y.size, k))
    for j in range(k):
        mj = m.copy()
        mj[j] += steps[j]
        st_j, ev_j, _ = levels_at(mj, st, None, fd_tol)
        H[:, j] = (breakpoint_gradient(ev_j, L) - G) / steps[j]
        Y[:, j] = (pack_levels(st_j, L) - y) / steps[j]
    return H, Y, st, ev, res, G
