"""JAX backend: exact agreement with the NumPy reference on a shared random stream, statistical agreement
on its own stream (two-sample tests that are shown to have power), exact Boltzmann laws, float32, resume.

jit compilation dominates the cost: every test uses one of a few (configuration, batch shape) pairs, and
the compiled functions are shared through module-scoped fixtures and jax_backend's process-wide cache.
"""
import itertools

import numpy as np
import pytest
import xarray as xr
from scipy import stats

jax = pytest.importorskip("jax")

from deepglass.experiments.config import parse_config  # noqa: E402
from deepglass.experiments.runner import execute, plan_run  # noqa: E402
from deepglass.mc import MCParams  # noqa: E402
from deepglass.mc.checkpoint import Checkpoint  # noqa: E402
from deepglass.mc.engine import Engine  # noqa: E402
from deepglass.mc.jax_kernels import below, counter_words, potential, accept, standard_normal, unit_interval  # noqa: E402
from deepglass.mc.numpy_backend import NumpyBackend  # noqa: E402
from deepglass.mc.params import accept as np_accept, potential_function  # noqa: E402
from deepglass.mc.layout import fields_from_scratch, weights_from_internal, weights_to_internal  # noqa: E402
from deepglass.mc.streams import system_key  # noqa: E402
from deepglass.model import NetworkSpec, random_spins, random_weights  # noqa: E402
from mc_helpers import interrupt_at_k_save, random_system  # noqa: E402


def run(engine, S, h, Wt, n_steps, seed=5, t0=0):
    """Engine.advance from copies of (S, h, Wt): numpy Generators or the JAX keys, both from `seed`."""
    S, h, Wt = S.copy(), h.copy(), Wt.copy()
    B = S.shape[0]
    ss = np.random.SeedSequence(seed)
    rngs = [np.random.default_rng([seed, b]) for b in range(B)]
    keys = np.stack([system_key(ss, b) for b in range(B)])
    cn, cw = np.zeros((B, engine.L + 1)), np.zeros((B, engine.L + 1))
    engine.advance(S, h, Wt, rngs, keys, np.arange(B), cn, cw, t0, n_steps)
    return S, h, Wt, cn, cw


# --------------------------------------------------------------------------- random numbers and formulas

def test_threefry_known_answer_and_samplers():
    jax.config.update("jax_enable_x64", True)   # as JaxBackend(precision="float64") does
    # Random123 known-answer vector of Threefry-2x32-20
    key = jax.numpy.asarray([0x13198A2E, 0x03707344], dtype=jax.numpy.uint32)
    from jax.extend.random import threefry_2x32
    out = np.asarray(threefry_2x32(key, jax.numpy.asarray([0x243F6A88, 0x85A308D3], dtype=jax.numpy.uint32)))
    assert out.tolist() == [0xC4923A9C, 0x483DF7A0]
    words = counter_words(key, 7, 3, 40000)
    assert len(np.unique(np.asarray(words))) > 39990           # no repeated counters
    assert not np.array_equal(np.asarray(counter_words(key, 7, 4, 10)), np.asarray(words[:10]))
    n = 7
    choice = np.asarray(below(words[:20000], n))
    assert choice.min() == 0 and choice.max() == n - 1
    assert stats.chisquare(np.bincount(choice, minlength=n)).pvalue > 1e-3
    for dtype in ("float32", "float64"):
        w = words.reshape(2, -1)
        u = np.asarray(unit_interval(w, dtype))
        assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
        assert stats.kstest(u, "uniform").pvalue > 1e-3
        z = np.asarray(standard_normal(w, dtype))
        assert z.dtype == dtype and np.all(np.isfinite(z))
        assert stats.kstest(z, "norm").pvalue > 1e-3
        assert stats.kstest(z, "norm", args=(0.05,)).pvalue < 1e-3   # power: a shift of 0.05 sigma shows
    # the extreme words stay inside (-1, 1) before erfinv: finite normals
    edge = jax.numpy.asarray([[0, 0xFFFFFFFF], [0, 0xFFFFFFFF]], dtype=jax.numpy.uint32)
    assert np.all(np.isfinite(np.asarray(standard_normal(edge, "float64"))))
    assert np.all(np.isfinite(np.asarray(standard_normal(edge[:1], "float32"))))


