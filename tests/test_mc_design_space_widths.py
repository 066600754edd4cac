"""The design-space sampler on unequal layer widths (N_in, hidden N, N_out; issue 12): invariants checked from
scratch with deepglass.model after many moves, numpy == numba bit for bit, resume bit for bit."""
import numpy as np
import pytest

from deepglass.errors import ConfigError
from deepglass.mc import MCParams, simulate
from deepglass.model import NetworkSpec, forward, layer_gaps, local_field, make_training_set

SPECS = {"dense": dict(N=5, L=3, N_in=7, N_out=3, kappa=0.1), "sparse": dict(N=5, L=3, c=3, N_in=7, N_out=3)}


def run(spec, params, backend="numpy", protocol="planted", t_max=30, checkpoint=None, recompute_every=1000, M=8):
    data = make_training_set(spec, "teacher-student", M, np.random.default_rng(4), batch=(2,))
    events = list(simulate(spec, data, params, protocol=protocol, n_replicas=2, waiting_times=(3,), t_max=t_max,
                           times=np.array([1, 10, t_max]), seed=np.random.SeedSequence(8), backend=backend,
                           recompute_every=recompute_every, checkpoint=checkpoint))
    return data, events


def assert_invariants(spec, data, cp):
    """Every system: outputs = data, hidden = forward pass on every pattern, every gap >= kappa, cached fields =
    fields from scratch, row norms c_l, padding 0 -- each from deepglass.model on the unpadded layers."""
    S, J, h = cp.S.astype(np.float64), cp.J, cp.h
    ns, n_sys = S.shape[:2]
    idx = None if data.idx is None else np.broadcast_to(data.idx[:, None], (ns, n_sys, *data.idx.shape[1:]))
    layers = forward(J, np.broadcast_to(data.inputs[:, None], (ns, n_sys, *data.inputs.shape[1:])), idx, spec)
    np.testing.assert_array_equal(S[:, :, spec.L, :, :spec.N_out], np.broadcast_to(data.outputs[:, None],
                                                                                  layers[-1].shape))
    for l in range(1, spec.L):
        np.testing.assert_array_equal(S[:, :, l, :, :spec.widths[l]], layers[l])
    gaps = layer_gaps(J, [S[:, :, l] for l in range(spec.L + 1)], idx, spec)
    assert all(np.all(g >= spec.kappa) for g in gaps)
    for l, n in enumerate(spec.widths):
        assert np.all(S[..., l, :, n:] == 0)
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        assert np.all(J[..., l, n:, :] == 0) and np.all(h[..., l, :, n:] == 0)
        np.testing.assert_allclose(np.sum(J[..., l, :n, :c] ** 2, -1), c, rtol=1e-12)
        for s in range(ns):
            for k in range(n_sys):
                idx_l = None if spec.dense else data.idx[s, l, :n, :c]
                ref = local_field(J[s, k, l, :n, :c], S[s, k, l, :, :spec.widths[l]], idx_l)
                np.testing.assert_allclose(h[s, k, l, :, :n], ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("proposal", ["row", "weight"])
def test_invariants_after_many_moves_and_numba_equals_numpy(name, proposal):
    pytest.importorskip("numba")
    spec = NetworkSpec(**SPECS[name])
    params = MCParams(sampler="design-space", delta=0.5, proposal=proposal, exact_sphere=proposal == "weight")
    data, a = run(spec, params, "numpy")
    _, b = run(spec, params, "numba")
    cp = a[-1].checkpoint
    assert_invariants(spec, data, cp)
    acc = a[-1].measurement["acceptance_weight"].values[..., 1:]
    assert np.all(acc > 0) and np.all(acc < 1)                 # every layer's rows moved, not all of them
    for x, y in zip(a, b):
        assert x.t == y.t and x.energy == y.energy and x.violations == y.violations
    for field in ("S", "J", "h", "rng_words"):
        np.testing.assert_array_equal(getattr(cp, field), getattr(b[-1].checkpoint, field))


@pytest.mark.parametrize("name", list(SPECS))
def test_learning_reaches_and_keeps_the_design_space(name):
    """From random weights (hidden neurons = their forward pass): greedy never raises the cost and reaches the
    design space at a low load (L = 2: at L = 3 greedy descent sometimes stops in a local minimum of E)."""
    spec = NetworkSpec(**{**SPECS[name], "L": 2, "kappa": 0.0})
    params = MCParams(sampler="design-space", delta=0.3)
    data, events = run(spec, params, "numba", protocol="learning", t_max=300, M=3)
    energy = np.array([e.energy for e in events])
    # (the reported E sums the gap costs in another order than a move's dE: equal up to rounding, ~1e-18)
    assert np.all(np.diff(energy) <= 1e-12) and energy[0] > 0
    assert events[-1].violations == 0 and events[-1].energy == 0.0
    assert_invariants(spec, data, events[-1].checkpoint)


def test_resume_is_bit_identical():
    spec = NetworkSpec(**SPECS["dense"])
    params = MCParams(sampler="design-space", delta=0.5, tune_steps=6)
    _, full = run(spec, params, t_max=20, recompute_every=4)
    mid = next(e.checkpoint for e in full if e.t == 10)
    _, rest = run(spec, params, t_max=20, recompute_every=4, checkpoint=mid)
    assert [e.t for e in rest] == [e.t for e in full if e.t > 10]
    for field in ("S", "J", "h", "rng_words"):
        np.testing.assert_array_equal(getattr(rest[-1].checkpoint, field), getattr(full[-1].checkpoint, field))


@pytest.mark.parametrize("name", list(SPECS))
def test_tempering_ladders_on_unequal_widths(name):
    """Hot members: hidden neurons = forward pass, hidden gaps >= kappa, padding 0, fields from scratch; the
    beta = inf members stay in the design space; swaps happen; numpy == numba; resume bit for bit."""
    pytest.importorskip("numba")
    spec = NetworkSpec(**SPECS[name])
    params = MCParams(sampler="design-space", delta=0.5, pt_betas=(30.0, 3.0))
    data, a = run(spec, params, "numpy", t_max=20, recompute_every=4)
    _, b = run(spec, params, "numba", t_max=20, recompute_every=4)
    cp = a[-1].checkpoint
    assert_invariants(spec, data, cp)
    tp, tb = cp.tempering, b[-1].checkpoint.tempering
    for field in ("S", "J", "h", "rng_words", "swaps"):
        np.testing.assert_array_equal(tp[field], tb[field])
    assert max(float(e.measurement["swap_acceptance"].mean()) for e in a if e.measurement is not None) > 0.02
    S, J, h = tp["S"].astype(np.float64), tp["J"], tp["h"]      # (ns, n_sys, K, ...)
    ns, n_sys, K = S.shape[:3]
    shape = (ns, n_sys, K)
    idx = None if data.idx is None else np.broadcast_to(data.idx[:, None, None], (*shape, *data.idx.shape[1:]))
    layers = forward(J, np.broadcast_to(data.inputs[:, None, None], (*shape, *data.inputs.shape[1:])), idx, spec)
    gaps = layer_gaps(J, [S[..., l, :, :] for l in range(spec.L + 1)], idx, spec)
    for l in range(1, spec.L):
        np.testing.assert_array_equal(S[..., l, :, :spec.widths[l]], layers[l])
        assert np.all(gaps[l - 1] >= spec.kappa)
    for l, n in enumerate(spec.widths):
        assert np.all(S[..., l, :, n:] == 0)
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        assert np.all(h[..., l, :, n:] == 0)
        np.testing.assert_allclose(np.sum(J[..., l, :n, :c] ** 2, -1), c, rtol=1e-12)
        for s in range(ns):
            for k in range(n_sys):
                for m in range(K):
                    idx_l = None if spec.dense else data.idx[s, l, :n, :c]
                    ref = local_field(J[s, k, m, l, :n, :c], S[s, k, m, l, :, :spec.widths[l]], idx_l)
                    np.testing.assert_allclose(h[s, k, m, l, :, :n], ref, rtol=1e-9, atol=1e-12)
    mid = next(e.checkpoint for e in a if e.t == 10)
    _, rest = run(spec, params, "numpy", t_max=20, recompute_every=4, checkpoint=mid)
    for field in ("S", "J", "h", "rng_words", "swaps"):
        np.testing.assert_array_equal(rest[-1].checkpoint.tempering[field], tp[field])


@pytest.mark.parametrize("name", list(SPECS))
def test_kappa_negative_neuron_flips_keep_padding_and_fields(name):
    """kappa < 0: the neurons are not slaved, the local neuron flips run between the row sweeps."""
    pytest.importorskip("numba")
    spec = NetworkSpec(**{**SPECS[name], "kappa": -0.3})
    params = MCParams(sampler="design-space", delta=0.5, acceptance="metropolis", beta=3.0)
    data, a = run(spec, params, "numpy", protocol="learning")
    _, b = run(spec, params, "numba", protocol="learning")
    cp = a[-1].checkpoint
    for field in ("S", "J", "h", "rng_words"):
        np.testing.assert_array_equal(getattr(cp, field), getattr(b[-1].checkpoint, field))
    assert a[-1].measurement["acceptance_neuron"].values[..., 1:spec.L].min() > 0   # hidden neurons did flip
    S = cp.S.astype(np.float64)
    for l, n in enumerate(spec.widths):
        assert np.all(S[..., l, :, n:] == 0) and np.all(np.abs(S[..., l, :, :n]) == 1)
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        np.testing.assert_allclose(np.sum(cp.J[..., l, :n, :c] ** 2, -1), c, rtol=1e-12)
        for s in range(S.shape[0]):
            for k in range(S.shape[1]):
                idx_l = None if spec.dense else data.idx[s, l, :n, :c]
                ref = local_field(cp.J[s, k, l, :n, :c], S[s, k, l, :, :spec.widths[l]], idx_l)
                np.testing.assert_allclose(cp.h[s, k, l, :, :n], ref, rtol=1e-9, atol=1e-12)
