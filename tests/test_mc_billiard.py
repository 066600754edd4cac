"""The row billiard proposal of the design-space sampler (mc/design_space_billiard.py): invariants, exactness
against rejection sampling (with power checks on deliberately wrong billiards), reproducibility, bad config."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import deepglass.mc.design_space_billiard as billiard
from deepglass.errors import ConfigError
from deepglass.experiments.config import parse_config
from deepglass.mc import MCParams
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_from_internal, weights_to_internal
from deepglass.model import NetworkSpec, forward, make_training_set, random_weights
from deepglass.observables import all_gaps
from mc_helpers import simulate_refuses
from test_mc_design_space_exact import DATA, M, SPEC, observables, p_values, rejection_samples

BILLIARD = MCParams(sampler="design-space", proposal="billiard")


def engine_for(spec, M_, kappa, params, idx, variant="exact"):
    engine = Engine(spec.N, spec.L, spec.c, M_, kappa, params, idx, "numpy", widths=spec.widths, fan_in=spec.fan_in)
    if variant != "exact":
        engine.moves.step = lambda st, r: billiard.billiard_sweep(engine.moves, st, r, variant)
    return engine


def planted_state(data, spec, B, keep=None):
    """B copies of the teacher's state of sample 0 (patterns `keep` only), engine layout."""
    keep = slice(None) if keep is None else keep
    S = np.stack([np.asarray(x[0], np.float64)[keep] for x in data.teacher_layers])[None].repeat(B, 0)
    idx = None if data.idx is None else data.idx[[0] * B]
    Wt = weights_to_internal(data.teacher.J[[0] * B], idx, spec.N)
    return S, fields_from_scratch(S, Wt, spec.c), Wt, idx


def run_chains(engine, S, h, Wt, T, seed):
    B = S.shape[0]
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(B)]
    counts = np.zeros((B, S.shape[1])), np.zeros((B, S.shape[1]))
    for _ in range(T):
        engine.step(S, h, Wt, rngs, np.zeros(B, dtype=np.intp), *counts)
    return counts


@pytest.mark.parametrize("spec,alpha,kappa", [(NetworkSpec(N=8, L=3), 1.5, 0.0),
                                              (NetworkSpec(N=9, L=4, c=5), 1.6, 0.0),
                                              (NetworkSpec(N=8, L=3, kappa=0.05), 1.0, 0.05)])
def test_invariants_after_many_updates(spec, alpha, kappa):
    """Hidden = forward pass, every gap >= kappa, cached fields = from scratch, row norms c, after 15 steps
    (every row moved 15 times, several reflections and, at kappa = 0, pass-throughs each)."""
    M_ = spec.n_patterns(alpha)
    data = make_training_set(spec, "teacher-student", 10 * M_, np.random.default_rng(1), (1,))
    idx1 = None if data.idx is None else data.idx[0]
    teacher_layers = np.stack([np.asarray(x[0]) for x in data.teacher_layers])
    gaps = all_gaps(data.teacher.J[0], teacher_layers, idx1).min(axis=(0, 2))
    keep = np.flatnonzero(gaps >= kappa)[:M_]             # kappa > 0: patterns the teacher satisfies with margin
    assert len(keep) == M_
    B = 3
    S, h, Wt, idx = planted_state(data, spec, B, keep)
    engine = engine_for(spec, M_, kappa, BILLIARD, data.idx)
    counts = run_chains(engine, S, h, Wt, 15, 4)
    J = weights_from_internal(Wt, idx)
    layers = forward(J, S[:, 0].astype(np.int8), idx)
    for l in range(1, spec.L + 1):
        np.testing.assert_array_equal(S[:, l].astype(np.int8), layers[l])
    assert all_gaps(J, S, idx).min() >= kappa
    np.testing.assert_allclose(h, fields_from_scratch(S, Wt, spec.c), atol=1e-11)
    np.testing.assert_allclose(np.sum(J ** 2, -1), spec.c, rtol=1e-12)
    np.testing.assert_array_equal(counts[1][:, 1:], 15 * spec.N)     # every row update kept (no guard hit)
    per_row = engine.moves.billiard_stats.sum((0, 1)) / engine.moves.billiard_stats[..., 0].sum()
    assert np.all(engine.moves.billiard_stats[:, -1, 2] == 0)         # output rows never pass (no layer above)
    assert per_row[1] > 0.5                                           # it does reflect
    assert (per_row[2] > 0.05) if kappa == 0 else (per_row[2] == 0)  # and pass through iff kappa = 0
    assert np.mean(J * data.teacher.J[0]) < 0.9                       # the rows left the teacher


