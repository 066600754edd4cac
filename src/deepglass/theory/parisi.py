"""Generic Parisi machinery: step-function Parisi matrices and the Parisi recursion on a field grid.

Conventions (docs/theory.md, section R1). A Parisi matrix in the replica limit n -> 0 is a function
a(x), x in [0, 1]; a k-step (or discretised full-RSB) one is a step function with breakpoints
0 <= m_1 <= ... <= m_K <= 1 and levels a_0 <= ... <= a_K (a_i on the interval (m_i, m_{i+1}), with
m_0 = 0, m_{K+1} = 1), diagonal 1 unless stated otherwise.

The Parisi functional of a "bottom" function f(h) and a variance function a(x) is
    Phi[a] = E_{h ~ N(0, a_0)} phi_0(h),  phi_{i-1}(h) = (1/m_i) log E_z exp(m_i phi_i(h + sqrt(a_i - a_{i-1}) z)),
with phi_K = f: the step-function solution of the Parisi PDE d_x phi = -a'(x)/2 (phi'' + x phi'^2).
Everything is computed in log space on a uniform field grid (log-sum-exp with row-wise maxima), so
the deep tails of log H or the large values of log 2cosh never overflow or underflow.

Derivatives (exact identities of the recursion, not finite differences):
    dPhi/da_i = -(1/2) w_i E_{P_i}[phi_i'(h)^2]             (w_i = m_{i+1} - m_i; levels a_{K+1} = diagonal fixed)
    dPhi/dm_i = (E_{P_i}[phi_i] - E_{P_{i-1}}[phi_{i-1}]) / m_i
where P_i is the Parisi measure of the field on interval i (the forward, tilted Gaussian flow).
For a bottom function with no diagonal jump (Ising spins, log 2cosh) the last level gets an extra
(1/2) E_{P_K}[f'' + f'^2] (= 1/2 exactly for log 2cosh).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import parisi_kernels as _kernels
from .gaussian import log_H, phi_over_H

# -------------------------------------------------------------------------------- step functions


@dataclass(frozen=True)
class StepFunction:
    """A Parisi function as a step function: ``levels[i]`` on (m_i, m_{i+1}), i = 0..K."""

    breakpoints: np.ndarray  # (K,), nondecreasing in [0, 1]
    levels: np.ndarray  # (K+1,)

    def __post_init__(self):
        bp = np.atleast_1d(np.asarray(self.breakpoints, dtype=float))
        lv = np.atleast_1d(np.asarray(self.levels, dtype=float))
        if lv.shape != (bp.size + 1,):
            raise ValueError(f"{lv.size} levels need {lv.size - 1} breakpoints, got {bp.size}")
        object.__setattr__(self, "breakpoints", bp)
        object.__setattr__(self, "levels", lv)

    @property
    def edges(self) -> np.ndarray:
        return np.concatenate([[0.0], self.breakpoints, [1.0]])

    @property
    def widths(self) -> np.ndarray:
        """w_i = m_{i+1} - m_i: the weight of level i in integrals over x."""
        return np.diff(self.edges)

    def __call__(self, x) -> np.ndarray:
        """Sample a(x); at a breakpoint the right (larger-x) level is taken."""
        idx = np.searchsorted(self.breakpoints, np.asarray(x, dtype=float), side="right")
        return self.levels[idx]

    def integral(self, other: "StepFunction | None" = None) -> float:
        """int_0^1 a(x) dx, or int a(x) b(x) dx for ``other`` on the same breakpoints."""
        prod = self.levels if other is None else self.levels * other.levels
        return float(np.sum(self.widths * prod))


def union_partition(*breakpoint_sets: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Merge several breakpoint sets into one partition of [0, 1].

    Returns the sorted union (stable: equal values keep their set order) and, per set, the index of
    the union point that each of its breakpoints became. A function with its own breakpoints is
    constant on each union interval, so products of such functions are step functions (Parisi
    matrices) on the union -- the element-wise product rule c(x) = q(x) Q(x) q(x) of MODEL.md.
    """
    allbp = np.concatenate([np.asarray(b, dtype=float) for b in breakpoint_sets])
    order = np.argsort(allbp, kind="stable")
    union = allbp[order]
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    where, start = [], 0
    for b in breakpoint_sets:
        n = np.asarray(b).size
        where.append(position[start:start + n])
        start += n
    return union, where


