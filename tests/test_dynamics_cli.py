"""`deepglass dynamics`: table, JSON, NetCDF and figures of a stored run; bad input is one line and exit 2."""
from __future__ import annotations

import json

import pytest
import xarray as xr
from typer.testing import CliRunner

from deepglass.cli import app
from deepglass.experiments.store import write_run
from test_dynamics import _fake_run

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["dynamics", *[str(a) for a in args]])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    run = _fake_run([5.0, 50.0, 8.0], [4.0, 25.0, 30.0, 3.0], [0.5, 0.0, 0.0, 0.3], tw=10)
    cfg = json.loads(run.attrs["config_json"]) | {"seed": 1}
    write_run(folder, run.assign_attrs(config_json=json.dumps(cfg), status="complete"))
    return folder


def test_table_json_and_netcdf(run_dir, tmp_path):
    table = invoke(run_dir)
    assert table.exit_code == 0, table.output
    assert "t_w = 10" in table.output and "learning: 0% of samples solved" in table.output
    data = json.loads(invoke(run_dir, "--format", "json").stdout)
    data = data["run"]
    entry = next(e for e in data["relaxation"] if e["kind"] == "weights" and e["layer"] == 2)
    assert entry["tau"]["kind"] == "measured" and entry["tau"]["value"] == pytest.approx(25.0, rel=0.02)
    assert data["learning"]["fraction_solved"] == 0 and data["learning"]["t_solution_median"]["kind"] == "lower bound"
    out = tmp_path / "figs"
    result = invoke(run_dir, "--format", "netcdf", "--out", out)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "dynamics.nc", engine="h5netcdf") as ds:
        assert float(ds["tau"].sel(tw=10, kind="neurons", layer=2)) == pytest.approx(50.0, rel=0.02)
    assert {"tau_vs_layer.png", "decay_curves_tw10.png", "overlap_heatmaps_tw10.png", "violations.png"} <= {
        p.name for p in out.iterdir()}


def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path):
    no_replicas = tmp_path / "plain"
    run = xr.open_dataset(run_dir / "run.nc", engine="h5netcdf").load().drop_vars(["q_replica", "Q_replica"])
    write_run(no_replicas, run)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "run.nc").write_text("not netcdf")
    cases = [((tmp_path / "missing",), "does not exist"), ((garbage,), "not a readable deepglass result file"),
             ((no_replicas,), "no replica overlaps"), ((run_dir, "--format", "csv"), "--format"),
             ((run_dir, "--format", "netcdf"), "--out")]
    for args, words in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory):
    """A hand-made sweep store: two finished points (N = 10, 20; tau doubling with N) and one unfinished."""
    from deepglass.experiments.sweep_store import (MANIFEST, MANIFEST_FORMAT, mark_point_done, point_dir,
                                                   write_json_atomic)

    store = tmp_path_factory.mktemp("store")
    points = []
    for k, (N, tau) in enumerate(((10, 5.0), (20, 10.0))):
        digest = str(k + 1) * 64  # point directories are named by the first 16 characters
        run = _fake_run([tau, 2 * tau, tau], [tau, 2 * tau, 2 * tau, tau], [0.0] * 4, tw=10)
        cfg = json.loads(run.attrs["config_json"])
        cfg["network"]["N"], cfg["seed"] = N, 1
        write_run(point_dir(store, digest), run.assign_attrs(config_json=json.dumps(cfg), status="complete"))
        mark_point_done(store, digest, 1.0)
        points.append({"hash": digest, "dir": f"points/{digest[:16]}", "overrides": {"network.N": N}, "seed": 1})
    points.append({"hash": "f" * 64, "dir": "points/ffff", "overrides": {"network.N": 40}, "seed": 1})  # unfinished
    write_json_atomic(store / MANIFEST, {"format": MANIFEST_FORMAT, "keys": ["network.N"], "points": points})
    return store


def test_a_sweep_store_gives_one_point_per_finished_run(sweep_store):
    result = invoke(sweep_store, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n_skipped"] == 1 and [p["N"] for p in data["points"]] == [10, 20]
    taus = [next(e["tau"]["value"] for e in p["relaxation"] if e["kind"] == "neurons" and e["layer"] == 2)
            for p in data["points"]]
    assert taus == [pytest.approx(10.0, rel=0.02), pytest.approx(20.0, rel=0.02)]


@pytest.mark.slow
def test_a_sweep_store_draws_tau_against_layer_and_against_N(sweep_store, tmp_path):
    result = invoke(sweep_store, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tau_vs_N_L4_alpha1_tw10.png").is_file() and (tmp_path / "tau_vs_layer_tw10.png").is_file()
