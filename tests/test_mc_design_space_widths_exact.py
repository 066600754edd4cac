"""The design-space sampler on unequal widths samples the uniform measure over the design space: on a tiny
network of widths (4, 2, 2, 1) (fan-ins 4, 2, 2; the cascade runs through two hidden layers) its end states
equal rejection sampling (weights uniform on their spheres of radius sqrt(c_l), kept iff the forward pass
reproduces the data) in the frequencies of the hidden representations and in binned overlaps and weights
(two-sample chi-square, the method of test_mc_design_space_exact.py)."""
import numpy as np
import pytest

from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal, weights_to_internal
from deepglass.model import NetworkSpec, forward, make_training_set, random_weights
from test_mc_design_space_exact import p_values

SPEC, M = NetworkSpec(N=2, L=3, N_in=4, N_out=1), 4     # 14 weights, 16 hidden bits; about 6% of networks fit
DATA = make_training_set(SPEC, "teacher-student", M, np.random.default_rng(5))
W = SPEC.width_max


def hidden_code(layers):
    """The hidden representation of every network (both hidden layers, every pattern) as an integer."""
    bits = np.concatenate([np.asarray(layers[l])[..., :SPEC.N].reshape(len(layers[l]), -1) for l in range(1, SPEC.L)], -1)
    return ((bits > 0) * (1 << np.arange(bits.shape[-1]))).sum(-1)


def observables(J, code):
    Q = [np.sum(J[:, l] * DATA.teacher.J[l], axis=(-1, -2)) for l in range(SPEC.L)]
    return [code, *Q, J[:, 0, 0, 0], J[:, 1, 1, 1], J[:, 2, 0, 1]]


def rejection_samples(n: int, seed: int):
    rng = np.random.default_rng(seed)
    Js, codes = [], []
    while sum(len(x) for x in Js) < n:
        J = random_weights(SPEC, rng, (100000,))
        layers = forward(J, DATA.inputs, None, SPEC)
        keep = np.all(layers[-1] == DATA.outputs, axis=(-1, -2))
        Js.append(J[keep])
        codes.append(hidden_code([None] + [x[keep] for x in layers[1:]]))
    return np.concatenate(Js)[:n], np.concatenate(codes)[:n]


def chain_samples(B: int, T: int, params: MCParams, seed: int):
    """The end states of B independent chains started at the teacher (padded arrays), after T MC steps each."""
    engine = Engine(SPEC.N, SPEC.L, SPEC.c, M, SPEC.kappa, params, None, "numba", widths=SPEC.widths,
                    fan_in=SPEC.fan_in)
    S = np.zeros((B, SPEC.L + 1, M, W))
    for l, layer in enumerate(DATA.teacher_layers):
        S[:, l, :, :layer.shape[-1]] = layer
    Wt = np.repeat(weights_to_internal(DATA.teacher.J, None, W)[None], B, axis=0)
    h = fields_from_scratch(S, Wt, SPEC.fan_in)
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(B)]
    counts = np.zeros((B, SPEC.L + 1)), np.zeros((B, SPEC.L + 1))
    for _ in range(T):
        engine.step(S, h, Wt, rngs, np.zeros(B, dtype=np.intp), *counts)
    assert np.all(S[:, SPEC.L, :, :SPEC.N_out] == DATA.outputs)
    for l, n in enumerate(SPEC.widths):
        assert np.all(S[:, l, :, n:] == 0)
    J = weights_from_internal(Wt, None)
    np.testing.assert_array_equal(hidden_code(forward(J, np.broadcast_to(DATA.inputs, (B, M, SPEC.N_in)), None,
                                                      SPEC)), hidden_code([S[:, l] for l in range(SPEC.L + 1)]))
    return J, hidden_code([S[:, l] for l in range(SPEC.L + 1)])


@pytest.fixture(scope="module")
def reference():
    J, code = rejection_samples(20000, 1)
    assert len(np.unique(code)) > 20         # many hidden representations fit the data
    return observables(J, code)


def test_row_sampler_equals_rejection_sampling_on_unequal_widths(reference):
    params = MCParams(sampler="design-space", delta=1.0)
    p = p_values(observables(*chain_samples(2000, 300, params, 2)), reference)
    assert np.all(p > 1e-3), p
    # power: chains stopped long before they decorrelate from the teacher are rejected
    p_short = p_values(observables(*chain_samples(2000, 3, params, 3)), reference)
    assert np.min(p_short) < 1e-6, p_short
