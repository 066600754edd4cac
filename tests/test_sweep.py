"""Parameter sweeps: expansion, hashing, bad sweep files, caching and resume (kill -9), corrupt files,
a LocalCluster sweep, and open_sweep against the individual runs."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import deepglass
from deepglass.cli import app
from deepglass.errors import ConfigError
from deepglass.experiments import open_run
from deepglass.experiments.config import apply_overrides
from deepglass.experiments.sweep import cache_version, parse_sweep, parse_sweep_text
from deepglass.experiments.sweep_run import Job, make_batches, run_sweep
from deepglass.experiments.sweep_store import point_dir
from deepglass.theory import ChainProblem, solve

BASE = """
[base.network]
N = 8
L = 3
[base.data]
scenario = "teacher-student"
M_test = 32
[base.run]
protocol = "learning"
t_max = 20
per_decade = 3
n_samples = 2
[base.replicas]
R = 2
waiting_times = [0]
[base.mc]
backend = "numpy"
"""  # numpy: tiny runs in fresh processes (subprocess, Dask workers) would spend seconds on numba's JIT


def sweep_text(head: str, sweep: str, base: str = BASE) -> str:
    return f"{head}\n[sweep]\n{sweep}\n{base}"


TINY = sweep_text('seeds = [1, 2]\ntheory = true', '"data.alpha" = [0.5, 1.0]\n"network.L" = [2, 3]')


def write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def quiet_log(messages):
    return messages.append


# ---------------------------------------------------------------------- expansion

def test_lists_cross_with_seeds_innermost_and_match_apply_overrides():
    sweep = parse_sweep_text(sweep_text("seeds = [3, 5]", '"network.N" = [8, 12]\nalpha = [0.5, 1.0, 2.0]'))
    assert sweep.keys == ["network.N", "data.alpha"]
    assert len(sweep.points) == 2 * 3 * 2
    expected = [(N, a, s) for N in (8, 12) for a in (0.5, 1.0, 2.0) for s in (3, 5)]
    got = [(p.overrides["network.N"], p.overrides["data.alpha"], p.seed) for p in sweep.points]
    assert got == expected
    for p in sweep.points:
        assert p.config == apply_overrides(sweep.base, {**p.overrides, "seed": p.seed})
        assert p.config.network.L == 3 and p.config.run.t_max == 20  # the rest comes from [base]


def test_ranges_linear_log_and_integer_fields():
    sweep = parse_sweep_text(sweep_text("seeds = [1]", '"data.alpha" = {start = 0.5, stop = 2.0, num = 4}\n'
                                        '"network.N" = {start = 8, stop = 64, num = 4, log = true}\n'
                                        '"run.t_max" = {start = 10, stop = 40, num = 4}\n'
                                        '"network.kappa" = {start = 0.01, stop = 1.0, num = 3, log = true}'))
    assert sweep.axes["data.alpha"] == [0.5, 1.0, 1.5, 2.0]
    assert sweep.axes["network.N"] == [8, 16, 32, 64]
    assert all(type(v) is int for v in sweep.axes["network.N"] + sweep.axes["run.t_max"])
    assert sweep.axes["run.t_max"] == [10, 20, 30, 40]
    assert sweep.axes["network.kappa"] == [0.01, 0.1, 1.0]
    assert len(sweep.points) == 4 * 4 * 4 * 3


def test_seed_table_zip_nested_tables_and_leaf_names():
    text = ('seeds = {count = 3, first = 5}\nzip = [["alpha", "run.t_max"]]\n[sweep]\nalpha = [0.5, 1.0]\n'
            '"run.t_max" = [20, 40]\n[sweep.network]\nL = [2, 3]\n' + BASE)
    sweep = parse_sweep_text(text)
    assert sweep.seeds == [5, 6, 7]
    assert sweep.keys == ["data.alpha", "run.t_max", "network.L"]
    combos = {(p.overrides["data.alpha"], p.overrides["run.t_max"], p.overrides["network.L"]) for p in sweep.points}
    assert combos == {(0.5, 20, 2), (0.5, 20, 3), (1.0, 40, 2), (1.0, 40, 3)}  # zipped pairs, crossed with L
    assert len(sweep.points) == 4 * 3


def test_hash_is_sha256_of_canonical_config_and_stable_across_spellings():
    a = parse_sweep_text(sweep_text("seeds = [1]", '"data.alpha" = [1, 2]'))
    b = parse_sweep_text(sweep_text("seeds = [1]", "[sweep.data]\nalpha = [1.0, 2.0]").replace("[sweep]\n", "", 1))
    assert [p.hash for p in a.points] == [p.hash for p in b.points]
    p = a.points[0]
    canonical = json.dumps({"format": "deepglass-sweep-point-1", "version": cache_version(),
                            "config": p.config.model_dump(mode="json")}, sort_keys=True, separators=(",", ":"))
    assert p.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_hashes_distinct_per_point_and_sensitive_to_every_setting():
    sweep = parse_sweep_text(sweep_text("seeds = [1, 2, 3]", '"data.alpha" = [0.5, 1.0]\nL = [2, 3]'))
    hashes = [p.hash for p in sweep.points]
    assert len(set(hashes)) == len(hashes) == 12
    changed = parse_sweep_text(sweep_text("seeds = [1, 2, 3]", '"data.alpha" = [0.5, 1.0]\nL = [2, 3]',
                                          BASE.replace("t_max = 20", "t_max = 21")))
    assert not set(hashes) & {p.hash for p in changed.points}


def test_batches_cover_every_job_once_and_reach_the_target_size():
    jobs = [Job("run", f"h{i}", {}, seconds=s) for i, s in enumerate([0.1] * 30 + [5.0, 3.0])]
    batches = make_batches(jobs, n_workers=2, min_task_seconds=1.0)
    flat = sorted(j.hash for b in batches for j in b)
    assert flat == sorted(j.hash for j in jobs)
    costs = [sum(j.seconds for j in b) for b in batches]
    assert all(c >= 1.0 - 1e-9 for c in costs[:-1])  # only the last batch may be short
    assert len(batches) >= 3  # not one giant task: both workers get work


# ---------------------------------------------------------------------- bad sweep files

BAD_SWEEPS = [
    (sweep_text("seeds = [1]", '"network.width" = [1, 2]'), "sweep.network.width"),
    (sweep_text("seeds = [1]", '"data.alpha" = []'), "sweep.data.alpha"),
    (sweep_text("seeds = [1]", '"data.alpha" = [0.5, -1.0]'), "sweep.data.alpha"),
    (sweep_text("seeds = [1]", '"network.N" = [8, 8.5]'), "sweep.network.N"),
    (sweep_text("seeds = [1]", '"network.N" = ["eight"]'), "sweep.network.N"),
    (sweep_text("seeds = [1]", '"data.alpha" = 0.5'), "sweep.data.alpha"),
    (sweep_text("seeds = [1]", '"data.alpha" = {start = 0.5, stop = 2.0}'), "sweep.data.alpha"),
    (sweep_text("seeds = [1]", '"data.alpha" = {start = 0.5, stop = 2.0, num = 1}'), "sweep.data.alpha.num"),
    (sweep_text("seeds = [1]", '"data.alpha" = {start = 0.0, stop = 2.0, num = 3, log = true}'),
     "sweep.data.alpha"),
    (sweep_text("seeds = [1]", '"network.N" = {start = 8, stop = 9, num = 5}'), "sweep.network.N"),
    (sweep_text("seeds = [1]", '"data.scenario" = {start = 1, stop = 2, num = 2}'), "sweep.data.scenario"),
    (sweep_text("seeds = [1]", '"data.alpha" = [0.5, 0.5]'), "sweep.data.alpha"),
    (sweep_text("seeds = [1]", 'seed = [1, 2]'), "sweep.seed"),
    (sweep_text("", '"data.alpha" = [0.5]'), "seeds"),
    (sweep_text("seeds = [1, 1]", '"data.alpha" = [0.5]'), "seeds"),
    (sweep_text("seeds = {count = 0}", '"data.alpha" = [0.5]'), "seeds"),
    (sweep_text('seeds = [1]\nzip = [["alpha", "L"]]', 'alpha = [0.5, 1.0]\nL = [2, 3, 4]'), "zip"),
    (sweep_text('seeds = [1]\ntheory = "yes"', 'alpha = [0.5]'), "theory"),
    (sweep_text('seeds = [1]\ntheory = true', 'alpha = [0.5]\n"network.kappa" = [0.0, 0.5]'), "theory"),
    (sweep_text('seeds = [1]\nsweeps = 2', 'alpha = [0.5]'), "sweeps"),
    (sweep_text("seeds = [1]", 'alpha = [0.5]', BASE.replace("N = 8", "N = 0")), "base.network.N"),
    (sweep_text("seeds = [1]", '"network.c" = [4, 12]'), "network.c (sweep point network.c=12)"),
    (sweep_text("seeds = [1]", '"network.c" = [4, 0]'), "sweep.network.c"),
    (sweep_text("seeds = [1]", '"network.N" = [16, 8]\n"network.c" = [4, 10]', BASE.replace("N = 8", "N = 16")),
     "network.c (sweep point network.N=8 network.c=10)"),
    ("seeds = [1]\n" + BASE, "sweep"),
]


@pytest.mark.parametrize("text, field", BAD_SWEEPS)
def test_bad_sweep_raises_config_error_naming_the_field(text, field):
    with pytest.raises(ConfigError) as info:
        parse_sweep_text(text)
    assert info.value.field == field
    assert info.value.allowed  # says what is allowed


@pytest.mark.parametrize("text, field", [BAD_SWEEPS[0], BAD_SWEEPS[7], BAD_SWEEPS[13], ("seeds = [1\n", "sweep file")])
def test_cli_bad_sweep_exits_2_and_writes_nothing(tmp_path, text, field):
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, text)), "--out", str(store), "--serial"])
    assert result.exit_code == 2
    assert f"invalid {field} =" in result.output
    assert not store.exists()


@pytest.mark.parametrize("options, field", [(["--serial", "--workers", "2"], "--serial"),
                                            (["--workers", "0"], "--workers"),
                                            (["--scheduler", "tcp://x:1", "--workers", "2"], "--workers")])
def test_cli_conflicting_options_exit_2_and_write_nothing(tmp_path, options, field):
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, TINY)), "--out", str(store), *options])
    assert result.exit_code == 2 and f"invalid {field} =" in result.output
    assert not store.exists()


def test_cli_refuses_a_store_that_holds_something_else(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, TINY)), "--out", str(store), "--serial"])
    assert result.exit_code == 2 and "holds no sweep" in result.output
    assert sorted(p.name for p in store.iterdir()) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, TINY)), "--out", str(tmp_path / "file")])
    assert result.exit_code == 2 and "not a directory" in result.output


def test_example_sweep_is_valid():
    result = CliRunner().invoke(app, ["sweep", "--example"])
    assert result.exit_code == 0
    sweep = parse_sweep_text(result.output)
    assert len(sweep.points) == 3 * 2 * 2 and sweep.theory
    example = Path(__file__).parents[1] / "examples" / "sweep_small.toml"
    assert parse_sweep_text(example.read_text()).keys == sweep.keys


# ---------------------------------------------------------------------- caching, corrupt files, open_sweep

def done_state(store):
    return {p.parent.name: (p.stat().st_mtime_ns, p.read_text(), (p.parent / "run.nc").stat().st_mtime_ns)
            for p in sorted(Path(store).glob("points/*/DONE.json"))}


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    messages = []
    report = run_sweep(parse_sweep_text(TINY), tmp / "store", serial=True, log=messages.append)
    return tmp / "store", report, messages


def test_serial_sweep_computes_every_point(serial_store):
    store, report, messages = serial_store
    assert report.ok and messages == []
    assert (report.total, report.cached, report.computed) == (8, 0, 8)
    assert (report.theory_total, report.theory_computed) == (4, 4)  # one solve per (L, alpha), not per seed
    manifest = json.loads((store / "manifest.json").read_text())
    assert {p["status"] for p in manifest["points"]} == {"complete"}
    assert (store / "sweep.toml").read_text() == TINY


def test_rerun_of_a_finished_sweep_does_nothing(serial_store, tmp_path):
    store, _, _ = serial_store
    before = done_state(store)
    messages = []
    report = run_sweep(parse_sweep_text(TINY), store, serial=True, log=messages.append)
    assert (report.cached, report.computed, report.theory_cached, report.theory_computed) == (8, 0, 4, 0)
    assert report.batches == 0 and messages == []
    assert done_state(store) == before  # no file rewritten


def test_open_sweep_matches_each_run_and_the_theory(serial_store):
    store, _, _ = serial_store
    ds = deepglass.open_sweep(store)
    sweep = parse_sweep_text(TINY)
    assert ds.sizes["point"] == 8 and ds.attrs["n_skipped"] == 0
    assert list(ds["alpha"].values) == [p.overrides["data.alpha"] for p in sweep.points]
    assert list(ds["L"].values) == [p.overrides["network.L"] for p in sweep.points]
    assert list(ds["seed"].values) == [p.seed for p in sweep.points]
    theories = {}
    for i, p in enumerate(sweep.points):
        run = open_run(point_dir(store, p.hash)).isel(time=-1)
        one = ds.isel(point=i)
        L = p.config.network.L
        np.testing.assert_array_equal(one["energy"].values, run["energy"].values)
        np.testing.assert_array_equal(one["teacher_q"].sel(layer=slice(0, L)).values, run["teacher_q"].values)
        np.testing.assert_array_equal(one["q_replica"].sel(layer=slice(0, L)).values,
                                      run["q_replica"].mean("pair").values)
        assert np.isnan(one["teacher_q"].sel(layer=slice(L + 1, None)).values).all()  # padded, not invented
        np.testing.assert_array_equal(one["generalization_overlap"].values, run["test_overlap"].sel(layer=L).values)
        key = (L, p.overrides["data.alpha"])
        if key not in theories:
            theories[key] = solve(ChainProblem("teacher-student", *key))
        np.testing.assert_allclose(one["theory_q"].sel(layer=slice(0, L)).values, theories[key]["q"].values,
                                   atol=1e-12)
        np.testing.assert_allclose(one["theory_Q"].sel(layer=slice(1, L)).values,
                                   theories[key]["Q"].values[1:], atol=1e-12)
        assert one["theory_eps_g"].item() == pytest.approx(theories[key].attrs["eps_g"], abs=1e-12)
    grid = deepglass.open_sweep(store, grid=True)
    assert dict(grid["energy"].sizes) == {"alpha": 2, "L": 2, "seed": 2, "sample": 2}
    assert float(grid["energy"].sel(alpha=1.0, L=3, seed=2, sample=1)) == float(
        ds["energy"].isel(point=7, sample=1))


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_point_is_reported_skipped_by_open_sweep_and_recomputed_alone(serial_store, tmp_path):
    store, _, _ = serial_store
    sweep = parse_sweep_text(TINY)
    victim, other = sweep.points[5], sweep.points[2]
    victim_file = point_dir(store, victim.hash) / "run.nc"
    original = open_run(victim_file)
    before = done_state(store)
    corrupt(victim_file)
    with pytest.warns(UserWarning, match="1 of 8 points"):
        ds = deepglass.open_sweep(store)
    assert ds.attrs["n_skipped"] == 1 and victim.hash[:16] not in list(ds["point_hash"].values)
    (point_dir(store, other.hash) / "run.nc").write_bytes(b"")  # truncated to nothing
    messages = []
    report = run_sweep(sweep, store, serial=True, log=messages.append)
    assert (report.cached, report.computed, len(report.recomputed)) == (6, 2, 2)
    assert any(victim.short in m and "sha256" in m for m in messages)
    assert any(other.short in m and "sha256" in m for m in messages)
    after = done_state(store)
    untouched = {k: v for k, v in before.items() if k not in (victim.short, other.short)}
    assert untouched == {k: after[k] for k in untouched}
    xr.testing.assert_identical(open_run(victim_file), original)  # same seed -> bit-identical recomputation


def test_damaged_partial_run_and_damaged_done_record_are_recomputed(tmp_path):
    text = sweep_text("seeds = [4]", '"data.alpha" = [0.5, 1.0]')
    store = tmp_path / "store"
    run_sweep(parse_sweep_text(text), store, serial=True, log=lambda m: None)
    a, b = parse_sweep_text(text).points
    reference = open_run(point_dir(store, a.hash))
    (point_dir(store, a.hash) / "DONE.json").unlink()  # as if killed mid-run: no record ...
    (point_dir(store, a.hash) / "run.nc").write_bytes(b"\x89HDF garbage")  # ... and a damaged partial file
    (point_dir(store, b.hash) / "DONE.json").write_text("{not json")
    messages = []
    report = run_sweep(parse_sweep_text(text), store, serial=True, log=messages.append)
    assert report.ok and (report.cached, report.computed) == (0, 2)
    assert any(a.short in m and "partial run unusable" in m for m in messages)
    assert any(b.short in m and "unreadable" in m for m in messages)
    xr.testing.assert_identical(open_run(point_dir(store, a.hash)), reference)


# ---------------------------------------------------------------------- kill -9 and resume; LocalCluster

KILL_SWEEP = sweep_text("seeds = [1, 2, 3]", '"data.alpha" = [1.0]',
                        BASE.replace("t_max = 20", "t_max = 150\ncheckpoint_every = 50")
                        .replace("per_decade = 3", "per_decade = 5"))


def saved_time(point_folder: Path) -> int:
    """MC steps saved in a point's run.nc (0 if none yet); the file is replaced atomically, so always whole."""
    import h5py

    try:
        with h5py.File(point_folder / "run.nc", "r") as fh:
            return int(np.ravel(fh.attrs["t_done"])[0])
    except (OSError, KeyError):
        return 0


