"""The design-space sampler (mc/design_space.py): invariants, learning, kappa < 0, backends, resume, config."""

import numpy as np
import pytest
import xarray as xr

from deepglass.errors import ConfigError
from deepglass.experiments.config import parse_config
from deepglass.experiments.runner import execute, plan_run
from deepglass.mc import MCParams, measurement_times, simulate
from deepglass.mc.engine import Engine
from deepglass.mc.layout import fields_from_scratch, weights_to_internal
from deepglass.model import NetworkSpec, forward, make_training_set
from deepglass.observables import all_gaps
from mc_helpers import interrupt_at_k_save, simulate_refuses

DS = MCParams(sampler="design-space", delta=0.5)


def run_to_end(spec, data, params, backend, protocol="planted", t_max=40, R=2, tws=(0, 5), seed=3):
    """The last event of a run (its checkpoint holds the full state) and every measurement."""
    events = list(simulate(spec, data, params, protocol=protocol, t_max=t_max, times=measurement_times(t_max, 3),
                           seed=np.random.SeedSequence(seed), backend=backend, n_replicas=R,
                           waiting_times=tws if R else ()))
    return events[-1], xr.concat([e.measurement for e in events if e.measurement is not None], "time")


def assert_invariants(spec, data, cp, slaved=True):
    """Every system: outputs = data, hidden = forward pass (slaved), gaps >= kappa, cached fields = from
    scratch, row norms c -- each checked from scratch with deepglass.model, not with the engine."""
    ns, n_sys = cp.S.shape[:2]
    idx = None if data.idx is None else np.broadcast_to(data.idx[:, None], cp.J.shape)
    S = cp.S.astype(np.int8)
    np.testing.assert_array_equal(S[:, :, spec.L], np.broadcast_to(data.outputs[:, None], S[:, :, spec.L].shape))
    if slaved:
        layers = forward(cp.J, np.broadcast_to(data.inputs[:, None], S[:, :, 0].shape), idx)
        for l in range(1, spec.L + 1):
            np.testing.assert_array_equal(S[:, :, l], layers[l])
    assert np.all(all_gaps(cp.J, S, idx) >= spec.kappa)
    Wt = weights_to_internal(cp.J, None if data.idx is None else data.idx[:, None], spec.N)
    np.testing.assert_allclose(cp.h, fields_from_scratch(cp.S.astype(np.float64), Wt, spec.c)[:, :, 1:], atol=1e-11)
    np.testing.assert_allclose(np.sum(cp.J ** 2, axis=-1), spec.c, rtol=1e-12)


@pytest.mark.parametrize("backend,spec,t_max", [("numpy", NetworkSpec(N=8, L=3), 40),
                                                ("numpy", NetworkSpec(N=9, L=4, c=5), 40),
                                                ("numba", NetworkSpec(N=12, L=4), 300),
                                                ("numba", NetworkSpec(N=14, L=3, c=6), 300)])
def test_invariants_after_many_moves(backend, spec, t_max):
    data = make_training_set(spec, "teacher-student", 2 * spec.c, np.random.default_rng(1), (2,))
    last, ms = run_to_end(spec, data, DS, backend, t_max=t_max)
    assert_invariants(spec, data, last.checkpoint)
    assert int(ms["violations"].max()) == 0 and float(ms["energy"].max()) == 0.0
    acc = ms["acceptance_weight"].sel(layer=slice(1, None)).mean(["sample", "time"]).values
    assert np.all(acc > 0.05) and np.all(acc < 0.95)       # the moves of every layer do move
    # the hidden representations left the teacher's: neurons moved through the cascade
    assert float(ms["teacher_q"].isel(time=-1).sel(layer=slice(1, spec.L - 1)).mean()) < 0.95


def test_learning_descends_then_samples_with_slaved_hidden_neurons():
    """From a random start (hidden = forward pass of random weights) greedy never raises the cost and
    reaches the design space at a low load; the hidden neurons stay the forward pass throughout."""
    spec = NetworkSpec(N=10, L=2)   # (at L = 3 greedy descent sometimes stops in a local minimum of E)
    data = make_training_set(spec, "random", 5, np.random.default_rng(2), (4,))
    last, ms = run_to_end(spec, data, MCParams(sampler="design-space", delta=0.3), "numba", protocol="learning",
                          t_max=300, R=0)
    energy = ms["energy"].values                              # (sample, time)
    assert np.all(np.diff(energy, axis=-1) <= 0) and np.all(energy[:, 0] > 0)
    assert np.all(ms["violations"].values[:, -1] == 0)
    assert_invariants(spec, data, last.checkpoint)


