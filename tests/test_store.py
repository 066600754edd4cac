"""Result store and run planning: atomic writes, checkpoints, resume, refusing to clobber other runs."""
import json

import numpy as np
import pytest
import xarray as xr

from deepglass import open_run
from deepglass.errors import RunDirectoryError
from deepglass.experiments.config import parse_config
from deepglass.experiments.runner import execute, make_inputs, plan_run, run_attrs
from deepglass.experiments.store import RESULT_FILE, concat_measurements, read_run, write_run
from deepglass.model import make_training_set

TINY = {"seed": 7, "network": {"N": 6, "L": 3}, "data": {"scenario": "teacher-student", "alpha": 1.0, "M_test": 20},
        "run": {"protocol": "learning", "t_max": 30, "per_decade": 4, "n_samples": 2},
        "replicas": {"R": 3, "waiting_times": [0, 5]}}


def _slice(t, value):
    return xr.Dataset({"energy": (("sample", "time"), np.full((2, 1), value))},
                      coords={"time": [t], "sample": [0, 1]})


def _stored(tmp_path, config, status="running", checkpoint=None):
    ds = concat_measurements([_slice(1, 0.5), _slice(2, 0.25)]).assign_attrs(run_attrs(config, status, 2))
    write_run(tmp_path, ds, checkpoint)
    return ds


def test_write_read_round_trip_with_checkpoint(tmp_path):
    cfg = parse_config(TINY)
    ckpt = xr.Dataset({"state": ("k", np.arange(5, dtype=np.uint64)), "J": (("a", "b"), np.random.rand(3, 4))},
                      attrs={"t": 2})
    ds = _stored(tmp_path, cfg, checkpoint=ckpt)
    stored = read_run(tmp_path)
    xr.testing.assert_equal(stored.measurements, ds)
    assert ds.attrs.items() <= stored.measurements.attrs.items()
    assert stored.status == "running" and stored.t_done == 2
    xr.testing.assert_identical(stored.checkpoint, ckpt)
    assert json.loads(stored.measurements.attrs["config_json"])["seed"] == 7
    assert stored.measurements.attrs["seed"] == 7 and "deepglass_version" in stored.measurements.attrs
    assert [p.name for p in tmp_path.iterdir()] == [RESULT_FILE]  # no temp file left behind
    assert "config_toml" in open_run(tmp_path).attrs


def test_failed_write_leaves_the_old_file_intact(tmp_path):
    cfg = parse_config(TINY)
    _stored(tmp_path, cfg)
    before = (tmp_path / RESULT_FILE).read_bytes()
    bad = _slice(3, 1.0).assign_attrs(run_attrs(cfg, "running", 3), unstorable={"a": 1})  # dict attrs: no netCDF
    with pytest.raises(Exception):
        write_run(tmp_path, bad)
    assert (tmp_path / RESULT_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [RESULT_FILE]


def test_concat_keeps_time_order_and_values():
    ds = concat_measurements([_slice(1, 0.5), _slice(3, 0.125), _slice(10, 0.0)])
    assert ds["time"].values.tolist() == [1, 3, 10]
    assert ds["energy"].sel(sample=1).values.tolist() == [0.5, 0.125, 0.0]


@pytest.mark.parametrize("content", [b"", b"garbage that is not HDF5", b"\x89HDF\r\n\x1a\n truncated"])
def test_corrupt_result_file_is_a_clear_error(tmp_path, content):
    (tmp_path / RESULT_FILE).write_bytes(content)
    with pytest.raises(RunDirectoryError, match="not a readable deepglass result file"):
        open_run(tmp_path)


def test_foreign_netcdf_file_is_rejected(tmp_path):
    xr.Dataset({"x": ("a", [1, 2])}).to_netcdf(tmp_path / RESULT_FILE, engine="h5netcdf")
    with pytest.raises(RunDirectoryError, match="not written by deepglass"):
        open_run(tmp_path)


def test_plan_fresh_resume_complete_and_conflicts(tmp_path):
    cfg = parse_config(TINY)
    assert plan_run(cfg, tmp_path / "new").mode == "fresh"
    assert not (tmp_path / "new").exists()
    assert plan_run(cfg, tmp_path).mode == "fresh"  # empty directory
    _stored(tmp_path, cfg)
    assert plan_run(cfg, tmp_path).mode == "resume"
    seedless = cfg.model_copy(update={"seed": None})
    plan = plan_run(seedless, tmp_path)  # no seed given: continue the stored run with its recorded seed
    assert plan.mode == "resume" and plan.config.seed == 7
    other = parse_config({**TINY, "network": {"N": 8, "L": 3}})
    with pytest.raises(RunDirectoryError, match="network.N: 6 there, 8 here"):
        plan_run(other, tmp_path)
    with pytest.raises(RunDirectoryError, match="different run"):
        plan_run(cfg.model_copy(update={"seed": 8}), tmp_path)
    assert plan_run(other, tmp_path, overwrite=True).mode == "fresh"
    _stored(tmp_path, cfg, status="complete")
    assert plan_run(cfg, tmp_path).mode == "complete"


def test_plan_refuses_unrelated_directory_and_files(tmp_path):
    cfg = parse_config(TINY)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="holds no run.nc"):
        plan_run(cfg, tmp_path)
    with pytest.raises(RunDirectoryError, match="not a directory"):
        plan_run(cfg, tmp_path / "notes.txt")