@pytest.mark.parametrize("name", ["dense", "sparse"])
def test_unequal_widths_invariants_and_numba_follows_numpy(name):
    """N_in = 7, N = 5, N_out = 3 (dense at kappa = 0.1, sparse c = 3): the invariants of
    test_mc_design_space_widths from scratch; the numba kernel gives the same neurons and counters and the
    same weights and fields to 1e-12 (its sums run in another order)."""
    from test_mc_design_space_widths import SPECS, assert_invariants, run
    spec = NetworkSpec(**SPECS[name])
    data, a = run(spec, BILLIARD, "numpy", t_max=12)
    _, b = run(spec, BILLIARD, "numba", t_max=12)
    ca, cb = a[-1].checkpoint, b[-1].checkpoint
    assert_invariants(spec, data, ca)
    np.testing.assert_array_equal(ca.S, cb.S)
    np.testing.assert_allclose(ca.J, cb.J, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ca.h, cb.h, rtol=0, atol=1e-12)
    assert float(a[-1].measurement["teacher_Q"].mean()) < 0.95          # it moved


@pytest.mark.parametrize("spec,M_,kappa", [(NetworkSpec(N=8, L=3), 12, 0.0), (NetworkSpec(N=9, L=4, c=5), 8, 0.0),
                                           (NetworkSpec(N=10, L=1), 15, 0.0), (NetworkSpec(N=12, L=2), 18, 0.0)])
