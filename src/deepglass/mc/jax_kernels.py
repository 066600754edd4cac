"""Pure JAX kernels of the MC of learning for ONE system (vmapped over the batch by jax_backend.py).

jax-md style: explicit state in, new state out, no hidden mutation. The formulas are those of the NumPy
reference (numpy_backend.py, MODEL.md section 4), written with jax.numpy so that XLA can compile them:

  neuron_substep(state, layers, choice, uniform) -> (state, accepted per layer)
  weight_substep(state, column, gauss, uniform)  -> (state, accepted per layer)
  sweep(state, numbers, weight_numbers)          -> one MC step: the N neuron rounds with the weight
                                                    sub-steps at Engine.weight_after (lax.fori_loop)
  mc_step(state, idx, key, t)                    -> one MC step drawing its own random numbers from the
                                                    counter-based stream of (key, t) (a resumed run needs only t)

Layouts of one system (see state.py): S, h (L+1, M, N); Wt (L, N_in, N_out), dense transposed, zero where
a perceptron does not read an input (sparse connectivity costs nothing extra in the neuron flip).
All floating-point constants are Python floats (weakly typed) so float32 states stay float32.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import threefry_2x32

from .params import potential_function


class SystemState(NamedTuple):
    """One system's neurons, cached local fields and dense transposed weights (a pytree)."""
    S: jax.Array
    h: jax.Array
    Wt: jax.Array


# --------------------------------------------------------------------------- potentials and acceptance
# The potential is params.potential_function on jax.numpy; the acceptance rule is params.accept's
# formula in jax.numpy (tests/test_mc_jax.py checks both agree with NumPy value for value).

def potential(name: str, kappa: float):
    """V(r) of params.potential_function, built on jax.numpy."""
    return potential_function(name, kappa, xp=jnp)


def accept(acceptance: str, beta: float | None, dE, uniform, log_ratio=None):
    """Accept mask: greedy = reject dE > 0, else accept w.p. min(1, ratio); metropolis: u < ratio e^(-beta dE)."""
    if acceptance == "greedy":
        ok = dE <= 0.0
        if log_ratio is not None:
            ok = ok & (jnp.log(uniform) < log_ratio)
        return ok
    log_a = -float(beta) * dE
    if log_ratio is not None:
        log_a = log_a + log_ratio
    return jnp.log(uniform) < log_a


