"""Relaxation-time estimators on synthetic decays with known answers, learning times, the run plumbing."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad
from scipy.special import gamma

from deepglass.experiments.dynamics import (LOWER, MEASURED, UPPER, DecayRules, decay_estimates,
                                            isotonic_decreasing, learning_time, relaxation, sample_estimates)
from deepglass.mc.schedule import log_spaced

LAGS = log_spaced(1000, 8).astype(float)  # the lags a run with t_max = 1000, per_decade = 8 measures


def stretched(t, tau, beta=1.0, p=0.0):
    return p + (1 - p) * np.exp(-(t / tau) ** beta)


def test_exponential_decay_to_zero():
    est = decay_estimates(LAGS, stretched(LAGS, 20.0))
    assert est["plateau_reached"] and abs(est["plateau"]) < 1e-3
    assert est["tau_flag"] == MEASURED and est["tau"] == pytest.approx(20.0, rel=1e-4)  # exact but for p ~ 1e-5
    assert est["tau_int"] == pytest.approx(20.0, rel=1e-3)
    assert est["tau_decorrelation"] == pytest.approx(20.0, rel=1e-3)


@pytest.mark.parametrize("tau, beta", [(5.0, 0.5), (10.0, 0.7), (5.0, 1.5)])
def test_stretched_exponential(tau, beta):
    est = decay_estimates(LAGS, stretched(LAGS, tau, beta))
    # the tail of a stretched decay is still above 0 over the plateau window (C ~ 3e-3 at lag 178): that bias
    # of the plateau rule is the only error
    assert est["tau_flag"] == MEASURED and est["tau"] == pytest.approx(tau, rel=0.03)
    exact_int = quad(lambda s: math.exp(-(s / tau) ** beta), 0, 1000, limit=200)[0]  # = tau Gamma(1 + 1/beta)
    assert exact_int == pytest.approx(tau * gamma(1 + 1 / beta), rel=1e-3)
    assert est["tau_int"] == pytest.approx(exact_int, rel=0.03)


def test_decay_to_a_plateau():
    p = 0.4
    est = decay_estimates(LAGS, stretched(LAGS, 30.0, 1.0, p))
    assert est["plateau_reached"] and est["plateau"] == pytest.approx(p, abs=1e-3)
    assert est["tau"] == pytest.approx(30.0, rel=0.01)
    assert est["tau_int"] == pytest.approx(30.0, rel=0.02)
    # C never falls to 1/e < p: the decorrelation time is longer than the run, a lower bound, never a number
    assert est["tau_decorrelation_flag"] == LOWER and math.isnan(est["tau_decorrelation"])
    assert est["tau_decorrelation_bound"] == LAGS[-1]


def test_a_decay_that_never_reaches_one_over_e_is_a_lower_bound():
    for curve in (stretched(LAGS, 1e5), stretched(LAGS, 3e3, 0.5)):
        est = decay_estimates(LAGS, curve)
        assert not est["plateau_reached"]  # still moving at the end of the run
        for name in ("tau", "tau_int", "tau_decorrelation"):
            assert est[f"{name}_flag"] == LOWER and math.isnan(est[name]), name
            assert 0 <= est[f"{name}_bound"] <= LAGS[-1]
        assert est["tau_decorrelation_bound"] == LAGS[-1]


def test_a_frozen_overlap_and_one_faster_than_the_first_measurement():
    frozen = decay_estimates(LAGS, np.full(LAGS.size, 0.999))
    assert frozen["tau_flag"] == LOWER and frozen["tau_bound"] == LAGS[-1]
    fast = decay_estimates(LAGS, stretched(LAGS, 0.2))
    assert fast["tau_flag"] == UPPER and math.isnan(fast["tau"]) and fast["tau_bound"] == LAGS[0]


def test_noisy_samples_tau_and_jackknife_error():
    """8 samples with noise 0.02: tau near the truth, and the jackknife error matches the spread of tau over
    independent repetitions (the error is honest, not just finite)."""
    rng = np.random.default_rng(3)
    taus, errs = [], []
    for _ in range(60):
        curves = stretched(LAGS, 20.0, 1.0, 0.2)[None] + 0.02 * rng.standard_normal((8, LAGS.size))
        est = sample_estimates(LAGS, curves)
        assert est["tau_flag"] == MEASURED and est["plateau_reached"]
        taus.append(est["tau"])
        errs.append(est["tau_err"])
    taus, errs = np.array(taus), np.array(errs)
    assert abs(taus.mean() - 20.0) < 3 * taus.std() / math.sqrt(taus.size) + 0.5
    assert 0.6 < np.median(errs) / taus.std() < 1.6


def test_isotonic_fit_is_non_increasing_and_exact_on_monotone_input():
    y = np.array([1.0, 0.5, 0.7, 0.2, 0.3, 0.1])
    fit = isotonic_decreasing(y)
    assert np.all(np.diff(fit) <= 0) and fit.sum() == pytest.approx(y.sum())
    np.testing.assert_allclose(fit, [1.0, 0.6, 0.6, 0.25, 0.25, 0.1])
    np.testing.assert_array_equal(isotonic_decreasing(np.sort(y)[::-1]), np.sort(y)[::-1])


def test_rules_refuse_bad_values():
    from deepglass.errors import ConfigError

    with pytest.raises(ConfigError, match="tail_fraction"):
        DecayRules(tail_fraction=0)
    with pytest.raises(ConfigError, match="min_tail_points"):
        DecayRules(min_tail_points=2)


def test_learning_time_and_the_fraction_never_solved():
    t = np.array([1, 3, 10, 30, 100, 300])
    viol = np.array([[9, 5, 0, 0, 0, 0], [9, 8, 8, 7, 7, 6], [9, 9, 4, 2, 0, 0]])
    run = xr.Dataset({"violations": (("sample", "time"), viol)}, coords={"sample": [0, 1, 2], "time": t})
    lt = learning_time(run)
    np.testing.assert_array_equal(lt["t_solution"].values, [10, np.nan, 100])
    assert float(lt["fraction_solved"]) == pytest.approx(2 / 3)
    assert float(lt["t_solution_median"]) == 100 and int(lt["t_solution_median_flag"]) == MEASURED
    lt2 = learning_time(run.isel(sample=[1, 2, 1]))
    assert int(lt2["t_solution_median_flag"]) == LOWER and float(lt2["t_solution_median"]) == 300


def _fake_run(taus_q, taus_Q, plateaus_Q, tw=0, n_samples=4, seed=0):
    """A stored-run-shaped Dataset whose replica overlaps decay with known times per layer."""
    L = len(taus_Q)
    times = tw + LAGS.astype(int)
    rng = np.random.default_rng(seed)
    q = np.full((n_samples, 1, times.size, 1, L + 1), np.nan)
    Q = np.full_like(q, np.nan)
    q[..., 0] = q[..., L] = 1.0
    for l in range(1, L):
        q[:, 0, :, 0, l] = stretched(LAGS, taus_q[l - 1])
    for l in range(1, L + 1):
        Q[:, 0, :, 0, l] = stretched(LAGS, taus_Q[l - 1], 1.0, plateaus_Q[l - 1])
    q += 0.002 * rng.standard_normal(q.shape) * (q < 1)
    cfg = {"network": {"N": 10, "L": L}, "data": {"alpha": 1.0, "scenario": "random"},
           "run": {"protocol": "learning"}, "mc": {"acceptance": "greedy", "sampler": "local"}}
    return xr.Dataset({"q_replica": (("sample", "tw", "time", "pair", "layer"), q),
                       "Q_replica": (("sample", "tw", "time", "pair", "layer"), Q),
                       "violations": (("sample", "time"), np.ones((n_samples, times.size), int))},
                      coords={"sample": np.arange(n_samples), "tw": [tw], "time": times, "pair": [0],
                              "layer": np.arange(L + 1)}, attrs={"config_json": json.dumps(cfg)})


def test_relaxation_of_a_run_maps_layers_and_kinds():
    taus_q, taus_Q, plat_Q = [5.0, 50.0, 8.0], [4.0, 25.0, 30.0, 3.0], [0.5, 0.0, 0.0, 0.3]
    rel = relaxation(_fake_run(taus_q, taus_Q, plat_Q, tw=100))
    assert rel["tw"].values.tolist() == [100]
    q, Q = rel.sel(tw=100, kind="neurons"), rel.sel(tw=100, kind="weights")
    np.testing.assert_allclose(q["tau"].sel(layer=[1, 2, 3]), taus_q, rtol=0.02)
    assert np.isnan(q["tau"].sel(layer=[0, 4])).all() and (q["tau_flag"].sel(layer=[0, 4]) == -1).all()
    np.testing.assert_allclose(Q["tau"].sel(layer=[1, 2, 3, 4]), taus_Q, rtol=0.02)
    np.testing.assert_allclose(Q["plateau"].sel(layer=[1, 2, 3, 4]), plat_Q, atol=5e-3)
    assert float(rel["curve"].sel(tw=100, kind="weights", layer=1, lag=1)) == pytest.approx(
        stretched(1.0, 4.0, 1.0, 0.5))


def test_a_run_too_short_to_measure_is_refused_in_one_line():
    from deepglass.errors import RunDirectoryError

    run = _fake_run([5.0], [4.0, 3.0], [0.0, 0.0]).isel(time=[0, 1])
    with pytest.raises(RunDirectoryError, match="measured lags"):
        relaxation(run)


def test_mirror_asymmetry_pairs_layers_at_equal_distance_from_input_and_output():
    from deepglass.experiments.dynamics import mirror_asymmetry

    # neurons 1..3 mirror as 1 <-> 3; weights 1..4 as 1 <-> 4, 2 <-> 3
    rel = relaxation(_fake_run([5.0, 50.0, 20.0], [4.0, 25.0, 12.5, 8.0], [0.5, 0.0, 0.0, 0.3], tw=0))
    asym = mirror_asymmetry(rel).sel(tw=0)
    assert asym["distance"].values.tolist() == [1, 2]
    assert float(asym["log_tau_ratio"].sel(kind="neurons", distance=1)) == pytest.approx(math.log(5 / 20), abs=0.03)
    assert np.isnan(asym["plateau_diff"].sel(kind="neurons", distance=2))  # layer 2 is its own mirror
    assert float(asym["plateau_diff"].sel(kind="weights", distance=1)) == pytest.approx(0.2, abs=5e-3)
    assert float(asym["log_tau_ratio"].sel(kind="weights", distance=2)) == pytest.approx(math.log(2), abs=0.03)
