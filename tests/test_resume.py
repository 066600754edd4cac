"""Checkpoints every K steps (between measurements), `simulate --resume`, and refused checkpoints."""
import subprocess
import sys

import pytest
import xarray as xr

from deepglass import open_run
from deepglass.errors import ConfigError
from deepglass.experiments.config import parse_config
from deepglass.experiments.runner import execute, plan_run
from deepglass.experiments.store import read_run, write_run
from deepglass.mc import Checkpoint
from mc_helpers import Stop as _Stop, interrupt_at_k_save

TINY = {"seed": 11, "network": {"N": 6, "L": 3}, "data": {"scenario": "teacher-student", "alpha": 1.0, "M_test": 20},
        "mc": {"acceptance": "metropolis", "beta": 3.0},
        "run": {"protocol": "learning", "t_max": 40, "per_decade": 2, "n_samples": 2, "checkpoint_every": 7},
        "replicas": {"R": 2, "waiting_times": [0, 9]}}


def test_kill_between_measurements_resumes_bit_identical(tmp_path):
    """Stop right after a K-step save that is not a measurement time: acceptance counters must survive."""
    cfg = parse_config(TINY)
    whole = execute(plan_run(cfg, tmp_path / "whole"))
    times = whole["time"].values.tolist()
    saves, partial = interrupt_at_k_save(cfg, tmp_path / "cut")
    assert saves == [7, 14] and partial.t_done == 14 and 14 not in times   # saved between measurements
    cp = Checkpoint.from_dataset(partial.checkpoint)
    assert cp.steps_since > 0 and cp.counts_neuron.sum() > 0               # counters since the last measurement
    resumed = execute(plan_run(cfg, tmp_path / "cut"))
    xr.testing.assert_identical(resumed, whole)


def test_checkpoint_of_another_random_stream_is_refused(tmp_path):
    cfg = parse_config({**TINY, "run": {**TINY["run"], "t_max": 20}})
    with pytest.raises(_Stop):
        def stop(event):
            if event.checkpoint is not None:
                raise _Stop
        execute(plan_run(cfg, tmp_path), on_event=stop, save_interval=0.0)
    stored = read_run(tmp_path)
    forged = stored.checkpoint.assign_attrs(random_stream="jax-float32")
    write_run(tmp_path, stored.measurements, forged)
    with pytest.raises(ConfigError, match="random_stream"):
        execute(plan_run(cfg, tmp_path))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "deepglass.cli", *args], capture_output=True, text=True)


def test_cli_resume_flag(tmp_path):
    cfg = parse_config(TINY)
    with pytest.raises(_Stop):
        def stop(event):
            if event.t == 15:
                raise _Stop
        execute(plan_run(cfg, tmp_path / "run"), on_event=stop)
    assert read_run(tmp_path / "run").status == "running"
    done = _cli("simulate", "--resume", "--out", str(tmp_path / "run"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    execute(plan_run(cfg, tmp_path / "whole"))
    xr.testing.assert_identical(open_run(tmp_path / "run"), open_run(tmp_path / "whole"))
    nothing = _cli("simulate", "--resume", "--out", str(tmp_path / "empty"))
    assert nothing.returncode == 2 and "--resume" in nothing.stderr and not (tmp_path / "empty").exists()
    no_config = _cli("simulate", "--out", str(tmp_path / "x"))
    assert no_config.returncode == 2 and "CONFIG" in no_config.stderr


def test_float32_needs_jax():
    with pytest.raises(ConfigError, match="precision"):
        parse_config({**TINY, "mc": {**TINY["mc"], "precision": "float32", "backend": "numba"}})
