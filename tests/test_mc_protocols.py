"""Protocols of simulate(): planted start, reproducibility, checkpoint/resume, replicas, bad input."""
import numpy as np
import pytest
import xarray as xr

from deepglass.errors import ConfigError
from deepglass.model import NetworkSpec, make_training_set, sample_inputs
from deepglass.mc import Checkpoint, MCParams, measurement_times, simulate


def teacher_data(spec, M, ns=2, seed=0):
    return make_training_set(spec, "teacher-student", M, np.random.default_rng(seed), (ns,))


def measurements(events):
    return [ev.measurement for ev in events if ev.measurement is not None]


@pytest.mark.parametrize("c", [None, 6])
def test_planted_start_stays_in_the_design_space_while_teacher_overlap_decays(c):
    spec = NetworkSpec(N=10, L=4, c=c)
    data = teacher_data(spec, M=12)
    test = sample_inputs(spec, 200, np.random.default_rng(9), (2,))
    ms = measurements(simulate(spec, data, MCParams(), protocol="planted", t_max=60, times=measurement_times(60, 3),
                               test_inputs=test, seed=np.random.SeedSequence(1), backend="numpy"))
    ds = xr.concat(ms, "time")
    assert int(ds.violations.sum()) == 0 and float(ds.energy.max()) == 0.0   # gaps from scratch, every layer
    Q = ds.teacher_Q.isel(time=-1).sel(layer=slice(1, None))
    assert float(Q.max()) < 0.97                     # the weights wandered away from the teacher
    assert float(ds.teacher_Q.isel(time=0).sel(layer=slice(1, None)).min()) > float(Q.max())
    assert float(ds.test_overlap.isel(time=-1, layer=-1).mean()) < 1.0   # generalization is not perfect any more
    assert (ds.acceptance_weight.sel(layer=slice(1, None)) > 0).all()


def run(spec, data, params, seed, **kw):
    kw.setdefault("protocol", "learning")
    kw.setdefault("t_max", 12)
    kw.setdefault("times", measurement_times(kw["t_max"], 3, kw.get("waiting_times", ())))
    return list(simulate(spec, data, params, seed=np.random.SeedSequence(seed), backend="numpy", **kw))


def test_same_seed_same_numbers_and_different_seed_different_numbers():
    spec = NetworkSpec(N=8, L=3)
    data = teacher_data(spec, M=10)
    params = MCParams(acceptance="metropolis", beta=4.0)
    a, b, c = (run(spec, data, params, s, n_replicas=2, waiting_times=[2]) for s in (5, 5, 6))
    for ea, eb in zip(a, b):
        assert (ea.t, ea.energy, ea.violations) == (eb.t, eb.energy, eb.violations)
        if ea.measurement is not None:
            xr.testing.assert_identical(ea.measurement, eb.measurement)
    assert [e.energy for e in a] != [e.energy for e in c]


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path, backend):
    spec = NetworkSpec(N=8, L=4, c=5)
    data = teacher_data(spec, M=9)
    params = MCParams(acceptance="metropolis", beta=3.0, potential="hinge")
    kw = dict(protocol="learning", n_replicas=3, waiting_times=[0, 5], t_max=20, seed=np.random.SeedSequence(3),
              times=measurement_times(20, 3, [0, 5]), test_inputs=sample_inputs(spec, 30, np.random.default_rng(1),
                                                                                (2,)), backend=backend)
    full = list(simulate(spec, data, params, **kw))
    cut = next(ev for ev in full if ev.measurement is not None and ev.t == 2)   # before the second t_w
    path = tmp_path / "cp.nc"
    cut.checkpoint.to_dataset().to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        cp = Checkpoint.from_dataset(ds.load())
    resumed = list(simulate(spec, data, params, checkpoint=cp, **kw))
    rest = [ev for ev in full if ev.t > 2]
    assert [ev.t for ev in resumed] == [ev.t for ev in rest] and resumed[-1].done
    for ea, eb in zip(rest, resumed):
        assert (ea.energy, ea.violations) == (eb.energy, eb.violations)
        if ea.measurement is not None:
            xr.testing.assert_identical(ea.measurement, eb.measurement)
    np.testing.assert_array_equal(full[-1].checkpoint.J, resumed[-1].checkpoint.J)


def test_replica_measurements_layout_and_guests_copy_the_host():
    spec = NetworkSpec(N=8, L=3)
    data = teacher_data(spec, M=8)
    events = run(spec, data, MCParams(), 2, protocol="planted", n_replicas=3, waiting_times=[0, 4], t_max=10)
    ds = xr.concat(measurements(events), "time")
    assert ds.q_replica.dims == ("sample", "tw", "time", "pair", "layer")
    assert ds.q_triangle.sizes["triangle"] == 1 and ds.q_triangle.sizes["side"] == 3
    assert np.all(np.diff(ds.q_triangle.values, axis=-1)[np.isfinite(ds.q_triangle.values[..., 1:])] >= 0)
    late = ds.q_replica.sel(tw=4)
    assert bool(late.sel(time=slice(None, 3)).isnull().all())
    assert bool(late.sel(time=slice(5, None)).notnull().all())
    # data layers are shared by all replicas: q_0 = q_L = 1; guests stay in the design space
    np.testing.assert_array_equal(ds.q_replica.sel(tw=0, layer=[0, 3]).values, 1.0)
    assert float(ds.guest_violations.sel(tw=0).sum()) == 0
    # Q between guests started from the same host decays from 1
    assert float(ds.Q_replica.sel(tw=0, layer=1).isel(time=-1).max()) < 1.0


def test_stop_when_solved_stops_a_planted_run_at_the_first_measurement():
    spec = NetworkSpec(N=6, L=2)
    events = run(spec, teacher_data(spec, M=5), MCParams(), 1, protocol="planted", t_max=50, stop_when_solved=True)
    assert events[-1].done and events[-1].t == 1 and events[-1].violations == 0


@pytest.mark.parametrize("kw, field", [
    (dict(protocol="annealing"), "protocol"),
    (dict(n_replicas=-1), "n_replicas"),
    (dict(n_replicas=2), "waiting_times"),
    (dict(t_max=0, times=np.array([1])), "t_max"),
    (dict(times=np.array([0, 5])), "times"),
    (dict(times=np.array([5, 3])), "times"),
    (dict(times=np.array([3, 99])), "times"),
    (dict(test_inputs=np.zeros((2, 4, 6))), "test_inputs"),
])
def test_bad_arguments_raise_config_error(kw, field):
    spec = NetworkSpec(N=6, L=2)
    base = dict(protocol="learning", t_max=10, times=np.array([1, 10]), seed=np.random.SeedSequence(0))
    with pytest.raises(ConfigError) as err:
        simulate(spec, teacher_data(spec, M=4), MCParams(), **{**base, **kw})
    assert err.value.field == field


def test_planted_needs_a_teacher():
    spec = NetworkSpec(N=6, L=2)
    data = make_training_set(spec, "random", 4, np.random.default_rng(0), (2,))
    with pytest.raises(ConfigError) as err:
        simulate(spec, data, MCParams(), protocol="planted", t_max=3, times=np.array([3]),
                 seed=np.random.SeedSequence(0))
    assert err.value.field == "protocol"