def test_seed_children_are_independent_streams():
    """Training data depend only on the data child: changing test-set size or run length leaves them alone."""
    cfg = parse_config(TINY)
    a = make_inputs(cfg)
    b = make_inputs(parse_config({**TINY, "data": {**TINY["data"], "M_test": 50},
                                  "run": {**TINY["run"], "t_max": 99}}))
    np.testing.assert_array_equal(a.data.inputs, b.data.inputs)
    np.testing.assert_array_equal(a.data.teacher.J, b.data.teacher.J)
    assert b.test_inputs.shape == (2, 50, 6)
    c = make_inputs(parse_config({**TINY, "data": {**TINY["data"], "alpha": 2.0}}))  # more training patterns
    np.testing.assert_array_equal(a.test_inputs, c.test_inputs)  # the test stream is its own child
    assert a.test_inputs.shape == (2, 20, 6)
    data_child = np.random.SeedSequence(7).spawn(3)[0]
    ref = make_training_set(cfg.spec(), "teacher-student", cfg.n_patterns, np.random.default_rng(data_child),
                            batch=(2,))
    np.testing.assert_array_equal(a.data.outputs, ref.outputs)
    assert not np.array_equal(a.data.inputs[0], a.data.inputs[1])  # samples differ
    random_inputs = make_inputs(parse_config({**TINY, "data": {"scenario": "random", "alpha": 1.0}}))
    assert random_inputs.test_inputs is None and random_inputs.data.teacher is None


class _Stop(Exception):
    pass


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    """Kill a run after some saves; resuming must reproduce the uninterrupted run exactly (real engine)."""
    cfg = parse_config(TINY)
    whole = execute(plan_run(cfg, tmp_path / "whole"), save_interval=0.0)

    seen = []

    def stop_after_three_measurements(event):
        if event.measurement is not None:
            seen.append(event.t)
        if len(seen) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        execute(plan_run(cfg, tmp_path / "cut"), on_event=stop_after_three_measurements, save_interval=0.0)
    partial = read_run(tmp_path / "cut")
    assert partial.status == "running" and partial.checkpoint is not None
    assert partial.t_done == seen[-1] and partial.measurements["time"].values.tolist() == seen

    resumed_events = []
    plan = plan_run(cfg, tmp_path / "cut")
    assert plan.mode == "resume"
    resumed = execute(plan, on_event=resumed_events.append, save_interval=0.0)
    assert resumed_events[0].t == seen[-1] + 1  # nothing completed is redone
    xr.testing.assert_identical(resumed, whole)
    xr.testing.assert_identical(open_run(tmp_path / "cut"), open_run(tmp_path / "whole"))
    assert open_run(tmp_path / "cut").attrs["status"] == "complete"
    assert read_run(tmp_path / "cut").checkpoint is None


def test_python_entry_point_runs_and_reopens(tmp_path):
    import deepglass

    config = {**TINY, "run": {**TINY["run"], "t_max": 5}, "replicas": {"R": 0}}
    run = deepglass.run_simulation(config, tmp_path / "py")
    xr.testing.assert_equal(run, deepglass.open_run(tmp_path / "py"))
    assert run["time"].values[-1] == 5 and run.attrs["status"] == "complete"
    again = deepglass.run_simulation(config, tmp_path / "py")  # complete: returned as stored, not rerun
    xr.testing.assert_equal(again, run)
    with pytest.raises(RunDirectoryError, match="different run"):
        deepglass.run_simulation({**config, "seed": 8}, tmp_path / "py")