def test_kill_during_a_sweep_then_rerun_computes_only_the_missing_points(tmp_path):
    path = write(tmp_path, KILL_SWEEP)
    store = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "deepglass.cli", "sweep", str(path), "--out", str(store),
                             "--serial", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def partial_points():  # started, checkpointed, not finished
        return [d.name for d in store.glob("points/*") if not (d / "DONE.json").exists() and saved_time(d) > 0]

    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if list(store.glob("points/*/DONE.json")) and partial_points():
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    finished, partial = done_state(store), partial_points()
    assert 1 <= len(finished) < 3 and len(partial) == 1  # killed mid-sweep, inside a point
    sweep = parse_sweep_text(KILL_SWEEP)
    report = run_sweep(sweep, store, serial=True, log=lambda m: None)
    assert report.ok and report.cached == len(finished) and report.computed == 3 - len(finished)
    after = done_state(store)
    assert len(after) == 3 and {k: after[k] for k in finished} == finished  # finished points not recomputed
    # the points computed after the kill (one resumed from its checkpoint) equal uninterrupted runs
    rest = [p for p in sweep.points if p.short not in finished]
    assert partial[0] in {p.short for p in rest}
    reference = tmp_path / "reference"
    run_sweep(_only(sweep, rest), reference, serial=True, log=lambda m: None)
    for p in rest:
        xr.testing.assert_identical(open_run(point_dir(store, p.hash)), open_run(point_dir(reference, p.hash)))


