"""Metropolis samples the Boltzmann law: neuron moves on an enumerable network, weight moves on the sphere."""
import itertools

import numpy as np
import pytest
from scipy import stats

from deepglass.model import NetworkSpec, gap, random_spins, random_weights
from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.params import potential_function
from deepglass.mc.layout import fields_from_scratch, weights_to_internal


def test_neuron_moves_sample_the_boltzmann_law_exactly():
    # N=2, L=3, M=1: 4 hidden neurons (layers 1, 2), 16 configurations, weights frozen.
    spec, M, beta, kappa = NetworkSpec(N=2, L=3, kappa=0.3), 1, 1.5, 0.3
    rng = np.random.default_rng(11)
    J = random_weights(spec, rng)
    S0, SL = random_spins(rng, (M, spec.N)), random_spins(rng, (M, spec.N))
    V = potential_function("soft", kappa)
    configs = list(itertools.product([-1, 1], repeat=4))
    energy = []
    for cfg in configs:  # exact energies from the shared gap definition
        layers = [S0, np.array(cfg[:2], np.int8)[None], np.array(cfg[2:], np.int8)[None], SL]
        energy.append(sum(V(gap(J[l], layers[l], layers[l + 1])).sum() for l in range(3)))
    boltzmann = np.exp(-beta * np.array(energy))
    boltzmann /= boltzmann.sum()
    assert boltzmann.max() / boltzmann.min() > 5       # a non-trivial law

    B = 20000                                           # independent chains, one sample each
    S = np.empty((B, 4, M, spec.N))
    S[:, 0], S[:, 3] = S0, SL
    S[:, 1:3] = random_spins(rng, (B, 2, M, spec.N))
    Wt = np.repeat(weights_to_internal(J, None, spec.N)[None], B, axis=0)
    h = fields_from_scratch(S, Wt, spec.c)
    engine = Engine(spec.N, spec.L, spec.c, M, kappa, MCParams(acceptance="metropolis", beta=beta), None, "numpy")
    counts = np.zeros((B, 4))
    for sweep in range(60):
        for layers in engine.parities:
            engine.backend.neuron_substep(S, h, Wt, layers, rng.integers(0, spec.N, (B, len(layers), M)),
                                          rng.random((B, len(layers), M)), counts)
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.c), atol=1e-12)
    code = {cfg: n for n, cfg in enumerate(configs)}
    observed = np.bincount([code[tuple(row)] for row in S[:, 1:3, 0].reshape(B, 4).astype(int)], minlength=16)
    assert stats.chisquare(observed, boltzmann * B).pvalue > 1e-3
    # the test has power: the uniform law is firmly rejected
    assert stats.chisquare(observed, np.full(16, B / 16)).pvalue < 1e-10


def _sphere_rows_after_weight_moves(exact_sphere: bool, seed: int):
    """c = 3 rows moved by the weight sub-step alone, every gap far above kappa (dE = 0 always)."""
    spec, M, B = NetworkSpec(N=3, L=1, kappa=-1e6), 1, 40000
    rng = np.random.default_rng(seed)
    S = random_spins(rng, (B, 2, M, spec.N)).astype(np.float64)
    Wt = weights_to_internal(random_weights(spec, rng, (B,)), None, spec.N)
    h = fields_from_scratch(S, Wt, spec.c)
    engine = Engine(spec.N, spec.L, spec.c, M, spec.kappa, MCParams(delta=2.0, exact_sphere=exact_sphere))
    counts = np.zeros((B, 2))
    for _ in range(60):
        engine.backend.weight_substep(S, h, Wt, rng.integers(0, 3, (B, 1, 3)), rng.standard_normal((B, 1, 3)),
                                      rng.random((B, 1, 3)), counts)
    np.testing.assert_allclose(np.sum(Wt ** 2, axis=-2), 3.0, rtol=1e-12)
    return Wt[:, 0, 0, :] / np.sqrt(3.0)   # first weight of every row: uniform on [-1, 1] (Archimedes)


def test_weight_moves_keep_rows_uniform_on_the_sphere():
    u = _sphere_rows_after_weight_moves(True, seed=12).ravel()
    observed = np.histogram(u, bins=20, range=(-1, 1))[0]
    assert stats.chisquare(observed).pvalue > 1e-3


def test_uncorrected_weight_move_of_the_spec_is_biased_at_small_c():
    # documents why exact_sphere=True is the default: without the Hastings factor the projected move
    # J_j -> (J_j + delta x)/sqrt(1 + delta^2), then rescale, is not reversible w.r.t. the uniform measure
    u = _sphere_rows_after_weight_moves(False, seed=12).ravel()
    observed = np.histogram(u, bins=20, range=(-1, 1))[0]
    assert stats.chisquare(observed).pvalue < 1e-6
