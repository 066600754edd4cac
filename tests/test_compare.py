"""Theory vs simulation (deepglass.experiments.compare, plots.compare, `deepglass compare`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from deepglass.cli import app
from deepglass.errors import ConfigError
from deepglass.experiments.compare import CompareConfig, fit_inverse_n, open_compare, run_compare
from deepglass.plots.compare import plot_compare
from deepglass.theory import fresh_input_overlaps

TINY = dict(scenario="teacher-student", L=3, alpha=2.0, N_values=[8, 12, 16], n_samples=2, t_max=30, M_test=100,
            seed=5, backend="numpy")  # numpy: no JIT compile for these tiny runs


# ---------------------------------------------------------------------- config validation

@pytest.mark.parametrize("field, value", [
    ("scenario", "hidden-manifold"), ("L", 0), ("alpha", -1.0), ("alpha", float("nan")), ("kappa", 0.5),
    ("N_values", [16]), ("N_values", [8, 8]), ("N_values", [1, 8]), ("N_values", [8.5, 16]), ("n_samples", 1),
    ("t_max", 0), ("R", -1), ("seed", -3), ("protocol", "learning"), ("ansatz", "krsb"), ("steps", 0),
    ("backend", "cuda"), ("M_test", 0), ("waiting_time", 30),
])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        CompareConfig(**(TINY | {field: value}))
    assert err.value.field == field
    assert err.value.allowed


def test_random_data_needs_two_replicas_and_learning():
    with pytest.raises(ConfigError) as err:
        CompareConfig(**(TINY | {"scenario": "random", "R": 1}))
    assert err.value.field == "R"
    config = CompareConfig(**(TINY | {"scenario": "random", "R": 2}))
    assert config.protocol == "learning" and config.observables == ("Q_replica", "q_replica")
    assert CompareConfig(**TINY).protocol == "planted"


def test_seeds_per_N_are_distinct_and_do_not_depend_on_the_other_sizes():
    a = CompareConfig(**TINY)
    b = CompareConfig(**(TINY | {"N_values": [12, 40]}))
    assert a.seed_for(12) == b.seed_for(12)
    assert len({a.seed_for(N) for N in a.N_values}) == 3


# ---------------------------------------------------------------------- the 1/N fit

def _closed_form(x, y, sigma):
    """Textbook weighted straight line (Numerical Recipes 15.2), independent of the lstsq implementation."""
    w = 1 / sigma**2
    S, Sx, Sy, Sxx, Sxy = w.sum(), (w * x).sum(), (w * y).sum(), (w * x * x).sum(), (w * x * y).sum()
    delta = S * Sxx - Sx**2
    return (Sxx * Sy - Sx * Sxy) / delta, np.sqrt(Sxx / delta), (S * Sxy - Sx * Sy) / delta, np.sqrt(S / delta)


def test_fit_is_exact_on_a_plus_b_over_N():
    N = np.array([8, 16, 32, 64])
    sigma = np.array([0.03, 0.02, 0.01, 0.005])
    fit = fit_inverse_n(N, 0.7 - 2.3 / N, sigma)
    assert fit.intercept == pytest.approx(0.7, abs=1e-12)
    assert fit.slope == pytest.approx(-2.3, abs=1e-10)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-20) and fit.dof == 2
    _, a_err, _, b_err = _closed_form(1 / N, 0.7 - 2.3 / N, sigma)
    assert fit.intercept_err == pytest.approx(a_err, rel=1e-10)
    assert fit.slope_err == pytest.approx(b_err, rel=1e-10)
    # two points, equal errors: a = (x2 y1 - x1 y2)/(x2 - x1), var a = s^2 (x1^2 + x2^2)/(x2 - x1)^2
    two = fit_inverse_n([10, 20], [0.5, 0.6], [0.1, 0.1])
    x1, x2 = 0.1, 0.05
    assert two.intercept == pytest.approx((x2 * 0.5 - x1 * 0.6) / (x2 - x1))
    assert two.intercept_err == pytest.approx(0.1 * np.sqrt(x1**2 + x2**2) / abs(x2 - x1))
    assert two.dof == 0
    assert np.isnan(fit_inverse_n([8, 16], [0.3, np.nan], [0.1, 0.1]).intercept)


def test_fit_errors_are_calibrated_on_noisy_data():
    rng = np.random.default_rng(0)
    N = np.array([8, 12, 16, 24, 32])
    sigma = np.array([0.05, 0.04, 0.03, 0.03, 0.02])
    pulls, chi2 = [], []
    for _ in range(3000):
        fit = fit_inverse_n(N, 0.4 + 1.5 / N + sigma * rng.standard_normal(N.size), sigma)
        pulls.append((fit.intercept - 0.4) / fit.intercept_err)
        chi2.append(fit.chi2 / fit.dof)
    assert abs(np.mean(pulls)) < 0.06 and abs(np.std(pulls) - 1) < 0.05
    assert abs(np.mean(chi2) - 1) < 0.05


def test_fresh_input_overlap_single_layer_matches_gaussian_monte_carlo():
    """m = 1 - 2 arccos(Q)/pi: sign agreement of two Gaussian pre-activations with correlation Q."""
    rng = np.random.default_rng(1)
    n, Q = 50, 0.6
    u = rng.standard_normal(n)
    v = rng.standard_normal(n)
    v -= (v @ u) / (u @ u) * u
    J = np.sqrt(n) * u / np.linalg.norm(u)
    J_teacher = Q * J + np.sqrt(1 - Q**2) * np.sqrt(n) * v / np.linalg.norm(v)
    assert J @ J_teacher / n == pytest.approx(Q)
    x = rng.standard_normal((400_000, n))
    agree = np.mean(np.sign(x @ J) * np.sign(x @ J_teacher))
    expected = fresh_input_overlaps([Q])[1]
    assert expected == pytest.approx(1 - 2 * np.arccos(Q) / np.pi)
    assert abs(agree - expected) < 4 * np.sqrt((1 - expected**2) / x.shape[0])


# ---------------------------------------------------------------------- a tiny comparison

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    config = CompareConfig(**TINY)
    return config, out, run_compare(config, out)


def test_run_compare_shapes_and_bounds(tiny):
    config, out, ds = tiny
    L = config.L
    assert list(ds["N"].values) == [8, 12, 16] and list(ds["layer"].values) == list(range(L + 1))
    assert list(ds["observable"].values) == ["teacher_Q", "teacher_q", "test_overlap"]
    for name in ("sim_mean", "sim_sem"):
        assert ds[name].dims == ("observable", "N", "layer")
    for name in ("theory", "theory_frozen", "extrap", "extrap_err", "extrap_chi2_dof"):
        assert ds[name].dims == ("observable", "layer")
    assert list(ds["sim_time"].values) == [config.t_max] * 3
    mean = ds["sim_mean"].values
    assert np.all(np.abs(mean[np.isfinite(mean)]) <= 1 + 1e-12)
    assert np.all(ds["sim_sem"].values[np.isfinite(ds["sim_sem"].values)] >= 0)
    assert np.isnan(ds["sim_mean"].sel(observable="teacher_Q", layer=0)).all()  # no weights into the input
    # kappa = 0 planted greedy MC never flips a neuron: training-set representations stay the teacher's
    assert np.all(ds["sim_mean"].sel(observable="teacher_q").values == 1.0)
    # fresh inputs: layer 0 is shared, the generalization overlap lies in [-1, 1]
    assert np.all(ds["sim_mean"].sel(observable="test_overlap", layer=0).values == 1.0)
    assert 0 <= float(ds["theory_eps_g"]) <= 0.5 and 0 <= float(ds["frozen_eps_g"]) <= 0.5
    # the frozen-representation theory: every weight layer at the L = 1 Gibbs overlap, eps_g(L = 1) = arccos(R)/pi
    R = ds.attrs["R_gibbs"]
    assert np.allclose(ds["frozen_Q"].values[1:], R) and 0 < R < 1
    assert float(ds["frozen_m"][1]) == pytest.approx(1 - 2 * np.arccos(R) / np.pi)
    # the reported extrapolation is the weighted fit of the reported points
    fit = fit_inverse_n(ds["N"].values, ds["sim_mean"].sel(observable="test_overlap", layer=L).values,
                        ds["sim_sem"].sel(observable="test_overlap", layer=L).values)
    assert float(ds["extrap"].sel(observable="test_overlap", layer=L)) == pytest.approx(fit.intercept)
    assert float(ds["extrap_eps_g"]) == pytest.approx((1 - fit.intercept) / 2)
    stored = open_compare(out)
    xr.testing.assert_allclose(stored[["sim_mean", "extrap"]], ds[["sim_mean", "extrap"]])


def test_run_compare_reuses_completed_runs(tiny):
    config, out, ds = tiny
    files = sorted((out / "runs").glob("N*/run.nc"))
    assert [f.parent.name for f in files] == ["N12", "N16", "N8"]
    before = {f: f.stat().st_mtime_ns for f in files}
    again = run_compare(config, out)
    assert {f: f.stat().st_mtime_ns for f in files} == before
    xr.testing.assert_identical(again[["sim_mean", "sim_sem"]], ds[["sim_mean", "sim_sem"]])


def test_random_scenario_replica_profiles(tmp_path):
    config = CompareConfig(scenario="random", L=3, alpha=1.0, N_values=[8, 12], n_samples=2, t_max=20, R=2, seed=2,
                           backend="numpy")
    ds = run_compare(config, tmp_path)
    assert list(ds["observable"].values) == ["Q_replica", "q_replica"]
    q = ds["sim_mean"].sel(observable="q_replica")
    assert np.all(q.sel(layer=[0, 3]).values == 1.0)  # shared data at the boundaries
    assert np.all(np.abs(q.values) <= 1) and ds["extrap_chi2_dof"].isnull().all()  # two sizes: dof = 0
    assert "theory_frozen" not in ds and ds.attrs["ansatz"] == "rs"


def test_plot_compare_writes_figures(tiny, tmp_path):
    paths = plot_compare(tiny[2], tmp_path)
    assert [p.name for p in paths] == ["compare_profiles.png", "compare_extrapolation.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


# ---------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.mark.parametrize("args, flag", [
    (["--N", "8"], "--N"), (["--N", "8,x"], "--N"), (["--samples", "1"], "--samples"), (["--depth", "0"], "--depth"),
    (["--scenario", "mnist"], "--scenario"), (["--format", "xml"], "--format"), (["--t-max", "0"], "--t-max"),
    (["--scenario", "random", "--replicas", "1"], "--replicas"), (["--ansatz", "frsb"], "--ansatz"),
])
def test_cli_bad_flags_exit_2_and_write_nothing(tmp_path, args, flag):
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--out", str(out), *args])
    assert result.exit_code == 2
    assert flag in result.output
    assert not out.exists()


def test_cli_json_reuses_runs(tiny):
    config, out, ds = tiny
    result = runner.invoke(app, ["compare", "--depth", "3", "--alpha", "2", "--N", "8,12,16", "--samples", "2",
                                 "--t-max", "30", "--m-test", "100", "--seed", "5", "--out", str(out),
                                 "--format", "json", "--quiet", "--backend", "numpy"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["N"] == [8, 12, 16] and summary["t_max"] == 30
    assert summary["extrap_eps_g"] == pytest.approx(float(ds["extrap_eps_g"]))
    assert (out / "compare_profiles.png").stat().st_size > 0
