"""JAX backend (optional, ``pip install deepglass[jax]``): jit-compiled MC steps, on CPU or a GPU.

Two ways in, both over the pure one-system kernels of jax_kernels.py vmapped over the batch:
- ``advance`` (used by simulate, ``owns_random_stream = True``): whole chunks of MC steps in one compiled
  call, ``lax.fori_loop`` over steps of ``vmap(mc_step)``; step t of system b draws its random numbers
  by hashing (keys[b]; t, sub-step) with Threefry-2x32 (counter-based), so a resumed run needs only t and the keys.
  The trip count is a traced argument: one compilation per batch shape serves every chunk length.
- the classic seam of NumpyBackend (``neuron_substep``, ``weight_substep``) and ``fused_step``, consuming
  the numpy random numbers of Engine.draw: with float64 they follow the numpy reference trajectory
  (tests/test_mc_jax.py), which ties the JAX formulas to the reference ones.
The host numpy arrays (float64) stay the source of truth between calls: measurements, checkpoints and the
periodic recomputation of the fields happen on the host, and results are copied back in place.
precision = "float32" keeps S, h, Wt in float32 on the device (float64 on the host); "float64" switches
on jax's x64 mode (a process-wide flag; float32 states keep explicit float32 dtypes under it).
There is no GPU-only code path: the same functions run on whatever ``jax.devices()[0]`` is.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .jax_kernels import Kernels, SystemState
from .params import MCParams

PRECISIONS = ("float64", "float32")
_COMPILED: dict = {}


class JaxBackend:
    """Engine backend running the MC step as XLA programs; see the module docstring."""

    name = "jax"
    owns_random_stream = True
    max_chunk = 64   # steps per compiled call (longer advances are split); one slot of the counts buffer each

    def __init__(self, params: MCParams, V, c: int, N: int, L: int, M: int, kappa: float = 0.0,
                 precision: str = "float64", device=None, donate: bool = True):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if precision == "float64":
            jax.config.update("jax_enable_x64", True)
        self.params, self.c, self.N, self.L, self.M, self.kappa = params, c, N, L, M, float(kappa)
        self.precision = precision
        self.dtype = jnp.float32 if precision == "float32" else jnp.float64
        self.device = device if device is not None else jax.devices()[0]
        self.donate = bool(donate)   # let XLA update the device copies in place (state buffers are ours)

    # ----------------------------------------------------------------- static description and compilation
    def kernels(self, parities=(), weight_after=()) -> Kernels:
        p = self.params
        return Kernels(self.N, self.L, self.c, self.M, self.kappa, p.potential, p.acceptance,
                       None if p.beta is None else float(p.beta), float(p.delta), bool(p.exact_sphere),
                       tuple(tuple(int(l) for l in layers) for layers in parities),
                       tuple(int(w) for w in weight_after), self.precision)

    def _schedule(self, engine):
        return tuple(tuple(x) for x in engine.parities), tuple(int(w) for w in engine.weight_after)

    def _jit(self, key, build, donate_argnums=()):
        """One jitted function per (kind, kernels, donation), shared by every backend of the process (runs
        resumed or repeated with the same dynamics compile once); jit itself caches per input shape."""
        key = (*key, self.donate)
        if key not in _COMPILED:
            _COMPILED[key] = jax.jit(build(), donate_argnums=donate_argnums if self.donate else ())
        return _COMPILED[key]

    def _to_device(self, *arrays, dtype=None):
        return [jax.device_put(np.asarray(x, dtype=dtype or self.dtype), self.device) for x in arrays]

    # ----------------------------------------------------------------- own random stream (simulate)
    def advance(self, engine, S, h, Wt, keys, system_sample, counts_neuron, counts_weight, t0: int,
                n_steps: int) -> None:
        """MC steps t0+1 .. t0+n_steps of every system; step t of system b uses the stream of (keys[b], t)."""
        k = self.kernels(*self._schedule(engine))
        sparse = engine.idx is not None
        fn = self._jit(("advance", k, sparse), lambda: partial(_advance, k, self.max_chunk), donate_argnums=(0,))
        state = SystemState(*self._to_device(S, h, Wt))
        idx = self._to_device(engine.idx[system_sample], dtype=np.int32)[0] if sparse else None
        key_data = jax.device_put(np.asarray(keys, np.uint32), self.device)
        done = 0
        while done < n_steps:
            n = min(self.max_chunk, n_steps - done)
            state, counts = fn(state, idx, key_data, jnp.int32(t0 + done), jnp.int32(n))
            counts = np.asarray(counts)[:n].sum(axis=0, dtype=np.float64)   # (B, 2, L+1), exact integers
            counts_neuron += counts[:, 0]
            counts_weight += counts[:, 1]
            done += n
        for host, dev in zip((S, h, Wt), state):
            np.copyto(host, np.asarray(dev))

    # ----------------------------------------------------------------- numpy random numbers (Engine.step)
    def fused_step(self, engine, S, h, Wt, draws, column, counts_neuron, counts_weight) -> None:
        """One MC step from Engine.draw's numbers (sub-step axis first), the whole schedule in one call."""
        k = self.kernels(*self._schedule(engine))
        names = [f"choice{p}" for p in range(len(k.parities))]
        names += [f"u{p}" for p in range(len(k.parities)) if k.need_neuron_uniform]
        names += ["gauss"] + (["uw"] if k.need_weight_uniform else [])
        numbers = {n: self._to_device(draws[n], dtype=np.int32 if n.startswith("choice") else None)[0]
                   for n in names}
        fn = self._jit(("fused", k), lambda: jax.vmap(k.predrawn_step, in_axes=(0, 1, 1)), donate_argnums=(0,))
        state = SystemState(*self._to_device(S, h, Wt))
        state, counts = fn(state, numbers, self._to_device(column, dtype=np.int32)[0])
        counts = np.asarray(counts, dtype=np.float64)
        counts_neuron += counts[:, 0]
        counts_weight += counts[:, 1]
        for host, dev in zip((S, h, Wt), state):
            np.copyto(host, np.asarray(dev))

    def neuron_substep(self, S, h, Wt, layers, choice, uniform, counts) -> None:
        """NumpyBackend's signature: flip proposals for choice[b, a, mu] of layer layers[a], in place."""
        layers = tuple(int(l) for l in layers)
        k = self.kernels()
        fn = self._jit(("neuron", k, layers), lambda: jax.vmap(partial(_neuron, k, layers)))
        u = None if uniform is None else self._to_device(uniform)[0]
        S_new, h_new, accepted = fn(*self._to_device(S, h, Wt), self._to_device(choice, dtype=np.int32)[0], u)
        np.copyto(S, np.asarray(S_new))
        np.copyto(h, np.asarray(h_new))
        counts += np.asarray(accepted, dtype=np.float64)

    def weight_substep(self, S, h, Wt, column, gauss, uniform, counts) -> None:
        """NumpyBackend's signature: move weight column[b, l, k] of every row (l, k), in place."""
        k = self.kernels()
        fn = self._jit(("weight", k), lambda: jax.vmap(partial(_weight, k)))
        u = None if uniform is None else self._to_device(uniform)[0]
        h_new, Wt_new, accepted = fn(*self._to_device(S, h, Wt), self._to_device(column, dtype=np.int32)[0],
                                     self._to_device(gauss)[0], u)
        np.copyto(h, np.asarray(h_new))
        np.copyto(Wt, np.asarray(Wt_new))
        counts += np.asarray(accepted, dtype=np.float64)


# --------------------------------------------------------------------------- functions that get jitted

def _advance(k: Kernels, max_chunk: int, state: SystemState, idx, keys, t0, n_steps):
    """n_steps (traced, <= max_chunk) MC steps of the batch; returns (state, counts (max_chunk, B, 2, L+1))."""
    step = jax.vmap(k.mc_step, in_axes=(0, None if idx is None else 0, 0, None))
    B = state.S.shape[0]

    def body(i, carry):
        st, counts = carry
        st, c = step(st, idx, keys, t0 + 1 + i)
        return st, counts.at[i].set(c)

    counts = jnp.zeros((max_chunk, B, 2, k.L + 1), jnp.int32)
    return lax.fori_loop(0, n_steps, body, (state, counts))


def _neuron(k: Kernels, layers, S, h, Wt, choice, uniform):
    st, accepted = k.neuron_substep(SystemState(S, h, Wt), layers, choice, uniform)
    return st.S, st.h, accepted


def _weight(k: Kernels, S, h, Wt, column, gauss, uniform):
    st, accepted = k.weight_substep(SystemState(S, h, Wt), column, gauss, uniform)
    return st.h, st.Wt, accepted
