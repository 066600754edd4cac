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
Unequal widths (model.py): the arrays are padded to W; layer l's sweep moves its own N_l rows over their c_l
inputs with 1/sqrt(c_l), cascades and costs see each layer's own neurons only, and the padding stays 0.

proposal = "billiard" (greedy, kappa >= 0) replaces the proposal-and-accept move by a reflective geodesic walk of
each row inside its conditional region, always kept: design_space_billiard.py (numpy) and
design_space_billiard_numba.py (numba), dispatched from step().

MC step: for each layer l = 1..L in turn, one proposal for every row i = 0..N-1 (a systematic scan: each
row move leaves the measure invariant, so their composition does; every weight is moved once per step on
average, as in the local step), then, for kappa < 0, N neuron sub-steps per parity of hidden layers as in
the local step. The N proposals of a layer are evaluated together (layer_moves explains why that is exact).
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
        # unequal widths (model.py): arrays padded to W; layer l has widths[l] neurons and fan-in c_l. Equal widths:
        # every width N and every fan-in c, the same numbers as before (the uniform path's arithmetic is unchanged)
        self.uniform = engine.uniform
        self.widths, self.fan_in, self.W, self.C = engine.widths, engine.fan_in, engine.W, engine.C
        self.inv_sqrt_fan = [1.0 / np.sqrt(c_l) for c_l in self.fan_in]
        # parallel tempering's hot members (mc/tempering.py): Metropolis on the output-layer cost only, every
        # hidden gap a hard constraint (rejected below kappa), so hidden layers stay slaved and satisfied
        self.hard_hidden = False
        self._buffers = None
        self.billiard = self.params.proposal == "billiard"
        self.billiard_stats = None   # (B, L, 3) per weight layer: row updates, reflections, pass-throughs (billiard)
        if self.billiard and self.kappa < 0:
            raise ConfigError("proposal", "billiard", f"row or weight with kappa = {self.kappa:g} < 0 (the billiard "
                                                      "needs slaved hidden neurons, kappa >= 0)")
        if self.backend_name == "numba":
            from . import design_space_numba
            self._kernels = design_space_numba

    # ----------------------------------------------------------------- random numbers
    def draw_shapes(self) -> dict:
        N, L, c, M, W = self.N, self.L, self.C, self.M, self.W   # W = N, C = c for equal widths
        shapes = {}
        if self.billiard:   # a velocity (c normals) and a trajectory length (1 uniform) per row
            return {"gauss": ((L, W, c), np.float64), "time": ((L, W), np.float64)}
        if self.params.proposal == "weight":
            shapes["slot"] = ((L, W), np.int64)
        shapes["gauss"] = ((L, W, 1 if self.params.proposal == "weight" else c), np.float64)
        if self.need_u:
            shapes["u"] = ((L, W), np.float64)
        if self.flips:
            for p, layers in enumerate(self.parities):
                shapes[f"choice{p}"] = ((N, len(layers), M), np.int64)
                if self.metropolis:
                    shapes[f"u{p}"] = ((N, len(layers), M), np.float64)
        return shapes

    def highs(self) -> dict:
        # unequal widths: slot of layer l in [0, c_l) (an (L, 1) bound broadcast over the rows)
        slot_high = self.c if self.uniform else np.asarray(self.fan_in, dtype=np.int64)[:, None]
        return {name: (slot_high if name == "slot" else self.N) for name in self.draw_shapes()}

    def attempts_per_step(self) -> tuple[np.ndarray, np.ndarray]:
        neuron = np.zeros(self.L + 1)
        if self.flips:
            neuron[1:self.L] = self.N * self.M
        weight = np.zeros(self.L + 1)
        weight[1:] = self.widths[1:]   # row moves: one per perceptron
        return neuron, weight

    # ----------------------------------------------------------------- the MC step
    def step(self, st: BatchState, r: dict) -> None:
        if st.stats is None:
            st.stats = np.zeros((st.S.shape[0], self.L + 1))
        if self.billiard and self.backend_name == "numba":
            from .design_space_billiard_numba import billiard_sweep_numba
            billiard_sweep_numba(self, st, r)
        elif self.billiard:
            from .design_space_billiard import billiard_sweep
            billiard_sweep(self, st, r)
        elif self.backend_name == "numba":
            self._kernels.row_sweep(self, st, r)
        else:
            for w in range(self.L):
                self.layer_moves(st, w, r["gauss"][:, w], r["slot"][:, w] if "slot" in r else None,
                                 r["u"][:, w] if self.need_u else None)
        if self.flips:
            for s in range(self.N):
                for p, layers in enumerate(self.parities):
                    u = np.ascontiguousarray(r[f"u{p}"][:, s]) if self.metropolis else None
                    self.flip_backend.neuron_substep(st.S, st.h, st.Wt, layers, np.ascontiguousarray(r[f"choice{p}"][:, s]),
                                                     u, st.counts_neuron)

    def move_sizes(self, st: BatchState) -> np.ndarray:
        """(B, L) move size of every system and weight layer: the state's (tuned, mc/tuning.py), else delta."""
        if st.move_size is not None:
            return np.ascontiguousarray(st.move_size, dtype=np.float64)
        return np.full((st.S.shape[0], self.L), float(self.params.delta))

    def betas(self, st: BatchState) -> np.ndarray:
        """(B,) inverse temperature of every system: the state's (tempering ladders), else MCParams.beta."""
        if st.beta is not None:
            return np.ascontiguousarray(st.beta, dtype=np.float64)
        return np.full(st.S.shape[0], float(self.params.beta) if self.params.beta is not None else 0.0)

    def supports(self, system_sample: np.ndarray, w: int) -> np.ndarray:
        """(B, N_{w+1}, c_{w+1}) input neurons of every perceptron of layer w + 1 of every system."""
        n = self.widths[w + 1]
        if self.idx is None:
            return np.broadcast_to(np.arange(self.widths[w]), (system_sample.shape[0], n, self.widths[w]))
        return self.idx[system_sample, w] if self.uniform else self.idx[system_sample, w, :n]

    def layer_moves(self, st: BatchState, w: int, g: np.ndarray, slot, u) -> None:
        """One proposal per row i = 0..N-1 of weight layer w (perceptron layer p = w + 1) of every system.

        Phase A (all rows at once): rows of one layer share no gap of their own layer, and the new fields of
        row i depend only on layer p - 1 (which no move of this layer changes: cascades go upwards) and on
        row i itself, so the N proposals and their own costs are independent. Phase B: decisions in row order,
        where a row whose own neurons flip runs its cascade on the current upper layers. Phase C: the accepted
        rows' fields and weights (nothing in phase B reads them). The same as N moves one after the other.
        Sums run in a fixed sequential order (row norms over the row's support, new fields over the row's
        inputs, own costs over patterns): the numba kernel sums in the same order."""
        S, h, Wt, V = st.S, st.h, st.Wt, self.V
        B, L, M = S.shape[0], self.L, self.M
        p = w + 1
        N, c, inv_sqrt_c = self.widths[p], self.fan_in[w], self.inv_sqrt_fan[w]   # this layer's rows and fan-in
        if self.uniform:
            N, c, inv_sqrt_c = self.N, self.c, self.inv_sqrt_c
        else:   # the padding is never proposed: only the layer's rows and its fan-in's numbers
            g = g[:, :N, :g.shape[-1] if slot is not None else c]
            slot = None if slot is None else slot[:, :N]
            u = None if u is None else u[:, :N]
        b3 = np.arange(B)[:, None, None]
        d = self.move_sizes(st)[:, w, None]                                   # (B, 1)
        sup = self.supports(st.system_sample, w)                               # (B, N, c)
        rows = Wt[b3, w, sup, np.arange(N)[None, :, None]]                     # (B, N, c) the old rows
        log_ratio = None
        if slot is None:
            raw = rows + d[..., None] * g
            n2 = np.zeros((B, N))
            for k in range(c):
                n2 = n2 + raw[..., k] * raw[..., k]
            scale = np.sqrt(c / n2)
            new_rows = raw * scale[..., None]
            hn = np.zeros((B, M, N))
            for k in range(c):                                                  # S_in[m, sup[i, k]] w[i, k]
                hn = hn + np.take_along_axis(S[:, w], np.broadcast_to(sup[:, None, :, k], (B, M, N)), -1) \
                    * new_rows[:, None, :, k]
            hn = hn * inv_sqrt_c
        else:
            n2 = np.zeros((B, N))
            for k in range(c):
                n2 = n2 + rows[..., k] * rows[..., k]
            j = np.take_along_axis(sup, slot[..., None], -1)[..., 0]           # (B, N) the moved weight's input
            old, x = np.take_along_axis(rows, slot[..., None], -1)[..., 0], g[..., 0]
            s_norm = np.sqrt(1.0 + d * d)
            new = (old + d * x) / s_norm
            scale = np.sqrt(c / ((n2 - old * old) + new * new))
            coef = (new - old) * inv_sqrt_c
            if self.hastings:
                log_ratio = hastings_log_ratio(old, new, x, scale, c, d)
            S_j = np.take_along_axis(S[:, w], np.broadcast_to(j[:, None, :], (B, M, N)), -1)
            hn = (S_j * coef[:, None, :] + h[:, p, :, :N]) * scale[:, None, :]
        h_own, s_own = h[:, p, :, :N], S[:, p, :, :N]
        flip = ((hn >= 0.0) != (h_own >= 0.0)) if p < L else np.zeros((B, M, N), dtype=bool)
        s_new = np.where(flip, -s_own, s_own)
        v_new, v_old = V(s_new * hn), V(s_own * h_own)
        e_new, e_old = np.zeros((B, N)), np.zeros((B, N))
        for m in range(M):
            e_new = e_new + v_new[:, m]
            e_old = e_old + v_old[:, m]
        dE_own = e_new - e_old
        hidden_bad = (v_new > 0.0).any(1) if (self.hard_hidden and p < L) else np.zeros((B, N), dtype=bool)
        st.stats[:, 0] += M * N
        acc = np.zeros((B, N), dtype=bool)
        for i in range(N):
            dE = dE_own[:, i].copy()
            F_own = flip[:, :, i]
            cascade = bool(F_own.any())
            bad = hidden_bad[:, i].copy()
            if cascade:
                h_try, S_try, n_flips = self.cascade(st, p, i, F_own, dE, bad)
            ok = self.accept(st, dE, None if u is None else u[:, i], None if log_ratio is None else log_ratio[:, i])
            ok &= ~bad
            a = np.flatnonzero(ok)
            acc[a, i] = True
            st.counts_weight[a, p] += 1
            if cascade and a.size:
                S[a, p, :, i] = s_new[a, :, i]
                h[a, p + 1:] = h_try[a]
                S[a, p + 1:] = S_try[a]
                st.stats[a, 1:L] += n_flips[a, 1:L]
        # phase C
        h[:, p, :, :N] = np.where(acc[:, None, :], hn, h_own)
        if slot is None:
            new_w = new_rows
        else:
            new_w = rows * scale[..., None]
            np.put_along_axis(new_w, slot[..., None], (new * scale)[..., None], -1)
        ba, ia = np.nonzero(acc)
        Wt[ba[:, None], w, sup[ba, ia], ia[:, None]] = new_w[ba, ia]

    def accept(self, st: BatchState, dE, u, log_ratio):
        """params.accept with each system's own inverse temperature (tempering ladders)."""
        if self.params.acceptance == "greedy" or st.beta is None:
            return accept(self.params, dE, u, log_ratio)
        log_a = -self.betas(st) * dE
        if log_ratio is not None:
            log_a = log_a + log_ratio
        with np.errstate(divide="ignore"):
            return np.log(u) < log_a

    def cascade(self, st: BatchState, p: int, i: int, flip: np.ndarray, dE: np.ndarray, bad: np.ndarray):
        """The upper layers after flipping neuron i of layer p on the patterns flip (B, M), nothing written:
        (h_try, S_try) of layers p+1..L, the neurons flipped per layer; dE (B,) increased in place, bad (B,)
        set where a hidden gap falls below kappa with hard_hidden."""
        S, h, Wt, V = st.S, st.h, st.Wt, self.V
        B, L, M = S.shape[0], self.L, self.M
        h_try, S_try = h[:, p + 1:].copy(), S[:, p + 1:].copy()
        n_flips = np.zeros((B, L + 1))
        n_flips[:, p] = flip.sum(-1)
        F = np.zeros((B, M, S.shape[-1]), dtype=bool)
        F[:, :, i] = flip
        for q in range(p + 1, L + 1):
            k = q - p - 1
            N, inv_sqrt_c = self.widths[q], self.inv_sqrt_fan[q - 1]   # layer q's neurons (the padding stays 0)
            if self.uniform:
                N, inv_sqrt_c = self.N, self.inv_sqrt_c
            for j in np.flatnonzero(F.any(axis=(0, 1))):   # increasing j, as the numba cascade
                bb, mm = np.nonzero(F[:, :, j])
                f = (-2.0 * inv_sqrt_c) * S[bb, q - 1, mm, j]           # old sign of the flipping neuron
                if self.uniform:
                    h_try[bb, k, mm] += Wt[bb, q - 1, j, :] * f[:, None]
                else:
                    h_try[bb, k, mm, :N] += Wt[bb, q - 1, j, :N] * f[:, None]
            A = F.any(-1)                                                   # (B, M) patterns that changed
            if q < L:
                F = ((h_try[:, k] >= 0.0) != (h[:, q] >= 0.0)) & A[..., None]
                S_try[:, k] = np.where(F, -S[:, q], S[:, q])
                n_flips[:, q] = F.sum((1, 2))
            v_try = V(S_try[:, k, :, :N] * h_try[:, k, :, :N])          # the layer's gaps, not the padding
            diff = v_try - V(S[:, q, :, :N] * h[:, q, :, :N])
            dE += np.where(A[..., None], diff, 0.0).sum((1, 2))
            if self.hard_hidden and q < L:
                bad |= (A[..., None] & (v_try > 0.0)).any((1, 2))
            st.stats[:, 0] += N * A.sum(-1)
            if q == L or not F.any():
                break
        return h_try, S_try, n_flips


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
