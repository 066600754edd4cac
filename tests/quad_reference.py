"""Independent references for the RS blocks: scipy.integrate.quad at tight tolerance, in other variables
(z for the neuron block, u for the gap block) and with other special-function formulas (erfcx for the Mills
ratio, an asymptotic series beyond u = 100) than deepglass.theory.quadrature."""
from __future__ import annotations

import numpy as np
from scipy import integrate, special


def _quad(f, lo, hi, points=None):
    value, err = integrate.quad(f, lo, hi, points=points, epsabs=0.0, epsrel=1e-13, limit=2000)
    return value


def _phi(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def neuron_reference(eps, nishimori, what):
    """E over z ~ N(0,1) of the function of h = sqrt(eps) z (+ eps for Nishimori), integrated in z."""
    s = np.sqrt(eps)
    mu = eps if nishimori else 0.0
    funcs = {
        "one_minus_q": (lambda h: 1.0 - np.tanh(h)) if nishimori else (lambda h: (1.0 / np.cosh(min(abs(h), 350.0))) ** 2),
        "log2cosh": lambda h: np.abs(h) + np.log1p(np.exp(-2 * np.abs(h))),
        "sech4": lambda h: (1.0 / np.cosh(min(abs(h), 350.0))) ** 4,
    }
    f = funcs[what]
    kink = -mu / s  # z where h = 0
    lo, hi = -12.0, 12.0
    pts = [p for p in (kink - 30 / s, kink - 1 / s, kink, kink + 1 / s, kink + 30 / s) if lo < p < hi]
    return _quad(lambda z: _phi(z) * f(mu + s * z), lo, hi, points=sorted(pts) or None)



def mills_reference(u):
    """phi/H by erfcx; g' = g (g - u) with g - u from the asymptotic series beyond u = 100."""
    R = np.sqrt(np.pi / 2) * special.erfcx(u / np.sqrt(2))
    g = 1.0 / R
    if u < 100:
        return g, g * (g - u)
    x = 1.0 / (u * u)
    one_minus_uR = x * (1 - 3 * x * (1 - 5 * x * (1 - 7 * x * (1 - 9 * x))))
    return g, g * one_minus_uR / R


def gap_reference(c, kappa, nishimori):
    """(s_gap, chat, lam) by quad in u, with z = (kappa - sqrt(1-c) u)/sqrt(c) (kappa = z* at u = 0).
    At c = 0 (a liquid layer) u = kappa for every z: the values are scipy's log_ndtr and Mills ratio there."""
    if c == 0.0:
        g, gp = mills_reference(kappa)
        return float(special.log_ndtr(-kappa)), g ** 2, gp ** 2
    a, b = np.sqrt(1 - c), np.sqrt(c)
    jac = a / b
    u_centre = kappa / a  # u at z = 0
    u_lo, u_hi = (kappa - 10.5 * b) / a, (kappa + 38.5 * b) / a  # z = +10.5 .. -38.5
    Hk = special.ndtr(-kappa)

    def weight(u):
        base = _phi((kappa - a * u) / b) * jac
        return base * special.ndtr(-u) / Hk if nishimori else base

    def f_s(u):
        return weight(u) * special.log_ndtr(-u)

    def f_chat(u):
        return weight(u) * mills_reference(u)[0] ** 2

    def f_lam(u):
        return weight(u) * mills_reference(u)[1] ** 2

    pts = sorted({p for p in (-8.0, -3.0, 0.0, 3.0, 30.0, u_centre, u_centre - 1 / jac, u_centre + 1 / jac)
                  if u_lo < p < u_hi})
    s = _quad(f_s, u_lo, u_hi, pts)
    chat = _quad(f_chat, u_lo, u_hi, pts) / (1 - c)
    lam = _quad(f_lam, u_lo, u_hi, pts) / (1 - c) ** 2
    return s, chat, lam


def neuron_q_reference(eps, nishimori):
    return 1.0 - neuron_reference(eps, nishimori, "one_minus_q")


def log2cosh_reference(eps, nishimori):
    return neuron_reference(eps, nishimori, "log2cosh")
