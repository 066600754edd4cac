"""Compiled inner loops of the Parisi recursion (banded log-space Gaussian convolutions).

numba (optional dependency ``deepglass[fast]``) compiles them; without it the same loops are done
with vectorised numpy in parisi.py. Both compute exactly the same sums.
"""
from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numpy fallback in parisi.py
    njit = None

if njit is not None:

    @njit(cache=True)
    def backward_step(phi, slope, logk, norm, m):
        """phi_-(h_i) = (1/m) log sum_b K_ib exp(m phi(h_{i+b})), slope_- = tilted mean of slope."""
        n, nb = phi.size, logk.size
        B = nb // 2
        phi_out = np.empty(n)
        slope_out = np.empty(n)
        vals = np.empty(nb)
        for i in range(n):
            top = -np.inf
            for b in range(nb):
                j = i + b - B
                if 0 <= j < n:
                    v = m * phi[j] + logk[b] - norm[i] if m > 0 else logk[b] - norm[i]
                else:
                    v = -np.inf
                vals[b] = v
                if v > top:
                    top = v
            total = 0.0
            for b in range(nb):
                if vals[b] > -np.inf:
                    total += math.exp(vals[b] - top)
            lse = math.log(total) + top
            acc_phi = 0.0
            acc_slope = 0.0
            for b in range(nb):
                if vals[b] > -np.inf:
                    w = math.exp(vals[b] - lse)
                    j = i + b - B
                    acc_phi += w * phi[j]
                    acc_slope += w * slope[j]
            phi_out[i] = lse / m if m > 0 else acc_phi
            slope_out[i] = acc_slope
        return phi_out, slope_out

    @njit(cache=True)
    def forward_step(src, logk, phi_next, m):
        """log P_i(h') = log sum_h exp(src(h) + log K(h, h')) + m phi_i(h') (symmetric kernel)."""
        n, nb = src.size, logk.size
        B = nb // 2
        out = np.empty(n)
        for i in range(n):
            top = -np.inf
            for b in range(nb):
                j = i + b - B
                if 0 <= j < n:
                    v = src[j] + logk[b]
                    if v > top:
                        top = v
            if top == -np.inf:
                out[i] = -np.inf
                continue
            total = 0.0
            for b in range(nb):
                j = i + b - B
                if 0 <= j < n:
                    v = src[j] + logk[b]
                    if v > -np.inf:
                        total += math.exp(v - top)
            out[i] = math.log(total) + top + m * phi_next[i]
        return out
else:
    backward_step = forward_step = None