@pytest.mark.parametrize("name", ["soft", "hinge", "count"])
def test_potentials_and_acceptance_equal_the_numpy_definitions(name):
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    r = np.concatenate([rng.normal(0, 2, 1000), [0.3, 0.3 - 1e-15, 0.3 + 1e-15]])
    np.testing.assert_array_equal(np.asarray(potential(name, 0.3)(jax.numpy.asarray(r))),
                                  potential_function(name, 0.3)(r))
    dE, u, log_ratio = rng.normal(0, 1, 1000), rng.random(1000), rng.normal(0, 1, 1000)
    dE[:100] = 0.0
    for params in (MCParams(), MCParams(acceptance="metropolis", beta=1.7)):
        for lr in (None, log_ratio):
            mine = accept(params.acceptance, params.beta, jax.numpy.asarray(dE), jax.numpy.asarray(u),
                          None if lr is None else jax.numpy.asarray(lr))
            np.testing.assert_array_equal(np.asarray(mine), np_accept(params, dE, u, lr))


# --------------------------------------------------------------------------- exact: shared random stream

SHARED = [(NetworkSpec(N=9, L=4), MCParams()),
          (NetworkSpec(N=9, L=4, c=6), MCParams(acceptance="metropolis", beta=2.0, potential="hinge", delta=0.3))]


@pytest.mark.parametrize("spec,params", SHARED, ids=["dense-greedy-soft", "sparse-metropolis-hinge"])
def test_engine_step_with_jax_kernels_follows_the_numpy_trajectory(spec, params):
    """Engine.step draws numpy random numbers; the JAX backend's fused step consumes them."""
    data, S, h, Wt = random_system(spec, 7, 3, seed=4)
    out = []
    for backend in ("numpy", "jax"):
        engine = Engine(spec.N, spec.L, spec.c, 7, spec.kappa, params, data.idx, backend)
        arrays = [x.copy() for x in (S, h, Wt)]
        rngs = [np.random.default_rng([5, b]) for b in range(3)]
        counts = np.zeros((3, spec.L + 1)), np.zeros((3, spec.L + 1))
        for _ in range(12):
            engine.step(*arrays, rngs, np.arange(3), *counts)
        out.append((*arrays, *counts))
    (S0, h0, W0, cn0, cw0), (S1, h1, W1, cn1, cw1) = out
    assert cn0.sum() > 50 and cw0.sum() > 500 and 0 < np.sum(S0 != S) < S.size   # things happened
    np.testing.assert_array_equal(S1, S0)
    np.testing.assert_array_equal(cn1, cn0)
    np.testing.assert_array_equal(cw1, cw0)
    np.testing.assert_allclose(h1, h0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-12)


