"""The protocols of MODEL.md section 4: learning, planted, host/guest replicas; measurements; events.

`simulate` is a generator of Events: one per MC step (per chunk of steps for backends that own their
random stream, JAX), with a measurement slice and a checkpoint at every measurement time, and a checkpoint
every ``checkpoint_every`` steps. All samples, hosts and guests advance together in the same array operations.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..model import NetworkSpec, TrainingSet, forward, random_spins, random_weights
from .checkpoint import Checkpoint
from .design_space import slave_hidden_neurons
from .engine import Engine
from .params import MCParams
from .schedule import _is_int, check_waiting_times
from .layout import (fields_from_scratch, forward_hidden_neurons, normalise_internal_rows, weights_from_internal,
                     weights_to_internal)
from .tempering import Ladder
from .tuning import robbins_monro_step
from .streams import guest_rng, host_rng, rng_from_words, rng_to_words, system_key

PROTOCOLS = ("learning", "planted")
"""Run protocols (`[run] protocol`): learning from a random start, or planted (start at the teacher)."""
HIDDEN_STARTS = ("random", "forward")
RECOMPUTE_EVERY = 64  # MC steps between recomputations of the cached fields from scratch


@dataclass
class Event:
    t: int
    energy: float
    violations: int
    measurement: xr.Dataset | None
    checkpoint: Checkpoint | None
    done: bool


def simulate(spec: NetworkSpec, data: TrainingSet, params: MCParams, *, protocol: str, n_replicas: int = 0,
             waiting_times: Sequence[int] = (), t_max: int, times: np.ndarray,
             test_inputs: np.ndarray | None = None, stop_when_solved: bool = False,
             seed: np.random.SeedSequence, checkpoint: Checkpoint | None = None,
             backend: str = "auto", recompute_every: int = RECOMPUTE_EVERY, checkpoint_every: int = 0,
             precision: str = "float64", hidden_start: str = "random") -> Iterator[Event]:
    """Run the MC of learning (MODEL.md section 4; docs/simulation.md): a generator of `Event`s.

    Engine-level entry point: `deepglass.run_simulation` builds its arguments from a config, stores the
    measurements and resumes from checkpoints. All samples, hosts and guests advance together.

    Parameters
    ----------
    spec : NetworkSpec
        Widths, depth L, fan-in c, margin kappa.
    data : TrainingSet
        The M training pairs of every sample (leading batch axis: samples), with the teacher if any.
    params : MCParams
        Potential, acceptance (greedy or Metropolis at beta), move size delta, sampler (local or design-space).
    protocol : {"learning", "planted"}
        Learning: start from random weights. Planted: start at the teacher (needs a teacher scenario).
    n_replicas : int
        R >= 0 guests per waiting time, copied from the host at each t_w.
    waiting_times : sequence of int
        The t_w (MC steps, < t_max) at which the guests are copied.
    t_max : int
        MC steps (sweeps) to run, >= 1.
    times : numpy.ndarray of int
        Measurement times in [1, t_max] (`measurement_times`).
    test_inputs : numpy.ndarray, optional
        Fresh inputs (samples, M_test, N_0) for the generalization overlap ``test_overlap``.
    stop_when_solved : bool
        Stop once every host has E = 0.
    seed : numpy.random.SeedSequence
        The engine's stream; samples, hosts and guests get independent children.
    checkpoint : Checkpoint, optional
        Resume from this state instead of starting.
    backend : {"auto", "numpy", "numba", "jax"}
        Engine backend; numpy and numba follow the same trajectory, jax its own stream.
    recompute_every : int
        MC steps between recomputations of the cached fields from scratch.
    checkpoint_every : int
        K > 0 adds a checkpoint event every K MC steps (besides every measurement time).
    precision : {"float64", "float32"}
        float32 with the jax backend only.
    hidden_start : {"random", "forward"}
        Learning only: the hidden neurons start random, or as the forward pass of the random initial weights
        (every hidden gap then starts >= 0; the design-space sampler always starts so).

    Returns
    -------
    iterator of Event
        One per MC step (per chunk for JAX), with a measurement slice (an xarray Dataset with ``time = [t]``,
        variables as on the docs' "Dataset variables" page) and a checkpoint at every measurement time.
    """
    if hidden_start not in HIDDEN_STARTS:
        raise ConfigError("hidden_start", hidden_start, f"one of {', '.join(HIDDEN_STARTS)}")
    run = _Run(spec, data, params, protocol, n_replicas, waiting_times, t_max, times, test_inputs,
               stop_when_solved, seed, backend, recompute_every, checkpoint_every, precision)
    run.hidden_start = hidden_start
    if checkpoint is None:
        run.start()
    else:
        run.restore(checkpoint)
    return run.events()


class _Run:
    def __init__(self, spec, data, params, protocol, n_replicas, waiting_times, t_max, times, test_inputs,
                 stop_when_solved, seed, backend, recompute_every, checkpoint_every=0, precision="float64"):
        if not isinstance(spec, NetworkSpec):
            raise ConfigError("spec", type(spec).__name__, "a deepglass.model.NetworkSpec")
        if not isinstance(params, MCParams):
            raise ConfigError("params", type(params).__name__, "a deepglass.mc.MCParams")
        if protocol not in PROTOCOLS:
            raise ConfigError("protocol", protocol, f"one of {', '.join(PROTOCOLS)}")
        if params.proposal == "billiard" and protocol == "learning":   # a start outside the region: no billiard
            raise ConfigError("proposal", "billiard", "row or weight with protocol = learning (the billiard moves inside "
                                                      "the design space: it needs the planted start, E = 0)")
        if not isinstance(seed, np.random.SeedSequence):
            raise ConfigError("seed", seed, "a numpy.random.SeedSequence")
        if not _is_int(t_max) or t_max < 1:
            raise ConfigError("t_max", t_max, "an integer >= 1 (MC steps)")
        if not _is_int(n_replicas) or n_replicas < 0:
            raise ConfigError("n_replicas", n_replicas, "an integer >= 0 (guest replicas per waiting time)")
        self.tws = check_waiting_times(waiting_times, t_max)
        if n_replicas > 0 and not self.tws:
            raise ConfigError("waiting_times", list(self.tws), "at least one t_w when n_replicas > 0")
        if not _is_int(recompute_every) or recompute_every < 1:
            raise ConfigError("recompute_every", recompute_every, "an integer >= 1 (MC steps)")
        if not _is_int(checkpoint_every) or checkpoint_every < 0:
            raise ConfigError("checkpoint_every", checkpoint_every, "an integer >= 0 (MC steps; 0 = at measurements only)")
        self.checkpoint_every = int(checkpoint_every)
        times = np.asarray(times)
        if (times.ndim != 1 or times.size == 0 or not np.issubdtype(times.dtype, np.integer)
                or np.any(np.diff(times) <= 0) or times[0] < 1 or times[-1] > t_max):
            raise ConfigError("times", times.tolist() if times.ndim == 1 else times,
                              f"strictly increasing integers in [1, t_max = {t_max}] (see measurement_times)")
        self.spec, self.params, self.protocol, self.R = spec, params, protocol, int(n_replicas)
        self.t_max, self.times, self.stop_when_solved, self.seed = int(t_max), set(int(t) for t in times), \
            stop_when_solved, seed
        self.recompute_every = int(recompute_every)
        self._set_data(data, test_inputs)
        # unequal widths: arrays padded to W = max width (model.py); the fan-ins c_l normalise each layer
        self.W = spec.width_max
        self.c_norm = spec.c if spec.uniform else spec.fan_in
        widths = {} if spec.uniform else {"widths": spec.widths, "fan_in": spec.fan_in}
        make_engine = lambda p: Engine(spec.N, spec.L, spec.c, self.M, spec.kappa, p, self.idx, backend, precision,
                                       **widths)
        self.engine = make_engine(params)
        # parallel tempering (mc/tempering.py): the hot members of every system's ladder, None without one
        self.ladder = Ladder(spec, params, make_engine, protocol) if params.pt_betas else None

    # ----------------------------------------------------------------- data
    def _set_data(self, data: TrainingSet, test_inputs):
        spec = self.spec
        inputs, outputs = np.asarray(data.inputs), np.asarray(data.outputs)
        if (inputs.ndim != 3 or outputs.shape != (*inputs.shape[:2], spec.N_out) or inputs.shape[-1] != spec.N_in):
            raise ConfigError("data", getattr(inputs, "shape", None),
                              f"inputs of shape (n_samples, M, N_in = {spec.N_in}) and outputs (n_samples, M, "
                              f"N_out = {spec.N_out})")
        self.ns, self.M = inputs.shape[0], inputs.shape[1]
        self.idx = None if data.idx is None else np.asarray(data.idx)
        if (self.idx is None) != spec.dense or (self.idx is not None and self.idx.shape != (
                self.ns, spec.L, spec.width_max, spec.c)):
            raise ConfigError("data.idx", None if self.idx is None else self.idx.shape,
                              f"None for dense networks, else shape (n_samples, L, N = {spec.width_max}, c = {spec.c})")
        self.inputs, self.outputs = inputs.astype(np.float64), outputs.astype(np.float64)
        self.teacher = data.teacher
        if self.protocol == "planted" and (data.teacher is None or data.teacher_layers is None):
            raise ConfigError("protocol", "planted", "learning for data without a teacher (random scenario)")
        self.teacher_layers = None if data.teacher_layers is None else np.stack(
            [self._pad(x) for x in data.teacher_layers], axis=1)     # (ns, L+1, M, N)
        # real data (datasets.py): held-out images and their classes, read out from the output layer
        self.test_images = data.extra.get("test_inputs")
        self.test_labels = data.extra.get("test_labels")
        self.train_labels = data.extra.get("train_labels")
        self.readout = (data.extra.get("n_classes"), data.extra.get("coding"))
        self.test_inputs = None
        if test_inputs is not None:
            test_inputs = np.asarray(test_inputs)
            if data.teacher is None:
                raise ConfigError("test_inputs", "given", "None for data without a teacher")
            if (test_inputs.ndim != 3 or test_inputs.shape[0] != self.ns or test_inputs.shape[2] != spec.N_in
                    or not np.all(np.abs(test_inputs) == 1)):
                raise ConfigError("test_inputs", test_inputs.shape,
                                  f"+-1 array of shape (n_samples = {self.ns}, M_test, N = {spec.N_in})")
            self.test_inputs = test_inputs.astype(np.int8)
            self.teacher_test = forward(data.teacher.J, self.test_inputs, self.idx, spec)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        """A layer's neurons (..., M, N_l) padded with zeros to the array width W (unequal widths)."""
        x = np.asarray(x)
        W = self.spec.width_max
        if x.shape[-1] == W:
            return x
        return np.concatenate([x, np.zeros((*x.shape[:-1], W - x.shape[-1]), dtype=x.dtype)], axis=-1)

    # ----------------------------------------------------------------- initial state
    def start(self):
        spec, ns, M, L = self.spec, self.ns, self.M, self.spec.L
        self.t = 0
        self.rngs = [[host_rng(self.seed, s)] for s in range(ns)]
        self.keys = [[system_key(self.seed, s)] for s in range(ns)]
        S = np.zeros((ns, 1, L + 1, M, self.W))
        J = np.empty((ns, 1, L, self.W, spec.slots))
        S[:, 0, 0], S[:, 0, L] = self._pad(self.inputs), self._pad(self.outputs)
        for s in range(ns):
            if self.protocol == "planted":
                J[s, 0] = self.teacher.J[s]
                S[s, 0, 1:L] = self.teacher_layers[s, 1:L]
            else:
                g = self.rngs[s][0]
                J[s, 0] = random_weights(spec, g)
                S[s, 0, 1:L, :, :spec.N] = random_spins(g, (L - 1, M, spec.N))
        self.S = S
        self.Wt = weights_to_internal(J, None if self.idx is None else self.idx[:, None], self.W)
        if self.params.sampler == "design-space" and self.protocol == "learning":
            if spec.uniform:   # hidden neurons = forward pass of the random weights
                slave_hidden_neurons(self.S, self.Wt, spec.c)
            else:              # the same, per-layer widths and fan-ins, padding left at 0
                forward_hidden_neurons(self.S, self.Wt, self.c_norm, spec.widths)
        elif self.protocol == "learning" and getattr(self, "hidden_start", "random") == "forward":
            forward_hidden_neurons(self.S, self.Wt, self.c_norm, spec.widths)
        self.h = fields_from_scratch(self.S, self.Wt, self.c_norm)
        self.move_size = self._initial_move_size(1)
        if self.ladder is not None:   # every hot member starts as a copy of its system
            self.ladder.start(self.S, self.h, self.Wt, self.seed, ns)
        self._add_guests()
        self._reset_counters()

    def _initial_move_size(self, n_sys: int):
        """(ns, n_sys, L) per-system design-space move sizes, all delta; None for the local moves."""
        if self.params.sampler == "local":
            return None
        return np.full((self.ns, n_sys, self.spec.L), float(self.params.delta))

    def restore(self, cp: Checkpoint):
        spec, L = self.spec, self.spec.L
        meta = self._checkpoint_meta()
        older = {"sampler": "local", "proposal": "row"}   # what files from before these entries were written with
        found = {k: cp.meta.get(k, older.get(k)) for k in meta}
        if found.get("pt_betas") is not None:   # NetCDF hands the tuple back as an array
            found["pt_betas"] = tuple(float(b) for b in np.atleast_1d(found["pt_betas"]))
        if "pt_betas" not in meta and cp.meta.get("pt_betas") is not None:
            found["pt_betas"] = cp.meta["pt_betas"]
        if found != meta:
            raise ConfigError("checkpoint", found, f"a checkpoint of a run with {meta}")
        n_sys = 1 + self.R * sum(tw <= cp.t for tw in self.tws)
        if (cp.S.shape != (self.ns, n_sys, L + 1, self.M, self.W) or cp.J.shape[-2:] != (self.W, spec.slots)
                or not 0 <= cp.t < self.t_max):
            raise ConfigError("checkpoint", cp.S.shape, "a checkpoint of this network, data and protocol")
        self.t = int(cp.t)
        self.S = cp.S.astype(np.float64)
        self.h = np.zeros_like(self.S)
        self.h[:, :, 1:] = cp.h
        self.Wt = weights_to_internal(cp.J, None if self.idx is None else self.idx[:, None], self.W)
        self.rngs = [[rng_from_words(cp.rng_words[s, k]) for k in range(n_sys)] for s in range(self.ns)]
        self.move_size = self._initial_move_size(n_sys)
        if self.move_size is not None and cp.move_size is not None:
            self.move_size = cp.move_size.astype(np.float64).copy()
        self.keys = [[system_key(self.seed, s)] + [system_key(self.seed, s, k, r)
                                                    for k, tw in enumerate(self.tws) if tw <= self.t
                                                    for r in range(self.R)] for s in range(self.ns)]
        self._reset_counters()
        if self.ladder is not None:
            self.ladder.restore(cp.tempering, self.idx, self.W)
        if cp.counts_neuron is not None:  # a checkpoint between measurements carries the acceptance counters
            self.count_neuron, self.count_weight = cp.counts_neuron.copy(), cp.counts_weight.copy()
            self.steps_since = int(cp.steps_since)

    def _add_guests(self):
        """At t = t_w copy every host into R guests with their own random streams."""
        if self.R == 0 or self.t not in self.tws:
            return
        k = self.tws.index(self.t)
        rep = lambda x: np.concatenate([x, np.repeat(x[:, :1], self.R, axis=1)], axis=1)
        self.S, self.h, self.Wt = rep(self.S), rep(self.h), rep(self.Wt)
        if self.move_size is not None:   # guests start with their host's (possibly tuned) sizes
            self.move_size = rep(self.move_size)
        if self.ladder is not None:   # and with copies of its ladder, their own streams
            self.ladder.add_guests(rep, self.seed, self.ns, self.S.shape[1] - self.R, self.R)
        for s in range(self.ns):
            self.rngs[s] += [guest_rng(self.seed, s, k, r) for r in range(self.R)]
            self.keys[s] += [system_key(self.seed, s, k, r) for r in range(self.R)]

    def _reset_counters(self):
        B = self.ns * self.S.shape[1]
        if self.ladder is not None:
            self.ladder.reset_counters(B)
        self.count_neuron = np.zeros((B, self.spec.L + 1))
        self.count_weight = np.zeros((B, self.spec.L + 1))
        self.steps_since = 0

    def _checkpoint_meta(self) -> dict:
        """What a checkpoint records about the run, and what resuming it must match.

        The random stream family matters: numpy and numba share the PCG64 streams (same trajectory), the
        JAX backend draws from its own keys, so its checkpoint resumes only on JAX (same precision).
        """
        stream = f"jax-{self.engine.precision}" if self.engine.owns_random_stream else "pcg64"
        meta = dict(protocol=self.protocol, n_replicas=self.R, waiting_times=tuple(self.tws), random_stream=stream,
                    sampler=self.params.sampler)
        if self.params.sampler == "design-space":   # a row-move checkpoint must not resume as a billiard
            meta["proposal"] = self.params.proposal
        if self.ladder is not None:
            meta["pt_betas"] = tuple(float(b) for b in self.ladder.betas)
        return meta

    def checkpoint(self) -> Checkpoint:
        idx = None if self.idx is None else self.idx[:, None]
        words = np.stack([np.stack([rng_to_words(g) for g in row]) for row in self.rngs])
        return Checkpoint(self.t, self.S.astype(np.int8), self.h[:, :, 1:].copy(),
                          weights_from_internal(self.Wt, idx), words, self._checkpoint_meta(),
                          self.count_neuron.copy(), self.count_weight.copy(), self.steps_since,
                          None if self.move_size is None else self.move_size.copy(),
                          None if self.ladder is None else self.ladder.state(self.idx))

    # ----------------------------------------------------------------- dynamics
    def _chunk(self) -> int:
        """Steps to run before the loop must look again: 1 for step-wise backends, else up to the next stop."""
        if not self.engine.owns_random_stream:
            return 1
        t, stops = self.t, [self.t_max]
        stops += [t - t % k + k for k in (self.recompute_every, self.checkpoint_every) if k > 0]
        stops += [x for x in self.times if x > t] + [x for x in self.tws if x > t]
        return min(stops) - t

    def events(self) -> Iterator[Event]:
        spec = self.spec
        while self.t < self.t_max:
            n_sys = self.S.shape[1]
            B = self.ns * n_sys
            flat = lambda x: x.reshape(B, *x.shape[2:])
            rngs = [g for row in self.rngs for g in row]
            keys = np.asarray([k for row in self.keys for k in row], dtype=np.uint32).reshape(B, 2)
            n = self._chunk()
            tuning = self.t < self.params.tune_steps
            before = self.count_weight[:, 1:].copy() if tuning else None
            self.engine.advance(flat(self.S), flat(self.h), flat(self.Wt), rngs, keys,
                                np.repeat(np.arange(self.ns), n_sys), self.count_neuron, self.count_weight,
                                self.t, n, None if self.move_size is None else flat(self.move_size))
            if self.ladder is not None:
                self.ladder.step(self)
            self.t += n
            if tuning:   # n == 1 here (the design-space sampler steps one at a time)
                accepted = (self.count_weight[:, 1:] - before) / self.engine.attempts_per_step()[1][1:]
                self.move_size = robbins_monro_step(self.move_size, accepted.reshape(self.move_size.shape),
                                                    self.params.target_acceptance, self.t)
            self.steps_since += n
            if self.t % self.recompute_every == 0:
                normalise_internal_rows(self.Wt, self.c_norm)
                self.h = fields_from_scratch(self.S, self.Wt, self.c_norm)
                if self.ladder is not None:
                    self.ladder.renormalise(self.c_norm)
            n_before = self.S.shape[1]
            self._add_guests()
            if self.S.shape[1] != n_before:
                self._grow_counters(n_before)
            if self.t in self.times:
                ds = self.measure()
                energy, viol = float(ds["energy"].mean()), int(ds["violations"].sum())
                done = self.t == self.t_max or (self.stop_when_solved and viol == 0)
                self._reset_counters()
                cp = self.checkpoint()
                yield Event(self.t, energy, viol, ds, cp, done)
                if done:
                    return
            else:
                gaps = self.S[:, 0, 1:] * self.h[:, 0, 1:]
                if not spec.uniform:   # the padding's gaps are 0, not gaps: leave them out
                    gaps = np.concatenate([gaps[:, l, :, :n].reshape(self.ns, -1)
                                           for l, n in enumerate(spec.widths[1:])], axis=-1)
                due = self.checkpoint_every > 0 and self.t % self.checkpoint_every == 0 and self.t < self.t_max
                yield Event(self.t, float(np.sum(self.engine.V(gaps)) / self.ns), int(np.sum(gaps < spec.kappa)),
                            None, self.checkpoint() if due else None, self.t == self.t_max)

    def _grow_counters(self, old: int):
        """Guests joined: they start with zero counts (only hosts' acceptance rates are reported)."""
        n_sys = self.S.shape[1]
        holders = [(self, "count_neuron"), (self, "count_weight")] + ([(self.ladder, "swaps")] if self.ladder else [])
        for obj, name in holders:
            c = getattr(obj, name)
            shape = c.shape[1:]
            c = c.reshape(self.ns, old, *shape)
            grown = np.zeros((self.ns, n_sys, *shape))
            grown[:, :old] = c
            setattr(obj, name, grown.reshape(self.ns * n_sys, *shape))

    # ----------------------------------------------------------------- measurements
    def measure(self) -> xr.Dataset:
        from .measure import measurement_slice
        return measurement_slice(self)
