"""Anderson mixing (type II): the one multisecant root finder of the theory solvers.

Finds a zero of r = fun(x)[0]. It converges whether or not the plain iteration x <- x + r contracts,
which the RS chain near a transition and the Parisi breakpoint equations (saddle conditions) both need.
Used by theory/rs.py (RS unknowns in the box [0, 1)) and theory/parisi_solver.py (levels, breakpoints).
"""
from __future__ import annotations

import numpy as np


def anderson(fun, x0: np.ndarray, *, tol: float, max_iter: int, memory: int = 6, mixing: float = 0.5,
             max_step_ratio: float = 100.0, project=lambda x: x):
    """Zero of r = fun(x)[0] by Anderson mixing; returns (x, aux, residual, iterations, converged)."""
    x = project(np.asarray(x0, dtype=float))
    memory = max(1, min(memory, x.size))  # more secant directions than unknowns only adds noise
    X, R = [], []
    best = (np.inf, x, None)
    for it in range(1, max_iter + 1):
        r, aux = fun(x)
        res = float(np.max(np.abs(r))) if r.size else 0.0
        if res < best[0]:
            best = (res, x.copy(), aux)
        if res < tol:
            return x, aux, res, it, True
        if res > 1e3 * best[0] and X:  # blow-up: restart the memory from the best point
            X, R = [], []
            x = best[1].copy()
            continue
        X.append(x.copy())
        R.append(r.copy())
        if len(X) > memory + 1:
            X.pop(0)
            R.pop(0)
        step = mixing * r
        if len(X) >= 2:
            dX = np.array(X[1:]) - np.array(X[:-1])
            dR = np.array(R[1:]) - np.array(R[:-1])
            gamma, *_ = np.linalg.lstsq(dR.T, r, rcond=1e-10)
            step = step - (dX.T + mixing * dR.T) @ gamma
            # trust region: an extrapolation far beyond the plain step is not trusted (curved map)
            limit = max_step_ratio * mixing * res
            size = float(np.max(np.abs(step)))
            if size > limit:
                step *= limit / size
        x = project(x + step)
    return best[1], best[2], best[0], max_iter, False
