"""Gaussian expectations of the RS blocks, accurate to ~1e-12 over the whole physical range (docs/theory.md 1.4).

Two kinds of one-dimensional Gaussian integrals enter the replica-symmetric chain:

* neuron block: E f(h), h ~ N(mu, a) with (mu, a) = (0, eps) (random data) or (eps, eps) (Nishimori), for
  f = tanh^2, tanh, log 2cosh, (1 - tanh^2)^2. At large eps the Gaussian is much wider than the region
  |h| < ~20 where f differs from its saturated form, so Gauss-Hermite nodes in z = (h - mu)/sqrt(a) miss it
  (81 nodes cap q = E tanh^2 at 0.861). Each f is split into an exactly integrable saturated part (1, sign h,
  |h|) and a remainder that decays like exp(-2|h|); the remainder is integrated in h itself on Gauss-Legendre
  panels covering [mu - Z sqrt(a), mu + Z sqrt(a)] ∩ [-H_SAT, H_SAT], split at the kink h = 0
  (``neuron_remainders``). Below a = 1 nothing saturates and f itself is integrated (no 1 - (1 - q)
  cancellation for small q).
* gap block: E_z F(u), u = (kappa - sqrt(c) z) / sqrt(1 - c). F turns from its u -> +inf asymptote (~ -u^2/2
  for log H, with log u corrections) to ~0 in a window of width w0 = sqrt(1 - c)/sqrt(c) around
  z* = kappa/sqrt(c); near c -> 1 that window is tiny and the log u terms put a branch point at distance w0
  from any panel ending there. Panels graded geometrically away from z* (each panel [d, 2d] sees the
  singularities at a distance ~ its own length) and then of width 2 out to the Gaussian's range resolve
  every scale from w0 = 1e-6 to 1 (``gap_integrals``). The Mills ratio g = phi/H and g' = g (g - u) come from
  erfc below u = 4 and from Laplace's continued fraction above (no cancellation in g - u ~ 1/u).

Both loops are compiled with numba (one pass over nodes, no temporaries: the RS solver evaluates them
hundreds of times per solve). Audited against scipy.integrate.quad at tight tolerance in
tests/test_theory_quadrature.py (eps up to 1e6, 1 - c down to 1e-10, kappa in [-10, 10]).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

Z_EDGE = 10.0  # Gaussian mass beyond |z| = 10 is 1.5e-23
Z_FAR = 38.0  # phi(38) = 1e-314: nothing beyond contributes in double precision
H_SAT = 20.0  # the neuron remainders decay like exp(-2|h|): below 1e-17 of their peak beyond |h| = 20
NEURON_PANELS = 8  # per side of the kink: each panel shorter than 1.25 sqrt(a) and than 2.5
NEURON_NODES = 14
GAP_NODES = 10
GAP_RATIO = 2.0  # graded panels [d, 2d]
GAP_OUTER = 2.0  # graded panels stop at offset 2 from z*; then panels of width 2
CF_FROM = 4.0  # g - u from the continued fraction above this u (below, erfc's cancellation is < 1e-13)

_SQRT2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRT2PI = 0.5 * math.log(2.0 * math.pi)


def _legendre01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0  # on [0, 1]


_NEURON_T, _NEURON_W = _legendre01(NEURON_NODES)
_GAP_T, _GAP_W = _legendre01(GAP_NODES)


# ---------------------------------------------------------------- Gaussian tail and Mills ratio
@njit(cache=True, inline="always")
def tail_terms(u):
    """(log H(u), g = phi/H, g' = g (g - u)) for one u, to ~1e-14 relative (H(u) = erfc(u/sqrt 2)/2)."""
    if u > CF_FROM:
        # levels for convergence to double precision (measured against 2000 levels)
        depth = 40 if u < 5.0 else (26 if u < 6.0 else (20 if u < 8.0 else (14 if u < 12.0 else 10)))
        t = u
        for k in range(depth, 1, -1):
            t = u + k / t
        excess = 1.0 / t
        g = u + excess
        log_h = -0.5 * u * u - _LOG_SQRT2PI - math.log(g)
        return log_h, g, g * excess
    h = 0.5 * math.erfc(u / math.sqrt(2.0))
    phi = math.exp(-0.5 * u * u) / _SQRT2PI
    g = phi / h
    # H -> 1 for u < 0: log H = log1p(-H(-u)) keeps the digits of the tiny violation probability
    log_h = math.log1p(-0.5 * math.erfc(-u / math.sqrt(2.0))) if u < 0.0 else math.log(h)
    return log_h, g, g * (g - u)


# ---------------------------------------------------------------- gap block
@njit(cache=True)
def _gap_one(c, kappa, nishimori, t, w):
    if c == 0.0:
        # a liquid layer: u = kappa for every z (and the Nishimori weight is 1), so the block is exact
        log_h, g, gp = tail_terms(kappa)
        return log_h, g * g, gp * gp
    sc = math.sqrt(c)
    om = 1.0 - c
    rom = math.sqrt(om)
    w0 = min(rom / max(sc, 1e-300), GAP_OUTER)
    centre = min(max(kappa / max(sc, 1e-300), -Z_FAR), Z_FAR)
    lower = min(max(centre - 4.0, -Z_FAR), -Z_EDGE)  # z* < -Z: the violated gaps sit in the far tail
    h_kappa = 0.5 * math.erfc(kappa / math.sqrt(2.0))
    s = 0.0
    chat = 0.0
    lam = 0.0
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        extent = (centre - lower) if side == 0 else (Z_EDGE - centre)
        d_lo = 0.0
        d_hi = w0
        while d_lo < extent:
            a = centre + sign * d_lo
            b = centre + sign * min(d_hi, extent)
            lo_z = min(a, b)
            hi_z = max(a, b)
            lo_z = min(max(lo_z, lower), Z_EDGE)
            hi_z = min(max(hi_z, lower), Z_EDGE)
            width = hi_z - lo_z
            if width > 0.0:
                for k in range(t.size):
                    z = lo_z + width * t[k]
                    weight = width * w[k] * math.exp(-0.5 * z * z) / _SQRT2PI
                    u = (kappa - sc * z) / rom
                    log_h, g, gp = tail_terms(u)
                    if nishimori:
                        weight *= math.exp(log_h) / h_kappa
                    s += weight * log_h
                    chat += weight * g * g
                    lam += weight * gp * gp
            d_lo = d_hi
            d_hi = d_hi * GAP_RATIO if d_hi < GAP_OUTER else d_hi + 2.0
    return s, chat / om, lam / (om * om)


@njit(cache=True)
def _gap_batch(c, kappa, nishimori, t, w):
    out = np.empty((3, c.size))
    for i in range(c.size):
        out[0, i], out[1, i], out[2, i] = _gap_one(c[i], kappa, nishimori, t, w)
    return out


def gap_integrals(c, kappa: float, nishimori: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E w log H(u), E[w g^2]/(1 - c), E[w g'^2]/(1 - c)^2), u = (kappa - sqrt(c) z)/sqrt(1 - c), z ~ N(0,1),
    w = 1 (random) or H(u)/H(kappa) (Nishimori); c in [0, 1 - 1e-12] (clipped), any shape."""
    c = np.clip(np.asarray(c, dtype=float), 0.0, 1.0 - 1e-12)
    out = _gap_batch(np.ascontiguousarray(c.ravel()), float(kappa), bool(nishimori), _GAP_T, _GAP_W)
    return tuple(row.reshape(c.shape) for row in out)


# ---------------------------------------------------------------- neuron block
@njit(cache=True)
def _neuron_one(mu, a, t, w, out):
    """out[:] = E over h ~ N(mu, a) of (tanh^2 - 1{a >= 1}, tanh - 1{a >= 1} sign, log(1 + e^{-2|h|}),
    sech^4): the remainders whose saturated parts (1, sign h, |h|) the caller adds in closed form."""
    for j in range(4):
        out[j] = 0.0
    direct = a < 1.0
    if a <= 0.0:
        th = math.tanh(mu)
        sg = 0.0 if mu == 0.0 else math.copysign(1.0, mu)
        out[0] = th * th - (0.0 if direct else 1.0)
        out[1] = th - (0.0 if direct else sg)
        out[2] = math.log1p(math.exp(-2.0 * abs(mu)))
        out[3] = (1.0 - th * th) ** 2
        return
    sd = math.sqrt(a)
    lo = min(max(mu - Z_EDGE * sd, -H_SAT), H_SAT)
    hi = min(max(mu + Z_EDGE * sd, -H_SAT), H_SAT)
    kink = min(max(0.0, lo), hi)
    even = mu == 0.0  # symmetric law: every remainder but tanh's is even, tanh's mean is 0
    for side in range(1 if even else 0, 2):
        left = lo if side == 0 else kink
        right = kink if side == 0 else hi
        width = (right - left) / NEURON_PANELS
        if width <= 0.0:
            continue
        for p in range(NEURON_PANELS):
            start = left + p * width
            for k in range(t.size):
                h = start + width * t[k]
                x = (h - mu) / sd
                weight = width * w[k] * math.exp(-0.5 * x * x) / (_SQRT2PI * sd)
                e = math.exp(-2.0 * abs(h))
                th = math.copysign((1.0 - e) / (1.0 + e), h)  # tanh h, no overflow
                sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e))
                if direct:
                    out[0] += weight * th * th
                    out[1] += weight * th
                else:
                    out[0] -= weight * sech2
                    out[1] += weight * (th - math.copysign(1.0, h))
                out[2] += weight * math.log1p(e)
                out[3] += weight * sech2 * sech2
    if even:
        out[0] *= 2.0
        out[1] = 0.0
        out[2] *= 2.0
        out[3] *= 2.0


@njit(cache=True)
def _neuron_batch(mu, a, t, w):
    out = np.empty((4, mu.size))
    buf = np.empty(4)
    for i in range(mu.size):
        _neuron_one(mu[i], a[i], t, w, buf)
        for j in range(4):
            out[j, i] = buf[j]
    return out


def neuron_remainders(mu, a) -> np.ndarray:
    """(4, ...) array: E of the remainders of tanh^2, tanh, log 2cosh and sech^4 over h ~ N(mu, a) (see
    _neuron_one); mu and a broadcast to any common shape, a >= 0."""
    mu, a = np.broadcast_arrays(np.asarray(mu, dtype=float), np.maximum(np.asarray(a, dtype=float), 0.0))
    out = _neuron_batch(np.ascontiguousarray(mu.ravel()), np.ascontiguousarray(a.ravel()), _NEURON_T, _NEURON_W)
    return out.reshape((4,) + mu.shape)
