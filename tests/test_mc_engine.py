"""Engine invariants: incremental fields equal fields from scratch, row norms stay c, greedy never raises E."""
import numpy as np
import pytest

from deepglass.model import NetworkSpec
from deepglass.mc import BACKENDS, MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal
from deepglass.observables import all_gaps
from mc_helpers import random_system


def run_steps(engine, S, h, Wt, n_steps, seed):
    B = S.shape[0]
    rngs = [np.random.default_rng([seed, b]) for b in range(B)]
    cn, cw = np.zeros((B, engine.L + 1)), np.zeros((B, engine.L + 1))
    for _ in range(n_steps):
        engine.step(S, h, Wt, rngs, np.arange(B), cn, cw)
    return cn, cw


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("c", [None, 5])
@pytest.mark.parametrize("params", [MCParams(acceptance="metropolis", beta=3.0),
                                    MCParams(potential="hinge", acceptance="metropolis", beta=1.0, delta=0.5)])
def test_incremental_fields_equal_fields_from_scratch(backend, c, params):
    # N=10, L=3, M=8: one MC step = 160 neuron + 300 (dense) / 150 (sparse) weight attempts per system;
    # 4 systems x 40 steps > 10^4 attempted moves of each kind, many accepted (metropolis, beta small)
    spec = NetworkSpec(N=10, L=3, c=c)
    data, S, h, Wt = random_system(spec, 8, 4, seed=1)
    engine = Engine(spec.N, spec.L, spec.c, 8, spec.kappa, params, data.idx, backend)
    cn, cw = run_steps(engine, S, h, Wt, 40, seed=2)
    assert cn.sum() > 1e4 / 4 and cw.sum() > 1e4 / 4   # plenty of accepted moves of each kind
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.c), rtol=0, atol=1e-11)
    # and against the shared model definition of the gap (independent code path)
    J = weights_from_internal(Wt, data.idx)
    gaps_model = all_gaps(J, S.astype(np.int8), data.idx)
    np.testing.assert_allclose(S[:, 1:] * h[:, 1:], gaps_model, rtol=0, atol=1e-11)
    np.testing.assert_allclose(np.sum(J * J, axis=-1), spec.c, rtol=1e-12)
    if c is not None:  # sparse: weights outside the connectivity stay exactly zero
        assert np.count_nonzero(Wt) == Wt.shape[0] * spec.L * spec.N * spec.c
    assert set(np.unique(S)) == {-1.0, 1.0}
    np.testing.assert_array_equal(S[:, 0], data.inputs)
    np.testing.assert_array_equal(S[:, -1], data.outputs)


@pytest.mark.parametrize("potential", ["soft", "hinge", "count"])
def test_greedy_never_increases_energy(potential):
    spec = NetworkSpec(N=8, L=3)
    data, S, h, Wt = random_system(spec, 6, 3, seed=3)
    engine = Engine(spec.N, spec.L, spec.c, 6, spec.kappa, MCParams(potential=potential), data.idx, "numpy")
    V = engine.V
    energies = [V(S[:, 1:] * h[:, 1:]).sum(axis=(1, 2, 3))]
    for step in range(15):
        run_steps(engine, S, h, Wt, 1, seed=10 + step)
        energies.append(V(S[:, 1:] * h[:, 1:]).sum(axis=(1, 2, 3)))
    energies = np.array(energies)
    assert np.all(np.diff(energies, axis=0) <= 1e-9)
    assert energies[-1].sum() < energies[0].sum()   # and it does learn something


def test_numba_backend_follows_the_numpy_trajectory():
    if "numba" not in BACKENDS:
        pytest.skip("numba not installed")
    spec = NetworkSpec(N=9, L=4, c=6)
    for params in (MCParams(), MCParams(acceptance="metropolis", beta=2.0, potential="hinge", delta=0.3)):
        data, S, h, Wt = random_system(spec, 7, 3, seed=4)
        out = []
        for backend in ("numpy", "numba"):
            arrays = [x.copy() for x in (S, h, Wt)]
            engine = Engine(spec.N, spec.L, spec.c, 7, spec.kappa, params, data.idx, backend)
            counts = run_steps(engine, *arrays, 10, seed=5)
            out.append((*arrays, *counts))
        for a, b in zip(*out):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