def levels_on(f: StepFunction, union: np.ndarray) -> np.ndarray:
    """Levels of f on the intervals of a finer partition ``union`` that contains f's breakpoints."""
    return f.levels[_level_index(f.breakpoints, union)]


def _level_index(own: np.ndarray, union: np.ndarray) -> np.ndarray:
    """Index of own level on each union interval; own must be a sub-multiset of union (merged stably)."""
    idx = np.zeros(union.size + 1, dtype=int)
    used = np.zeros(union.size, dtype=bool)
    for b in own:
        k = np.flatnonzero((union == b) & ~used)[0]
        used[k] = True
        idx[k + 1:] += 1
    return idx


# -------------------------------------------------------------------------------- field grid


@dataclass(frozen=True)
class FieldGrid:
    """Symmetric uniform grid h_j = j dh, |j| <= half (h = 0 is a node)."""

    dh: float
    half: int

    @property
    def h(self) -> np.ndarray:
        return self.dh * np.arange(-self.half, self.half + 1)

    @staticmethod
    def fixed(extent: float, half: int) -> "FieldGrid":
        """2 half + 1 nodes on [-extent, extent]: the spacing is a continuous function of the extent."""
        if extent <= 0:
            return FieldGrid(dh=1.0, half=0)
        return FieldGrid(dh=extent / half, half=half)

    @staticmethod
    def for_variance(total_variance: float, extent: float, resolution: float, max_half: int = 400) -> "FieldGrid":
        """A grid covering |h| <= extent with spacing <= resolution (at most 2 max_half + 1 nodes)."""
        if total_variance <= 0 or extent <= 0:
            return FieldGrid(dh=max(resolution, 1e-3), half=0)
        half = int(np.ceil(extent / resolution))
        half = min(max(half, 8), max_half)
        return FieldGrid(dh=extent / half, half=half)


def _log_kernel(variance: float, dh: float) -> np.ndarray:
    """log weights of a centred discrete Gaussian step of the given variance on offsets -B..B.

    exp(-j^2 dh^2 / 2 s^2), normalised, with s chosen so that the discrete variance is exactly
    ``variance``: s^2 = variance when variance >= 4 dh^2 (the two differ by ~exp(-2 pi^2 variance/dh^2)),
    otherwise s solved for. The kernel is a smooth function of the variance, tends to the identity as
    the variance -> 0 (weights ~ variance / 2 dh^2 at +-dh: the heat-equation step), and keeps the
    saddle-point map continuous, which the Anderson iteration needs.
    """
    if variance <= 0:
        return np.zeros(1)
    v = variance / (dh * dh)
    if v >= 4.0:
        t = v  # s^2 / dh^2
    else:
        t = _matched_width(v)
    B = max(1, int(np.ceil(8.5 * np.sqrt(t))))
    j = np.arange(-B, B + 1)
    logk = -0.5 * j * j / t
    return logk - _lse(logk)


def _discrete_variance(t: float) -> float:
    j = np.arange(-12, 13)
    w = np.exp(-0.5 * j * j / t)
    return float(np.sum(w * j * j) / np.sum(w))


def _matched_width(v: float) -> float:
    """t = s^2/dh^2 whose discrete Gaussian on the integers has variance v (< 4)."""
    from scipy.optimize import brentq

    if v < 1e-12:
        return 0.5 / np.log(2.0 / v)  # weight at +-1: exp(-1/2t) = v/2
    lo = 0.25 / np.log(2.0 / v) if v < 0.5 else 0.05  # discrete variance at lo is below v
    return brentq(lambda t: _discrete_variance(t) - v, lo, 4.5, xtol=1e-15, rtol=1e-14)


