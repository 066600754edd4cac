"""NumPy reference backend: the two vectorised sub-steps of a sweep (MODEL.md section 4).

Each sub-step is a product of independent Metropolis(-Hastings) kernels acting on disjoint sets of
gaps, so it can be applied to all of them at once (docs/simulation.md explains why this is exact):
  neuron sub-step: one random hidden neuron per (system, pattern, layer) for all hidden layers of one
                   parity (layers l and l+2 share no gap; different patterns share no gap);
  weight sub-step: one random weight per (system, layer, row) (different rows share no gap).
Arrays are flattened over the batch: S, h (B, L+1, M, N), Wt (B, L, N, N) (see state.py), updated
in place. Random numbers are drawn beforehand (engine.py) so every backend consumes the same ones.
Unequal widths (widths, fan_in given): the arrays are W = max width wide, padded with zeros; a flip's dE then
sums V over the padding too, where the new and old gaps are both 0 (they cancel), and padded rows or rows of
a layer beyond its c_l sub-steps are never accepted, so the padding stays 0.
"""
from __future__ import annotations

import numpy as np

from .params import MCParams, accept


class NumpyBackend:
    """Vectorised sub-steps over (batch, layer, pattern) or (batch, layer, row)."""

    name = "numpy"

    def __init__(self, params: MCParams, V, c: int, N: int, L: int, M: int, kappa: float = 0.0,
                 widths: tuple[int, ...] | None = None, fan_in: tuple[int, ...] | None = None):
        self.params, self.V, self.c, self.N, self.L, self.M = params, V, c, N, L, M
        self.inv_sqrt_c = 1.0 / np.sqrt(c)
        self.W = N   # array width
        self.uniform = widths is None
        if not self.uniform:   # per-layer c_l, broadcast over (B, L, W) rows; rows beyond N_l are padding
            self.W = max(widths)
            self.c = np.asarray(fan_in, dtype=np.float64)[None, :, None]
            self.inv_sqrt_c = 1.0 / np.sqrt(self.c)
            self.fan_in = np.asarray(fan_in)
            self.row_valid = (np.arange(self.W)[None, :] < np.asarray(widths[1:])[:, None])[None]   # (1, L, W)
        self._plans: dict = {}

    # ----------------------------------------------------------------- index plans (cached per batch size)
    def _neuron_plan(self, B: int, layers: tuple[int, ...]):
        key = ("n", B, layers)
        if key not in self._plans:
            L, M, N = self.L, self.M, self.W
            b = np.arange(B)[:, None, None]
            lay = np.asarray(layers)[None, :, None]
            m = np.arange(M)[None, None, :]
            rows_own = (b * (L + 1) + lay) * M + m          # row of S/h.reshape(-1, N) holding S^{mu,l}
            rows_next = rows_own + M                        # the same pattern one layer up
            wrows = (b * L + lay) * N + 0 * m               # Wt.reshape(-1, N) row of input neuron 0 of layer l
            self._plans[key] = (rows_own, rows_next, wrows)
        return self._plans[key]

    def _weight_plan(self, B: int):
        key = ("w", B)
        if key not in self._plans:
            L, N = self.L, self.W
            b = np.arange(B)[:, None, None]
            lay = np.arange(L)[None, :, None]
            k = np.arange(N)[None, None, :]
            self._plans[key] = (b * L + lay) * N * N + k     # flat Wt index of entry (j=0, row k)
        return self._plans[key]

    # ----------------------------------------------------------------- neuron flips
    def neuron_substep(self, S, h, Wt, layers, choice, uniform, counts):
        """Flip-proposals for neuron choice[b, a, mu] of layer layers[a], pattern mu, system b."""
        B, N = S.shape[0], self.W
        rows_own, rows_next, wrows = self._neuron_plan(B, tuple(layers))
        S2, h2, W2 = S.reshape(-1, N), h.reshape(-1, N), Wt.reshape(-1, N)
        flat_own = rows_own * N + choice
        s = S.reshape(-1)[flat_own]
        r_own = s * h.reshape(-1)[flat_own]
        V = self.V
        dE = V(-r_own) - V(r_own)
        # the flip changes h^{mu,l+1}_k by -2 s J_{k,i}/sqrt(c) for every perceptron k reading i
        Sn = S2[rows_next]
        dh = W2[wrows + choice]
        inv_sqrt_c = self.inv_sqrt_c if self.uniform else self.inv_sqrt_c[0, list(layers), 0][None, :, None, None]
        dh *= (-2.0 * inv_sqrt_c) * s[..., None]
        r_old = Sn * h2[rows_next]
        r_new = Sn * dh
        r_new += r_old
        dE += V(r_new).sum(-1) - V(r_old).sum(-1)
        ok = accept(self.params, dE, uniform)
        S.reshape(-1)[flat_own[ok]] = -s[ok]
        h2[rows_next[ok]] += dh[ok]
        counts[:, list(layers)] += ok.sum(-1)

    # ----------------------------------------------------------------- weight moves
    def weight_substep(self, S, h, Wt, column, gauss, uniform, counts, sub: int | None = None):
        """Move J_{k, j} -> (J + delta x)/sqrt(1 + delta^2), j = column[b, l, k], then rescale row k to norm c.

        sub: the sub-step's index within the MC step (unequal widths: layer l moves only while sub < c_l)."""
        params, c, V = self.params, self.c, self.V
        L = self.L
        delta = params.delta
        flat = self._weight_plan(S.shape[0]) + column * self.W
        Wf = Wt.reshape(-1)
        a = Wf[flat]                                       # (B, L, N): old weight
        b = (a + delta * gauss) / np.sqrt(1.0 + delta * delta)
        norm2 = np.einsum("blji,blji->bli", Wt, Wt)
        rest2 = norm2 - a * a
        scale = np.sqrt(c / (rest2 + b * b))
        # new fields of row k on every pattern: scale * (h + (b - a)/sqrt(c) * S^{mu,l-1}_j)
        S_in = np.take_along_axis(S[:, :L], column[:, :, None, :], axis=-1)   # (B, L, M, N)
        h_row = h[:, 1:]
        h_new = S_in
        h_new *= ((b - a) * self.inv_sqrt_c)[:, :, None, :]
        h_new += h_row
        h_new *= scale[:, :, None, :]
        S_out = S[:, 1:]
        r_old = S_out * h_row
        r_new = S_out * h_new
        dE = V(r_new).sum(-2) - V(r_old).sum(-2)
        log_ratio = self.hastings_log_ratio(a, b, gauss, rest2, scale) if params.exact_sphere else None
        ok = accept(params, dE, uniform, log_ratio)
        if not self.uniform:
            ok &= self.row_valid & (sub < self.fan_in)[None, :, None]
        np.copyto(h_row, h_new, where=ok[:, :, None, :])
        Wf[flat] = np.where(ok, b, a)
        Wt *= np.where(ok, scale, 1.0)[:, :, None, :]
        counts[:, 1:] += ok.sum(-1)

    def hastings_log_ratio(self, a, b, gauss, rest2, scale):
        """log q(J'->J)/q(J->J') of the projected weight move w.r.t. the uniform measure on the sphere.

        a: old weight, b = (a + delta x)/s raw new weight, rest2 = |row|^2 - a^2, scale: projection factor.
        With rho^2 = rest2 and rho'^2 = scale^2 rest2 the reverse raw value is a rho'/rho, and the
        Jacobian of the projection gives the factor (rho'/rho)^(c+1) (docs/simulation.md).
        """
        c, delta = self.c, self.params.delta
        if np.all(c == 1):  # a row of one weight is +-sqrt(1): the move is a symmetric sign flip
            return np.zeros_like(a)
        s = np.sqrt(1.0 + delta * delta)
        a_new = scale * b
        ratio2 = scale * scale                              # rho'^2 / rho^2
        reverse = s * a * scale - a_new                     # s * b_reverse - a_new
        out = 0.5 * (c + 1) * np.log(ratio2) - (reverse * reverse - (delta * gauss) ** 2) / (2 * delta * delta)
        return out if np.ndim(c) == 0 else np.where(c == 1, 0.0, out)