def test_numba_kernel_follows_the_numpy_reference(spec, M_, kappa):
    """Same random numbers, same events (reflections, pass-throughs, flipped neurons counted equal), same state
    to 1e-12 after 8 steps of 3 systems."""
    data = make_training_set(spec, "teacher-student", M_, np.random.default_rng(3), (1,))
    out = []
    for backend in ("numpy", "numba"):
        S, h, Wt, _ = planted_state(data, spec, 3)
        engine = Engine(spec.N, spec.L, spec.c, M_, kappa, BILLIARD, data.idx, backend)
        counts = run_chains(engine, S, h, Wt, 8, 9)
        out.append((S, h, Wt, counts[1], engine.moves.billiard_stats, engine.move_stats))
    (S, h, Wt, cw, bs, ms), (S2, h2, Wt2, cw2, bs2, ms2) = out
    np.testing.assert_array_equal(S, S2)
    for x, y in ((cw, cw2), (bs, bs2), (ms, ms2)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(Wt, Wt2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h, h2, rtol=0, atol=1e-12)
    assert bs[..., 1].sum() > 0 and (spec.L == 1 or bs[..., 2].sum() > 0)


def chain_observables(B, T, params, seed, variant="exact"):
    S, h, Wt, _ = planted_state_tiny(B)
    run_chains(engine_for(SPEC, M, SPEC.kappa, params, None, variant), S, h, Wt, T, seed)
    assert np.all(S[:, SPEC.L] == DATA.outputs)
    return observables(weights_from_internal(Wt, None), S[:, 1].astype(np.int8))


def planted_state_tiny(B):
    S = np.empty((B, SPEC.L + 1, M, SPEC.N))
    for l, layer in enumerate(DATA.teacher_layers):
        S[:, l] = layer
    Wt = np.repeat(weights_to_internal(DATA.teacher.J, None, SPEC.N)[None], B, axis=0)
    return S, fields_from_scratch(S, Wt, SPEC.c), Wt, None


# ------------------------------------------------------------------ exactness, L = 1 (fast)
SPEC1, M1 = NetworkSpec(N=3, L=1), 4
DATA1 = make_training_set(SPEC1, "teacher-student", M1, np.random.default_rng(7))


def perceptron_observables(J):
    """Teacher overlap of each output perceptron, and one weight of each."""
    return [np.sum(J[:, 0] * DATA1.teacher.J[0], -1)[:, k] / SPEC1.c for k in range(SPEC1.N)] + \
        [J[:, 0, k, 0] for k in range(SPEC1.N)]


def binned_p(sample, reference):
    ps = []
    for x, xr_ in zip(sample, reference):
        edges = np.quantile(xr_, np.linspace(0, 1, 11)[1:-1])
        ps.append(stats.chi2_contingency(np.array([np.bincount(np.searchsorted(edges, y), minlength=10)
                                                   for y in (x, xr_)]))[1])
    return np.array(ps)


def test_perceptron_billiard_equals_rejection_sampling():
    """L = 1 (three perceptrons in their version spaces): 2000 chains x 8 steps from the teacher against 10000
    rejection samples; the billiard that stops at its first wall instead of reflecting is rejected (numpy
    reference: the numba kernel follows it, test_numba_kernel_follows_the_numpy_reference)."""
    B = 2000
    rng = np.random.default_rng(11)
    Js = []
    while sum(len(x) for x in Js) < 10000:
        J = random_weights(SPEC1, rng, (200000,))
        Js.append(J[np.all(forward(J, DATA1.inputs)[-1] == DATA1.outputs, axis=(-1, -2))])
    reference = perceptron_observables(np.concatenate(Js)[:10000])

    def chains(variant):
        S = np.stack([np.asarray(x, np.float64) for x in DATA1.teacher_layers])[None].repeat(B, 0)
        Wt = np.repeat(weights_to_internal(DATA1.teacher.J, None, SPEC1.N)[None], B, axis=0)
        h = fields_from_scratch(S, Wt, SPEC1.c)
        run_chains(engine_for(SPEC1, M1, 0.0, BILLIARD, None, variant), S, h, Wt, 8, 12)
        assert np.all(S[:, 1] == DATA1.outputs)
        return perceptron_observables(weights_from_internal(Wt, None))

    p = binned_p(chains("exact"), reference)
    assert np.all(p > 1e-3), p
    p_stop = binned_p(chains("stop"), reference)
    assert np.min(p_stop) < 1e-6, p_stop


# ------------------------------------------------------------------ exactness, L = 2 (slow: pass-throughs)
@pytest.mark.slow
def test_billiard_equals_rejection_sampling_with_hidden_layer():
    """N = 3, L = 2, M = 4 (test_mc_design_space_exact's network): 2000 chains x 100 steps (billiard_time = pi)
    against rejection samples, in hidden representations and binned overlaps; power: a billiard that stops at
    the first wall and one that never passes through (hidden representations frozen) are rejected."""
    reference = observables(*rejection_samples(20000, 1))
    params = MCParams(sampler="design-space", proposal="billiard", billiard_time=float(np.pi))
    p = p_values(chain_observables(2000, 100, params, 2), reference)
    assert np.all(p > 1e-3), p
    for variant in ("stop", "no-pass"):
        p_wrong = p_values(chain_observables(2000, 100, params, 3, variant), reference)
        assert np.min(p_wrong) < 1e-6, (variant, p_wrong)


# ------------------------------------------------------------------ reproducibility, config
TINY = {"seed": 5, "network": {"N": 5, "L": 3, "c": 4}, "data": {"scenario": "teacher-student", "alpha": 1.5, "M_test": 20},
        "mc": {"sampler": "design-space", "proposal": "billiard", "billiard_time": 2.0},
        "run": {"protocol": "planted", "t_max": 16, "per_decade": 2, "n_samples": 1, "checkpoint_every": 4},
        "replicas": {"R": 1, "waiting_times": [0, 6]}}


def test_resume_is_bit_identical_and_same_seed_same_numbers():
    """simulate() twice with one seed, and once resumed from its t = 8 checkpoint (K-step, between measurements):
    the same measurements and final state bit for bit (runner-level resume is the same machinery,
    tests/test_mc_design_space.py)."""
    import copy
    from deepglass.mc import simulate
    spec = NetworkSpec(N=5, L=3, c=4)
    data = make_training_set(spec, "teacher-student", 6, np.random.default_rng(2), (2,))
    params = MCParams(sampler="design-space", proposal="billiard", billiard_time=2.0)

    def events(checkpoint=None):
        return [copy.deepcopy(e) for e in simulate(
            spec, data, params, protocol="planted", t_max=16, times=np.array([3, 10, 16]), n_replicas=1,
            waiting_times=(0, 6), seed=np.random.SeedSequence(5), backend="numba", checkpoint_every=4,
            checkpoint=checkpoint)]

    whole, again = events(), events()
    cut = next(e.checkpoint for e in whole if e.t == 8)
    resumed = events(cut)
    for run in (again, resumed):
        a, b = whole[-1].checkpoint, run[-1].checkpoint
        for name in ("S", "J", "h", "rng_words"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        ms = [e.measurement for e in run if e.measurement is not None and e.t > (8 if run is resumed else 0)]
        ref = [e.measurement for e in whole if e.measurement is not None and e.t > (8 if run is resumed else 0)]
        assert len(ms) == len(ref) > 0
        for x, y in zip(ms, ref):
            xr.testing.assert_identical(x, y)
    assert float(whole[-1].measurement["teacher_Q"].mean()) < 0.9      # it moved
    with pytest.raises(ConfigError, match="learning"):     # a start outside the design space has no billiard
        list(simulate(spec, data, params, protocol="learning", t_max=4, times=np.array([4]), seed=np.random.SeedSequence(5),
                      backend="numba"))
    # a billiard checkpoint does not resume as row moves (another chain), nor an older file without the entry
    rows = MCParams(sampler="design-space", proposal="row")
    with pytest.raises(ConfigError, match="proposal"):
        list(simulate(spec, data, rows, protocol="planted", t_max=16, times=np.array([3, 10, 16]), n_replicas=1,
                      waiting_times=(0, 6), seed=np.random.SeedSequence(5), backend="numba", checkpoint=cut))
    import dataclasses
    older = dataclasses.replace(cut, meta={k: v for k, v in cut.meta.items() if k != "proposal"})
    with pytest.raises(ConfigError, match="proposal"):
        events(older)


def test_bad_billiard_settings_are_refused():
    base = {"sampler": "design-space", "proposal": "billiard"}
    for extra, field in (({"acceptance": "metropolis", "beta": 2.0}, "acceptance"), ({"pt_betas": (3.0,)}, "pt_betas"),
                         ({"tune_steps": 10}, "tune_steps"), ({"billiard_time": 4.0}, "billiard_time"),
                         ({"billiard_time": 0.0}, "billiard_time"), ({"sampler": "local"}, "sampler")):
        with pytest.raises(ConfigError, match=field):
            MCParams(**{**base, **extra})
    with pytest.raises(ConfigError, match="proposal"):
        Engine(6, 3, 6, 4, -0.5, BILLIARD, None, "numpy")
    with pytest.raises(ConfigError, match="mc.proposal"):
        parse_config({**TINY, "network": {**TINY["network"], "kappa": -0.1}})
    with pytest.raises(ConfigError, match="learning"):    # a random start is outside the region the billiard walks in
        parse_config({**TINY, "run": {**TINY["run"], "protocol": "learning"}})
    for extra, field in (({"acceptance": "metropolis", "beta": 2.0}, "mc.acceptance"), ({"pt_betas": [3.0]}, "mc.pt_betas"),
                         ({"billiard_time": 3.5}, "billiard_time")):
        with pytest.raises(ConfigError, match=field):
            parse_config({**TINY, "mc": {**TINY["mc"], **extra}})


def test_cli_bad_billiard_exits_2_with_one_line(tmp_path):
    stderr = simulate_refuses(tmp_path, '[mc]\nsampler = "design-space"\nproposal = "billiard"\n'
                                        'acceptance = "metropolis"\nbeta = 2.0\n')
    assert "mc.acceptance" in stderr and "greedy" in stderr


def test_a_start_outside_the_region_ends_and_leaves_the_rows_in_place():
    """The config refuses learning runs with the billiard; should a state outside the region reach the kernels
    anyway, every trajectory ends (the event cap, design_space_billiard.max_events: without it this state loops
    forever on zero-length steps; an abandoned one leaves its row unchanged), on both backends, with the cached fields
    and the slaved hidden neurons intact. The state: random data, random weights, hidden neurons their forward pass,
    output gaps violated."""
    spec, M = NetworkSpec(N=4, L=2), 4
    rng = np.random.default_rng(0)
    data = make_training_set(spec, "random", M, rng)
    J = random_weights(spec, rng)[None]
    S0 = np.stack([np.asarray(x, np.float64) for x in forward(J[0], data.inputs, None)])[None]
    S0[0, spec.L] = np.asarray(data.outputs, np.float64)
    for backend in ("numpy", "numba"):
        S, Wt = S0.copy(), weights_to_internal(J, None, spec.N)
        h = fields_from_scratch(S, Wt, spec.c)
        assert np.any(S[0, spec.L] * h[0, spec.L] < 0)                   # outside the design space
        engine = Engine(spec.N, spec.L, spec.c, M, 0.0, MCParams(sampler="design-space", proposal="billiard"),
                        None, backend)
        cn, cw = np.zeros((1, spec.L + 1)), np.zeros((1, spec.L + 1))
        for t in range(3):   # without the cap the first step never returns (checked by hand, numpy: > 60 s)
            engine.step(S, h, Wt, [np.random.default_rng([0, t])], np.zeros(1, dtype=np.int64), cn, cw)
        np.testing.assert_allclose(h[:, 1:], fields_from_scratch(S, Wt, spec.c)[:, 1:], atol=1e-10)
        hidden = np.stack([np.asarray(x, np.float64) for x in forward(weights_from_internal(Wt, None)[0],
                                                                        data.inputs, None)])
        np.testing.assert_array_equal(S[0, 1], hidden[1])               # hidden neurons still the forward pass
        assert cw[0, 1] > 0, (backend, cw)                               # the step itself went on