def test_classic_substeps_follow_the_numpy_reference():
    """NumpyBackend's seam (neuron_substep / weight_substep, numpy arrays in place) with the JAX kernels."""
    spec, params = SHARED[1]
    data, S, h, Wt = random_system(spec, 7, 3, seed=6)
    engine = Engine(spec.N, spec.L, spec.c, 7, spec.kappa, params, data.idx, "jax")
    out = []
    for be in (NumpyBackend(params, engine.V, spec.c, spec.N, spec.L, 7, spec.kappa), engine.backend):
        arrays = [x.copy() for x in (S, h, Wt)]
        rngs = [np.random.default_rng([8, b]) for b in range(3)]
        cn, cw = np.zeros((3, spec.L + 1)), np.zeros((3, spec.L + 1))
        for _ in range(4):   # Engine.step's sub-step loop
            r = engine.draw_batch(rngs)
            column = engine.columns(r["slot"], np.arange(3))
            w = 0
            for s in range(spec.N):
                for p, layers in enumerate(engine.parities):
                    be.neuron_substep(*arrays, layers, r[f"choice{p}"][s], r[f"u{p}"][s], cn)
                while w < spec.c and engine.weight_after[w] == s:
                    be.weight_substep(*arrays, column[w], r["gauss"][w], r["uw"][w], cw)
                    w += 1
        out.append((*arrays, cn, cw))
    (S0, h0, W0, cn0, cw0), (S1, h1, W1, cn1, cw1) = out
    assert cn0.sum() > 20 and cw0.sum() > 100
    np.testing.assert_array_equal(S1, S0)
    np.testing.assert_array_equal(cn1, cn0)
    np.testing.assert_array_equal(cw1, cw0)
    np.testing.assert_allclose(h1, h0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- own stream: many samples

STAT_SPEC = NetworkSpec(N=6, L=4, c=4)      # sparse: connectivity per sample, the weight branch of the sweep
STAT_M, STAT_B, STAT_T = 5, 200, 30
STAT_PARAMS = MCParams(acceptance="metropolis", beta=2.0)


@pytest.fixture(scope="module")
def stat_runs():
    """200 independent samples, 30 MC steps from the same random start: JAX (float64, float32) vs NumPy."""
    spec = STAT_SPEC
    data, S, h, Wt = random_system(spec, STAT_M, STAT_B, seed=21)

    def evolve(backend, params=STAT_PARAMS, precision="float64", seed=5):
        engine = Engine(spec.N, spec.L, spec.c, STAT_M, spec.kappa, params, data.idx, backend, precision)
        return run(engine, S, h, Wt, STAT_T, seed=seed)

    runs = {"jax64": evolve("jax"), "jax32": evolve("jax", precision="float32"), "numpy": evolve("numpy"),
            "numpy_beta4": evolve("numpy", MCParams(acceptance="metropolis", beta=4.0)),
            "numpy_delta": evolve("numpy", MCParams(acceptance="metropolis", beta=2.0, delta=0.2)),
            "jax64_seed6": evolve("jax", seed=6)}
    return data, (S, h, Wt), runs


def observables(data, start, out):
    """Per sample: energy, weight overlaps Q (mean over layers) with the start and with the teacher,
    neuron overlap q with the start, accepted moves."""
    S, h, Wt, cn, cw = out
    V = potential_function("soft", STAT_SPEC.kappa)
    energy = V(S[:, 1:] * h[:, 1:]).sum(axis=(1, 2, 3))
    J, J0 = weights_from_internal(Wt, data.idx), weights_from_internal(start[2], data.idx)
    overlap = lambda a, b: np.sum(a * b, axis=(-1, -2)).mean(-1) / (STAT_SPEC.N * STAT_SPEC.c)
    q = np.mean(S[:, 1:-1] * start[0][:, 1:-1], axis=(1, 2, 3))
    return {"energy": energy, "Q_start": overlap(J, J0), "q_start": q, "teacher_Q": overlap(J, data.teacher.J),
            "acceptance": cn.sum(-1) + cw.sum(-1)}


def test_cached_fields_equal_fields_from_scratch(stat_runs):
    data, (S_start, _, _), runs = stat_runs
    spec = STAT_SPEC
    for name, atol in (("jax64", 1e-10), ("jax32", 1e-4)):
        S, h, Wt, cn, cw = runs[name]
        assert cn.sum() > 1e4 and cw.sum() > 1e4
        np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.c), rtol=0, atol=atol)
        J = weights_from_internal(Wt, data.idx)
        np.testing.assert_allclose(np.sum(J * J, axis=-1), spec.c, rtol=10 * atol)
        assert np.count_nonzero(Wt) == STAT_B * spec.L * spec.N * spec.c   # sparse zeros stay zero
        assert set(np.unique(S)) == {-1.0, 1.0}
        np.testing.assert_array_equal(S[:, [0, -1]], S_start[:, [0, -1]])    # inputs and outputs never move