def _lse(a: np.ndarray, axis=None):
    """log sum exp(a) along axis; a slice of only -inf entries (zero weight) gives -inf, without
    taking log(0) (the shifted sum is >= 1 whenever one entry is finite, so it is 0 only then)."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    total = np.sum(np.exp(a - m), axis=axis, keepdims=True)
    log_total = np.log(total, out=np.full(total.shape, -np.inf), where=total != 0.0)
    out = log_total + m
    return out if axis is not None else float(out.ravel()[0])


@lru_cache(maxsize=256)
def _band_index(n: int, B: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)[:, None] + np.arange(-B, B + 1)[None, :]
    inside = (idx >= 0) & (idx < n)
    return np.clip(idx, 0, n - 1), inside


def _banded(values: np.ndarray, logk: np.ndarray):
    """Matrix (N, 2B+1) of values[i + b - B] + logk[b], -inf outside the grid."""
    idx, inside = _band_index(values.size, logk.size // 2)
    out = np.where(inside, values[idx] + logk[None, :], -np.inf)
    return out, idx, inside


def _row_normaliser(n: int, logk: np.ndarray) -> np.ndarray:
    """log of the kernel mass that stays on the grid, per row (renormalised at the edges)."""
    idx, inside = _band_index(n, logk.size // 2)
    mass = np.sum(np.where(inside, np.exp(logk)[None, :], 0.0), axis=1)
    return np.log(mass)


class LevelGradients:
    """The gradients of a Parisi recursion's value from its per-level moments (sq_slope, mean_value), shared by
    the uniform-grid and the accurate (parisi_quadrature) recursions."""

    sq_slope: np.ndarray
    mean_value: np.ndarray

    def level_gradient(self, widths: np.ndarray) -> np.ndarray:
        """dPhi/da_i = -(1/2) w_i E_{P_i}[phi_i'^2] (bottom with its diagonal jump folded in)."""
        return -0.5 * widths * self.sq_slope

    def breakpoint_gradient(self, breakpoints: np.ndarray) -> np.ndarray:
        """dPhi/dm_i = (E_{P_i} phi_i - E_{P_{i-1}} phi_{i-1}) / m_i (-> 0 as m_i -> 0)."""
        d = np.diff(self.mean_value)
        m = np.asarray(breakpoints, dtype=float)
        return np.where(m > 1e-12, d / np.maximum(m, 1e-12), 0.0)


@dataclass
class RecursionResult(LevelGradients):
    """Output of :func:`parisi_recursion`.

    value: Phi; sq_slope[i] = E_{P_i}[phi_i'^2]; mean_value[i] = E_{P_i}[phi_i] (i = 0..K);
    phi, slope, log_measure: per level, on the grid (kept for diagnostics and tests).
    """

    value: float
    sq_slope: np.ndarray
    mean_value: np.ndarray
    grid: FieldGrid
    phi: list
    slope: list
    log_measure: list



def parisi_recursion(variances: np.ndarray, breakpoints: np.ndarray, bottom, grid: FieldGrid) -> RecursionResult:
    """Run the Parisi recursion backward (phi_i) and the Parisi measures forward (P_i).

    variances: cumulative field variances a_0 <= ... <= a_K on the intervals; breakpoints m_1..m_K
    (any positive numbers: the T = 0 SK limit uses rescaled m > 1); bottom(h) -> (f, f') on the grid.
    """
    a = np.maximum.accumulate(np.maximum(np.asarray(variances, dtype=float), 0.0))
    m = np.asarray(breakpoints, dtype=float)
    K = m.size
    h = grid.h
    n = h.size
    jumps = np.diff(a)
    phi = [None] * (K + 1)
    slope = [None] * (K + 1)
    phi[K], slope[K] = bottom(h)
    kernels = [None] * (K + 1)
    # backward: phi_{i-1} = (1/m_i) log sum_j K(h, h_j) exp(m_i phi_i(h_j)), phi'_{i-1} = tilted mean of phi_i'
    for i in range(K, 0, -1):
        logk = _log_kernel(jumps[i - 1], grid.dh)
        norm = _row_normaliser(n, logk)
        kernels[i] = (logk, norm)
        if logk.size == 1:
            phi[i - 1], slope[i - 1] = phi[i].copy(), slope[i].copy()
            continue
        mi = m[i - 1]
        if _kernels.backward_step is not None:
            phi[i - 1], slope[i - 1] = _kernels.backward_step(phi[i], slope[i], logk, norm, mi if mi >= 1e-10 else 0.0)
            continue
        if mi < 1e-10:  # m -> 0: plain Gaussian average
            mat, idx, inside = _banded(np.zeros(n), logk)
            wts = np.exp(mat - norm[:, None])
            phi[i - 1] = np.sum(np.where(inside, wts * phi[i][idx], 0.0), axis=1)
        else:
            mat, idx, inside = _banded(mi * phi[i], logk)
            mat = mat - norm[:, None]
            lse = _lse(mat, axis=1)
            wts = np.exp(mat - lse)
            phi[i - 1] = lse[:, 0] / mi
        slope[i - 1] = np.sum(np.where(inside, wts * slope[i][idx], 0.0), axis=1)
    # top: h ~ N(0, a_0) as a discrete Gaussian on the grid (exact variance, see _log_kernel)
    logk0 = _log_kernel(a[0], grid.dh)
    B0 = logk0.size // 2
    logP = np.full(n, -np.inf)
    lo, hi = grid.half - B0, grid.half + B0 + 1
    if lo < 0:  # kernel wider than the grid: truncate and renormalise
        logk0 = logk0[-lo:logk0.size + lo]
        logk0 = logk0 - _lse(logk0)
        lo, hi = 0, n
    logP[lo:hi] = logk0
    log_measure = [None] * (K + 1)
    log_measure[0] = logP
    # forward: P_i(h') = sum_h P_{i-1}(h) K(h, h') exp(m_i (phi_i(h') - phi_{i-1}(h)))
    for i in range(1, K + 1):
        logk, norm = kernels[i]
        if logk.size == 1:
            log_measure[i] = log_measure[i - 1].copy()
            continue
        mi = m[i - 1] if m[i - 1] >= 1e-10 else 0.0
        src = log_measure[i - 1] - mi * phi[i - 1] - norm
        if _kernels.forward_step is not None:
            log_measure[i] = _kernels.forward_step(src, logk, phi[i], mi)
            continue
        mat, _, _ = _banded(src, logk[::-1])  # K(h, h') with h the summed index: symmetric kernel
        log_measure[i] = _lse(mat, axis=1)[:, 0] + mi * phi[i]
    P = [np.exp(lm) for lm in log_measure]
    value = float(np.sum(P[0] * phi[0]))
    sq_slope = np.array([np.sum(P[i] * slope[i] ** 2) for i in range(K + 1)])
    mean_value = np.array([np.sum(np.where(P[i] > 0, P[i] * phi[i], 0.0)) for i in range(K + 1)])
    return RecursionResult(value, sq_slope, mean_value, grid, phi, slope, log_measure)


# -------------------------------------------------------------------------------- bottom functions


def ising_bottom(h: np.ndarray):
    """log 2cosh(h) and its slope tanh(h), overflow-free."""
    return np.logaddexp(h, -h), np.tanh(h)


def gap_bottom(kappa: float, c_max: float):
    """log H((kappa - h)/sqrt(1 - c_max)) and its slope: the gap block's boundary condition at x = 1."""
    s = np.sqrt(max(1.0 - c_max, 1e-300))

    def f(h):
        u = (kappa - h) / s
        return log_H(u), phi_over_H(u) / s

    return f


def abs_bottom(h: np.ndarray):
    """|h|: the T -> 0 limit of log 2cosh(beta h)/beta (SK ground state)."""
    return np.abs(h), np.sign(h)


# -------------------------------------------------------------------------------- spherical block s_J


def _log_det_per_replica(levels, breakpoints):
    """(1/n) log det Q for a Parisi matrix with diagonal 1, n -> 0 (complex-step safe).

    lambda_K = 1 - Q_K, lambda_{i-1} = lambda_i + m_i (Q_i - Q_{i-1}):
    (1/n) log det Q = log lambda_K + sum_i (1/m_i) log(lambda_{i-1}/lambda_i) + Q_0/lambda_0.
    """
    Q, m = levels, breakpoints
    K = m.size
    lam = [None] * (K + 1)
    lam[K] = 1.0 - Q[K]
    total = np.log(lam[K])
    for i in range(K, 0, -1):
        jump = Q[i] - Q[i - 1]
        lam[i - 1] = lam[i] + m[i - 1] * jump
        mi = m[i - 1]
        if abs(mi) > 1e-12:
            total = total + np.log1p(mi * jump / lam[i]) / mi
        else:  # m -> 0 limit
            total = total + jump / lam[i]
    return total + Q[0] / lam[0]


def spherical_entropy(Q: StepFunction):
    """s_J(Q) = (1/2n) log det Q and its exact gradients (levels, breakpoints), by complex step."""
    lv, bp = Q.levels.astype(complex), Q.breakpoints.astype(complex)
    value = 0.5 * float(np.real(_log_det_per_replica(lv, bp)))
    step = 1e-30
    g_lv = np.empty(lv.size)
    for i in range(lv.size):
        d = lv.copy()
        d[i] += 1j * step
        g_lv[i] = 0.5 * np.imag(_log_det_per_replica(d, bp)) / step
    g_bp = np.empty(bp.size)
    for i in range(bp.size):
        d = bp.copy()
        d[i] += 1j * step
        g_bp[i] = 0.5 * np.imag(_log_det_per_replica(lv, d)) / step
    return value, g_lv, g_bp


def spherical_overlap_from_conjugate(conjugate: StepFunction) -> StepFunction:
    """Solve the spherical saddle point: the Q (diagonal 1) whose inverse has off-diagonal -K(x).

    d s_J / dQ_i = (1/2) w_i K_i  <=>  (Q^{-1})(x) = -K(x). With Lambda(x) = x K(x) + int_x^1 K and the
    unknown diagonal d of Q^{-1}: lambda_Q(x) = 1/(d + Lambda(x)), Q_0 = K_0 lambda_Q(0)^2,
    Q_i - Q_{i-1} = lambda_Q,i-1 lambda_Q,i (K_i - K_{i-1}); d is fixed by Q_aa = lambda_Q(1) + Q(1) = 1.
    RS: Q/(1-Q)^2 = K.
    """
    if not np.all(np.isfinite(conjugate.levels)):  # a gap overlap at 1: chat = E phi'^2 infinite
        raise FloatingPointError(f"the conjugate of Q is not finite ({conjugate.levels}): overlaps driven to 1")
    K = np.maximum.accumulate(np.maximum(conjugate.levels, 0.0))
    m = conjugate.breakpoints
    dK = np.diff(K)
    # Lambda_i - Lambda_0 = sum_{j <= i} m_j (K_j - K_{j-1}) >= 0 exactly; differencing Lambda_i = m_{i+1} K_i
    # + sum_{j>i} w_j K_j instead lost it to rounding at large K (K = 2.7e18 near a capacity: -512, then a
    # zero denominator, the RuntimeWarning of R9, and a spurious root)
    rise = np.concatenate([[0.0], np.cumsum(m * dK)])

    def overlap(s):  # s = d + Lambda_0 > 0
        u = 1.0 / (s + rise)
        Q = K[0] * u[0] ** 2 + np.concatenate([[0.0], np.cumsum(u[:-1] * u[1:] * dK)])
        return Q, u

    def excess(s):
        Q, u = overlap(s)
        return u[-1] + Q[-1] - 1.0

    hi = 1.0
    while excess(hi) > 0:
        hi *= 2.0
    lo = hi / 2.0
    while excess(lo) < 0 and lo > 1e-300:
        lo /= 4.0
    from scipy.optimize import brentq

    s = brentq(excess, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500)
    Q, _ = overlap(s)
    return StepFunction(m, np.clip(Q, 0.0, 1.0 - 1e-15))
