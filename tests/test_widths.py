"""Unequal layer widths (input N_in, hidden N, output N_out; MODEL.md section 3, real data): the network spec,
the padded engine state and its invariants, planted starts, backends and resume."""
from __future__ import annotations

import numpy as np
import pytest

from deepglass.errors import ConfigError
from deepglass.mc import MCParams, simulate
from deepglass.mc.layout import fields_from_scratch
from deepglass.model import NetworkSpec, forward, layer_gaps, local_field, make_training_set

SPECS = {"dense": dict(N=5, L=3, N_in=9, N_out=2, kappa=0.1), "sparse": dict(N=5, L=3, c=3, N_in=9, N_out=2),
         "wide-out": dict(N=4, L=2, N_in=3, N_out=6)}


def test_spec_widths_fan_in_and_limits():
    s = NetworkSpec(**SPECS["dense"])
    assert s.widths == (9, 5, 5, 2) and s.fan_in == (9, 5, 5) and s.width_max == 9 and s.slots == 9
    assert s.n_weights == 5 * 9 + 5 * 5 + 2 * 5 and s.loads(18) == (2.0, 3.6, 3.6)
    sp = NetworkSpec(**SPECS["sparse"])
    assert sp.fan_in == (3, 3, 3) and sp.slots == 3 and not sp.dense
    eq = NetworkSpec(N=5, L=3, N_in=5, N_out=5)
    assert eq.uniform and eq == NetworkSpec(N=5, L=3)
    with pytest.raises(ConfigError, match="1 <= c <= 3"):
        NetworkSpec(N=5, L=2, c=4, N_in=3)          # a sparse perceptron reads at most the narrowest layer below
    with pytest.raises(ConfigError) as err:
        NetworkSpec(N=5, L=2, N_out=0)
    assert err.value.field == "N_out"


def run_states(spec, scenario="teacher-student", protocol="learning", backend="numpy", t_max=12, params=None,
               checkpoint=None, recompute_every=1000, R=2, ns=2, M=7, hidden_start="random"):
    data = make_training_set(spec, scenario, M, np.random.default_rng(11), batch=(ns,))
    params = params or MCParams(acceptance="metropolis", beta=4.0)
    events = simulate(spec, data, params, protocol=protocol, n_replicas=R, waiting_times=(2,) if R else (),
                      t_max=t_max, times=np.array([1, 5, t_max]), seed=np.random.SeedSequence(5), backend=backend,
                      recompute_every=recompute_every, checkpoint=checkpoint, hidden_start=hidden_start)
    return data, list(events)


def last_checkpoint(events):
    return [e.checkpoint for e in events if e.checkpoint is not None][-1]


def padded_layers(spec, S):
    return [S[..., l, :, :] for l in range(spec.L + 1)]


@pytest.mark.parametrize("name", list(SPECS))
def test_cached_fields_norms_and_padding(name):
    spec = NetworkSpec(**SPECS[name])
    _, events = run_states(spec)
    cp = last_checkpoint(events)
    S, J, h = cp.S.astype(np.float64), cp.J, cp.h
    W = spec.width_max
    for l, n in enumerate(spec.widths):                      # the padding of every layer stays 0
        assert np.all(S[..., l, :, n:] == 0) and np.all(np.abs(S[..., l, :, :n]) == 1)
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        assert np.all(J[..., l, n:, :] == 0) and np.all(h[..., l, :, n:] == 0)
        if spec.dense:
            assert np.all(J[..., l, :, c:] == 0)
        np.testing.assert_allclose(np.sum(J[..., l, :n, :c] ** 2, -1), c, rtol=1e-12)
        # cached fields = fields recomputed from the contract weights, layer by layer (model.local_field)
        for s in range(S.shape[0]):
            for k in range(S.shape[1]):
                idx = None if spec.dense else _idx(spec)[s, l, :n, :c]
                ref = local_field(J[s, k, l, :n, :c], S[s, k, l, :, :spec.widths[l]], idx)
                np.testing.assert_allclose(h[s, k, l, :, :n], ref, rtol=1e-9, atol=1e-12)
    assert W == S.shape[-1]