@dataclass(frozen=True)
class Kernels:
    """The static description of the dynamics (sizes, parameters, sub-step schedule) and its pure kernels.

    Hashable and immutable: jitted functions close over it, and one compiled function per batch shape is
    reused for every call.
    """
    N: int
    L: int
    c: int
    M: int
    kappa: float
    potential: str
    acceptance: str
    beta: float | None
    delta: float
    exact_sphere: bool
    parities: tuple[tuple[int, ...], ...]   # hidden layers of each neuron sub-step, as Engine.parities
    weight_after: tuple[int, ...]           # weight sub-step w runs after neuron round weight_after[w]
    dtype: str = "float64"

    @property
    def need_neuron_uniform(self) -> bool:
        return self.acceptance == "metropolis"

    @property
    def need_weight_uniform(self) -> bool:
        return self.acceptance == "metropolis" or self.exact_sphere

    @property
    def V(self):
        return potential(self.potential, self.kappa)

    # ----------------------------------------------------------------- neuron flips
    def neuron_substep(self, state: SystemState, layers: tuple[int, ...], choice, uniform):
        """Propose flipping neuron choice[a, mu] of hidden layer layers[a] on every pattern mu.

        The flip S -> -S changes the own gap r -> -r and, for every perceptron k of layer l+1,
        h^{mu,l+1}_k by -2 S J^{l+1}_{k,i} / sqrt(c) (row i of Wt[l]). Returns (state, accepted (L+1,)).
        """
        S, h, Wt = state
        lay = _layer_index(layers)
        nxt = _layer_index(tuple(l + 1 for l in layers))
        inv_sqrt_c = 1.0 / math.sqrt(self.c)
        S_own, h_own = S[lay], h[lay]                                        # (A, M, N)
        s = jnp.take_along_axis(S_own, choice[..., None], axis=-1)[..., 0]   # (A, M)
        r_own = s * jnp.take_along_axis(h_own, choice[..., None], axis=-1)[..., 0]
        V = self.V
        dE = V(-r_own) - V(r_own)
        # the outgoing weights of neuron i of layer l: row i of Wt[l] (J^{l+1}_{k,i} for every k)
        W_out = jnp.take_along_axis(Wt[lay], choice[..., None], axis=1)      # (A, M, N)
        dh = W_out * ((-2.0 * inv_sqrt_c) * s[..., None])
        S_next, h_next = S[nxt], h[nxt]
        r_old = S_next * h_next
        r_new = S_next * dh + r_old
        dE = dE + (V(r_new).sum(-1) - V(r_old).sum(-1))
        ok = accept(self.acceptance, self.beta, dE, uniform)                 # (A, M)
        flip = ok[..., None] & (jnp.arange(self.N) == choice[..., None])     # (A, M, N) one-hot of the flips
        S = S.at[lay].set(jnp.where(flip, -S_own, S_own))
        h = h.at[nxt].set(jnp.where(ok[..., None], h_next + dh, h_next))
        accepted = jnp.zeros(self.L + 1, jnp.int32).at[np.asarray(layers)].set(ok.sum(-1, dtype=jnp.int32))
        return SystemState(S, h, Wt), accepted

    # ----------------------------------------------------------------- weight moves
    def weight_substep(self, state: SystemState, column, gauss, uniform):
        """Move J_{k,j} -> (J + delta x)/sqrt(1 + delta^2), j = column[l, k], then rescale row k to norm c.

        One proposal per row (l, k); rows share no gap. Returns (state, accepted (L+1,)).
        """
        S, h, Wt = state
        c, L, delta = self.c, self.L, float(self.delta)
        inv_sqrt_c = 1.0 / math.sqrt(c)
        a = jnp.take_along_axis(Wt, column[:, None, :], axis=1)[:, 0, :]     # (L, N) old weight
        b = (a + delta * gauss) / math.sqrt(1.0 + delta * delta)
        norm2 = jnp.sum(Wt * Wt, axis=1)                                     # (L, N) squared row norms
        rest2 = norm2 - a * a
        scale = jnp.sqrt(c / (rest2 + b * b))
        # new fields of row k on every pattern: scale * (h + (b - a)/sqrt(c) * S^{mu,l-1}_j)
        S_in = jnp.take_along_axis(S[:L], jnp.broadcast_to(column[:, None, :], (L, self.M, self.N)), axis=-1)
        h_row = h[1:]
        h_new = (S_in * ((b - a) * inv_sqrt_c)[:, None, :] + h_row) * scale[:, None, :]
        S_out = S[1:]
        V = self.V
        dE = V(S_out * h_new).sum(-2) - V(S_out * h_row).sum(-2)
        log_ratio = self.hastings_log_ratio(a, b, gauss, scale) if self.exact_sphere else None
        ok = accept(self.acceptance, self.beta, dE, uniform, log_ratio)      # (L, N)
        h = h.at[1:].set(jnp.where(ok[:, None, :], h_new, h_row))
        moved = ok[:, None, :] & (jnp.arange(self.N)[None, :, None] == column[:, None, :])   # (L, N_in, N_out)
        Wt = jnp.where(moved, b[:, None, :], Wt) * jnp.where(ok, scale, 1.0)[:, None, :]
        accepted = jnp.zeros(L + 1, jnp.int32).at[1:].set(ok.sum(-1, dtype=jnp.int32))
        return SystemState(S, h, Wt), accepted

    def hastings_log_ratio(self, a, b, gauss, scale):
        """log q(J'->J)/q(J->J') of the projected move (NumpyBackend.hastings_log_ratio, docs/simulation.md)."""
        c, delta = self.c, float(self.delta)
        if c == 1:  # a row of one weight is +-1: the move is a symmetric sign flip
            return jnp.zeros_like(a)
        s = math.sqrt(1.0 + delta * delta)
        a_new = scale * b
        ratio2 = scale * scale
        reverse = s * a * scale - a_new
        return 0.5 * (c + 1) * jnp.log(ratio2) - (reverse * reverse - (delta * gauss) ** 2) / (2 * delta * delta)

    # ----------------------------------------------------------------- one MC step
    def sweep(self, state: SystemState, neuron_numbers, weight_numbers):
        """One MC step: N neuron rounds (one sub-step per parity), weight sub-step w after round weight_after[w].

        neuron_numbers(s) -> [(choice, uniform) per parity] of round s; weight_numbers(s, w) ->
        (column, gauss, uniform) of weight sub-step w (which runs after round s). Returns (state, counts
        (2, L+1) int32: accepted neuron / weight moves per layer).
        """
        after = np.asarray(self.weight_after)
        has_weight = np.zeros(self.N, bool)
        has_weight[after] = True            # c <= N: at most one weight sub-step per round
        w_of_round = np.cumsum(has_weight) - 1
        every_round = bool(has_weight.all())

        def weight_step(s, carry):
            st, counts = carry
            column, gauss, uniform = weight_numbers(s, jnp.asarray(w_of_round)[s])
            st, acc = self.weight_substep(st, column, gauss, uniform)
            return st, counts.at[1].add(acc)

        def one_round(s, carry):
            st, counts = carry
            for layers, (choice, uniform) in zip(self.parities, neuron_numbers(s)):
                st, acc = self.neuron_substep(st, layers, choice, uniform)
                counts = counts.at[0].add(acc)
            carry = (st, counts)
            if every_round:   # dense: a weight sub-step after every round, no branch needed
                return weight_step(s, carry)
            # the predicate depends on the round only (not on the system), so under vmap it stays a branch
            return lax.cond(jnp.asarray(has_weight)[s], weight_step, lambda s, x: x, s, carry)

        counts = jnp.zeros((2, self.L + 1), jnp.int32)
        return lax.fori_loop(0, self.N, one_round, (state, counts))

    def mc_step(self, state: SystemState, idx, key, t):
        """One MC step of one system with its own counter-based random numbers (see counter_words).

        key: (2,) uint32, the system's key; t: the MC time of this step. Round s < N draws its neuron numbers
        from counter (t, s), weight sub-step w from counter (t, N + w): a resumed run needs only t.
        idx: (L, N, c) connectivity of the system's sample (sparse), or None (dense: column = slot).
        """
        N, L, M, c = self.N, self.L, self.M, self.c
        per_float = 2 if self.dtype == "float64" else 1      # 32-bit words per uniform (53 or 24 bits)

        def neuron_numbers(s):
            sizes = [len(layers) * M for layers in self.parities]
            n_u = per_float if self.need_neuron_uniform else 0
            words = counter_words(key, t, s, sum(sizes) * (1 + n_u))
            out, at = [], 0
            for layers, n in zip(self.parities, sizes):
                choice = below(words[at:at + n], N).reshape(len(layers), M)
                at += n
                uniform = None
                if n_u:
                    uniform = unit_interval(words[at:at + n * n_u].reshape(n_u, n), self.dtype).reshape(len(layers), M)
                    at += n * n_u
                out.append((choice, uniform))
            return out

        def weight_numbers(s, w):
            n = L * N
            n_u = per_float if self.need_weight_uniform else 0
            words = counter_words(key, t, N + w, n * (1 + per_float + n_u))
            slot = below(words[:n], c).reshape(L, N)
            column = slot if idx is None else jnp.take_along_axis(idx, slot[..., None], axis=-1)[..., 0]
            gauss = standard_normal(words[n:n * (1 + per_float)].reshape(per_float, n), self.dtype).reshape(L, N)
            uniform = None
            if n_u:
                uniform = unit_interval(words[n * (1 + per_float):].reshape(n_u, n), self.dtype).reshape(L, N)
            return column, gauss, uniform

        return self.sweep(state, neuron_numbers, weight_numbers)

    def predrawn_step(self, state: SystemState, draws: dict, column):
        """One MC step from numbers drawn beforehand in Engine.draw's shapes (sub-step axis first)."""
        def neuron_numbers(s):
            return [(draws[f"choice{p}"][s], draws[f"u{p}"][s] if self.need_neuron_uniform else None)
                    for p in range(len(self.parities))]

        def weight_numbers(s, w):
            return column[w], draws["gauss"][w], draws["uw"][w] if self.need_weight_uniform else None

        return self.sweep(state, neuron_numbers, weight_numbers)


