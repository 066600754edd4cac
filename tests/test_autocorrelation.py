"""The integrated autocorrelation time (observables.integrated_autocorrelation_time) on synthetic series whose
tau is known exactly: AR(1) x_t = phi x_{t-1} + e_t seen through white observation noise of variance s2,
rho(t) = w phi^t (t >= 1) with w = var_a / (var_a + s2), var_a = 1 / (1 - phi^2), so
tau = 1 + 2 w phi / (1 - phi). Tolerance: Sokal's error of the windowed estimator,
var(tau) ~ 2 (2 W + 1) tau^2 / n, at 4 sigma."""
import numpy as np
import pytest

from deepglass.observables import autocorrelation_function, integrated_autocorrelation_time


def ar1(phi, s2, n, chains, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((chains, n))
    x = np.empty((chains, n))
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi * phi)                 # start in the stationary law
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x + np.sqrt(s2) * rng.standard_normal((chains, n))


@pytest.mark.parametrize("phi,s2", [(0.0, 0.0), (0.5, 1.0), (0.9, 0.0), (0.9, 5.0), (0.97, 2.0)])
def test_tau_of_noisy_ar1(phi, s2):
    n, chains = 20000, 4
    var_a = 1.0 / (1.0 - phi * phi)
    w = var_a / (var_a + s2)
    exact = 1.0 + 2.0 * w * phi / (1.0 - phi)
    got = integrated_autocorrelation_time(ar1(phi, s2, n, chains, seed=int(100 * phi + s2)))
    err = exact * np.sqrt(2.0 * (2 * got["window"] + 1) / (n * chains))
    assert abs(got["tau"] - exact) < 4 * err + 0.02, (got, exact)
    assert got["reliable"]


def test_power_a_wrong_tau_is_told_apart():
    """The 4 sigma band is narrow enough to tell phi = 0.9 (tau 19) from phi = 0.85 (tau 12.3)."""
    got = integrated_autocorrelation_time(ar1(0.85, 0.0, 20000, 4, seed=7))
    err = 19.0 * np.sqrt(2.0 * (2 * got["window"] + 1) / 80000)
    assert abs(got["tau"] - 19.0) > 4 * err


def test_short_or_frozen_series_are_flagged():
    short = integrated_autocorrelation_time(ar1(0.99, 0.0, 300, 1, seed=1))
    assert not short["reliable"]                               # 300 steps < 50 tau (tau = 199)
    frozen = integrated_autocorrelation_time(np.ones((3, 100)))
    assert np.isnan(frozen["tau"]) and not frozen["reliable"]
    rho = autocorrelation_function(ar1(0.5, 0.0, 4000, 2, seed=2))
    assert rho[0] == 1.0 and abs(rho[1] - 0.5) < 0.05