def test_kappa_negative_adds_neuron_flips():
    spec = NetworkSpec(N=8, L=3, kappa=-0.3)
    data = make_training_set(spec, "teacher-student", 8, np.random.default_rng(4), (2,))
    last, ms = run_to_end(spec, data, DS, "numba", t_max=60, R=0)
    assert_invariants(spec, data, last.checkpoint, slaved=False)
    assert float(ms["acceptance_neuron"].sel(layer=1).mean()) > 0.01
    cp = last.checkpoint
    hidden = forward(cp.J, np.broadcast_to(data.inputs[:, None], cp.S[:, :, 0].shape))[1]
    assert np.any(cp.S[:, :, 1] != hidden)                   # a neuron that disagrees with its field: not slaved


CASES = [(NetworkSpec(N=8, L=3), DS, "planted"),
         (NetworkSpec(N=8, L=4, c=5), DS, "planted"),
         (NetworkSpec(N=8, L=3), MCParams(sampler="design-space", delta=0.3), "learning"),
         (NetworkSpec(N=8, L=4, c=5), MCParams(sampler="design-space", acceptance="metropolis", beta=3.0,
                                               potential="hinge"), "learning"),
         (NetworkSpec(N=7, L=3, kappa=-0.3), DS, "planted"),
         (NetworkSpec(N=7, L=3, kappa=0.2), MCParams(sampler="design-space", potential="count"), "learning"),
         (NetworkSpec(N=7, L=3, c=4), MCParams(sampler="design-space", proposal="weight", delta=1.0), "planted"),
         (NetworkSpec(N=7, L=3), MCParams(sampler="design-space", proposal="weight", exact_sphere=False,
                                          acceptance="metropolis", beta=2.0), "learning")]


@pytest.mark.parametrize("spec,params,protocol", CASES)
def test_numpy_and_numba_agree_bit_for_bit(spec, params, protocol):
    data = make_training_set(spec, "teacher-student", 12, np.random.default_rng(1), (2,))
    a, ma = run_to_end(spec, data, params, "numpy", protocol=protocol, t_max=20)
    b, mb = run_to_end(spec, data, params, "numba", protocol=protocol, t_max=20)
    for name in ("S", "h", "J", "rng_words"):
        np.testing.assert_array_equal(getattr(a.checkpoint, name), getattr(b.checkpoint, name))
    xr.testing.assert_identical(ma.drop_attrs(), mb.drop_attrs())
    assert float(ma["acceptance_weight"].sel(layer=slice(1, None)).mean()) > 0.02


def test_local_moves_are_untouched_by_the_seam():
    spec = NetworkSpec(N=6, L=3)
    assert Engine(6, 3, 6, 4, 0.0, MCParams(), None, "numpy").moves is None
    assert Engine(6, 3, 6, 4, 0.0, DS, None, "auto").backend_name in ("numba", "numpy")
    data = make_training_set(spec, "teacher-student", 6, np.random.default_rng(1), (1,))
    cp = run_to_end(spec, data, MCParams(), "numpy", t_max=5, R=0)[0].checkpoint
    assert cp.meta["sampler"] == "local"


TINY = {"seed": 5, "network": {"N": 7, "L": 3, "c": 5}, "data": {"scenario": "teacher-student", "alpha": 1.5, "M_test": 30},
        "mc": {"sampler": "design-space", "delta": 0.4},
        "run": {"protocol": "planted", "t_max": 30, "per_decade": 2, "n_samples": 2, "checkpoint_every": 7},
        "replicas": {"R": 2, "waiting_times": [0, 9]}}


def test_resume_is_bit_identical_and_same_seed_same_numbers(tmp_path):
    """numba (numpy follows the same trajectory: test_numpy_and_numba_agree_bit_for_bit)."""
    cfg = parse_config({**TINY, "mc": {**TINY["mc"], "backend": "numba"}})
    whole = execute(plan_run(cfg, tmp_path / "whole"))
    again = execute(plan_run(cfg, tmp_path / "again"))
    xr.testing.assert_identical(whole, again)
    saves, partial = interrupt_at_k_save(cfg, tmp_path / "cut")
    assert saves == [7, 14] and partial.t_done == 14
    resumed = execute(plan_run(cfg, tmp_path / "cut"))
    xr.testing.assert_identical(resumed, whole)
    assert float(whole["acceptance_weight"].sel(layer=slice(1, None)).mean()) > 0.05


