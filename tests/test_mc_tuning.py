"""Move sizes tuned per layer during the burn-in (mc/tuning.py), the trace of evenly spaced measurements and
the autocorrelation report (experiments/mixing.py): frozen after tune_steps, recorded, resumed bit for bit,
numpy = numba, bad settings refused with one line."""
import numpy as np
import pytest
import xarray as xr

from deepglass.errors import ConfigError
from deepglass.experiments.config import parse_config
from deepglass.experiments.runner import execute, plan_run
from deepglass.experiments.summary import final_summary
from deepglass.mc import MCParams
from mc_helpers import interrupt_at_k_save

TUNED = {"seed": 7, "network": {"N": 8, "L": 3, "c": 5}, "data": {"scenario": "teacher-student", "alpha": 2.0, "M_test": 0},
         "mc": {"sampler": "design-space", "delta": 0.02, "tune_steps": 30, "backend": "numba"},
         "run": {"protocol": "planted", "t_max": 60, "per_decade": 1, "n_samples": 2, "checkpoint_every": 11,
                 "trace_every": 4},
         "replicas": {"R": 2, "waiting_times": [0, 20]}}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return execute(plan_run(parse_config(TUNED), tmp_path_factory.mktemp("tuned") / "whole"))


def test_sizes_adapt_in_the_burn_in_then_freeze_and_are_recorded(whole):
    run = whole
    size = run["move_size"].sel(layer=slice(1, None))
    after = size.sel(time=slice(31, None)).values                # (sample, time, layer)
    assert np.all(after == after[:, :1])                         # frozen after tune_steps: one fixed kernel
    assert np.all(after[:, 0] > 5 * 0.02)                        # 0.02 accepts almost everything: sizes grew
    acc = run["acceptance_weight"].sel(time=slice(31, None), layer=slice(1, None)).mean().item()
    assert 0.1 < acc < 0.6                                       # near the target 0.3 (N = 8 rows per layer)
    trace = [t for t in run["time"].values if t % 4 == 0]
    assert trace == list(range(4, 61, 4))                        # the evenly spaced series is measured
    tau = final_summary(run)["autocorrelation"]
    assert tau["every"] == 4 and tau["from_t"] == 32 and tau["Q"]["layers"] == [1, 2, 3]
    assert final_summary(run)["final"]["move_size"] == pytest.approx(list(after[:, -1].mean(0)))


@pytest.mark.slow
def test_tuned_run_resumes_bit_identical_and_numpy_equals_numba(whole, tmp_path):
    cfg = parse_config(TUNED)
    saves, partial = interrupt_at_k_save(cfg, tmp_path / "cut")   # cut at t = 11, 22: inside the tuning
    assert saves == [11, 22] and partial.t_done == 22
    xr.testing.assert_identical(execute(plan_run(cfg, tmp_path / "cut")), whole)
    small = {**TUNED, "mc": {**TUNED["mc"], "tune_steps": 8}, "run": {**TUNED["run"], "t_max": 12},
             "replicas": {"R": 2, "waiting_times": [0, 5]}}
    runs = [execute(plan_run(parse_config({**small, "mc": {**small["mc"], "backend": b}}), tmp_path / b))
            for b in ("numpy", "numba")]
    xr.testing.assert_identical(runs[0].drop_attrs(), runs[1].drop_attrs())


def test_bad_tuning_settings_are_refused():
    with pytest.raises(ConfigError, match="mc.tune_steps"):
        parse_config({"mc": {"tune_steps": 10}})                  # the local moves are not tuned
    with pytest.raises(ConfigError, match="mc.tune_steps"):
        parse_config({**TUNED, "mc": {**TUNED["mc"], "tune_steps": 60}})
    with pytest.raises(ConfigError, match="target_acceptance"):
        MCParams(sampler="design-space", target_acceptance=1.0)
    with pytest.raises(ConfigError, match="mc.target_acceptance"):
        parse_config({"mc": {"sampler": "design-space", "target_acceptance": 0}})
    with pytest.raises(ConfigError, match="run.trace_every"):
        parse_config({"run": {"trace_every": -1}})
