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

TINY = dict(scenario="teacher-student", L=2, alpha=2.0, N_values=[4, 6, 8], n_samples=2, t_max=10, M_test=100,
            seed=5, backend="numpy")  # numpy: no JIT compile for these tiny runs; design-space sampler (the default)


# ---------------------------------------------------------------------- config validation

@pytest.mark.parametrize("field, value", [
    ("scenario", "hidden-manifold"), ("L", 0), ("alpha", -1.0), ("alpha", float("nan")), ("kappa", 0.5),
    ("N_values", [16]), ("N_values", [8, 8]), ("N_values", [1, 8]), ("N_values", [8.5, 16]), ("n_samples", 1),
    ("t_max", 0), ("R", 1), ("seed", -3), ("protocol", "learning"), ("ansatz", "krsb"), ("steps", 0),
    ("backend", "cuda"), ("M_test", 0), ("waiting_time", 10), ("sampler", "gibbs"), ("delta", 0.0),
    ("c_values", [1]), ("c_values", [8]), ("c_values", [4, 4]), ("proposal", "hmc"),
])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        CompareConfig(**(TINY | {field: value}))
    assert err.value.field == field
    assert err.value.allowed


def test_proposal_defaults_to_the_billiard_where_it_applies():
    assert CompareConfig(**TINY).proposal == "billiard"
    assert CompareConfig(**TINY).run_config(6).mc.proposal == "billiard"
    assert CompareConfig(**(TINY | {"proposal": "row"})).run_config(6).mc.proposal == "row"
    for random in (TINY | {"scenario": "random", "kappa": -0.5}, TINY | {"scenario": "random"}):
        assert CompareConfig(**random).proposal == "row"    # the host learns from a random start (E > 0)
        with pytest.raises(ConfigError) as err:
            CompareConfig(**(random | {"proposal": "billiard"}))
        assert err.value.field == "proposal"


def test_random_data_needs_two_replicas_and_learning():
    with pytest.raises(ConfigError) as err:
        CompareConfig(**(TINY | {"scenario": "random", "R": 1}))
    assert err.value.field == "R"
    config = CompareConfig(**(TINY | {"scenario": "random", "R": 2, "ansatz": "rs"}))
    assert config.protocol == "learning" and config.observables == ("Q_replica", "q_replica")
    assert CompareConfig(**TINY).protocol == "planted"


def test_seeds_per_N_are_distinct_and_do_not_depend_on_the_other_sizes():
    a = CompareConfig(**TINY)
    b = CompareConfig(**(TINY | {"N_values": [6, 40]}))
    assert a.seed_for(6) == b.seed_for(6)
    assert len({a.seed_for(N) for N in a.N_values}) == 3
    sparse = CompareConfig(**(TINY | {"c_values": [4, 6]}))
    assert sparse.points == [(4, 4), (4, 6), (4, 8), (6, 6), (6, 8)]
    assert len({sparse.seed_for(N, c) for c, N in sparse.points} | {a.seed_for(N) for N in a.N_values}) == 8
    assert sparse.run_config(8, 4).network.c == 4 and a.run_config(8).network.c is None
    assert a.run_config(8).mc.sampler == "design-space"


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
    """A tiny comparison whose runs are far too short to equilibrate (t_max = 10): every point must say so."""
    out = tmp_path_factory.mktemp("compare")
    config = CompareConfig(**TINY)
    return config, out, run_compare(config, out)


