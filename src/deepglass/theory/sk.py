"""Sherrington-Kirkpatrick model with the Parisi machinery of parisi.py: the classic check of MODEL.md section 6.

k-step RSB free energy at temperature T = 1/beta (no external field), per spin:
    -beta f = (beta^2/4) [1 + int_0^1 q(x)^2 dx - 2 q(1)] + Phi[beta^2 q],   bottom log 2cosh(h),
and its T = 0 limit with rescaled breakpoints mu_i = beta m_i and q_k = 1 - chi T -> 1:
    -e_0 = (1/4) [sum_{i<k} q_i^2 (mu_{i+1} - mu_i) - mu_k] + Phi_0[q],        bottom |h|, exponents mu_i.
Saddle points: q_i = E_{P_i}[phi_i'^2] and the breakpoint equations (docs/theory.md, section R7).
Both are solved as the root of the exact gradient (parisi.py identities) with scipy's hybrid Powell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import ConfigError, ConvergenceError
from .parisi import FieldGrid, abs_bottom, ising_bottom, parisi_recursion


@dataclass(frozen=True)
class SKSolution:
    steps: int
    temperature: float
    free_energy: float  # f per spin (at T = 0: the ground-state energy e_0)
    levels: np.ndarray  # q_0..q_k (at T = 0 the last is 1)
    breakpoints: np.ndarray  # m_1..m_k (at T = 0: the rescaled mu_i = beta m_i)
    residual: float


def _grid(variance: float, resolution: float) -> FieldGrid:
    sd = np.sqrt(variance)
    return FieldGrid.for_variance(variance, 9.0 * sd + variance, resolution, max_half=4000)


def sk_free_entropy_T(levels, breakpoints, beta: float, resolution: float = 0.02):
    """-beta f and its gradient (d/dq_i, d/dm_i) for a k-RSB q(x) at inverse temperature beta."""
    q = np.asarray(levels, dtype=float)
    m = np.asarray(breakpoints, dtype=float)
    w = np.diff(np.concatenate([[0.0], m, [1.0]]))
    a = beta * beta * q
    res = parisi_recursion(a, m, ising_bottom, _grid(max(a[-1], 1e-12), resolution * max(1.0, beta)))
    value = 0.25 * beta**2 * (1.0 + np.sum(w * q * q) - 2.0 * q[-1]) + res.value
    grad_q = 0.5 * beta**2 * w * (q - res.sq_slope)
    grad_m = 0.25 * beta**2 * (q[:-1] ** 2 - q[1:] ** 2) + res.breakpoint_gradient(m)
    return value, grad_q, grad_m, res


def sk_ground_state_functional(levels, mus, resolution: float = 0.02):
    """-e_0 and gradient at T = 0: levels q_0..q_{k-1} (q_k = 1), rescaled breakpoints mu_1..mu_k."""
    q = np.concatenate([np.asarray(levels, dtype=float), [1.0]])
    mu = np.asarray(mus, dtype=float)
    k = mu.size
    w = np.diff(np.concatenate([[0.0], mu]))  # widths of levels 0..k-1 (level k extends to beta -> inf)
    res = parisi_recursion(q, mu, abs_bottom, _grid(1.0, resolution))
    value = 0.25 * (np.sum(q[:k] ** 2 * w) - (mu[-1] if k else 0.0)) + res.value
    grad_q = 0.5 * w * (q[:k] - res.sq_slope[:k])
    grad_mu = 0.25 * (q[:-1] ** 2 - q[1:] ** 2) + res.breakpoint_gradient(mu)
    return value, grad_q, grad_mu, res


def _initial_levels(steps: int, top: float) -> np.ndarray:
    return top * np.linspace(0.0, 1.0, steps + 2)[1:] ** 0.5 if steps else np.array([top])


def solve_sk(steps: int, temperature: float, *, tol: float = 1e-10, resolution: float | None = None,
             init: SKSolution | None = None) -> SKSolution:
    """Solve the k-RSB SK saddle point at temperature T >= 0 (T = 0: ground state with rescaled breakpoints)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ConfigError("steps", steps, "an integer k >= 0 (number of RSB steps)")
    if not np.isfinite(temperature) or temperature < 0:
        raise ConfigError("temperature", temperature, "a finite real number >= 0")
    k = int(steps)
    if temperature == 0:
        return _solve_ground_state(k, tol, resolution or 0.02, init)
    beta = 1.0 / temperature
    res_ = resolution or 0.02
    if init is not None:
        x0 = np.concatenate([init.levels, init.breakpoints])
    else:
        x0 = np.concatenate([_initial_levels(k, 0.9 if beta > 1 else 0.5), np.linspace(0.2, 0.8, k) * min(1.0, temperature)])

    def F(x):
        q, m = x[:k + 1], np.sort(x[k + 1:])
        _, gq, gm, _ = sk_free_entropy_T(np.clip(q, 0, 1), np.clip(m, 1e-6, 1.0), beta, res_)
        w = np.diff(np.concatenate([[0.0], m, [1.0]]))
        return np.concatenate([gq / np.maximum(w, 1e-9) / (0.5 * beta**2), gm])

    sol = optimize.root(F, x0, method="hybr", tol=tol)
    residual = float(np.max(np.abs(F(sol.x)))) if sol.x.size else 0.0
    if residual > 1e3 * tol and residual > 1e-7:
        raise ConvergenceError(f"SK {k}-RSB saddle point at T = {temperature}", residual, int(sol.nfev))
    q, m = sol.x[:k + 1], np.sort(sol.x[k + 1:])
    value, *_ = sk_free_entropy_T(q, m, beta, res_)
    return SKSolution(k, temperature, -value / beta, q, m, residual)


def _solve_ground_state(k: int, tol: float, resolution: float, init: SKSolution | None) -> SKSolution:
    if k == 0:  # RS at T = 0: e_0 = -E|z| = -sqrt(2/pi)
        value, *_ = sk_ground_state_functional(np.zeros(0), np.zeros(0), resolution)
        return SKSolution(0, 0.0, -value, np.array([1.0]), np.zeros(0), 0.0)
    if init is not None and init.steps == k:
        x0 = np.concatenate([init.levels[:k], init.breakpoints])
    else:  # q_0 > 0: q_0 = 0 is a spurious (symmetric) stationary point at zero field
        x0 = (np.array([0.48, 1.36]) if k == 1 else  # near the known T = 0 Parisi function q(mu)
              np.concatenate([np.linspace(0.3, 0.9, k), np.geomspace(0.8, 2.7 + 0.8 * (k - 2), k)]))

    def F(x):
        q, mu = x[:k], x[k:]
        _, gq, gmu, _ = sk_ground_state_functional(q, mu, resolution)
        w = np.diff(np.concatenate([[0.0], mu]))
        return np.concatenate([gq / np.where(np.abs(w) > 1e-12, w, 1e-12) / 0.5, gmu])

    sol = optimize.root(F, x0, method="hybr", tol=tol)
    residual = float(np.max(np.abs(F(sol.x))))
    if residual > 1e-7:
        raise ConvergenceError(f"SK {k}-RSB ground state", residual, int(sol.nfev))
    q, mu = sol.x[:k], sol.x[k:]
    value, *_ = sk_ground_state_functional(q, mu, resolution)
    return SKSolution(k, 0.0, -value, np.concatenate([q, [1.0]]), mu, residual)
