"""The fused numba MC step: the same dynamics as the sub-step loop and the NumPy reference, fields stay exact.

Engine.step hands the whole step to NumbaBackend.fused_step (one compiled call, systems in parallel). These
tests run the same random numbers through Engine.step's sub-step schedule written out here, with the
numba sub-steps and with the NumPy reference, and compare.
"""
import numpy as np
import pytest

from deepglass.mc import BACKENDS, MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal
from deepglass.model import NetworkSpec

from mc_helpers import random_system  # noqa: E402

pytestmark = pytest.mark.skipif("numba" not in BACKENDS, reason="numba not installed")

PARAMS = {
    "soft-greedy": MCParams(),
    "hinge-metropolis": MCParams(potential="hinge", acceptance="metropolis", beta=2.0, delta=0.4),
    "count-metropolis": MCParams(potential="count", acceptance="metropolis", beta=1.0, exact_sphere=False),
    "count-greedy-plain": MCParams(potential="count", exact_sphere=False),
}


def substep_loop(engine, backend, S, h, Wt, r, column, cn, cw):
    """Engine.step's schedule, one sub-step call at a time (what fused_step replaces)."""
    w = 0
    for s in range(engine.N):
        for p, layers in enumerate(engine.parities):
            backend.neuron_substep(S, h, Wt, layers, r[f"choice{p}"][s],
                                   r[f"u{p}"][s] if engine.need_neuron_uniform else None, cn)
        while w < engine.c and engine.weight_after[w] == s:
            backend.weight_substep(S, h, Wt, column[w], r["gauss"][w],
                                   r["uw"][w] if engine.need_weight_uniform else None, cw)
            w += 1


def run(spec, M, B, params, n_steps, how, seed=3):
    """n_steps MC steps from the same state and random numbers; how = fused | numba-substeps | numpy."""
    data, S, h, Wt = random_system(spec, M, B, seed)
    engine = Engine(spec.N, spec.L, spec.c, M, spec.kappa, params, data.idx, "numba")
    reference = BACKENDS["numpy"](params, engine.V, spec.c, spec.N, spec.L, M, spec.kappa)
    rngs = [np.random.default_rng([seed, b]) for b in range(B)]
    cn, cw = np.zeros((B, spec.L + 1)), np.zeros((B, spec.L + 1))
    sample = np.arange(B)   # system b is sample b (its own connectivity when sparse)
    for _ in range(n_steps):
        if how == "fused":
            engine.step(S, h, Wt, rngs, sample, cn, cw)
            continue
        r = engine.draw_batch(rngs)
        column = engine.columns(r["slot"], sample)
        substep_loop(engine, engine.backend if how == "numba-substeps" else reference, S, h, Wt, r, column, cn, cw)
    return data, S, h, Wt, cn, cw


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("c", [None, 4])
@pytest.mark.parametrize("B", [1, 3])
def test_fused_step_equals_the_substep_loop_and_the_numpy_reference(name, c, B):
    spec = NetworkSpec(N=10, L=4, c=c)   # N >= 8: numpy's 8-accumulator pairwise sums are exercised
    fused = run(spec, 6, B, PARAMS[name], 5, "fused")
    for how in ("numba-substeps", "numpy"):
        other = run(spec, 6, B, PARAMS[name], 5, how)
        # same formulas, dE summed in numpy's order near ties: the same decisions and bit-identical states
        for a, b in zip(fused[1:], other[1:]):   # S, h, Wt, accepted neuron / weight moves per layer
            np.testing.assert_array_equal(a, b)
    cn, cw = fused[4], fused[5]
    assert cw[:, 1:].sum() > 0 and np.all(cn[:, [0, spec.L]] == 0) and np.all(cw[:, 0] == 0)
    if PARAMS[name].acceptance == "metropolis":
        assert cn.sum() > 0


