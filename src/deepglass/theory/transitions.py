"""Where each layer leaves the liquid, how that grows with depth, capacity vs depth (docs/theory.md 5-7).

alpha_g(l) is the load at which the liquid block of the RS map (rs.liquid_operator) reaches spectral
radius 1 along the solved branch; it is found by root finding on that condition with the liquid set
held fixed (the liquid branch exists on both sides), to ~1e-10 in alpha.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize

from ..errors import ConfigError, NoSolutionError
from .blocks_rs import liquid_gap_conjugate
from .problem import ChainProblem
from .rs import (chain_state, close_pinned, liquid_operator, perron, replicon_mode, replicon_operator, solve_rs_vector,
                 unpack)


NEAR_LIQUID = 1e-6  # dropped overlaps below this, where the liquid is stable, are slow-convergence leftovers


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
    """alpha_g per weight layer (index 0 = layer 1) and per neuron layer (index 0 = layer 0), NaN if none.

    xi, fit_intercept, fit_layers: the exponential law log alpha_g = a + l/xi (kept for older callers);
    growth: both growth laws with their fit quality (fit_growth_laws).
    jumps: loads of discontinuous transitions (a block leaves the liquid by a jump to a branch of larger free
    entropy while the liquid is still linearly stable; teacher-student: the crystal), empty if none.
    """

    alpha_g_weights: np.ndarray
    alpha_g_neurons: np.ndarray
    alpha_max: float
    xi: float
    fit_intercept: float
    fit_layers: list[int]
    growth: dict = dataclasses.field(default_factory=dict)
    jumps: list[float] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict:
        def listify(a):
            return [None if not np.isfinite(v) else float(v) for v in a]

        growth = self.growth or fit_growth_laws(self.alpha_g_weights)
        exp_fit, pow_fit = growth["exponential"], growth["power"]
        return {
            "alpha_g": listify(self.alpha_g_weights),
            "alpha_g_neurons": listify(self.alpha_g_neurons),
            "alpha_max": float(self.alpha_max),
            "xi": _num(self.xi),
            "xi_local": local_lengths(self.alpha_g_weights),
            "fit": {"law": "log alpha_g(l) = a + l/xi", "a": _num(self.fit_intercept), "layers": self.fit_layers,
                    "rms": _num(exp_fit["rms"]), "r2": _num(exp_fit["r2"])},
            "discontinuous_at": [float(a) for a in self.jumps],
            "fit_power": {"law": "log alpha_g(l) = a + b log l", "a": _num(pow_fit["intercept"]),
                          "b": _num(pow_fit["exponent"]), "layers": growth["layers"],
                          "rms": _num(pow_fit["rms"]), "r2": _num(pow_fit["r2"])},
        }


def _num(v):
    return None if v is None or not np.isfinite(v) else float(v)


def find_transitions(problem_template: ChainProblem, alpha_max: float = 100.0, *, points_per_decade: int = 12,
                     max_layer: int | None = None, xtol: float = 1e-10) -> Transitions:
    """alpha_g(l) for every weight layer (and neuron layer) up to alpha_max (RS; docs/theory.md section 4).

    Scan alpha geometrically with warm starts, and wherever the liquid set shrinks, root-find
    rho(liquid block)(alpha) = 1 on the branch with that liquid set held at 0.

    Parameters
    ----------
    problem_template : ChainProblem
        Scenario, depth L, kappa, field (its alpha is not used).
    alpha_max : float
        Largest load scanned, > the first transition region (about 0.9 alpha_g(1)).
    points_per_decade : int
        Scan points per decade of alpha before root-finding.
    max_layer : int, optional
        Stop once the weight layers 1..max_layer (and, by left-right symmetry, their mirrors) have frozen.
    xtol : float
        Tolerance of the root-finding in alpha.

    Returns
    -------
    Transitions
        alpha_g per weight layer (``alpha_g_weights[l - 1]``, l = 1..L) and neuron layer, NaN where a layer
        is still liquid at alpha_max, the growth-law fits and any discontinuous jumps.
    """
    L = problem_template.L
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        raise ConfigError("alpha_max", alpha_max, "a finite load > 0")
    n = 2 * L - 1
    a_w = np.full(L, np.nan)
    a_n = np.full(L + 1, np.nan)
    if L == 1:
        a_w[0] = 0.0
        return Transitions(a_w, a_n, alpha_max, np.nan, np.nan, [], fit_growth_laws(a_w))
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

    jumps: list[float] = []
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
            rho_hi, _, _, x_liquid = _liquid_radius(problem_at(a), mask_lo, x_lo)
            if rho_hi < 1.0:  # the old liquid set is still stable at a: no continuous transition in (lo, a]
                dropped = mask_lo & ~mask
                if np.all(x[dropped] < NEAR_LIQUID):
                    # a slowly contracting map (next to a transition) left overlaps ~1e-8 at residual 1e-10:
                    # the stable liquid is the solution (seen: teacher-student L = 30, alpha = 12.8125)
                    x, mask = x_liquid, mask_lo.copy()
                    break
                # a jump to another branch of larger free entropy (teacher-student: the crystal) while the
                # old liquid is still stable: a discontinuous transition, located by bisection
                alpha_star = _jump_location(problem_at, lo, a, dropped, x_lo, xtol)
                record(alpha_star, dropped)
                jumps.append(float(alpha_star))
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
            # the old branch may already have lost to another one (teacher-student: the crystal wins before
            # this continuous transition of the then metastable branch): then the jump is the transition
            # (checked 1e-3 above the root: closer, the old branch converges too slowly to be found)
            still_liquid = new_mask & ~mask
            if still_liquid.any():
                above = min(alpha_star * (1 + 1e-3), a)
                x_full, _, _, _ = solve_rs_vector(problem_at(above), x_star)
                if np.all(x_full[still_liquid] > NEAR_LIQUID):
                    alpha_jump = _jump_location(problem_at, lo, above, mask_lo & ~mask, x_lo, xtol)
                    record(alpha_jump, mask_lo & ~mask)
                    jumps.append(float(alpha_jump))
                    break
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
    growth = fit_growth_laws(a_w)
    exp_fit = growth["exponential"]
    return Transitions(a_w, a_n, alpha_max, exp_fit["xi"], exp_fit["intercept"], growth["layers"], growth, jumps)


def _jump_location(problem_at, lo: float, hi: float, dropped: np.ndarray, x_old: np.ndarray, xtol: float) -> float:
    """The load in (lo, hi] where the solution jumps, by bisection on 'the dropped variables are frozen
    (> NEAR_LIQUID)' (to xtol relative), each solve warm-started on the old branch (x_old) so that it stays
    a candidate. Teacher-student: the solver keeps the branch of largest free entropy among the warm start,
    the bottom and the top start, so this is where the free entropies of the two branches cross; random
    data (the warm-started branch is continued): where the old branch ends."""
    while hi - lo > xtol * hi:
        mid = 0.5 * (lo + hi)
        x, _, _, _ = solve_rs_vector(problem_at(mid), x_old)
        if np.all(x[dropped] > NEAR_LIQUID):
            hi = mid
        else:
            lo, x_old = mid, x
    return hi


def local_lengths(alpha_g_weights: np.ndarray) -> list:
    """xi_l = 1 / (log alpha_g(l+1) - log alpha_g(l)) over the left half: constant for a pure exponential."""
    L = len(alpha_g_weights)
    out = []
    for l in range(1, (L - 1) // 2):
        a, b = alpha_g_weights[l - 1], alpha_g_weights[l]
        ok = np.isfinite(a) and np.isfinite(b) and a > 0 and b > a
        out.append(float(1.0 / np.log(b / a)) if ok else None)
    return out


def growth_layers(alpha_g_weights: np.ndarray) -> list[int]:
    """The layers a growth law is fitted on: the left half, excluding the central layer(s) where the two
    fronts meet (there the transition is accelerated, see docs/theory.md), and only layers that froze."""
    a = np.asarray(alpha_g_weights, float)
    half = (len(a) - 1) // 2  # layers strictly left of the centre
    return [l for l in range(1, half + 1) if np.isfinite(a[l - 1]) and a[l - 1] > 0]


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Least squares y = intercept + slope x; returns (slope, intercept, rms residual, R^2)."""
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / ss_tot if ss_tot > 0 else np.nan
    return float(slope), float(intercept), float(np.sqrt(np.mean(resid ** 2))), r2


