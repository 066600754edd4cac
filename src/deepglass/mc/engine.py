"""One MC step of the whole batch: random numbers, sub-step schedule, backend dispatch.

One MC step = N neuron sub-steps per parity of hidden layers (each proposes one flip per
(system, pattern, layer)) and c weight sub-steps (each proposes one move per row): on average one
attempted move per variable, (L-1) N M neuron flips and L N c weight moves per system.
"""
from __future__ import annotations

import numpy as np

from .moves import MOVE_SETS, BatchState, draw_batch_system_first
from .numpy_backend import NumpyBackend
from .params import MCParams, potential_function
from . import design_space  # noqa: F401  (registers the design-space move set)

BACKENDS = {"numpy": NumpyBackend}
"""Backend name -> engine backend class (`register_backend` adds to it; numba and JAX when installed)."""
try:  # optional compiled backend (pip install deepglass[fast])
    from .numba_backend import NumbaBackend
    BACKENDS["numba"] = NumbaBackend
except ImportError:  # pragma: no cover - numba missing
    pass


def register_backend(name: str, cls) -> None:
    """The backend seam: a class with neuron_substep / weight_substep of NumpyBackend's signature.

    Optional, for speed: ``fused_step(engine, S, h, Wt, draws, column, counts_neuron, counts_weight)``
    applies a whole MC step from the pre-drawn random numbers (same result as the sub-step loop), and a
    backend with ``owns_random_stream = True`` implements ``advance(engine, S, h, Wt, keys, system_sample,
    counts_neuron, counts_weight, t0, n_steps)``, drawing its own counter-based random numbers (JAX).
    """
    BACKENDS[name] = cls


def _jax_backend():
    """Import the JAX backend on first use (jax is an optional dependency; importing it costs ~1 s)."""
    try:
        from .jax_backend import JaxBackend
    except ImportError as exc:
        from ..errors import ConfigError
        raise ConfigError("backend", "jax", f"numpy or numba: the JAX backend needs `pip install deepglass[jax]` ({exc})") from None
    BACKENDS["jax"] = JaxBackend
    return JaxBackend


GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd")   # CUDA, ROCm drivers


def gpu_present() -> bool:
    """Whether JAX sees a GPU (False when jax is not installed). Without a GPU driver's device files there is
    nothing for JAX to find, and importing it only to learn that costs seconds: answered without the import."""
    import os

    if not any(os.path.exists(p) for p in GPU_DEVICE_FILES):
        return False
    try:
        import jax
        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # jax absent, or no backend initialises
        return False


def resolve_backend(name: str) -> str:
    """auto = jax when a GPU is present, else numba (else numpy)."""
    if name != "auto":
        return name
    if gpu_present():
        return "jax"
    return "numba" if "numba" in BACKENDS else "numpy"