def _idx(spec):
    return make_training_set(spec, "teacher-student", 7, np.random.default_rng(11), batch=(2,)).idx


def test_fields_from_scratch_takes_per_layer_fan_ins():
    spec = NetworkSpec(**SPECS["dense"])
    data = make_training_set(spec, "teacher-student", 4, np.random.default_rng(0), batch=(1,))
    W = spec.width_max
    S = np.zeros((1, spec.L + 1, 4, W))
    for l, layer in enumerate(data.teacher_layers):
        S[0, l, :, :layer.shape[-1]] = layer[0]
    Wt = np.swapaxes(data.teacher.J, -1, -2)
    h = fields_from_scratch(S, Wt, spec.fan_in)
    for l in range(1, spec.L + 1):   # the teacher's hidden states are the sign of its fields
        n = spec.widths[l]
        np.testing.assert_array_equal(np.where(h[0, l, :, :n] >= 0, 1, -1), data.teacher_layers[l][0])


@pytest.mark.parametrize("name", ["dense", "sparse"])
def test_planted_start_stays_a_solution_under_greedy(name):
    spec = NetworkSpec(**{**SPECS[name], "kappa": 0.0})
    data, events = run_states(spec, protocol="planted", params=MCParams(), t_max=20, R=0)
    out = forward(data.teacher.J, data.inputs, data.idx, spec)
    np.testing.assert_array_equal(out[-1], data.outputs)     # the teacher labels its own data
    assert all(e.violations == 0 and e.energy == 0.0 for e in events)
    ds = events[-1].measurement
    assert ds["violations_layer"].values.sum() == 0
    assert np.all(ds["acceptance_weight"].values[..., 1:] > 0)   # weights did move inside the design space


def test_numba_follows_numpy_bit_for_bit():
    pytest.importorskip("numba")
    for name in ("dense", "sparse", "wide-out"):
        spec = NetworkSpec(**SPECS[name])
        _, a = run_states(spec, backend="numpy")
        _, b = run_states(spec, backend="numba")
        for x, y in zip(a, b):
            assert x.energy == y.energy and x.violations == y.violations
        ca, cb = last_checkpoint(a), last_checkpoint(b)
        for field in ("S", "J", "h", "rng_words"):
            np.testing.assert_array_equal(getattr(ca, field), getattr(cb, field))


def test_resume_is_bit_identical():
    spec = NetworkSpec(**SPECS["dense"])
    _, full = run_states(spec, t_max=12, recompute_every=4)
    mid = next(e.checkpoint for e in full if e.t == 5)
    _, rest = run_states(spec, t_max=12, recompute_every=4, checkpoint=mid)
    assert [e.t for e in rest] == [e.t for e in full if e.t > 5]
    for a, b in zip(rest, [e for e in full if e.t > 5]):
        assert a.energy == b.energy
    np.testing.assert_array_equal(rest[-1].measurement["q_replica"].values, full[-1].measurement["q_replica"].values)


def test_measured_gaps_and_overlaps_are_per_layer_means():
    spec = NetworkSpec(**SPECS["dense"])
    data, events = run_states(spec, R=2)
    ds, cp = events[-1].measurement, last_checkpoint(events)
    S, J = cp.S, cp.J
    gaps = layer_gaps(J[:, 0], padded_layers(spec, S[:, 0]), None, spec)
    assert [g.shape[-1] for g in gaps] == list(spec.widths[1:])
    np.testing.assert_array_equal(ds["violations_layer"].values[:, 0, 1:],
                                  np.stack([np.sum(g < spec.kappa, axis=(-1, -2)) for g in gaps], -1))
    a, b = S[:, 1].astype(float), S[:, 2].astype(float)
    q = [np.mean(a[:, l, :, :n] * b[:, l, :, :n], axis=(-1, -2)) for l, n in enumerate(spec.widths)]
    np.testing.assert_allclose(ds["q_replica"].values[:, 0, 0, 0], np.stack(q, -1), rtol=1e-12)
    Q = [np.mean(J[:, 1, l, :n, :c] * J[:, 2, l, :n, :c], axis=(-1, -2))
         for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in))]
    np.testing.assert_allclose(ds["Q_replica"].values[:, 0, 0, 0, 1:], np.stack(Q, -1), rtol=1e-12)