def fit_growth_laws(alpha_g_weights: np.ndarray, layers: list[int] | None = None) -> dict:
    """Both candidate growth laws of alpha_g(l), fitted on the same layers by least squares in log alpha_g:

    exponential  log alpha_g = a + l/xi     (frozen thickness ~ xi log alpha)
    power law    log alpha_g = a + b log l  (frozen thickness ~ alpha^(1/b))

    Each with its rms residual of log alpha_g and R^2. layers defaults to growth_layers(); NaN entries
    where fewer than 3 layers are usable (two points fit any two-parameter law exactly).
    """
    a = np.asarray(alpha_g_weights, float)
    layers = growth_layers(a) if layers is None else [int(l) for l in layers]
    nan = {"rms": np.nan, "r2": np.nan, "intercept": np.nan}
    out = {"layers": layers, "exponential": {"xi": np.nan, **nan}, "power": {"exponent": np.nan, **nan}}
    if len(layers) < 3:
        if len(layers) == 2:  # the exponential through two points (older callers relied on xi there)
            slope, intercept, _, _ = _line_fit(np.array(layers, float), np.log(a[np.array(layers) - 1]))
            out["exponential"].update(xi=1.0 / slope if slope > 0 else np.inf, intercept=intercept)
        return out
    ll = np.array(layers, float)
    y = np.log(a[np.array(layers) - 1])
    slope, intercept, rms, r2 = _line_fit(ll, y)
    out["exponential"] = {"xi": 1.0 / slope if slope > 0 else np.inf, "intercept": intercept, "rms": rms, "r2": r2}
    slope, intercept, rms, r2 = _line_fit(np.log(ll), y)
    out["power"] = {"exponent": slope, "intercept": intercept, "rms": rms, "r2": r2}
    return out