def test_checkpoint_of_the_other_sampler_is_refused():
    spec = NetworkSpec(N=6, L=3)
    data = make_training_set(spec, "teacher-student", 6, np.random.default_rng(1), (1,))
    cp = run_to_end(spec, data, MCParams(), "numpy", t_max=5, R=0)[0].checkpoint
    cp.t = 2
    with pytest.raises(ConfigError, match="sampler"):
        simulate(spec, data, DS, protocol="planted", t_max=5, times=np.array([5]), seed=np.random.SeedSequence(3),
                 backend="numpy", checkpoint=cp)


def test_bad_sampler_settings_are_refused():
    with pytest.raises(ConfigError, match="mc.sampler"):
        parse_config({"mc": {"sampler": "exact"}})
    with pytest.raises(ConfigError, match="mc.backend"):
        parse_config({"mc": {"sampler": "design-space", "backend": "jax"}})
    with pytest.raises(ConfigError, match="sampler"):
        MCParams(sampler="rows")
    with pytest.raises(ConfigError, match="proposal"):
        MCParams(sampler="design-space", proposal="column")
    with pytest.raises(ConfigError, match="backend"):
        Engine(6, 3, 6, 4, 0.0, DS, None, "jax")
    assert parse_config({}).mc.sampler == "local"


def test_cli_bad_sampler_exits_2_with_one_line(tmp_path):
    stderr = simulate_refuses(tmp_path, '[mc]\nsampler = "exact"\n')
    assert "mc.sampler" in stderr and "design-space" in stderr


NISHIMORI = {"seed": 3, "network": {"N": 8, "L": 2}, "data": {"scenario": "teacher-student", "alpha": 1.0, "M_test": 0},
             "mc": {"sampler": "design-space", "delta": 0.5, "backend": "numba", "tune_steps": 100},
             "run": {"protocol": "planted", "t_max": 2500, "n_samples": 8, "per_decade": 2},
             "replicas": {"R": 4, "waiting_times": [800]}}
UNTUNED = {**NISHIMORI["mc"], "tune_steps": 0}
# (tau of Q_l here is ~150-270 MC steps (docs/simulation.md): 1700 steps after t_w; seeds 3..8 pass 5 of 6 at 3 sigma)


def test_nishimori_check_tells_equilibrated_from_not(tmp_path):
    from deepglass.experiments.summary import final_summary, nishimori_check
    config = parse_config(NISHIMORI)
    run = execute(plan_run(config, tmp_path / "long"))
    long = nishimori_check(run, config.to_dict())             # the identity alone
    assert long["equilibrated"] is True and long["Q"]["layers"] == [1, 2] and long["q"]["layers"] == [1]
    assert max(long["Q"]["student_teacher"]) < 0.5           # the students did leave the teacher
    # the full verdict (stored with the run) also needs >= 10 relaxation times of Q_l: 400 steps with tau ~ 60-80 is not
    verdict = final_summary(run)["nishimori"]
    assert verdict["equilibrated"] is False and "relaxation times" in verdict["reason"]
    assert all(0 < tau < 400 for tau in verdict["relaxation_time_Q"])
    # guests copied from the teacher and run 4 steps: students are closer to the teacher than to each other
    short = {**NISHIMORI, "mc": UNTUNED, "run": {**NISHIMORI["run"], "t_max": 4}, "replicas": {"R": 4, "waiting_times": [0]}}
    check = final_summary(execute(plan_run(parse_config(short), tmp_path / "short")))["nishimori"]
    assert check["equilibrated"] is False and min(check["Q"]["difference"]) > 0
    frozen = {**NISHIMORI, "data": {**NISHIMORI["data"], "alpha": 3.0}, "mc": {**UNTUNED, "delta": 10.0}, "run": {**NISHIMORI["run"], "t_max": 40},
              "replicas": {"R": 4, "waiting_times": [10]}}
    check = final_summary(execute(plan_run(parse_config(frozen), tmp_path / "frozen")))["nishimori"]
    assert check["equilibrated"] is False and "frozen" in check["reason"]
    local = {**NISHIMORI, "mc": UNTUNED, "run": {**NISHIMORI["run"], "protocol": "learning", "t_max": 4},
             "replicas": {"R": 0}}
    assert final_summary(execute(plan_run(parse_config(local), tmp_path / "learn")))["nishimori"] is None