def test_forward_start_has_no_violated_hidden_gap():
    from deepglass.mc.layout import forward_hidden_neurons
    spec = NetworkSpec(**SPECS["dense"])
    data = make_training_set(spec, "random", 9, np.random.default_rng(1), batch=(1,))
    S = np.zeros((1, spec.L + 1, 9, spec.width_max))
    S[0, 0, :, :9] = data.inputs[0]
    J = np.random.default_rng(0).standard_normal((1, spec.L, spec.width_max, spec.width_max))
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        J[:, l, n:], J[:, l, :, c:] = 0, 0
    Wt = np.swapaxes(J, -1, -2).copy()
    forward_hidden_neurons(S, Wt, spec.fan_in, spec.widths)
    h = fields_from_scratch(S, Wt, spec.fan_in)
    for l in range(1, spec.L):
        n = spec.widths[l]
        assert np.all(S[0, l, :, :n] * h[0, l, :, :n] >= 0) and np.all(S[0, l, :, n:] == 0)


def test_engine_refuses_jax_for_unequal_widths():
    spec = NetworkSpec(**SPECS["dense"])
    with pytest.raises(ConfigError, match="unequal layer widths"):
        run_states(spec, backend="jax")
    # (the design-space sampler and its tempering take them: tests/test_mc_design_space_widths.py)


def test_attempts_per_step_count_every_weight_once():
    from deepglass.mc.engine import Engine
    spec = NetworkSpec(**SPECS["dense"])
    eng = Engine(spec.N, spec.L, spec.c, 7, 0.0, MCParams(), None, "numpy", widths=spec.widths, fan_in=spec.fan_in)
    neuron, weight = eng.attempts_per_step()
    assert neuron.tolist() == [0, 5 * 7, 5 * 7, 0] and weight.tolist() == [0, 5 * 9, 5 * 5, 2 * 5]
    assert eng.draw_shapes()["slot"][0] == (9, spec.L, 9)
    slots = eng.draw(np.random.default_rng(0))["slot"]
    assert all(slots[:, l].max() < c for l, c in enumerate(spec.fan_in))


def test_sweep_with_theory_refuses_unequal_widths():
    from deepglass.experiments.sweep import parse_sweep
    base = {"network": {"N": 6, "L": 2}, "data": {"scenario": "random", "alpha": 1.0}}
    assert parse_sweep({"base": base, "sweep": {"network.N_out": [6]}, "seeds": [1], "theory": True}).points
    with pytest.raises(ConfigError, match="equal layer widths") as err:
        parse_sweep({"base": base, "sweep": {"network.N_out": [6, 3]}, "seeds": [1], "theory": True})
    assert err.value.field == "theory"


