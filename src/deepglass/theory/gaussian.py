"""Gaussian tools used by every building block: H, log H, phi/H without overflow (quadrature: quadrature.py)."""
from __future__ import annotations

import numpy as np
from scipy import special


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