def fit_growth(alpha_g_weights: np.ndarray) -> tuple[float, float, list[int]]:
    """The exponential law alone: (xi, intercept a, layers) of fit_growth_laws (NaN if < 2 usable layers)."""
    growth = fit_growth_laws(alpha_g_weights)
    return growth["exponential"]["xi"], growth["exponential"]["intercept"], growth["layers"]


def _max_gap_overlap(problem: ChainProblem, x0):
    x, _, _, _ = solve_rs_vector(problem, x0)
    Q, q = unpack(x, problem.L)
    return x, float(np.max(q[:-1] * Q * q[1:]))


def _replicon_chain(problem: ChainProblem, x: np.ndarray) -> float:
    """RS stability of the chain at x: 1 - spectral radius of the replicon map (> 0: RS stable)."""
    rho, _ = replicon_mode(replicon_operator(chain_state(x, problem), problem), problem.L)
    return float(1.0 - rho)


def capacity(problem_template: ChainProblem, alpha_max: float = 1e3, *, points_per_decade: int = 12) -> dict:
    """RS capacity: the load where the largest gap overlap c_l = q_{l-1} Q_l q_l reaches 1, i.e. where the
    volume of some layer shrinks to a point and the free entropy diverges to -inf (docs/theory.md sec. 5).

    Continues in alpha up to alpha_max until the RS equations have no solution (NoSolutionError: a weight
    overlap runs to 1) or 1 - max c < 1e-3; then (1 - max c), which is linear in (alpha_c - alpha) near the
    capacity, is sampled at 6 loads just below and extrapolated to 0 by a quadratic fit, refining six times.
    A solver that fails to converge (ConvergenceError other than NoSolutionError) is not taken for the
    capacity: it propagates.

    Parameters
    ----------
    problem_template : ChainProblem
        Random data (teacher-student data have no capacity); its alpha is not used.
    alpha_max : float
        Largest load tried, > 0.1.
    points_per_decade : int
        Continuation steps per decade of alpha.

    Returns
    -------
    dict
        ``alpha_c``: the RS capacity (float), or None when none is found below alpha_max (L >= 3: the hidden
        layers keep q < 1); ``max_c``: the largest gap overlap reached; ``alpha_reached``: the largest load
        solved; ``replicon_chain``: RS stability (1 - rho) there (< 0: the RS saddle is unstable).
    """
    if problem_template.nishimori:
        raise ConfigError("scenario", problem_template.scenario,
                          "random (teacher-student data have no capacity: the teacher is always a solution)")
    if not np.isfinite(alpha_max) or alpha_max <= 0.1:
        raise ConfigError("alpha_max", alpha_max, "a finite load > 0.1")
    n_pts = max(2, int(np.ceil(np.log10(alpha_max / 0.1) * points_per_decade)) + 1)
    x, last, x_last = None, (np.nan, np.nan), None
    stopped = False
    for a in np.geomspace(0.1, alpha_max, n_pts):
        try:
            x, cmax = _max_gap_overlap(dataclasses.replace(problem_template, alpha=float(a)), x)
        except NoSolutionError:
            stopped = True
            break
        last, x_last = (float(a), cmax), x
        if 1 - cmax < 1e-3:
            stopped = True
            break

    def finish(result):
        a = result["alpha_reached"]
        result["replicon_chain"] = (None if x_last is None else
                                    _replicon_chain(dataclasses.replace(problem_template, alpha=a), x_last))
        return result

    result = {"alpha_c": None, "max_c": last[1], "alpha_reached": last[0]}
    if not stopped:
        return finish(result)
    # refine: sample (1 - max c) on loads just below the current estimate, extrapolate, repeat closer.
    # Loads that turn out unsolvable are upper bounds on alpha_c; the estimate never exceeds them.
    estimate, upper = last[0], np.inf
    fracs = np.array([0.08, 0.06, 0.04, 0.03, 0.02, 0.01])
    for _round in range(6):
        pts = []
        for frac in fracs:
            a = estimate * (1 - frac)
            try:
                x, cmax = _max_gap_overlap(dataclasses.replace(problem_template, alpha=float(a)), None)
            except NoSolutionError:
                upper = min(upper, a)
                continue
            pts.append((a, 1 - cmax))
            if a > result["alpha_reached"]:
                result.update(max_c=cmax, alpha_reached=float(a))
                x_last = x
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
    return finish(result)
