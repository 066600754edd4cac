"""Optional numba backend: the same two sub-steps as numpy_backend.py, compiled loops instead of gathers.

It consumes the same random numbers and applies the same state updates with the same floating-point
formulas; only the order of summation in dE differs (rounding level), so for a given seed the two
backends follow the same trajectory except at exact rounding ties (tests/test_mc_engine.py checks it).
The NumPy backend remains the reference definition.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .params import MCParams

_POT = {"soft": 0, "hinge": 1, "count": 2}


@numba.njit(inline="always")
def _V(r, kappa, pot):
    if r >= kappa:
        return 0.0
    if pot == 0:
        return (r - kappa) * (r - kappa)
    if pot == 1:
        return kappa - r
    return 1.0


@numba.njit(inline="always")
def _accept(dE, u, log_ratio, greedy, use_ratio, beta):
    if greedy:
        if dE > 0.0:
            return False
        return (not use_ratio) or math.log(u) < log_ratio
    log_a = -beta * dE
    if use_ratio:
        log_a = log_a + log_ratio
    if u == 0.0:
        return True
    return math.log(u) < log_a


@numba.njit(cache=True)
def _neuron_substep(S, h, Wt, layers, choice, uniform, counts, inv_sqrt_c, kappa, pot, greedy, beta):
    B, nl, M = choice.shape
    N = S.shape[-1]
    for b in range(B):
        for a in range(nl):
            l = layers[a]
            for m in range(M):
                i = choice[b, a, m]
                s = S[b, l, m, i]
                r_own = s * h[b, l, m, i]
                dE = _V(-r_own, kappa, pot) - _V(r_own, kappa, pot)
                f = (-2.0 * inv_sqrt_c) * s
                for k in range(N):
                    w = Wt[b, l, i, k]
                    if w != 0.0:
                        sk = S[b, l + 1, m, k]
                        ro = sk * h[b, l + 1, m, k]
                        rn = sk * (w * f) + ro
                        dE += _V(rn, kappa, pot) - _V(ro, kappa, pot)
                u = uniform[b, a, m] if not greedy else 0.5
                if _accept(dE, u, 0.0, greedy, False, beta):
                    S[b, l, m, i] = -s
                    for k in range(N):
                        h[b, l + 1, m, k] += Wt[b, l, i, k] * f
                    counts[b, l] += 1


@numba.njit(cache=True)
def _weight_substep(S, h, Wt, column, gauss, uniform, counts, c, delta, inv_sqrt_c, kappa, pot, greedy, beta,
                    exact_sphere):
    B, L, N = column.shape
    M = S.shape[2]
    s_norm = math.sqrt(1.0 + delta * delta)
    for b in range(B):
        a = np.empty(N)
        bb = np.empty(N)
        scale = np.empty(N)
        coef = np.empty(N)
        dE = np.empty(N)
        ok = np.empty(N, dtype=np.bool_)
        for l in range(L):
            for k in range(N):
                j = column[b, l, k]
                a[k] = Wt[b, l, j, k]
                bb[k] = (a[k] + delta * gauss[b, l, k]) / s_norm
                norm2 = 0.0
                for jj in range(N):
                    norm2 += Wt[b, l, jj, k] * Wt[b, l, jj, k]
                rest2 = norm2 - a[k] * a[k]
                scale[k] = math.sqrt(c / (rest2 + bb[k] * bb[k]))
                coef[k] = (bb[k] - a[k]) * inv_sqrt_c
                dE[k] = 0.0
            for m in range(M):
                for k in range(N):
                    so = S[b, l + 1, m, k]
                    ho = h[b, l + 1, m, k]
                    hn = (S[b, l, m, column[b, l, k]] * coef[k] + ho) * scale[k]
                    dE[k] += _V(so * hn, kappa, pot) - _V(so * ho, kappa, pot)
            for k in range(N):
                log_ratio = 0.0
                if exact_sphere and c > 1:
                    sc2 = scale[k] * scale[k]
                    rev = s_norm * a[k] * scale[k] - scale[k] * bb[k]
                    dg = delta * gauss[b, l, k]
                    log_ratio = 0.5 * (c + 1) * math.log(sc2) - (rev * rev - dg * dg) / (2 * delta * delta)
                u = uniform[b, l, k] if (exact_sphere or not greedy) else 0.5
                ok[k] = _accept(dE[k], u, log_ratio, greedy, exact_sphere, beta)
            for m in range(M):
                for k in range(N):
                    if ok[k]:
                        h[b, l + 1, m, k] = (S[b, l, m, column[b, l, k]] * coef[k] + h[b, l + 1, m, k]) * scale[k]
            for k in range(N):
                if ok[k]:
                    Wt[b, l, column[b, l, k], k] = bb[k]
                    for jj in range(N):
                        Wt[b, l, jj, k] *= scale[k]
                    counts[b, l + 1] += 1


class NumbaBackend:
    """Compiled sub-steps, single-threaded: robust on a shared 2-core machine (parallel threads stall there)."""

    name = "numba"

    def __init__(self, params: MCParams, V, c: int, N: int, L: int, M: int, kappa: float = 0.0):
        self.params, self.c, self.N, self.L, self.M, self.kappa = params, c, N, L, M, float(kappa)
        self.inv_sqrt_c = 1.0 / np.sqrt(c)
        self.pot = _POT[params.potential]
        self.greedy = params.acceptance == "greedy"
        self.beta = float(params.beta) if params.beta is not None else 0.0
        self._dummy = np.zeros((1, 1, 1))
        self._layers: dict = {}

    def neuron_substep(self, S, h, Wt, layers, choice, uniform, counts):
        lay = self._layers.setdefault(tuple(layers), np.asarray(layers, dtype=np.int64))
        _neuron_substep(S, h, Wt, lay, choice, self._dummy if uniform is None else uniform, counts,
                        self.inv_sqrt_c, self.kappa, self.pot, self.greedy, self.beta)

    def weight_substep(self, S, h, Wt, column, gauss, uniform, counts):
        _weight_substep(S, h, Wt, column, gauss, self._dummy if uniform is None else uniform, counts,
                        float(self.c), float(self.params.delta), self.inv_sqrt_c, self.kappa, self.pot,
                        self.greedy, self.beta, bool(self.params.exact_sphere))