def test_system_first_draws_are_draw_batchs_numbers():
    spec = NetworkSpec(N=6, L=4, c=3)
    data, *_ = random_system(spec, 5, 3, seed=2)
    for params in (PARAMS["soft-greedy"], PARAMS["hinge-metropolis"]):
        engine = Engine(spec.N, spec.L, spec.c, 5, spec.kappa, params, data.idx, "numba")
        batch = engine.draw_batch([np.random.default_rng([4, b]) for b in range(3)])
        for _ in range(2):   # the second call refills the reused buffers
            systems = engine.draw_systems([np.random.default_rng([4, b]) for b in range(3)])
            assert set(systems) == set(batch)
            for name in batch:
                np.testing.assert_array_equal(np.swapaxes(systems[name], 0, 1), batch[name])
        np.testing.assert_array_equal(np.swapaxes(engine.columns(systems["slot"], np.arange(3), True), 0, 1),
                                      engine.columns(batch["slot"], np.arange(3)))


def test_pairwise_sum_is_numpys_summation_order():
    from deepglass.mc.numba_backend import _pairwise_sum
    rng = np.random.default_rng(0)
    for n in [*range(1, 140), 255, 256, 257, 1000, 4099]:
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)   # wide range: the order shows
        assert _pairwise_sum(x, 0, n) == np.sum(x)
    x = rng.standard_normal(1000) * 10.0 ** rng.integers(-8, 8, 1000)
    assert sum(_pairwise_sum(x, 0, 1000) != s for s in (np.sum(x[::-1]), float(np.cumsum(x)[-1]))) >= 1


@pytest.mark.parametrize("c", [None, 5])
def test_cached_fields_and_norms_stay_exact_over_many_fused_steps(c):
    # metropolis at small beta: > 10^4 accepted moves of each kind
    spec = NetworkSpec(N=10, L=3, c=c)
    params = MCParams(potential="soft", acceptance="metropolis", beta=2.0, delta=0.5)
    data, S, h, Wt, cn, cw = run(spec, 8, 4, params, 60, "fused")
    assert cn.sum() > 1e4 and cw.sum() > 1e4
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.c), rtol=0, atol=1e-11)
    J = weights_from_internal(Wt, data.idx)
    np.testing.assert_allclose(np.sum(J * J, axis=-1), spec.c, rtol=1e-12)
    if c is not None:   # weights outside the connectivity stay exactly zero
        assert np.count_nonzero(Wt) == Wt.shape[0] * spec.L * spec.N * spec.c
    np.testing.assert_array_equal(S[:, 0], data.inputs)
    np.testing.assert_array_equal(S[:, -1], data.outputs)


@pytest.mark.parametrize("L", [2, 5])
def test_parallel_equals_serial_and_a_step_splits_into_rounds(L):
    spec = NetworkSpec(N=8, L=L)
    params = PARAMS["hinge-metropolis"]
    data, S, h, Wt = random_system(spec, 6, 5, seed=9)
    engine = Engine(spec.N, spec.L, spec.c, 6, spec.kappa, params, None, "numba")
    r = engine.draw_systems([np.random.default_rng([1, b]) for b in range(5)])
    column = engine.columns(r["slot"], np.arange(5), system_first=True)
    out = {}
    for how in ("serial", "parallel", "rounds"):
        x = [a.copy() for a in (S, h, Wt)] + [np.zeros((5, L + 1)), np.zeros((5, L + 1))]
        if how == "rounds":   # neuron rounds 0..2 then 3..N-1 (with their weight sub-steps) = the whole step
            engine.backend.fused_step(engine, *x[:3], r, column, *x[3:], rounds=(0, 3), parallel=False)
            engine.backend.fused_step(engine, *x[:3], r, column, *x[3:], rounds=(3, spec.N), parallel=False)
        else:
            engine.backend.fused_step(engine, *x[:3], r, column, *x[3:], parallel=how == "parallel")
        out[how] = x
    assert out["serial"][3].sum() > 0 and out["serial"][4].sum() > 0
    for how in ("parallel", "rounds"):
        for a, b in zip(out["serial"], out[how]):
            np.testing.assert_array_equal(a, b)   # same per-system code and numbers: bit for bit
