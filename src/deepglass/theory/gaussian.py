"""Gaussian tools used by every building block: H, log H, phi/H without overflow, Gaussian quadrature."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

SQRT2PI = np.sqrt(2 * np.pi)


def H(x):
    """Gaussian tail H(x) = int_x^inf Dt."""
    return special.ndtr(-np.asarray(x, dtype=float))


def log_H(x):
    """log H(x), accurate for large positive x (deep tail)."""
    return special.log_ndtr(-np.asarray(x, dtype=float))


def log_phi(x):
    x = np.asarray(x, dtype=float)
    return -0.5 * x * x - 0.5 * np.log(2 * np.pi)


def phi_over_H(x):
    """The inverse Mills ratio phi(x)/H(x), ~ x for large x, without 0/0."""
    return np.exp(log_phi(x) - log_H(x))


@lru_cache(maxsize=16)
def gauss_hermite(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights w with sum_k w_k f(z_k) ~ E_{z ~ N(0,1)} f(z) (probabilists' Hermite)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / SQRT2PI
