"""The helpers that replaced code written several times (issue 13 A): one NetCDF writer, one JSON cleaner,
one child-seed derivation, one MC cost model."""
from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from deepglass.experiments.config import SEED_LIMIT, child_seed
from deepglass.experiments.cost import config_seconds, mc_seconds
from deepglass.experiments.store import ENGINE, write_dataset
from deepglass.experiments.summary import json_ready


def test_write_dataset_cleans_bools_and_lists_and_leaves_no_temporary(tmp_path):
    ds = xr.Dataset({"ok": ("x", np.array([True, False, True])), "v": ("x", [1.0, np.nan, 3.0])},
                    attrs={"layers": [1, 2, 3], "loads": [0.5, 2], "flag": True, "name": "rs"})
    groups = {"extra": xr.Dataset({"flags": ("y", np.array([False, True]))})}
    path = write_dataset(ds, tmp_path / "out.nc", groups)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]
    with xr.open_dataset(path, engine=ENGINE) as back:
        assert back["ok"].dtype == np.int8 and back["ok"].values.tolist() == [1, 0, 1]
        assert np.isnan(back["v"].values[1])
        assert np.asarray(back.attrs["layers"]).tolist() == [1, 2, 3]
        assert np.asarray(back.attrs["loads"]).tolist() == [0.5, 2.0]
        assert int(back.attrs["flag"]) == 1 and back.attrs["name"] == "rs"
    with xr.open_dataset(path, engine=ENGINE, group="extra") as extra:
        assert extra["flags"].values.tolist() == [0, 1]
    assert ds["ok"].dtype == bool and ds.attrs["layers"] == [1, 2, 3]  # the caller's Dataset is not changed


def test_json_ready_gives_strict_json():
    value = {"a": np.float64("nan"), "b": [np.inf, -np.inf, 1.5], "c": np.arange(3), "d": np.int64(7),
             "e": (np.bool_(True), None, "s"), "f": np.array([[1.0, np.nan]]), "g": xr.DataArray(2.5)}
    clean = json_ready(value)
    assert clean == {"a": None, "b": [None, None, 1.5], "c": [0, 1, 2], "d": 7, "e": [True, None, "s"],
                     "f": [[1.0, None]], "g": 2.5}
    assert type(clean["d"]) is int and type(clean["e"][0]) is bool
    json.dumps(clean, allow_nan=False)  # raises on any NaN left


def test_child_seeds_are_valid_distinct_and_stable():
    seeds = [child_seed(12345, k) for k in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < SEED_LIMIT for s in seeds)
    assert seeds == [child_seed(12345, k) for k in range(50)]
    assert child_seed(12346, 0) != seeds[0]
    # the derivation is SeedSequence's child stream: independent of how many other children are drawn
    assert child_seed(12345, 49) == seeds[49] and child_seed(12345, np.int64(3)) == seeds[3]


def test_cost_model_scales_with_the_work():
    base = mc_seconds(32, 4, 64, 100, 8)
    assert base == mc_seconds(32, 4, 64, 100, 8, c=32)  # c unset: fully connected
    fixed = mc_seconds(32, 4, 64, 0, 8)  # the per-run cost alone
    assert math.isclose(mc_seconds(32, 4, 64, 200, 8) - fixed, 2 * (base - fixed), rel_tol=1e-12)  # linear in t
    assert mc_seconds(32, 4, 64, 100, 8, c=8) < base < mc_seconds(64, 4, 64, 100, 8)
    from deepglass.experiments.config import parse_config

    config = parse_config({"network": {"N": 32, "L": 4}, "data": {"scenario": "random", "alpha": 2.0},
                           "run": {"t_max": 100, "n_samples": 2}, "replicas": {"R": 3, "waiting_times": [0, 10]}})
    assert config_seconds(config) == mc_seconds(32, 4, config.n_patterns, 100, 2 * (1 + 3 * 2))