def _only(sweep, points):
    """The same sweep restricted to some of its points (their hashes are unchanged)."""
    import dataclasses

    return dataclasses.replace(sweep, points=list(points))


def test_local_cluster_sweep_equals_the_serial_one(serial_store, tmp_path):
    store, _, _ = serial_store
    text = TINY.replace("seeds = [1, 2]", "seeds = [2]").replace("[0.5, 1.0]", "[1.0]")  # 2 of the serial points
    messages = []
    report = run_sweep(parse_sweep_text(text), tmp_path / "cluster", workers=2, log=messages.append,
                       min_task_seconds=0.0)
    assert report.ok and messages == [] and report.n_workers == 2
    assert (report.computed, report.theory_computed, report.batches) == (2, 2, 4)
    for p in parse_sweep_text(text).points:
        xr.testing.assert_identical(open_run(point_dir(tmp_path / "cluster", p.hash)), open_run(point_dir(store, p.hash)))


def test_existing_cluster_by_address_equals_the_serial_sweep(serial_store, tmp_path):
    from distributed import LocalCluster

    store, _, _ = serial_store
    text = TINY.replace("seeds = [1, 2]", "seeds = [1]").replace("[0.5, 1.0]", "[0.5]").replace("[2, 3]", "[2]")
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        report = run_sweep(parse_sweep_text(text), tmp_path / "remote", scheduler=cluster.scheduler_address,
                           log=quiet_log([]))
    assert report.ok and (report.computed, report.theory_computed) == (1, 1)
    (p,) = parse_sweep_text(text).points
    xr.testing.assert_identical(open_run(point_dir(tmp_path / "remote", p.hash)), open_run(point_dir(store, p.hash)))


