"""Where each layer leaves the liquid, how that grows with depth, capacity vs depth (docs/theory.md 5-7).

alpha_g(l) is the load at which the liquid block of the RS map (rs.liquid_operator) reaches spectral
radius 1 along the solved branch; it is found by root finding on that condition with the liquid set
held fixed (the liquid branch exists on both sides), to ~1e-10 in alpha.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize

from ..errors import ConfigError, ConvergenceError
from .blocks_rs import liquid_gap_conjugate
from .problem import ChainProblem
from .rs import close_pinned, liquid_operator, perron, solve_rs_vector, unpack


def liquid_threshold(L: int, kappa: float) -> float:
    """alpha_g of the first transition (exact): 1/m^4 for L >= 3, 1/(2 m^4) for L = 2, m = phi(kappa)/H(kappa).

    For L = 1 the layer is never liquid (q_0 = q_1 = 1 drive Q_1) and 0 is returned.
    """
    if L == 1:
        return 0.0
    m4 = liquid_gap_conjugate(kappa) ** 2
    return 1.0 / (2.0 * m4) if L == 2 else 1.0 / m4


def _liquid_radius(problem: ChainProblem, mask: np.ndarray, x0: np.ndarray):
    x, _, _, _ = solve_rs_vector(problem, x0, force_liquid=mask)
    A, idx = liquid_operator(x, problem, mask)
    rho, v = perron(A)
    return rho, v, idx, x


@dataclasses.dataclass
class Transitions:
    """alpha_g per weight layer (index 0 = layer 1) and per neuron layer (index 0 = layer 0), NaN if none."""

    alpha_g_weights: np.ndarray
    alpha_g_neurons: np.ndarray
    alpha_max: float
    xi: float
    fit_intercept: float
    fit_layers: list[int]

    def as_dict(self) -> dict:
        def listify(a):
            return [None if not np.isfinite(v) else float(v) for v in a]

        return {
            "alpha_g": listify(self.alpha_g_weights),
            "alpha_g_neurons": listify(self.alpha_g_neurons),
            "alpha_max": float(self.alpha_max),
            "xi": None if not np.isfinite(self.xi) else float(self.xi),
            "xi_local": local_lengths(self.alpha_g_weights),
            "fit": {"law": "log alpha_g(l) = a + l/xi", "a": None if not np.isfinite(self.fit_intercept)
                    else float(self.fit_intercept), "layers": self.fit_layers},
        }


def find_transitions(problem_template: ChainProblem, alpha_max: float = 100.0, *, points_per_decade: int = 12,
                     max_layer: int | None = None, xtol: float = 1e-10) -> Transitions:
    """alpha_g(l) for every weight layer (and neuron layer) up to alpha_max.

    Scan alpha geometrically with warm starts, and wherever the liquid set shrinks, root-find
    rho(liquid block)(alpha) = 1 on the branch with that liquid set held at 0. max_layer stops once the
    weight layers 1..max_layer (and, by left-right symmetry, their mirrors) have left the liquid.
    """
    L = problem_template.L
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        raise ConfigError("alpha_max", alpha_max, "a finite load > 0")
    n = 2 * L - 1
    a_w = np.full(L, np.nan)
    a_n = np.full(L + 1, np.nan)
    if L == 1:
        a_w[0] = 0.0
        return Transitions(a_w, a_n, alpha_max, np.nan, np.nan, [])
    start = 0.9 * liquid_threshold(2, problem_template.kappa)
    if problem_template.field > 0:
        start = min(start, 0.05)
    if alpha_max <= start:
        raise ConfigError("alpha_max", alpha_max, f"a load above {start:.4g} (the first transition region)")
    n_pts = max(2, int(np.ceil(np.log10(alpha_max / start) * points_per_decade)) + 1)
    grid = np.geomspace(start, alpha_max, n_pts)

    def problem_at(a):
        return dataclasses.replace(problem_template, alpha=float(a))

    def record(alpha, leaving):
        for i in np.flatnonzero(leaving):
            if i < L:
                if np.isnan(a_w[i]):
                    a_w[i] = alpha
            elif np.isnan(a_n[i - L + 1]):
                a_n[i - L + 1] = alpha

    x_prev, mask_prev, _, _ = solve_rs_vector(problem_at(grid[0]))
    record(0.0, ~mask_prev)  # frozen from the start (field layers, L = 1 boundaries)
    a_w[np.isclose(a_w, 0.0)] = 0.0
    a_prev = grid[0]
    for a in grid[1:]:
        x, mask, _, _ = solve_rs_vector(problem_at(a), x_prev)
        lo, mask_lo, x_lo = a_prev, mask_prev.copy(), x_prev
        guard = 0
        while (mask_lo & ~mask).any() and guard < n:
            guard += 1
            rho_hi, _, _, _ = _liquid_radius(problem_at(a), mask_lo, x_lo)
            if rho_hi < 1.0:  # only closure dropped variables (should not happen): take the grid point
                record(a, mask_lo & ~mask)
                break

            def f(alpha):
                return _liquid_radius(problem_at(alpha), mask_lo, x_lo)[0] - 1.0

            # just above a previous root the newly frozen overlaps are O(alpha - lo): stay off the critical point
            lo_eval = lo if lo == a_prev else lo * (1 + 1e-7)
            alpha_star = optimize.brentq(f, lo_eval, a, xtol=xtol, rtol=4 * np.finfo(float).eps)
            _, v, idx, x_star = _liquid_radius(problem_at(alpha_star), mask_lo, x_lo)
            support = np.zeros(n, bool)
            support[idx[v > 0]] = True
            # variables slaved to the leaving ones (both neighbours frozen) leave with them
            probe = x_star.copy()
            probe[support] = 1e-3
            new_mask = close_pinned(probe, problem_at(alpha_star), mask_lo & ~support)
            record(alpha_star, mask_lo & ~new_mask)
            mask_lo = new_mask
            lo = alpha_star
            x_lo = np.where(mask_lo, 0.0, np.maximum(x_star, 1e-3 * support))
        x_prev, mask_prev, a_prev = x, mask, a
        if max_layer is not None:
            left = np.all(np.isfinite(a_w[:max_layer]))
            if left:
                break
        if not mask_prev.any():
            break
    xi, intercept, layers = fit_growth(a_w)
    return Transitions(a_w, a_n, alpha_max, xi, intercept, layers)


def local_lengths(alpha_g_weights: np.ndarray) -> list:
    """xi_l = 1 / (log alpha_g(l+1) - log alpha_g(l)) over the left half: constant for a pure exponential."""
    L = len(alpha_g_weights)
    out = []
    for l in range(1, (L - 1) // 2):
        a, b = alpha_g_weights[l - 1], alpha_g_weights[l]
        ok = np.isfinite(a) and np.isfinite(b) and a > 0 and b > a
        out.append(float(1.0 / np.log(b / a)) if ok else None)
    return out


def fit_growth(alpha_g_weights: np.ndarray) -> tuple[float, float, list[int]]:
    """Fit log alpha_g(l) = a + l/xi over the left half, excluding the central layer(s) where the two
    fronts meet (there the transition is accelerated, see docs/theory.md). NaN if < 2 usable layers."""
    L = len(alpha_g_weights)
    half = (L - 1) // 2  # layers strictly left of the centre
    layers = [l for l in range(1, half + 1) if np.isfinite(alpha_g_weights[l - 1]) and alpha_g_weights[l - 1] > 0]
    if len(layers) < 2:
        return np.nan, np.nan, layers
    slope, intercept = np.polyfit(layers, np.log([alpha_g_weights[l - 1] for l in layers]), 1)
    return (1.0 / slope if slope > 0 else np.inf), float(intercept), layers


def _max_gap_overlap(problem: ChainProblem, x0):
    x, _, _, _ = solve_rs_vector(problem, x0)
    Q, q = unpack(x, problem.L)
    return x, float(np.max(q[:-1] * Q * q[1:]))


def capacity(problem_template: ChainProblem, alpha_max: float = 1e3, *, points_per_decade: int = 12) -> dict:
    """RS capacity: the load where the largest gap overlap c_l = q_{l-1} Q_l q_l reaches 1, i.e. where the
    volume of some layer shrinks to a point and the free entropy diverges to -inf (docs/theory.md sec. 7).

    Continues in alpha up to alpha_max until the solver stops (no solution with Q < 1) or 1 - max c < 1e-3;
    then (1 - max c), which is linear in (alpha_c - alpha) near the capacity, is sampled at 6 loads just
    below and extrapolated to 0 by a quadratic fit. Returns {"alpha_c": float | None (none found below
    alpha_max), "max_c": largest c reached, "alpha_reached": last load solved}.
    """
    n_pts = max(2, int(np.ceil(np.log10(alpha_max / 0.1) * points_per_decade)) + 1)
    x, last = None, (np.nan, np.nan)
    stopped = False
    for a in np.geomspace(0.1, alpha_max, n_pts):
        try:
            x, cmax = _max_gap_overlap(dataclasses.replace(problem_template, alpha=float(a)), x)
        except ConvergenceError:
            stopped = True
            break
        last = (float(a), cmax)
        if 1 - cmax < 1e-3:
            stopped = True
            break
    result = {"alpha_c": None, "max_c": last[1], "alpha_reached": last[0]}
    if not stopped:
        return result
    # refine: sample (1 - max c) on loads just below the current estimate, extrapolate, repeat closer.
    # Loads that turn out unsolvable are upper bounds on alpha_c; the estimate never exceeds them.
    estimate, upper = last[0], np.inf
    fracs = np.array([0.08, 0.06, 0.04, 0.03, 0.02, 0.01])
    for _round in range(6):
        pts = []
        for frac in fracs:
            a = estimate * (1 - frac)
            try:
                _, cmax = _max_gap_overlap(dataclasses.replace(problem_template, alpha=float(a)), None)
            except ConvergenceError:
                upper = min(upper, a)
                continue
            pts.append((a, 1 - cmax))
        if len(pts) < 3:
            estimate = min(estimate, upper) * (1 - 2 * fracs[0])
            continue
        fa, fg = np.array(pts).T
        roots = np.roots(np.polyfit(fa, fg, 2))
        real = roots[np.isreal(roots)].real
        real = real[real > fa.max()]
        if not real.size:
            break
        estimate = float(min(real.min(), upper))
        result["alpha_c"] = estimate
        fracs = fracs / 4
    return result