def test_own_stream_is_statistically_equal_to_numpy(stat_runs):
    data, start, runs = stat_runs
    obs = {k: observables(data, start, v) for k, v in runs.items()}
    for name in ("energy", "Q_start", "q_start", "teacher_Q", "acceptance"):
        # same law: JAX (float64 and float32) vs NumPy, and JAX with another seed
        for a, b in (("jax64", "numpy"), ("jax32", "numpy"), ("jax32", "jax64"), ("jax64_seed6", "numpy")):
            p = stats.ks_2samp(obs[a][name], obs[b][name]).pvalue
            assert p > 1e-3, (name, a, b, p)
    # power: the same test firmly tells beta = 4 from beta = 2
    assert stats.ks_2samp(obs["jax64"]["energy"], obs["numpy_beta4"]["energy"]).pvalue < 1e-6
    # ... and delta = 0.2 from delta = 0.1 through the two-time overlap of the weights
    assert stats.ks_2samp(obs["jax64"]["Q_start"], obs["numpy_delta"]["Q_start"]).pvalue < 1e-6
    # and the comparison is not trivial: the runs differ sample by sample
    assert np.mean(obs["jax64"]["energy"] != obs["numpy"]["energy"]) > 0.9


def test_chunks_and_donation_give_the_same_trajectory(stat_runs):
    """Steps 1..15 then 16..30 (a resumed run needs only t), with donation off in the second call: identical."""
    data, (S, h, Wt), runs = stat_runs
    spec = STAT_SPEC
    engine = Engine(spec.N, spec.L, spec.c, STAT_M, spec.kappa, STAT_PARAMS, data.idx, "jax")
    first = run(engine, S, h, Wt, 15)
    engine.backend.donate = False   # the device-buffer reuse is a switch, exercised here on CPU
    second = run(engine, *first[:3], STAT_T - 15, t0=15)
    for a, b in zip(second[:3], runs["jax64"][:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[3] + second[3], runs["jax64"][3])


# --------------------------------------------------------------------------- exact laws, own stream

def test_full_dynamics_sample_the_exact_boltzmann_law():
    """N = c = 2, L = 3, M = 2: 256 hidden configurations; neurons AND weights move (own JAX stream).

    A row of c = 2 weights is sqrt(2) (cos a, sin a), uniform in a; gaps of row (l, i) depend on a and on
    the neurons only, so the marginal law of the hidden neurons is exactly
    P(S) ~ prod_{l,i} (1/2pi) int da exp(-beta sum_mu V(r^{mu,l}_i(a))), computed here by quadrature.
    """
    spec, M, beta, kappa = NetworkSpec(N=2, L=3, kappa=0.3), 2, 1.5, 0.3
    rng = np.random.default_rng(11)
    S0, SL = random_spins(rng, (M, 2)).astype(float), random_spins(rng, (M, 2)).astype(float)
    V = potential_function("soft", kappa)
    a = np.linspace(0, 2 * np.pi, 4096, endpoint=False)
    rows = np.stack([np.cos(a), np.sin(a)], axis=-1)                  # J / sqrt(2)
    configs = list(itertools.product([-1.0, 1.0], repeat=8))          # S^{mu,l}_i for l = 1, 2
    law = []
    for cfg in configs:
        layers = [S0, np.reshape(cfg[:4], (M, 2)), np.reshape(cfg[4:], (M, 2)), SL]
        weight = 1.0
        for l in range(1, 4):
            for i in range(2):   # r^{mu} = S^{mu,l}_i (J_i . S^{mu,l-1}) / sqrt(2) on the grid of angles
                r = layers[l][:, i][None, :] * (rows @ layers[l - 1].T)
                weight *= np.mean(np.exp(-beta * V(r).sum(-1)))
        law.append(weight)
    law = np.array(law) / np.sum(law)
    assert law.max() / law.min() > 5                                   # a non-trivial law

    B = 10000
    S = np.empty((B, 4, M, 2))
    S[:, 0], S[:, 3] = S0, SL
    S[:, 1:3] = random_spins(rng, (B, 2, M, 2))
    Wt = weights_to_internal(random_weights(spec, rng, (B,)), None, 2)
    h = fields_from_scratch(S, Wt, 2)
    # delta = 2: large weight moves, so that 60 steps equilibrate the weights as well as the neurons
    engine = Engine(2, 3, 2, M, kappa, MCParams(acceptance="metropolis", beta=beta, delta=2.0), None, "jax")
    S, h, Wt, cn, cw = run(engine, S, h, Wt, 60)
    assert cn[:, 1:3].sum() > B * 20 and cw.sum() > B * 100
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, 2), atol=1e-12)
    code = ((S[:, 1:3].reshape(B, 8) > 0) * (1 << np.arange(7, -1, -1))).sum(-1)
    observed = np.bincount(code, minlength=256)
    assert stats.chisquare(observed, law * B).pvalue > 1e-3
    assert stats.chisquare(observed, np.full(256, B / 256)).pvalue < 1e-10   # power: uniform law rejected


