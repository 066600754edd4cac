"""The simulation CLI: bad input exits 2 naming the field and writes nothing; runs are reproducible,
resumable and never clobber another run; info reports the final state."""
import json
import tomllib

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from deepglass import open_run
from deepglass.cli import app
from deepglass.experiments.config import example_config, parse_config

runner = CliRunner()

TINY_SETS = ["--set", "N=6", "--set", "L=3", "--set", "M_test=16", "--set", "per_decade=3",
             "--set", "waiting_times=[0, 3]"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_config(path, **sections):
    """A TOML config: the teacher-student example with sections updated."""
    cfg = example_config("teacher-student").to_dict()
    for name, values in sections.items():
        if isinstance(values, dict):
            cfg[name].update(values)
        else:
            cfg[name] = values
    import tomli_w
    path.write_text(tomli_w.dumps({k: v for k, v in _drop_none(cfg).items()}))
    return path


def _drop_none(d):
    return {k: _drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


# ---------------------------------------------------------------------- bad input: exit 2, nothing written

BAD_CONFIGS = [
    ({"network": {"N": 0}}, "network.N"),
    ({"network": {"N": 5, "c": 6}}, "network.c"),
    ({"network": {"L": 0}}, "network.L"),
    ({"data": {"alpha": 0.0}}, "data.alpha"),
    ({"data": {"scenario": "images"}}, "data.scenario"),
    ({"data": {"scenario": "hidden-manifold", "D": 99}}, "data.D"),
    ({"mc": {"acceptance": "metropolis"}}, "mc.beta"),
    ({"data": {"scenario": "random"}, "run": {"protocol": "planted"}}, "run.protocol"),
    ({"run": {"n_samples": 0}}, "run.n_samples"),
    ({"network": {"width": 3}}, "network.width"),
]


@pytest.mark.parametrize("sections, field", BAD_CONFIGS)
def test_bad_config_file_exits_2_and_writes_nothing(tmp_path, sections, field):
    cfg = write_config(tmp_path / "bad.toml", **sections)
    out = tmp_path / "run"
    result = invoke("simulate", cfg, "--out", out)
    assert result.exit_code == 2, result.output
    assert field in result.output and "invalid" in result.output
    assert not out.exists()


@pytest.mark.parametrize("flags, field", [
    (["--set", "N=0"], "network.N"),
    (["--set", "c=7", "--set", "N=6"], "network.c"),
    (["--alpha", "0"], "data.alpha"),
    (["--alpha", "-2"], "data.alpha"),
    (["--set", "scenario=mnist"], "data.scenario"),
    (["--set", "L=0"], "network.L"),
    (["--set", "acceptance=metropolis"], "mc.beta"),
    (["--set", "scenario=random"], "run.protocol"),  # the example is planted: random data have no teacher
    (["--set", "colour=red"], "colour"),
    (["--set", "N"], "KEY=VALUE"),
    (["--samples", "0"], "run.n_samples"),
    (["--t-max", "0"], "run.t_max"),
    (["--seed", "-1"], "seed"),
    (["--replicas", "-1"], "replicas.R"),
    (["--protocol", "annealing"], "run.protocol"),
    (["--set", "waiting_times=[0, 5000]", "--t-max", "10"], "replicas.waiting_times"),
    (["--set", "waiting_times=[0, 10]", "--t-max", "10"], "replicas.waiting_times"),  # t_w = t_max: no MC left
    (["--samples", "many"], "--samples"),  # typer's own type check, also exit 2
])
def test_bad_flags_exit_2_and_write_nothing(tmp_path, flags, field):
    cfg = write_config(tmp_path / "ok.toml")
    out = tmp_path / "run"
    result = invoke("simulate", cfg, "--out", out, *flags)
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert not out.exists()


def test_missing_and_malformed_config_files(tmp_path):
    out = tmp_path / "run"
    result = invoke("simulate", tmp_path / "nope.toml", "--out", out)
    assert result.exit_code == 2 and "config" in result.output and "not found" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nN = = 3\n")
    result = invoke("simulate", bad, "--out", out)
    assert result.exit_code == 2 and "valid TOML" in result.output
    assert not out.exists()


def test_out_that_is_a_file_or_unrelated_directory(tmp_path):
    cfg = write_config(tmp_path / "ok.toml")
    result = invoke("simulate", cfg, "--out", cfg)
    assert result.exit_code == 2 and "not a directory" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    result = invoke("simulate", cfg, "--out", other)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert [p.name for p in other.iterdir()] == ["thesis.tex"]


# ---------------------------------------------------------------------- config example

@pytest.mark.parametrize("scenario", ["random", "teacher-student", "hidden-manifold"])
def test_config_example_is_complete_and_valid(scenario):
    result = invoke("config", "example", "--scenario", scenario)
    assert result.exit_code == 0
    cfg = parse_config(tomllib.loads(result.output))
    assert cfg == example_config(scenario)
    for section in ("[network]", "[data]", "[mc]", "[run]", "[replicas]"):
        assert section in result.output


def test_config_example_rejects_unknown_scenario():
    result = invoke("config", "example", "--scenario", "images")
    assert result.exit_code == 2 and "scenario" in result.output


# ---------------------------------------------------------------------- real runs (tiny)

def test_same_config_and_seed_give_identical_numbers(tmp_path):
    cfg = write_config(tmp_path / "ts.toml")
    for name in ("a", "b"):
        result = invoke("simulate", cfg, "--out", tmp_path / name, "--t-max", 12, "--seed", 5, "--samples", 2,
                        "-q", *TINY_SETS)
        assert result.exit_code == 0, result.output
    a, b = open_run(tmp_path / "a"), open_run(tmp_path / "b")
    xr.testing.assert_identical(a, b)
    assert a.attrs["seed"] == 5 and "teacher_q" in a and "q_replica" in a
    result = invoke("simulate", cfg, "--out", tmp_path / "c", "--t-max", 12, "--seed", 6, "--samples", 2,
                    "-q", *TINY_SETS)
    assert result.exit_code == 0
    c = open_run(tmp_path / "c")
    assert not np.array_equal(a["teacher_Q"].values, c["teacher_Q"].values)


def test_seed_is_drawn_recorded_and_reused(tmp_path):
    cfg = write_config(tmp_path / "ts.toml", seed=None)
    assert "seed" not in tomllib.loads(cfg.read_text())
    out = tmp_path / "run"
    result = invoke("simulate", cfg, "--out", out, "--t-max", 5, "--samples", 1, "-q", *TINY_SETS)
    assert result.exit_code == 0, result.output
    run = open_run(out)
    seed = run.attrs["seed"]
    assert json.loads(run.attrs["config_json"])["seed"] == seed
    assert f"seed = {seed}" in run.attrs["config_toml"]
    before = (out / "run.nc").read_bytes()
    again = invoke("simulate", cfg, "--out", out, "--t-max", 5, "--samples", 1, "-q", *TINY_SETS)
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert (out / "run.nc").read_bytes() == before


def test_completed_run_different_config_and_overwrite(tmp_path):
    cfg = write_config(tmp_path / "ts.toml")
    out = tmp_path / "run"
    args = ["simulate", cfg, "--out", out, "--t-max", 6, "--samples", 1, "-q", *TINY_SETS]
    assert invoke(*args).exit_code == 0
    before = (out / "run.nc").read_bytes()
    same = invoke(*args)
    assert same.exit_code == 0 and "nothing to do" in same.output
    different = invoke(*args, "--set", "alpha=2")
    assert different.exit_code == 2
    assert "different run" in different.output and "data.alpha" in different.output
    assert (out / "run.nc").read_bytes() == before
    replaced = invoke(*args, "--set", "alpha=2", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(open_run(out).attrs["config_json"])["data"]["alpha"] == 2.0


def test_corrupt_result_file_exits_2(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.nc").write_bytes(b"not netcdf at all")
    for args in (["info", out], ["info", out, "--format", "json"], ["plot", out],
                 ["simulate", write_config(tmp_path / "ts.toml"), "--out", out]):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert "not a readable deepglass result file" in result.output
    assert (out / "run.nc").read_bytes() == b"not netcdf at all"
    assert invoke("info", tmp_path / "missing").exit_code == 2


def test_info_json_reports_final_sample_averages(tmp_path):
    cfg = write_config(tmp_path / "ts.toml")
    out = tmp_path / "run"
    assert invoke("simulate", cfg, "--out", out, "--t-max", 8, "--samples", 2, "-q", *TINY_SETS).exit_code == 0
    result = invoke("info", out, "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.output)
    final, run = summary["final"], open_run(out)
    last = run.isel(time=-1)
    assert summary["config"]["network"]["N"] == 6 and final["layers"] == [1, 2, 3]
    assert final["time"] == 8 == int(run["time"][-1])
    assert final["energy"] == pytest.approx(float(last["energy"].mean()))
    assert final["violations"] == int(last["violations"].sum())
    for key, var in (("generalization_overlap", "test_overlap"), ("teacher_overlap_q", "teacher_q"),
                     ("teacher_overlap_Q", "teacher_Q"), ("teacher_overlap_q_gauge", "teacher_q_gauge"),
                     ("teacher_overlap_Q_gauge", "teacher_Q_gauge"), ("teacher_overlap_q2", "teacher_q2")):
        assert len(final[key]) == 3
        np.testing.assert_allclose(final[key], last[var].sel(layer=[1, 2, 3]).mean("sample").values)
    assert final["generalization_error"] == pytest.approx((1 - final["generalization_overlap"][-1]) / 2)
    # gauge fixing maximises sum_j |C_pi(j) j| >= sum_j C_jj: never below the plain overlap (every sample, time)
    assert np.all(run["teacher_q_gauge"].values >= run["teacher_q"].values - 1e-12)
    table = invoke("info", out)
    assert table.exit_code == 0 and "teacher q_l" in table.output and "seed" in table.output
    assert "gauge-fixed teacher Q_l" in table.output
    assert invoke("info", out, "--format", "yaml").exit_code == 2


def test_info_on_random_data_has_null_teacher_quantities(tmp_path):
    cfg = write_config(tmp_path / "r.toml", data={"scenario": "random"}, run={"protocol": "learning"},
                       replicas={"R": 0})
    out = tmp_path / "run"
    result = invoke("simulate", cfg, "--out", out, "--t-max", 4, "--samples", 1, "-q", *TINY_SETS)
    assert result.exit_code == 0, result.output
    final = json.loads(invoke("info", out, "--format", "json").output)["final"]
    assert final["generalization_overlap"] is None and final["teacher_overlap_q"] is None
    assert final["teacher_overlap_Q"] is None and final["replica_overlap_q"] is None
    assert isinstance(final["violations"], int) and final["violations"] >= 0


def test_planted_greedy_run_stays_solved(tmp_path):
    """MODEL.md section 6: a planted start stays at E = 0 under greedy MC (checked through the whole stack)."""
    cfg = write_config(tmp_path / "ts.toml")
    out = tmp_path / "run"
    assert invoke("simulate", cfg, "--out", out, "--t-max", 10, "--samples", 2, "-q", *TINY_SETS).exit_code == 0
    run = open_run(out)
    assert float(run["energy"].max()) == 0.0 and int(run["violations"].max()) == 0
    # the output layer is fixed by the data, so host and teacher agree there exactly
    np.testing.assert_allclose(run["teacher_q"].sel(layer=3).values, 1.0)


def test_demo_writes_results_and_figures(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "--t-max", 3, "-q")
    assert result.exit_code == 0, result.output
    run = open_run(out)
    cfg = json.loads(run.attrs["config_json"])
    assert (cfg["network"]["N"], cfg["network"]["L"], cfg["data"]["alpha"], cfg["run"]["n_samples"],
            cfg["replicas"]["R"], cfg["run"]["protocol"], cfg["mc"]["sampler"]) == (10, 2, 2.0, 8, 2, "planted",
                                                                                  "design-space")
    assert cfg["mc"]["proposal"] == "billiard"
    # part 1, Gibbs learning: three widths with their verdicts, the N -> inf fits beside the theory, the figures
    assert "Gibbs learning (L = 1, alpha = 2)" in result.output and "N = 40" in result.output
    assert "student-teacher overlap Q: MC" in result.output and "generalization error eps_g: N = inf" in result.output
    assert "chi2/dof" in result.output                                 # the fit quality beside the fit
    for name in ("compare_profiles.png", "compare_extrapolation.png"):
        assert (out / "gibbs_learning" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "equilibrium (Nishimori identity per layer)" in result.output and "NOT" in result.output  # 3 steps
    assert "theory N -> inf" in result.output
    for name in ("replica_overlap_tw0.png", "teacher_overlap_profile.png", "energy.png", "demo_profile_vs_theory.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = invoke("demo", "--out", out, "--t-max", 3, "-q")
    assert again.exit_code == 0 and "already holds the completed demo" in again.output


@pytest.mark.parametrize("scenario, extra", [
    ("random", ["--set", "stop_when_solved=true"]),
    ("teacher-student", ["--set", "acceptance=metropolis", "--set", "beta=5", "--protocol", "learning"]),
    ("hidden-manifold", ["--set", "D=2", "--set", "potential=hinge"]),
])
def test_every_example_config_runs(tmp_path, scenario, extra):
    cfg = tmp_path / "ex.toml"
    cfg.write_text(invoke("config", "example", "--scenario", scenario).output)
    out = tmp_path / "run"
    result = invoke("simulate", cfg, "--out", out, "--t-max", 6, "--samples", 2, "-q", *TINY_SETS, *extra)
    assert result.exit_code == 0, result.output
    run = open_run(out)
    assert run.attrs["status"] == "complete" and run.attrs["scenario"] == scenario
    final = json.loads(invoke("info", out, "--format", "json").output)["final"]
    has_teacher = scenario != "random"
    assert (final["generalization_overlap"] is not None) == has_teacher
    assert (final["teacher_overlap_Q"] is not None) == has_teacher
    if scenario == "random":  # stop_when_solved: the run ends at the first measurement with no violated gap
        solved = (run["violations"].sum("sample") == 0).values
        assert not solved[:-1].any()
        assert solved[-1] or final["time"] == 6