# --------------------------------------------------------------------------- counter-based random numbers
# The hash is Threefry-2x32-20 (Salmon et al. 2011), the one behind jax.random, called directly
# (jax.extend.random.threefry_2x32): the stream is then a fixed function of (key, t, s, i), independent
# of jax's PRNG flags (jax_threefry_partitionable) and of how jax.random derives keys; tests check it
# against the Random123 known-answer vector. One word array per sub-step, converted below, also keeps the
# compiled program small (XLA on CPU spends most of the compile time on the hash sites).

def counter_words(key, t, s, n: int):
    """n uint32 words of the stream of (key, t, s): threefry(threefry(key; t, s); 0, 1, ..., n-1)."""
    sub = threefry_2x32(key, jnp.stack([jnp.asarray(t), jnp.asarray(s)]).astype(jnp.uint32))
    return threefry_2x32(sub, jnp.arange(n, dtype=jnp.uint32))


def below(words, n: int):
    """Integers in [0, n) from uint32 words: floor(word * n / 2^32), computed in 32-bit arithmetic.

    Each value has probability within n/2^32 of 1/n (about 2e-7 relative at n = 1000). That does not bias
    the sampled law: the chosen neuron (or weight) is proposed and its reverse move has the same
    probability, so every per-choice kernel is reversible and so is their mixture.
    """
    if not 0 < n < 1 << 16:
        raise ValueError(f"below(n) needs 0 < n < 65536, not {n}")
    hi, lo = words >> 16, words & 0xFFFF
    return ((hi * n + ((lo * n) >> 16)) >> 16).astype(jnp.int32)