def test_run_compare_shapes_bounds_and_verdicts(tiny):
    config, out, ds = tiny
    L = config.L
    assert list(ds["N"].values) == [4, 6, 8] and list(ds["c"].values) == [0]
    assert list(ds["observable"].values) == ["teacher_Q", "teacher_q", "test_overlap", "teacher_Q_gauge",
                                             "teacher_q_gauge", "teacher_q2"]
    theory_q = ds["theory_q"].values
    np.testing.assert_allclose(ds["theory"].sel(observable="teacher_q2").values, theory_q ** 2, rtol=1e-12)
    for name in ("sim_mean", "sim_sem"):
        assert ds[name].dims == ("observable", "c", "N", "layer")
    assert "theory_frozen" not in ds and ds.attrs["sampler"] == "design-space"
    mean = ds["sim_mean"].values
    assert np.isfinite(mean[:, :, :, 1:]).all() and np.all(np.abs(mean[np.isfinite(mean)]) <= 1 + 1e-12)
    assert np.all(ds["sim_sem"].values[np.isfinite(ds["sim_sem"].values)] >= 0)
    assert np.isnan(ds["sim_mean"].sel(observable="teacher_Q", layer=0)).all()  # no weights into the input
    # the design-space sampler moves hidden neurons (the local moves never do from a solution at kappa = 0)
    assert np.any(ds["sim_mean"].sel(observable="teacher_q", layer=1).values < 1.0)
    assert np.all(ds["sim_mean"].sel(observable="test_overlap", layer=0).values == 1.0)
    assert 0 <= float(ds["theory_eps_g"]) <= 0.5
    # 10 steps from the teacher: still relaxing, so no point is equilibrated, each says why, and nothing is fitted
    assert np.all(ds["equilibrated"].values == 0), ds["verdict_reason"].values
    assert all("NOT" in str(r) for r in ds["verdict_reason"].values.ravel())
    assert np.isfinite(ds["nishimori_Q_diff"].sel(layer=[1, 2])).all()
    assert np.isnan(ds["extrap"]).all() and np.all(ds["extrap_n_points"].values == 0)
    assert np.isnan(float(ds["final_eps_g"])) and ds.attrs["n_equilibrated"] == 0
    stored = open_compare(out)
    xr.testing.assert_allclose(stored[["sim_mean", "equilibrated"]], ds[["sim_mean", "equilibrated"]])


def test_verdict_is_stored_in_the_run_dataset(tiny):
    """Each run.nc carries its own equilibrium verdict; compare's verdict is the stored one."""
    from deepglass.experiments.store import open_run
    from deepglass.experiments.summary import NISHIMORI_ATTR, equilibrium_verdict

    config, out, ds = tiny
    run = open_run(out / "runs" / "N6")
    stored = json.loads(run.attrs[NISHIMORI_ATTR])
    assert stored["equilibrated"] is False and stored["t"] == config.t_max
    assert stored["Q"]["difference"] == pytest.approx(equilibrium_verdict(run)["Q"]["difference"])
    assert float(ds["nishimori_Q_diff"].sel(c=0, N=6, layer=1)) == pytest.approx(stored["Q"]["difference"][0])


def test_unequilibrated_points_are_excluded_from_the_fit(tiny):
    """Mark one point equilibrated by hand: the fit then uses exactly the marked points."""
    from deepglass.experiments.compare import EQUILIBRATED, _assemble, chain_theory

    config, out, ds = tiny
    obs = list(ds["observable"].values)
    verdict = ds["equilibrated"].values.copy()
    verdict[0, [0, 2]] = EQUILIBRATED        # N = 4 and N = 8 count; N = 6 stays excluded
    nish = np.stack([ds["nishimori_Q_diff"].values, ds["nishimori_Q_err"].values])
    part = _assemble(config, chain_theory(config), obs, ds["sim_mean"].values, ds["sim_sem"].values,
                     ds["sim_time"].values, verdict, ds["verdict_reason"].values, nish, nish,
                     ds["relaxation_time_Q"].values)
    pick = dict(observable="test_overlap", c=0, layer=config.L)
    fit = fit_inverse_n([4, 8], ds["sim_mean"].sel(**pick).values[[0, 2]], ds["sim_sem"].sel(**pick).values[[0, 2]])
    assert float(part["extrap"].sel(**pick)) == pytest.approx(fit.intercept)
    assert int(part["extrap_n_points"].sel(**pick)) == 2
    assert float(part["final_eps_g"]) == pytest.approx((1 - fit.intercept) / 2)


def test_run_compare_reuses_completed_runs(tiny):
    config, out, ds = tiny
    files = sorted((out / "runs").glob("N*/run.nc"))
    assert [f.parent.name for f in files] == ["N4", "N6", "N8"]
    before = {f: f.stat().st_mtime_ns for f in files}
    again = run_compare(config, out)
    assert {f: f.stat().st_mtime_ns for f in files} == before
    xr.testing.assert_identical(again[["sim_mean", "sim_sem"]], ds[["sim_mean", "sim_sem"]])


