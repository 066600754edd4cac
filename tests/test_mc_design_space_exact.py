"""The design-space sampler samples the uniform measure over the design space (MODEL.md section 6):
on a tiny network its distribution equals rejection sampling (weights uniform on their spheres, kept iff
the forward pass reproduces the data), in the frequencies of the hidden representations and in binned
overlaps (two-sample chi-square), and the same test rejects a sampler that lacks the Hastings factor."""
import numpy as np
import pytest
from scipy import stats

from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal, weights_to_internal
from deepglass.model import NetworkSpec, forward, make_training_set, random_weights

SPEC, M = NetworkSpec(N=3, L=2), 4          # 18 weights, 12 hidden bits; about 2% of random networks fit
DATA = make_training_set(SPEC, "teacher-student", M, np.random.default_rng(5))


def rejection_samples(n: int, seed: int):
    """n networks drawn uniformly on the spheres and kept iff their outputs equal the data."""
    rng = np.random.default_rng(seed)
    Js, S1 = [], []
    while sum(len(x) for x in Js) < n:
        J = random_weights(SPEC, rng, (100000,))
        layers = forward(J, DATA.inputs)
        keep = np.all(layers[-1] == DATA.outputs, axis=(-1, -2))
        Js.append(J[keep])
        S1.append(layers[1][keep])
    return np.concatenate(Js)[:n], np.concatenate(S1)[:n]


def chain_samples(B: int, T: int, params: MCParams, seed: int):
    """The end states of B independent chains started at the teacher, after T MC steps each."""
    engine = Engine(SPEC.N, SPEC.L, SPEC.c, M, SPEC.kappa, params, None, "numba")
    S = np.empty((B, SPEC.L + 1, M, SPEC.N))
    for l, layer in enumerate(DATA.teacher_layers):
        S[:, l] = layer
    Wt = np.repeat(weights_to_internal(DATA.teacher.J, None, SPEC.N)[None], B, axis=0)
    h = fields_from_scratch(S, Wt, SPEC.c)
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(B)]
    counts = np.zeros((B, SPEC.L + 1)), np.zeros((B, SPEC.L + 1))
    for _ in range(T):
        engine.step(S, h, Wt, rngs, np.zeros(B, dtype=np.intp), *counts)
    assert np.all(S[:, SPEC.L] == DATA.outputs)
    return weights_from_internal(Wt, None), S[:, 1].astype(np.int8)


def observables(J, S1):
    """Hidden representation (a 12-bit code), layer overlaps with the teacher, one weight per layer."""
    code = ((S1.reshape(len(S1), -1) > 0) * (1 << np.arange(M * SPEC.N))).sum(-1)
    Q = [np.mean(J[:, l] * DATA.teacher.J[l], axis=(-1, -2)) for l in range(SPEC.L)]
    return [code, *Q, J[:, 0, 0, 0], J[:, 1, 0, 0]]


def p_values(sample, reference):
    """Two-sample chi-square p-values: representations seen >= 20 times in the reference (the rest pooled),
    then each continuous observable in 10 bins at the reference's deciles."""
    code, ref = sample[0], reference[0]
    cats, n = np.unique(ref, return_counts=True)
    common = cats[n >= 20]
    table = np.array([[np.sum(c == k) for k in common] + [np.sum(~np.isin(c, common))] for c in (code, ref)])
    ps = [stats.chi2_contingency(table[:, table.sum(0) > 0])[1]]
    for x, xr in zip(sample[1:], reference[1:]):
        edges = np.quantile(xr, np.linspace(0, 1, 11)[1:-1])
        ps.append(stats.chi2_contingency(np.array([np.bincount(np.searchsorted(edges, y), minlength=10)
                                                   for y in (x, xr)]))[1])
    return np.array(ps)


@pytest.fixture(scope="module")
def reference():
    J, S1 = rejection_samples(20000, 1)
    assert len(np.unique(observables(J, S1)[0])) > 20         # many hidden representations fit the data
    return observables(J, S1)


def test_row_sampler_equals_rejection_sampling(reference):
    p = p_values(observables(*chain_samples(2000, 300, MCParams(sampler="design-space", delta=1.0), 2)), reference)
    assert np.all(p > 1e-3), p
    # power: chains stopped long before they decorrelate from the teacher are rejected
    p_short = p_values(observables(*chain_samples(2000, 3, MCParams(sampler="design-space", delta=1.0), 3)), reference)
    assert np.min(p_short) < 1e-6, p_short


def fourth_moment(J):
    """sum_ij J_ij^4 / c^2 over every weight of a network: sensitive to how rows sit on their spheres, where
    the uncorrected single-weight move is biased."""
    return np.sum(J ** 4, axis=(-1, -2, -3)) / SPEC.c ** 2


@pytest.mark.slow
def test_single_weight_moves_need_their_hastings_factor():
    """With the factor the single-weight proposal is exact; without it (the literal move) it is rejected.

    (The observables of p_values did not reject the uncorrected move: 6000 chains x 600 steps gave
    p >= 0.012, while the corrected one passed them; the fourth moment of the weights is the sharper test.)"""
    J_ref, _ = rejection_samples(20000, 1)
    edges = np.quantile(fourth_moment(J_ref), np.linspace(0, 1, 11)[1:-1])

    def p_fourth(J):
        table = np.array([np.bincount(np.searchsorted(edges, fourth_moment(x)), minlength=10) for x in (J, J_ref)])
        return stats.chi2_contingency(table)[1]

    for exact_sphere in (False, True):
        params = MCParams(sampler="design-space", proposal="weight", delta=2.0, exact_sphere=exact_sphere)
        p = p_fourth(chain_samples(3000, 300, params, 5)[0])
        assert (p > 1e-3) if exact_sphere else (p < 1e-6), (exact_sphere, p)