def test_cli_rerun_of_a_finished_store_reports_everything_cached(serial_store, tmp_path):
    store, _, _ = serial_store
    before = done_state(store)
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, TINY)), "--out", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "points: 8 total, 8 cached, 0 computed" in result.output
    assert done_state(store) == before


def test_dict_sweep_with_mixed_scenarios_and_replicas_pads_missing_observables_with_nan(tmp_path):
    data = {"seeds": [3], "sweep": {"data.scenario": ["random", "teacher-student"], "replicas.R": [0, 2]},
            "base": {"network": {"N": 6, "L": 2}, "data": {"M_test": 16}, "run": {"t_max": 5, "n_samples": 1},
                     "mc": {"backend": "numpy"}}}
    report = run_sweep(data, tmp_path / "store", serial=True, log=quiet_log([]))
    assert report.ok and report.computed == 4
    recorded = parse_sweep_text((tmp_path / "store" / "sweep.toml").read_text())  # an equivalent sweep file
    assert [p.hash for p in recorded.points] == [p.hash for p in parse_sweep(data).points]
    ds = deepglass.open_sweep(tmp_path / "store")
    for i, p in enumerate(parse_sweep(data).points):
        run = open_run(point_dir(tmp_path / "store", p.hash)).isel(time=-1)
        one = ds.isel(point=i)
        assert (one["scenario"].item(), one["R"].item()) == (p.overrides["data.scenario"], p.overrides["replicas.R"])
        if "teacher_q" in run:
            np.testing.assert_array_equal(one["teacher_q"].values, run["teacher_q"].values)
        else:
            assert np.isnan(one["teacher_q"].values).all()
        if "q_replica" in run:
            np.testing.assert_array_equal(one["q_replica"].values, run["q_replica"].mean("pair").values)
        else:
            assert np.isnan(one["q_replica"].values).all()
    assert {("random" in str(v)) for v in ds["scenario"].values} == {True, False}


def test_values_are_checked_per_field_and_combinations_per_point():
    # planted is invalid with the base's random data but fine with the swept hidden-manifold data (the only
    # scenario data.D belongs to)
    text = sweep_text("seeds = [1]", '"data.scenario" = ["hidden-manifold"]\n'
                      '"run.protocol" = ["planted"]\n"data.D" = [4]', BASE.replace('"teacher-student"', '"random"'))
    sweep = parse_sweep_text(text)
    assert [p.config.run.protocol for p in sweep.points] == ["planted"]
    assert sweep.points[0].overrides["data.D"] == 4
    bad = text.replace('["hidden-manifold"]', '["random", "hidden-manifold"]')
    with pytest.raises(ConfigError) as info:
        parse_sweep_text(bad)
    assert info.value.field.startswith("run.protocol (sweep point data.scenario='random'")
    ints = parse_sweep_text(sweep_text("seeds = [1]", '"data.alpha" = [1, 2]'))
    assert [type(v) for v in ints.axes["data.alpha"]] == [float, float]  # as the config holds them