def test_random_scenario_replica_profiles(tmp_path):
    config = CompareConfig(scenario="random", L=2, alpha=1.0, N_values=[4, 6], n_samples=2, t_max=10, R=2, seed=2,
                           backend="numpy", ansatz="rs")
    ds = run_compare(config, tmp_path)
    assert list(ds["observable"].values) == ["Q_replica", "q_replica"]
    q = ds["sim_mean"].sel(observable="q_replica")
    assert np.all(q.sel(layer=[0, 2]).values == 1.0)  # shared data at the boundaries
    assert np.all(np.abs(q.values) <= 1) and ds["extrap_chi2_dof"].isnull().all()
    # guests copied at t_w = 0 from a random start are not copies of a solution: never equilibrated
    assert np.all(ds["equilibrated"].values == 0) and ds.attrs["ansatz"] == "rs"


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
    (["--c", "4,x"], "--c"), (["--c", "64"], "--c"), (["--sampler", "gibbs"], "--sampler"), (["--delta", "0"], "--delta"),
    (["--proposal", "hmc"], "--proposal"),
])
def test_cli_bad_flags_exit_2_and_write_nothing(tmp_path, args, flag):
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--out", str(out), *args])
    assert result.exit_code == 2
    assert flag in result.output
    assert not out.exists()