def _sphere_rows(exact_sphere: bool):
    """c = 3 rows moved by weight moves alone (L = 1), every gap far above kappa (dE = 0), own JAX stream."""
    spec, B = NetworkSpec(N=3, L=1, kappa=-1e6), 20000
    rng = np.random.default_rng(12)
    S = random_spins(rng, (B, 2, 1, 3)).astype(np.float64)
    Wt = weights_to_internal(random_weights(spec, rng, (B,)), None, 3)
    engine = Engine(3, 1, 3, 1, spec.kappa, MCParams(delta=2.0, exact_sphere=exact_sphere), None, "jax")
    S, h, Wt, _, cw = run(engine, S, fields_from_scratch(S, Wt, 3), Wt, 20)
    assert cw.sum() > B * 10
    np.testing.assert_allclose(np.sum(Wt ** 2, axis=-2), 3.0, rtol=1e-12)
    return np.histogram(Wt[:, 0, 0, :] / np.sqrt(3.0), bins=20, range=(-1, 1))[0]   # uniform (Archimedes)


def test_weight_moves_keep_rows_uniform_on_the_sphere():
    assert stats.chisquare(_sphere_rows(True)).pvalue > 1e-3


@pytest.mark.slow
def test_uncorrected_weight_move_is_biased_on_the_jax_backend_too():
    assert stats.chisquare(_sphere_rows(False)).pvalue < 1e-6


# --------------------------------------------------------------------------- through the runner

TINY = {"seed": 11, "network": {"N": 6, "L": 3}, "data": {"scenario": "teacher-student", "alpha": 1.0, "M_test": 20},
        "mc": {"acceptance": "metropolis", "beta": 3.0, "backend": "jax"},
        "run": {"protocol": "learning", "t_max": 25, "per_decade": 2, "n_samples": 2, "checkpoint_every": 7},
        "replicas": {"R": 2, "waiting_times": [0]}}


def test_interrupted_jax_run_resumes_bit_identical(tmp_path):
    cfg = parse_config(TINY)
    whole = execute(plan_run(cfg, tmp_path / "whole"))
    saves, partial = interrupt_at_k_save(cfg, tmp_path / "cut")
    assert saves == [7, 14] and partial.t_done == 14
    cp = Checkpoint.from_dataset(partial.checkpoint)
    assert cp.meta["random_stream"] == "jax-float64" and cp.counts_neuron.sum() > 0
    resumed = execute(plan_run(cfg, tmp_path / "cut"))
    xr.testing.assert_identical(resumed, whole)
    assert float(whole["acceptance_neuron"].isel(time=-1).mean()) > 0
