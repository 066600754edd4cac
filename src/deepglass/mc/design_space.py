"""The exact sampler of the design space (MODEL.md section 4), numpy reference; numba kernels in
design_space_numba.py (same random numbers, same floating-point formulas, same trajectory).

State: the engine's (S, h, Wt) with the hidden neurons slaved to the weights. A move proposes a new row
J_i^l of perceptron (l, i) and moves every neuron whose field changes sign:
  - own layer l: h_i^{mu,l} for every pattern (the row's M fields, recomputed from the new row);
  - cascade: on the patterns where S_i^{mu,l} flips, layer l+1's fields change; its neurons whose field
    changes sign flip too, and so on up to the output layer (which never flips: it is the data).
It is accepted with the Metropolis(-Hastings) rule of MCParams on the change of the cost E (MODEL.md
section 4, every gap, with the moved neurons). Inside the design space (E = 0, kappa >= 0) the hidden
neurons equal the forward pass, every hidden cost term is 0, and greedy acceptance accepts exactly the
moves that keep every gap >= kappa: the uniform measure over the weights whose forward pass reproduces the
data, which is the theory's measure (docs/simulation.md). Outside it (learning from a random start, whose
hidden neurons are set to the forward pass of the random weights) greedy descends on the output cost
(plus hidden terms |h| < kappa for kappa > 0) until E = 0, then samples the design space.

The proposal "flip every neuron whose field changes sign" is symmetric: the reverse row move restores the
fields of layer l, the same neurons change sign back, and so on down the cascade. With the row move
J_i -> sqrt(c)(J_i + delta x)/|J_i + delta x| (x ~ N(0, 1_c), a density that depends only on J_i . J_i')
no Hastings factor is needed; the single-weight proposal carries the local move's Hastings factor (exact_sphere).
For kappa < 0 the neurons are not slaved: each MC step adds the local neuron flips (engine backend).

MC step: for each layer l = 1..L in turn, N row moves of uniformly random rows (L N rows: every weight
is moved once per step on average, as in the local step), then, for kappa < 0, N neuron sub-steps per
parity of hidden layers as in the local step.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .moves import BatchState, register_move_set
from .params import accept


class DesignSpaceMoves:
    """Slaved-neuron weight moves; backends: numpy (reference, this file) and numba."""

    name = "design-space"

    def __init__(self, engine):
        self.N, self.L, self.c, self.M = engine.N, engine.L, engine.c, engine.M
        self.kappa, self.params, self.idx, self.V = engine.kappa, engine.params, engine.idx, engine.V
        if engine.backend_name not in ("numpy", "numba"):
            raise ConfigError("backend", engine.backend_name, "numpy or numba with sampler = design-space")
        self.backend_name = engine.backend_name
        self.flips = self.kappa < 0.0           # kappa >= 0: neurons slaved, no flip can keep its own gap
        self.parities = engine.parities
        self.flip_backend = engine.backend      # the local neuron flips (kappa < 0)
        self.metropolis = self.params.acceptance == "metropolis"
        self.hastings = self.params.proposal == "weight" and self.params.exact_sphere
        self.need_u = self.metropolis or self.hastings
        self.inv_sqrt_c = 1.0 / np.sqrt(self.c)
        self.delta = np.full(self.L, float(self.params.delta))   # move size per layer
        self._buffers = None
        if self.backend_name == "numba":
            from . import design_space_numba
            self._kernels = design_space_numba

    # ----------------------------------------------------------------- random numbers
    def draw_shapes(self) -> dict:
        N, L, c, M = self.N, self.L, self.c, self.M
        shapes = {"row": ((L, N), np.int64), "gauss": ((L, N, c), np.float64)}
        if self.params.proposal == "weight":
            shapes["slot"] = ((L, N), np.int64)
        if self.need_u:
            shapes["u"] = ((L, N), np.float64)
        if self.flips:
            for p, layers in enumerate(self.parities):
                shapes[f"choice{p}"] = ((N, len(layers), M), np.int64)
                if self.metropolis:
                    shapes[f"u{p}"] = ((N, len(layers), M), np.float64)
        return shapes

    def highs(self) -> dict:
        return {name: (self.c if name == "slot" else self.N) for name in self.draw_shapes()}

    def attempts_per_step(self) -> tuple[np.ndarray, np.ndarray]:
        neuron = np.zeros(self.L + 1)
        if self.flips:
            neuron[1:self.L] = self.N * self.M
        weight = np.zeros(self.L + 1)
        weight[1:] = self.N   # row moves
        return neuron, weight

    # ----------------------------------------------------------------- the MC step
    def step(self, st: BatchState, r: dict) -> None:
        if st.stats is None:
            st.stats = np.zeros((st.S.shape[0], self.L + 1))
        if self.backend_name == "numba":
            self._kernels.row_sweep(self, st, r)
        else:
            for w in range(self.L):
                for a in range(self.N):
                    self.row_moves(st, w, r["row"][:, w, a], r["gauss"][:, w, a],
                                   r["slot"][:, w, a] if "slot" in r else None, r["u"][:, w, a] if self.need_u else None)
        if self.flips:
            for s in range(self.N):
                for p, layers in enumerate(self.parities):
                    u = np.ascontiguousarray(r[f"u{p}"][:, s]) if self.metropolis else None
                    self.flip_backend.neuron_substep(st.S, st.h, st.Wt, layers, np.ascontiguousarray(r[f"choice{p}"][:, s]),
                                                     u, st.counts_neuron)

    def support(self, system_sample: np.ndarray, w: int, i: np.ndarray) -> np.ndarray:
        """(B, c) input neurons of perceptron (w+1, i[b]) of every system."""
        if self.idx is None:
            return np.broadcast_to(np.arange(self.N), (i.shape[0], self.N))
        return self.idx[system_sample, w, i]

    def propose(self, w_old: np.ndarray, g: np.ndarray, slot, delta: float):
        """New rows (B, c) of norm^2 c, log q(J'->J)/q(J->J') (None: symmetric), the rescaling factor and, for
        the single-weight move, (J'_ij - J_ij)/sqrt(c) before rescaling (its fields are updated incrementally)."""
        c = self.c
        if self.params.proposal == "row":
            w_raw = w_old + delta * g
            scale = np.sqrt(c / (w_raw * w_raw).sum(-1))
            return w_raw * scale[:, None], None, scale, None
        b = np.arange(w_old.shape[0])
        a, x = w_old[b, slot], g[b, slot]
        new = (a + delta * x) / np.sqrt(1.0 + delta * delta)
        rest2 = (w_old * w_old).sum(-1) - a * a
        scale = np.sqrt(c / (rest2 + new * new))
        w_raw = w_old.copy()
        w_raw[b, slot] = new
        log_ratio = hastings_log_ratio(a, new, x, scale, c, delta) if self.hastings else None
        return w_raw * scale[:, None], log_ratio, scale, (new - a) * self.inv_sqrt_c

    def row_moves(self, st: BatchState, w: int, i: np.ndarray, g: np.ndarray, slot, u) -> None:
        """One proposal per system b: row i[b] of weight layer w (perceptron layer p = w + 1)."""
        S, h, Wt, V = st.S, st.h, st.Wt, self.V
        B, L, N, M = S.shape[0], self.L, self.N, self.M
        b = np.arange(B)
        p = w + 1
        sup = self.support(st.system_sample, w, i)                             # (B, c)
        w_old = Wt[b[:, None], w, sup, i[:, None]]
        w_new, log_ratio, scale, coef = self.propose(w_old, g, slot, self.delta[w])
        h_own, s_own = h[b, p, :, i], S[b, p, :, i]
        if slot is None:   # row move: the M fields of the new row, O(M c)
            S_in = np.take_along_axis(S[:, w], np.broadcast_to(sup[:, None, :], (B, M, sup.shape[-1])), axis=-1)
            hn = (S_in * w_new[:, None, :]).sum(-1) * self.inv_sqrt_c          # (B, M)
        else:              # one weight: the local move's incremental O(M) update
            hn = (S[b, w, :, sup[b, slot]] * coef[:, None] + h_own) * scale[:, None]
        flip = ((hn >= 0.0) != (h_own >= 0.0)) if p < L else np.zeros((B, M), dtype=bool)
        s_new = np.where(flip, -s_own, s_own)
        dE = V(s_new * hn).sum(-1) - V(s_own * h_own).sum(-1)
        st.stats[:, 0] += M
        cascade = p < L and bool(flip.any())
        n_flips = np.zeros((B, L + 1))
        n_flips[:, p] = flip.sum(-1)
        if cascade:
            h_try, S_try = h[:, p + 1:].copy(), S[:, p + 1:].copy()
            F = np.zeros((B, M, N), dtype=bool)
            F[b, :, i] = flip
            for q in range(p + 1, L + 1):
                k = q - p - 1
                for j in np.flatnonzero(F.any(axis=(0, 1))):   # increasing j, as the numba cascade
                    bb, mm = np.nonzero(F[:, :, j])
                    f = (-2.0 * self.inv_sqrt_c) * S[bb, q - 1, mm, j]           # old sign of the flipping neuron
                    h_try[bb, k, mm] += Wt[bb, q - 1, j, :] * f[:, None]
                A = F.any(-1)                                                   # (B, M) patterns that changed
                if q < L:
                    F = ((h_try[:, k] >= 0.0) != (h[:, q] >= 0.0)) & A[..., None]
                    S_try[:, k] = np.where(F, -S[:, q], S[:, q])
                    n_flips[:, q] = F.sum((1, 2))
                diff = V(S_try[:, k] * h_try[:, k]) - V(S[:, q] * h[:, q])
                dE += np.where(A[..., None], diff, 0.0).sum((1, 2))
                st.stats[:, 0] += N * A.sum(-1)
                if q == L or not F.any():
                    break
        ok = accept(self.params, dE, u, log_ratio)
        acc = np.flatnonzero(ok)
        if acc.size == 0:
            return
        ia = i[acc]
        h[acc, p, :, ia] = hn[acc]
        S[acc, p, :, ia] = s_new[acc]
        if cascade:
            h[acc, p + 1:] = h_try[acc]
            S[acc, p + 1:] = S_try[acc]
        Wt[acc[:, None], w, sup[acc], ia[:, None]] = w_new[acc]
        st.counts_weight[acc, p] += 1
        st.stats[acc, 1:L] += n_flips[acc, 1:L]


def hastings_log_ratio(a, new, x, scale, c: int, delta: float):
    """log q(J'->J)/q(J->J') of the single-weight move (the formula of NumpyBackend.hastings_log_ratio,
    docs/simulation.md, with this move's delta): a old weight, new = (a + delta x)/sqrt(1 + delta^2)."""
    if c == 1:
        return np.zeros_like(a)
    s = np.sqrt(1.0 + delta * delta)
    reverse = s * a * scale - scale * new
    return 0.5 * (c + 1) * np.log(scale * scale) - (reverse * reverse - (delta * x) ** 2) / (2 * delta * delta)


def slave_hidden_neurons(S: np.ndarray, Wt: np.ndarray, c: int) -> None:
    """Set the hidden layers of S (..., L+1, M, N) to the forward pass of Wt (sign(0) = +1), in place."""
    for l in range(1, S.shape[-3] - 1):
        h = np.matmul(S[..., l - 1, :, :], Wt[..., l - 1, :, :]) / np.sqrt(c)
        S[..., l, :, :] = np.where(h >= 0.0, 1.0, -1.0)


register_move_set("design-space", DesignSpaceMoves)