def test_cli_json_reuses_runs(tiny):
    config, out, ds = tiny
    result = runner.invoke(app, ["compare", "--depth", "2", "--alpha", "2", "--N", "4,6,8", "--samples", "2",
                                 "--t-max", "10", "--m-test", "100", "--seed", "5", "--out", str(out),
                                 "--format", "json", "--quiet", "--backend", "numpy"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["N"] == [4, 6, 8] and summary["t_max"] == 10
    assert summary["equilibrated"] == [[False, False, False]]
    np.testing.assert_allclose(np.array(summary["sim_eps_g"], dtype=float), ds["sim_eps_g"].values)
    assert (out / "compare_profiles.png").stat().st_size > 0


# ---------------------------------------------------------------------- equilibrium helpers and the demo

def _fake_planted_run(times, Q):
    """The part of a planted run that planted_relaxation_times reads: teacher_Q (time, sample, layer)."""
    L = Q.shape[-1]
    values = np.concatenate([np.full(Q.shape[:-1] + (1,), np.nan), Q], axis=-1)
    return xr.Dataset({"teacher_Q": (("time", "sample", "layer"), values)},
                      coords={"time": times, "layer": np.arange(L + 1)})


def test_relaxation_time_of_an_exponential_decay():
    """tau = int_0^inf exp(-t/tau) dt: recovered from log-spaced samples of Q(t) = Q_eq + (1 - Q_eq) e^{-t/tau}."""
    from deepglass.experiments.summary import planted_relaxation_times

    times = np.unique(np.round(np.geomspace(1, 20000, 60)).astype(int))
    taus, Q_eq = np.array([30.0, 400.0]), np.array([0.4, 0.0])
    Q = Q_eq + (1 - Q_eq) * np.exp(-times[:, None] / taus)
    run = _fake_planted_run(times, np.repeat(Q[:, None, :], 3, axis=1))
    config = {"run": {"protocol": "planted"}, "network": {"L": 2}}
    assert planted_relaxation_times(run, config) == pytest.approx(taus, rel=0.03)
    # a chain still decaying linearly at the end: tau = T/2, so the 10-tau rule refuses it
    linear = 1 - 0.5 * times / times[-1]
    run = _fake_planted_run(times, np.repeat(np.stack([linear, linear], -1)[:, None], 3, axis=1))
    assert planted_relaxation_times(run, config)[0] == pytest.approx(times[-1] / 2, rel=0.02)


def test_demo_config_validates_and_is_sized_for_the_demo():
    from deepglass.experiments.cost import config_seconds
    from deepglass.experiments.demo import DEMO_T_MAX, demo_config, demo_theory

    config = demo_config()
    assert config.mc.sampler == "design-space" and config.run.protocol == "planted"
    assert config.replicas.R >= 2 and config.run.n_samples >= 2 and config.replicas.waiting_times == [0]
    assert 2 <= config.network.L <= 3 and config.run.t_max == DEMO_T_MAX
    assert config_seconds(config) < 150          # the cost model's estimate: MC well inside the 3-minute demo
    theory = demo_theory(config)
    assert theory.attrs["scenario"] == "teacher-student" and 0 < float(theory["Q"].sel(layer=1)) < 1


def test_relaxation_time_window_stops_at_the_first_zero():
    """Plateau noise after the decay must not enter tau: C = e^{-t/tau} then noise around 0."""
    from deepglass.experiments.summary import planted_relaxation_times

    rng = np.random.default_rng(3)
    times = np.unique(np.round(np.geomspace(1, 20000, 80)).astype(int))
    clean = np.exp(-times / 50.0)
    noisy = clean + np.where(times > 400, 0.05 * rng.standard_normal(times.size), 0.0)
    noisy[-1] = 0.0   # the plateau estimate (the last value) is 0 exactly
    run = _fake_planted_run(times, np.repeat(noisy[:, None, None], 2, axis=1))
    tau = planted_relaxation_times(run, {"run": {"protocol": "planted"}, "network": {"L": 1}})[0]
    assert tau == pytest.approx(50.0, rel=0.05)


def test_sparse_extrapolation_takes_N_then_c_to_infinity():
    """Synthetic data y(c, N) = A + B/c + b(c)/N at every equilibrated point: the N -> inf fit at each c gives
    A + B/c, the c -> inf fit gives A (exact data, so to rounding); a point marked NOT equilibrated is ignored."""
    from deepglass.experiments.compare import EQUILIBRATED, NOT_EQUILIBRATED, NOT_RUN, _assemble, chain_theory

    config = CompareConfig(scenario="teacher-student", L=1, alpha=1.0, N_values=[4, 8, 16, 32], c_values=[4, 8, 16],
                           n_samples=2, t_max=10, backend="numpy")
    cs, Ns = np.array(config.c_values), np.array(config.N_values)
    A, B = 0.62, -0.9
    y = A + B / cs[:, None] + (0.3 + cs[:, None] / 40) / Ns[None, :]          # (c, N)
    verdict = np.full((3, 4), EQUILIBRATED, dtype=np.int8)
    verdict[cs[:, None] > Ns[None, :]] = NOT_RUN
    y = np.where(verdict == NOT_RUN, np.nan, y)
    verdict[0, 3] = NOT_EQUILIBRATED
    y_bad = y.copy()
    y_bad[0, 3] = 5.0                                                           # would ruin the fit if used
    mean = np.full((len(config.observables), 3, 4, 2), np.nan)
    mean[:, :, :, 1] = y_bad
    sem = np.where(np.isfinite(mean), 0.01, np.nan)
    nish = np.full((2, 3, 4, 2), np.nan)
    ds = _assemble(config, chain_theory(config), list(config.observables), mean, sem, np.full((3, 4), 10),
                   verdict, np.full((3, 4), ""), nish, nish, np.full((3, 4, 2), np.nan))
    np.testing.assert_allclose(ds["extrap"].sel(observable="teacher_Q", layer=1).values, A + B / cs, atol=1e-9)
    assert list(ds["extrap_n_points"].sel(observable="teacher_Q", layer=1).values) == [3, 3, 2]
    assert float(ds["extrap_c"].sel(observable="teacher_Q", layer=1)) == pytest.approx(A, abs=1e-9)
    assert float(ds["final"].sel(observable="teacher_Q", layer=1)) == pytest.approx(A, abs=1e-9)


@pytest.mark.slow
def test_demo_run_equilibrates_and_restores_the_gauge_symmetry(tmp_path):
    """The demo's deep case (about 20 s): it passes its own equilibrium verdict, and, as exact equilibrium at
    finite N must (the design space is invariant under flipping a hidden neuron with its row and outgoing
    column), the mean student-teacher weight overlap of both layers, which touch the hidden layer, is 0 within
    3 standard errors over samples; the output overlap on fresh inputs, gauge invariant, is not."""
    from deepglass.experiments.demo import demo_config
    from deepglass.experiments.runner import run_simulation
    from deepglass.experiments.summary import stored_nishimori

    run = run_simulation(demo_config(), tmp_path / "demo")
    verdict = stored_nishimori(run)
    assert verdict["equilibrated"] is True, verdict["reason"]
    last = run.isel(time=-1)
    Q = last["teacher_Q"].sel(layer=[1, 2]).values
    assert np.all(np.abs(Q.mean(0)) <= 3 * Q.std(0, ddof=1) / np.sqrt(Q.shape[0]))
    m = last["test_overlap"].sel(layer=2).values
    assert m.mean() > 3 * m.std(ddof=1) / np.sqrt(m.size)


def test_verdict_refuses_guests_younger_than_ten_relaxation_times():
    """Guests copied from the host at t_w agree with it at first: the identity can hold by a crossing. A run whose
    student-teacher and student-student overlaps agree, with t >= 10 tau but t - t_w < 10 tau, is not shown to be
    equilibrated; the same numbers with t_w = 0 are."""
    import xarray as xr

    from deepglass.experiments.summary import equilibrium_verdict

    L, ns, times = 2, 4, np.array([10, 30, 100, 300, 1000, 2000, 3000])
    rng = np.random.default_rng(0)
    Q_st = 0.5 + 0.5 * np.exp(-times / 100.0)                           # tau ~ 100 steps
    config = {"run": {"protocol": "planted"}, "network": {"L": L, "kappa": 0.0}, "mc": {"sampler": "design-space"}}

    def run_with(tw):
        noise = lambda *shape: 0.01 * rng.standard_normal(shape)
        st = Q_st[:, None, None] + noise(len(times), ns, L + 1)
        # the pair overlaps scatter around the teacher overlaps with zero sample mean: the identity holds exactly,
        # so the verdict turns on the ages alone (not on a chance 3-sigma excursion of random noise)
        scatter = noise(len(times), ns, 1, 1, L + 1)
        ss = st[:, :, None, None, :] + scatter - scatter.mean(axis=1, keepdims=True)
        return xr.Dataset({"teacher_Q": (("time", "sample", "layer"), st), "teacher_q": (("time", "sample", "layer"), st),
                           "Q_replica": (("time", "sample", "tw", "pair", "layer"), ss),
                           "q_replica": (("time", "sample", "tw", "pair", "layer"), ss),
                           "acceptance_weight": (("time", "sample", "layer"), np.full((len(times), ns, L + 1), 0.3))},
                          coords={"time": times, "sample": np.arange(ns), "layer": np.arange(L + 1), "tw": [tw],
                                  "pair": [0]})

    young = equilibrium_verdict(run_with(2500), config)
    assert young["equilibrated"] is False and "guests younger" in young["reason"], young["reason"]
    assert equilibrium_verdict(run_with(0), config)["equilibrated"] is True


def test_nishimori_verdict_false_alarm_rate_is_calibrated_over_all_layers():
    """Under the null (student-teacher and student-student overlaps exchangeable: equal in law, independent
    noise per sample) an L = 10 run with 8 samples (19 layer tests) fails the Nishimori test in about
    FALSE_ALARM = 1% of data sets, not in the ~30% a fixed 3 sigma per layer gives; a true difference of 8
    standard deviations of the per-sample noise in one layer is still caught."""
    import xarray as xr

    from deepglass.experiments.summary import FALSE_ALARM, nishimori_check

    L, ns, times = 10, 8, np.array([100, 200, 300])
    config = {"run": {"protocol": "planted"}, "network": {"L": L, "kappa": 0.0}, "mc": {"sampler": "design-space"}}

    def run_with(rng, shift=0.0):
        st = 0.3 + 0.02 * rng.standard_normal((len(times), ns, L + 1))
        ss = 0.3 + 0.02 * rng.standard_normal((len(times), ns, 1, 1, L + 1))
        ss[..., 3] -= shift * 0.02
        return xr.Dataset({"teacher_Q": (("time", "sample", "layer"), st), "teacher_q": (("time", "sample", "layer"), st),
                           "Q_replica": (("time", "sample", "tw", "pair", "layer"), ss),
                           "q_replica": (("time", "sample", "tw", "pair", "layer"), ss),
                           "acceptance_weight": (("time", "sample", "layer"), np.full((len(times), ns, L + 1), 0.3))},
                          coords={"time": times, "sample": np.arange(ns), "layer": np.arange(L + 1), "tw": [0],
                                  "pair": [0]})

    rng = np.random.default_rng(7)
    trials = 100
    failed = sum(nishimori_check(run_with(rng), config)["equilibrated"] is False for _ in range(trials))
    assert failed <= 4 * FALSE_ALARM * trials, failed       # ~1 expected (measured 3 of 400); 3 sigma: 73 of 400
    caught = sum(nishimori_check(run_with(rng, 8.0), config)["equilibrated"] is False for _ in range(10))
    assert caught >= 9, caught
