"""Replica-symmetric building blocks of the chain free entropy (docs/theory.md, sections 2-4).

Each block of MODEL.md section 5 is a scalar function once the replica matrices are RS (diagonal 1,
off-diagonal overlap). Two replica limits:

* ``nishimori=False`` -- random data, quenched average, n -> 0, values per replica;
* ``nishimori=True``  -- teacher-student, the teacher is replica 0, d/dN at N = n + 1 = 1.

For every block we provide the value, the conjugate that enters the saddle point, and the replicon
susceptibility. All functions are vectorised over arrays of overlaps (one entry per layer).
"""
from __future__ import annotations

import numpy as np

from .gaussian import SQRT2PI, H, gauss_hermite, log_H, log_phi, phi_over_H

# ---------------------------------------------------------------- quadrature for the gap block
_Z_EDGE = 10.0  # Gaussian weight beyond |z| = 10 is < 1e-22
_GL_NODES = 48
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_NODES)


def _gap_nodes(c: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z (..., K) and weights (..., K) for E_z f((kappa - sqrt(c) z)/sqrt(1 - c)).

    The integrand turns from ~u^2 to ~0 in a window of width sqrt(1-c)/sqrt(c) around z* = kappa/sqrt(c);
    near c -> 1 that window is narrow, so we use three Gauss-Legendre panels: left, window, right.
    """
    c = np.asarray(c, dtype=float)[..., None]
    sc = np.sqrt(np.maximum(c, 1e-300))
    width = 8.0 * np.sqrt(1.0 - c) / sc
    centre = np.clip(kappa / sc, -_Z_EDGE, _Z_EDGE)
    a = np.clip(centre - width, -_Z_EDGE, _Z_EDGE)
    b = np.clip(centre + width, -_Z_EDGE, _Z_EDGE)
    edges = [(-_Z_EDGE + 0 * a, a), (a, b), (b, _Z_EDGE + 0 * b)]
    zs, ws = [], []
    for lo, hi in edges:
        half = 0.5 * (hi - lo)
        zs.append(lo + half * (_GL_X + 1.0))
        ws.append(half * _GL_W)
    z = np.concatenate(zs, axis=-1)
    w = np.concatenate(ws, axis=-1) * np.exp(-0.5 * z * z) / SQRT2PI
    return z, w


def _mills_derivative(u: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g'(u) for g = phi/H: g (g - u), in [0, 1)."""
    return g * (g - u)


def gap_terms(c, kappa: float, nishimori: bool):
    """RS gap block at overlap c = q_{l-1} Q_l q_l (MODEL.md: s_gap(q o Q o q)).

    Returns (s_gap, chat, lam):
      s_gap -- random: E_z log H(u); Nishimori: E_z H(u) log H(u) / H(kappa)  (= 2 E H log H at kappa = 0),
      chat  -- the conjugate |2 ds_gap/dc| = E[w g(u)^2] / (1 - c)   (w = 1 or the teacher tilt H(u)/H(kappa)),
      lam   -- replicon response E[w g'(u)^2] / (1 - c)^2,
    with u = (kappa - sqrt(c) z)/sqrt(1 - c), g = phi/H.
    """
    c = np.clip(np.asarray(c, dtype=float), 0.0, 1.0 - 1e-15)
    z, w = _gap_nodes(c, kappa)
    one_minus = (1.0 - c)[..., None]
    u = (kappa - np.sqrt(c)[..., None] * z) / np.sqrt(one_minus)
    logh = log_H(u)
    g = np.exp(log_phi(u) - logh)  # phi/H, from the one log H evaluation
    if nishimori:
        w = w * np.exp(logh) / H(kappa)  # the teacher's tilt H(u)/H(kappa)
    s_gap = np.sum(w * logh, axis=-1)
    chat = np.sum(w * g * g, axis=-1) / (1.0 - c)
    lam = np.sum(w * _mills_derivative(u, g) ** 2, axis=-1) / (1.0 - c) ** 2
    return s_gap, chat, lam


def liquid_gap_conjugate(kappa: float) -> float:
    """m^2 = chat(c = 0) = (phi(kappa)/H(kappa))^2, in both replica limits."""
    return float(phi_over_H(kappa) ** 2)


# ---------------------------------------------------------------- spherical weights
def weight_entropy(Q, nishimori: bool):
    """s_J: 1/2 log det Q per replica. Random: 1/2[log(1-Q) + Q/(1-Q)]; Nishimori: 1/2[log(1-Q) + Q]."""
    Q = np.asarray(Q, dtype=float)
    if nishimori:
        return 0.5 * (np.log1p(-Q) + Q)
    return 0.5 * (np.log1p(-Q) + Q / (1.0 - Q))


def weight_overlap(y, nishimori: bool):
    """Solve the weight saddle point for Q given its conjugate y = alpha chat q_{l-1} q_l >= 0.

    Random: Q/(1-Q)^2 = y  ->  Q = 2y / (1 + 2y + sqrt(1 + 4y));  Nishimori: Q/(1-Q) = y  ->  Q = y/(1+y).
    """
    y = np.maximum(np.asarray(y, dtype=float), 0.0)
    if nishimori:
        return y / (1.0 + y)
    return 2.0 * y / (1.0 + 2.0 * y + np.sqrt(1.0 + 4.0 * y))


def weight_replicon_susceptibility(Q):
    """Replicon eigenvalue of the map dQ^{-1} -> dQ: (1 - Q)^2 (any n)."""
    return (1.0 - np.asarray(Q, dtype=float)) ** 2


# ---------------------------------------------------------------- Ising neurons
_SPIN_NODES = 81


def _spin_fields(eps, nishimori: bool):
    eps = np.maximum(np.asarray(eps, dtype=float), 0.0)[..., None]
    z, w = gauss_hermite(_SPIN_NODES)
    field = np.sqrt(eps) * z + (eps if nishimori else 0.0)
    return field, w


def spin_overlap(eps, nishimori: bool):
    """q(eps): random E tanh^2(sqrt(eps) z); Nishimori E tanh(eps + sqrt(eps) z) (= E tanh^2 there)."""
    field, w = _spin_fields(eps, nishimori)
    t = np.tanh(field)
    return np.sum(w * (t if nishimori else t * t), axis=-1)


def spin_entropy(q, eps, field, nishimori: bool):
    """s_S(q) at its stationary conjugate eps (the Legendre transform of MODEL.md), field h included.

    random:     eps q/2 - (eps + h)/2 + E log 2cosh(sqrt(eps + h) z)
    Nishimori: -eps (1 + q)/2 - h/2 + E log 2cosh(eps + h + sqrt(eps + h) z)
    """
    q, eps, field = (np.asarray(a, dtype=float) for a in (q, eps, field))
    f, w = _spin_fields(eps + field, nishimori)
    log2cosh = np.sum(w * (np.logaddexp(f, -f)), axis=-1)
    if nishimori:
        return -0.5 * eps * (1.0 + q) - 0.5 * field + log2cosh
    return 0.5 * eps * q - 0.5 * (eps + field) + log2cosh


def spin_replicon_susceptibility(eps, nishimori: bool):
    """Replicon response of Ising overlaps: E[(1 - tanh^2)^2] (SK's de Almeida-Thouless factor)."""
    field, w = _spin_fields(eps, nishimori)
    t = np.tanh(field)
    return np.sum(w * (1.0 - t * t) ** 2, axis=-1)
