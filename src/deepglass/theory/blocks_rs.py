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

from . import quadrature
from .gaussian import H, phi_over_H

def gap_terms(c, kappa: float, nishimori: bool):
    """RS gap block at overlap c = q_{l-1} Q_l q_l (MODEL.md: s_gap(q o Q o q)).

    Returns (s_gap, chat, lam):
      s_gap -- random: E_z log H(u); Nishimori: E_z H(u) log H(u) / H(kappa)  (= 2 E H log H at kappa = 0),
      chat  -- the conjugate |2 ds_gap/dc| = E[w g(u)^2] / (1 - c)   (w = 1 or the teacher tilt H(u)/H(kappa)),
      lam   -- replicon response E[w g'(u)^2] / (1 - c)^2,
    with u = (kappa - sqrt(c) z)/sqrt(1 - c), g = phi/H, on the graded panels of quadrature.gap_integrals
    (accurate up to 1 - c = 1e-12; c is clipped there).
    """
    return quadrature.gap_integrals(c, kappa, nishimori)


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
# h ~ N(mu, a) with a = eps (+ field) and mu = 0 (random) or mu = a (Nishimori: the teacher's tilt). Each
# function is a saturated part with a closed-form mean plus a remainder decaying like exp(-2|h|), integrated
# by quadrature.neuron_remainders (Gauss-Hermite in z misses the region |h| < 20 once a is large).


def _neuron_law(eps, nishimori: bool):
    a = np.maximum(np.asarray(eps, dtype=float), 0.0)
    return (a if nishimori else np.zeros_like(a)), a


def _mean_sign(mu, a):
    """E sign(h) = 1 - 2 P(h < 0) = 1 - 2 H(mu / sqrt a)."""
    safe = np.where(a > 0, a, 1.0)
    return np.where(a > 0, 1.0 - 2.0 * H(mu / np.sqrt(safe)), np.sign(mu))


def _mean_abs(mu, a):
    """E|h| = sqrt(2a/pi) exp(-mu^2/2a) + mu E sign(h)."""
    safe = np.where(a > 0, a, 1.0)
    gauss = np.where(a > 0, np.sqrt(2.0 * a / np.pi) * np.exp(-0.5 * mu * mu / safe), 0.0)
    return gauss + mu * _mean_sign(mu, a)


def spin_overlap(eps, nishimori: bool):
    """q(eps): random E tanh^2(sqrt(eps) z); Nishimori E tanh(eps + sqrt(eps) z) (= E tanh^2 there).

    For eps >= 1 as saturated part plus remainder (1 - E sech^2; E sign + E (tanh - sign)); below, where
    nothing saturates and 1 - (something near 1) would lose the small q's digits, integrated directly.
    """
    mu, a = _neuron_law(eps, nishimori)
    rest = quadrature.neuron_remainders(mu, a)
    saturated = a >= 1.0
    if nishimori:
        return np.where(saturated, _mean_sign(mu, a), 0.0) + rest[1]
    return np.where(saturated, 1.0, 0.0) + rest[0]


def spin_entropy(q, eps, field, nishimori: bool):
    """s_S(q) at its stationary conjugate eps (the Legendre transform of MODEL.md), field h included.

    random:     eps q/2 - (eps + h)/2 + E log 2cosh(sqrt(eps + h) z)
    Nishimori: -eps (1 + q)/2 - h/2 + E log 2cosh(eps + h + sqrt(eps + h) z)
    with E log 2cosh = E|h| + E log(1 + exp(-2|h|)).
    """
    q, eps, field = (np.asarray(a, dtype=float) for a in (q, eps, field))
    mu, a = _neuron_law(eps + field, nishimori)
    log2cosh = _mean_abs(mu, a) + quadrature.neuron_remainders(mu, a)[2]
    if nishimori:
        return -0.5 * eps * (1.0 + q) - 0.5 * field + log2cosh
    return 0.5 * eps * q - 0.5 * (eps + field) + log2cosh


def spin_replicon_susceptibility(eps, nishimori: bool):
    """Replicon response of Ising overlaps: E[(1 - tanh^2)^2] = E sech^4 (SK's de Almeida-Thouless factor)."""
    mu, a = _neuron_law(eps, nishimori)
    return quadrature.neuron_remainders(mu, a)[3]
