"""Simulation figures draw the right numbers: checked on a hand-made run Dataset with known values."""
import json

import numpy as np
import pytest
import xarray as xr

from deepglass.experiments.config import example_config
from deepglass.experiments.runner import run_attrs
from deepglass.plots.simulation import (
    plot_energy, plot_replica_overlap_heatmap, plot_run, plot_teacher_profile, replica_overlap_map,
)

PNG = b"\x89PNG\r\n\x1a\n"
L, S, TIMES, TW, PAIRS = 3, 4, np.array([1, 2, 5, 10, 20, 50]), np.array([0, 5]), 3


def synthetic_run(teacher=True, replicas=True):
    rng = np.random.default_rng(0)
    coords = {"time": TIMES, "sample": np.arange(S), "layer": np.arange(L + 1)}
    data = {"energy": (("sample", "time"), rng.random((S, TIMES.size))),
            "violations": (("sample", "time"), rng.integers(0, 5, (S, TIMES.size)))}
    if teacher:
        for name in ("teacher_q", "teacher_Q", "test_overlap"):
            data[name] = (("sample", "time", "layer"), rng.random((S, TIMES.size, L + 1)))
        data["teacher_Q"][1][..., 0] = np.nan  # no weights into the input layer
    if replicas:
        q = rng.random((S, TW.size, TIMES.size, PAIRS, L + 1))
        q[:, 1, TIMES < 5] = np.nan  # no guests before t_w
        data["q_replica"] = (("sample", "tw", "time", "pair", "layer"), q)
        Q = q.copy() ** 2
        Q[..., 0] = np.nan  # no weights into the input layer
        data["Q_replica"] = (("sample", "tw", "time", "pair", "layer"), Q)
        coords.update(tw=TW, pair=np.arange(PAIRS))
    cfg = example_config("teacher-student" if teacher else "random")
    return xr.Dataset(data, coords=coords, attrs=run_attrs(cfg, "complete", int(TIMES[-1])))


def test_heatmap_shows_the_sample_and_pair_mean_against_lag(tmp_path):
    run = synthetic_run()
    q = plot_replica_overlap_heatmap(run, tmp_path / "h.png", tw=5)
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG
    raw = run["q_replica"].values[:, 1]  # tw = 5: (sample, time, pair, layer)
    keep = TIMES > 5
    expected = raw[:, keep].mean(axis=(0, 2)).T  # (layer, lag)
    np.testing.assert_allclose(q.values, expected)
    assert q["lag"].values.tolist() == (TIMES[keep] - 5).tolist()
    assert np.isfinite(q.values).all()
    Q = plot_replica_overlap_heatmap(run, tmp_path / "w.png", tw=5, var="Q_replica")
    assert Q["layer"].values.tolist() == [1, 2, 3]  # Q is undefined at the input layer
    np.testing.assert_allclose(Q.values, (raw[:, keep] ** 2).mean(axis=(0, 2)).T[1:])
    # default waiting time is the first one, with every time after it
    assert replica_overlap_map(run)["lag"].values.tolist() == TIMES.tolist()


def test_teacher_profile_means_and_standard_errors(tmp_path):
    run = synthetic_run()
    profile = plot_teacher_profile(run, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG
    vals = run["test_overlap"].values[:, -1, :]  # (sample, layer) at the last time
    layers, mean, sem = profile["test_overlap"]
    np.testing.assert_allclose(mean, vals.mean(0))
    np.testing.assert_allclose(sem, vals.std(0, ddof=1) / np.sqrt(S))
    assert layers.tolist() == list(range(L + 1))
    assert profile["teacher_Q"][0].tolist() == list(range(1, L + 1))  # the all-NaN input layer is dropped


def test_plot_run_writes_what_applies(tmp_path):
    names = {p.name for p in plot_run(synthetic_run(), tmp_path / "a")}
    assert names == {"energy.png", "replica_overlap_tw0.png", "replica_overlap_tw5.png",
                     "replica_weight_overlap_tw0.png", "replica_weight_overlap_tw5.png", "teacher_overlap_profile.png"}
    names = {p.name for p in plot_run(synthetic_run(teacher=False, replicas=False), tmp_path / "b")}
    assert names == {"energy.png"}
    for p in (tmp_path / "a").iterdir():
        assert p.read_bytes()[:8] == PNG


def test_energy_curve_and_missing_quantities(tmp_path):
    run = synthetic_run(teacher=False, replicas=False)
    curves = plot_energy(run, tmp_path / "e.png")
    np.testing.assert_allclose(curves["energy"].values, run["energy"].values.mean(0))
    with pytest.raises(ValueError, match="teacher"):
        plot_teacher_profile(run, tmp_path / "x.png")
    with pytest.raises(ValueError, match="replica"):
        plot_replica_overlap_heatmap(run, tmp_path / "y.png")
    assert json.loads(run.attrs["config_json"])["data"]["scenario"] == "random"


def test_energy_plot_of_a_solved_run(tmp_path):
    run = synthetic_run(teacher=False, replicas=False)
    run["energy"][:] = 0.0
    run["violations"][:] = 0
    curves = plot_energy(run, tmp_path / "e.png")
    assert (tmp_path / "e.png").read_bytes()[:8] == PNG and float(abs(curves["energy"]).max()) == 0.0