def test_neuron_moves_sample_the_boltzmann_law_with_unequal_widths():
    """Widths (3, 2, 2, 1), M = 1, kappa = 0.3 > 0 (a padded gap 0 would cost kappa^2 if it counted): the 16
    hidden configurations against exact energies from the unpadded per-layer gaps (model.gap)."""
    import itertools
    from scipy import stats
    from deepglass.mc.engine import Engine
    from deepglass.mc.layout import weights_to_internal
    from deepglass.mc.params import potential_function
    from deepglass.model import gap, random_spins, random_weights

    spec, M, beta = NetworkSpec(N=2, L=3, N_in=3, N_out=1, kappa=0.3), 1, 1.5
    rng = np.random.default_rng(12)
    J = random_weights(spec, rng)                                 # (L, W, W) padded
    S0, SL = random_spins(rng, (M, 3)), random_spins(rng, (M, 1))
    V = potential_function("soft", spec.kappa)
    configs = list(itertools.product([-1, 1], repeat=4))
    energy = []
    for cfg in configs:
        layers = [S0, np.array(cfg[:2], np.int8)[None], np.array(cfg[2:], np.int8)[None], SL]
        energy.append(sum(V(gap(J[l, :spec.widths[l + 1], :spec.fan_in[l]], layers[l], layers[l + 1])).sum()
                          for l in range(3)))
    boltzmann = np.exp(-beta * np.array(energy))
    boltzmann /= boltzmann.sum()
    assert boltzmann.max() / boltzmann.min() > 5
    B, W = 20000, spec.width_max
    S = np.zeros((B, 4, M, W))
    S[:, 0, :, :3], S[:, 3, :, :1] = S0, SL
    S[:, 1:3, :, :2] = random_spins(rng, (B, 2, M, 2))
    Wt = np.repeat(weights_to_internal(J, None, W)[None], B, axis=0)
    h = fields_from_scratch(S, Wt, spec.fan_in)
    engine = Engine(spec.N, spec.L, spec.c, M, spec.kappa, MCParams(acceptance="metropolis", beta=beta), None,
                    "numpy", widths=spec.widths, fan_in=spec.fan_in)
    counts = np.zeros((B, 4))
    for _ in range(60):
        for layers in engine.parities:
            engine.backend.neuron_substep(S, h, Wt, layers, rng.integers(0, spec.N, (B, len(layers), M)),
                                          rng.random((B, len(layers), M)), counts)
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.fan_in), atol=1e-12)
    assert np.all(S[:, 1:3, :, 2:] == 0)
    code = {cfg: n for n, cfg in enumerate(configs)}
    observed = np.bincount([code[tuple(r)] for r in S[:, 1:3, 0, :2].reshape(B, 4).astype(int)], minlength=16)
    assert stats.chisquare(observed, boltzmann * B).pvalue > 1e-3
    assert stats.chisquare(observed, np.full(16, B / 16)).pvalue < 1e-10


def test_weight_moves_keep_rows_uniform_on_their_own_spheres():
    """L = 1, N_in = 3, N_out = 2 (rows padded to 3): c_1 = 3 rows moved with the Hastings factor stay on norm 3,
    their first weight uniform on [-sqrt 3, sqrt 3] (Archimedes), the padded row stays 0."""
    from scipy import stats
    from deepglass.mc.engine import Engine
    from deepglass.mc.layout import weights_to_internal
    from deepglass.model import random_spins, random_weights

    spec, M, B = NetworkSpec(N=2, L=1, N_in=3, N_out=2, kappa=-1e6), 1, 20000
    rng = np.random.default_rng(13)
    S = np.zeros((B, 2, M, 3))
    S[:, 0] = random_spins(rng, (B, M, 3))
    S[:, 1, :, :2] = random_spins(rng, (B, M, 2))
    Wt = weights_to_internal(random_weights(spec, rng, (B,)), None, 3)
    h = fields_from_scratch(S, Wt, spec.fan_in)
    engine = Engine(spec.N, spec.L, spec.c, M, spec.kappa, MCParams(delta=2.0), None, "numpy", widths=spec.widths,
                    fan_in=spec.fan_in)
    counts = np.zeros((B, 2))
    for step in range(60):
        engine.backend.weight_substep(S, h, Wt, rng.integers(0, 3, (B, 1, 3)), rng.standard_normal((B, 1, 3)),
                                      rng.random((B, 1, 3)), counts, sub=step % 3)
    np.testing.assert_allclose(np.sum(Wt[..., :2] ** 2, axis=-2), 3.0, rtol=1e-12)
    assert np.all(Wt[..., 2] == 0) and np.all(h[:, 1, :, 2] == 0)
    first = Wt[:, 0, 0, :2].ravel() / np.sqrt(3.0)
    assert stats.kstest(first, stats.uniform(-1, 2).cdf).pvalue > 1e-3