class Engine:
    """Static description of the dynamics (sizes, parameters, backend) and the MC step."""

    def __init__(self, N: int, L: int, c: int, M: int, kappa: float, params: MCParams,
                 idx: np.ndarray | None = None, backend: str = "numpy", precision: str = "float64",
                 widths: tuple[int, ...] | None = None, fan_in: tuple[int, ...] | None = None):
        # unequal widths (model.NetworkSpec.widths / fan_in): arrays padded to W = max width, C = max fan-in
        self.uniform = widths is None or (len(set(widths)) == 1 and len(set(fan_in)) == 1)
        if not self.uniform:
            from ..errors import ConfigError
            if params.sampler not in ("local", "design-space"):
                raise ConfigError("sampler", params.sampler, f"local or design-space with unequal layer widths "
                                                             f"{tuple(widths)}")
            if backend == "jax" or (backend == "auto" and gpu_present()):
                if backend == "jax":
                    raise ConfigError("backend", backend, f"numpy or numba with unequal layer widths {tuple(widths)}")
                backend = "numba" if "numba" in BACKENDS else "numpy"
        if params.sampler != "local" and backend == "auto":   # the design-space sampler has no JAX kernels
            backend = "numba" if "numba" in BACKENDS else "numpy"
        backend = resolve_backend(backend)
        if backend == "jax" and "jax" not in BACKENDS:
            _jax_backend()
        if backend not in BACKENDS:
            from ..errors import ConfigError
            raise ConfigError("backend", backend, f"one of auto, jax, {', '.join(BACKENDS)}")
        if precision not in ("float64", "float32") or (precision == "float32" and backend != "jax"):
            from ..errors import ConfigError
            raise ConfigError("precision", precision, "float64, or float32 with the jax backend")
        self.N, self.L, self.c, self.M, self.kappa, self.params = N, L, c, M, float(kappa), params
        self.idx = idx  # (n_samples, L, N, c) or None (dense)
        self.V = potential_function(params.potential, kappa)
        self.backend_name = backend
        self.precision = precision
        kwargs = {"precision": precision} if backend == "jax" else {}
        self.widths = tuple(int(w) for w in widths) if widths is not None else (N,) * (L + 1)
        self.fan_in = tuple(int(x) for x in fan_in) if fan_in is not None else (c,) * L
        self.W, self.C = max(self.widths), max(self.fan_in)   # array width, weight sub-steps per MC step
        if not self.uniform:
            kwargs = {"widths": self.widths, "fan_in": self.fan_in}
        self.backend = BACKENDS[backend](params, self.V, c, N, L, M, float(kappa), **kwargs)
        self.owns_random_stream = bool(getattr(self.backend, "owns_random_stream", False))
        hidden = range(1, L)
        self.parities = [tuple(l for l in hidden if l % 2 == p) for p in (1, 0)]
        self.parities = [p for p in self.parities if p]
        # weight sub-step w runs after neuron sub-step round floor(w N / c): spread through the step. Unequal
        # fan-ins: C = max c_l sub-steps, layer l moving in the first c_l of them (one attempt per weight per step)
        self.weight_after = np.floor(np.arange(self.C) * N / self.C).astype(int)
        self.need_neuron_uniform = params.acceptance == "metropolis"
        self.need_weight_uniform = params.acceptance == "metropolis" or params.exact_sphere
        # the move set: None = the local moves below; else a class of mc/moves.py's interface
        self.moves = None if params.sampler == "local" else MOVE_SETS[params.sampler](self)
        self.move_stats = None   # (B, L+1) diagnostics of the move set (moves.BatchState.stats)
        self._move_draws = None

    # ----------------------------------------------------------------- random numbers
    def draw_shapes(self) -> dict:
        """Name -> (shape, dtype) of one system's random numbers of one MC step, in the order they are drawn."""
        N, L, c, M = self.N, self.L, self.c, self.M
        shapes = {}
        for p, layers in enumerate(self.parities):
            shapes[f"choice{p}"] = ((N, len(layers), M), np.int64)
            if self.need_neuron_uniform:
                shapes[f"u{p}"] = ((N, len(layers), M), np.float64)
        C, W = self.C, self.W
        shapes["slot"] = ((C, L, W), np.int64)
        shapes["gauss"] = ((C, L, W), np.float64)
        if self.need_weight_uniform:
            shapes["uw"] = ((C, L, W), np.float64)
        return shapes

    def draw(self, rng: np.random.Generator, out: dict | None = None) -> dict:
        """All random numbers one system consumes in one MC step, in a fixed order.

        out: arrays of draw_shapes() to fill in place (the same numbers; no fresh allocation for the floats).
        """
        out = {} if out is None else out
        for name, (shape, dtype) in self.draw_shapes().items():
            if name in out and dtype is np.float64:   # rng.random / standard_normal fill `out` exactly as they
                (rng.standard_normal if name == "gauss" else rng.random)(out=out[name])  # would a new array
            elif dtype is np.float64:
                out[name] = rng.standard_normal(shape) if name == "gauss" else rng.random(shape)
            elif name == "slot" and not self.uniform:   # layer by layer in [0, c_l): numpy's fast scalar-bound path
                slots = out[name] if name in out else np.empty(shape, dtype=np.int64)
                for l, c_l in enumerate(self.fan_in):
                    slots[:, l, :] = rng.integers(0, c_l, size=(shape[0], shape[2]))
                out[name] = slots
            else:
                high = self.c if name == "slot" else self.N
                if name in out:
                    out[name][...] = rng.integers(0, high, size=shape)
                else:
                    out[name] = rng.integers(0, high, size=shape)
        return out

    def draw_batch(self, rngs: list[np.random.Generator]) -> dict:
        """Stack per-system draws with the sub-step axis first: (n_sub, B, ...)."""
        draws = [self.draw(g) for g in rngs]
        return {k: np.stack([d[k] for d in draws], axis=1) for k in draws[0]}

    def draw_systems(self, rngs: list[np.random.Generator]) -> dict:
        """The same numbers as draw_batch with the system axis first, (B, n_sub, ...), in buffers reused from
        one call to the next (valid until the next call): each system's numbers are contiguous and drawing
        allocates (almost) nothing, which matters at small N where drawing costs as much as moving."""
        B = len(rngs)
        if getattr(self, "_system_draws", None) is None or self._system_draws[0] != B:
            self._system_draws = (B, {name: np.empty((B, *shape), dtype)
                                      for name, (shape, dtype) in self.draw_shapes().items()})
        buffers = self._system_draws[1]
        for b, g in enumerate(rngs):
            self.draw(g, {name: x[b] for name, x in buffers.items()})
        return buffers

    def columns(self, slot: np.ndarray, system_sample: np.ndarray, system_first: bool = False) -> np.ndarray:
        """Input neuron j of the moved weight: the slot itself (dense) or idx[sample, l, k, slot].

        slot: (n_sub, B, L, N) as in draw_batch, or (B, n_sub, L, N) with system_first (draw_systems)."""
        if self.idx is None:
            return slot
        idx = self.idx[system_sample]                               # (B, L, N, c)
        idx = idx[:, None] if system_first else idx[None]
        return np.take_along_axis(idx, slot[..., None], axis=-1)[..., 0]

    # ----------------------------------------------------------------- the MC step
    def step(self, S, h, Wt, rngs, system_sample, counts_neuron, counts_weight, move_size=None, beta=None) -> None:
        """Advance every system of the flattened batch (B = len(rngs)) by one MC step, in place.

        move_size: (B, L) per-system weight-move sizes, beta: (B,) per-system inverse temperatures (move sets
        only; None = MCParams.delta, MCParams.beta)."""
        if self.moves is not None:
            shapes = self.moves.draw_shapes()
            self._move_draws = draw_batch_system_first(rngs, shapes, self.moves.highs(), self._move_draws)
            if self.move_stats is None or self.move_stats.shape[0] != len(rngs):
                self.move_stats = np.zeros((len(rngs), self.L + 1))
            self.moves.step(BatchState(S, h, Wt, system_sample, counts_neuron, counts_weight, self.move_stats,
                                       move_size, beta), self._move_draws)
            return
        be = self.backend
        if getattr(be, "draws_system_first", False):   # numba: (B, n_sub, ...) numbers in reused buffers
            r = self.draw_systems(rngs)
            be.fused_step(self, S, h, Wt, r, self.columns(r["slot"], system_sample, True), counts_neuron,
                          counts_weight)
            return
        r = self.draw_batch(rngs)
        column = self.columns(r["slot"], system_sample)
        if hasattr(be, "fused_step"):
            be.fused_step(self, S, h, Wt, r, column, counts_neuron, counts_weight)
            return
        w = 0
        for s in range(self.N):
            for p, layers in enumerate(self.parities):
                be.neuron_substep(S, h, Wt, layers, r[f"choice{p}"][s],
                                  r[f"u{p}"][s] if self.need_neuron_uniform else None, counts_neuron)
            while w < self.C and self.weight_after[w] == s:
                be.weight_substep(S, h, Wt, column[w], r["gauss"][w],
                                  r["uw"][w] if self.need_weight_uniform else None, counts_weight,
                                  **({} if self.uniform else {"sub": w}))
                w += 1

    def advance(self, S, h, Wt, rngs, keys, system_sample, counts_neuron, counts_weight, t0: int,
                n_steps: int, move_size=None, beta=None) -> None:
        """MC steps t0+1 .. t0+n_steps of every system, in place.

        Backends that own their random stream (JAX) draw step t's numbers from keys[b] (uint32 (B, 2), one
        key per system, see streams.system_key) folded with t, so they need no generator state; the
        others draw from the numpy Generators ``rngs``, one step at a time.
        """
        if self.owns_random_stream:
            self.backend.advance(self, S, h, Wt, keys, system_sample, counts_neuron, counts_weight, t0, n_steps)
            return
        for _ in range(n_steps):
            self.step(S, h, Wt, rngs, system_sample, counts_neuron, counts_weight, move_size, beta)

    def attempts_per_step(self) -> tuple[np.ndarray, np.ndarray]:
        """Attempted neuron / weight moves per layer per system in one MC step (layers 0..L)."""
        if self.moves is not None:
            return self.moves.attempts_per_step()
        neuron = np.zeros(self.L + 1)
        neuron[1:self.L] = self.N * self.M
        weight = np.zeros(self.L + 1)
        weight[1:] = self.N * self.c if self.uniform else np.multiply(self.widths[1:], self.fan_in)
        return neuron, weight