def _integer_grid(words, dtype: str):
    """An integer K uniform in [0, 2^bits), held exactly as a float: bits = 53 (float64, two words) or 24."""
    if dtype == "float64":
        return words[0].astype(jnp.float64) * 2.0 ** 21 + (words[1] >> 11).astype(jnp.float64), 53
    return (words[0] >> 8).astype(jnp.float32), 24


def unit_interval(words, dtype: str):
    """Uniform numbers in [0, 1) on a grid of 2^-53 (float64, from words[0] and words[1]) or 2^-24 (float32)."""
    K, bits = _integer_grid(words, dtype)
    return K * 2.0 ** -bits


def standard_normal(words, dtype: str):
    """N(0, 1) numbers: sqrt(2) erfinv(v), v = (2K + 1)/2^bits - 1 uniform on a symmetric grid inside (-1, 1).

    Every step is exact in the float type ((K - 2^(bits-1)) * 2 + 1 is an odd integer below 2^bits), so
    v never reaches +-1 (where erfinv is infinite).
    """
    K, bits = _integer_grid(words, dtype)
    v = ((K - 2.0 ** (bits - 1)) * 2.0 + 1.0) * 2.0 ** -bits
    return math.sqrt(2.0) * jax.scipy.special.erfinv(v)


def _layer_index(layers: tuple[int, ...]):
    """Static index of a set of layers: a strided slice when evenly spaced (always, for Engine.parities)."""
    if len(layers) == 1:
        return slice(layers[0], layers[0] + 1)
    step = layers[1] - layers[0]
    if step > 0 and all(b - a == step for a, b in zip(layers, layers[1:])):
        return slice(layers[0], layers[-1] + 1, step)
    return np.asarray(layers)
