"""Transitions alpha_g(l): analytic first threshold, onset of overlaps in the full solution, symmetry."""
import numpy as np
import pytest
from scipy import special

from deepglass.theory import ChainProblem, solve
from deepglass.theory.transitions import find_transitions, liquid_threshold


def _m4(kappa):
    """(phi(kappa)/H(kappa))^4 by scipy.special directly."""
    m = np.exp(-kappa**2 / 2) / np.sqrt(2 * np.pi) / special.ndtr(-kappa)
    return m**4


def test_first_threshold_analytic_values():
    assert liquid_threshold(5, 0.0) == pytest.approx(np.pi**2 / 4, rel=1e-14)
    assert liquid_threshold(2, 0.0) == pytest.approx(np.pi**2 / 8, rel=1e-14)
    assert liquid_threshold(4, 0.7) == pytest.approx(1 / _m4(0.7), rel=1e-12)


@pytest.mark.parametrize("L,kappa,expected", [(2, 0.0, np.pi**2 / 8), (3, 0.0, np.pi**2 / 4),
                                               (6, 0.0, np.pi**2 / 4), (5, 0.5, None)])
def test_alpha_g_first_layer_from_stability(L, kappa, expected):
    expected = 1 / _m4(kappa) if expected is None else expected
    tr = find_transitions(ChainProblem("random", L, 1.0, kappa=kappa), alpha_max=5.0)
    assert tr.alpha_g_weights[0] == pytest.approx(expected, abs=1e-6)
    assert tr.alpha_g_weights[-1] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("scenario", ["random", "teacher-student"])
def test_onset_of_overlaps_in_full_solution(scenario):
    """Around each alpha_g(l) found by the stability root, the full solve changes Q_l from 0 to > 0."""
    L = 8
    tr = find_transitions(ChainProblem(scenario, L, 1.0), alpha_max=40.0)
    found = [l for l in range(1, L // 2) if np.isfinite(tr.alpha_g_weights[l - 1])]
    assert found[:2] == [1, 2]
    for l in found[:2]:
        a = tr.alpha_g_weights[l - 1]
        below = solve(ChainProblem(scenario, L, a * (1 - 1e-3)))
        above = solve(ChainProblem(scenario, L, a * (1 + 1e-3)))
        assert float(below.Q.sel(layer=l)) == 0.0
        assert float(above.Q.sel(layer=l)) > 1e-6
        assert float(above.Q.sel(layer=L + 1 - l)) > 1e-6  # the mirror layer at the same load


def test_alpha_g_grows_inward_and_is_symmetric():
    tr = find_transitions(ChainProblem("random", 10, 1.0), alpha_max=400.0)
    a = tr.alpha_g_weights
    assert np.allclose(a, a[::-1], equal_nan=True)
    left = a[:4]
    assert np.all(np.isfinite(left)) and np.all(np.diff(left) > 0)
    assert np.isnan(a[4])  # the centre is still liquid at alpha = 400
    # the second layer: alpha m^4 q_1(alpha)^2 = 1 with q_1 from the solved branch
    a2 = a[1]
    q1 = float(solve(ChainProblem("random", 10, a2)).q.sel(layer=1))
    assert a2 * (4 / np.pi**2) * q1**2 == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(tr.xi) and tr.xi > 0


def test_l1_is_never_liquid():
    tr = find_transitions(ChainProblem("random", 1, 1.0), alpha_max=5.0)
    assert tr.alpha_g_weights.tolist() == [0.0]


def _synthetic(values_left, L):
    """alpha_g over L weight layers, left-right symmetric, from the values of layers 1..len(values_left)."""
    a = np.full(L, np.nan)
    a[:len(values_left)] = values_left
    return np.where(np.isnan(a), a[::-1], a)


def test_growth_fits_recover_an_exact_exponential_and_reject_the_power_law():
    from deepglass.theory.transitions import fit_growth_laws

    layers = np.arange(1, 9)
    fits = fit_growth_laws(_synthetic(np.exp(0.3 + layers / 1.7), 18))
    assert fits["layers"] == list(range(1, 9))
    assert fits["exponential"]["xi"] == pytest.approx(1.7, rel=1e-12)
    assert fits["exponential"]["intercept"] == pytest.approx(0.3, abs=1e-12)
    assert fits["exponential"]["rms"] < 1e-12 and fits["exponential"]["r2"] == pytest.approx(1.0, abs=1e-12)
    assert fits["power"]["rms"] > 0.1 and fits["power"]["r2"] < 0.99


def test_growth_fits_recover_an_exact_power_law_and_reject_the_exponential():
    from deepglass.theory.transitions import fit_growth_laws

    layers = np.arange(1, 9)
    fits = fit_growth_laws(_synthetic(2.0 * layers ** 3.5, 18))
    assert fits["power"]["exponent"] == pytest.approx(3.5, rel=1e-12)
    assert fits["power"]["intercept"] == pytest.approx(np.log(2.0), abs=1e-12)
    assert fits["power"]["rms"] < 1e-12
    assert fits["exponential"]["rms"] > 0.2


def test_transitions_dict_reports_both_laws_on_the_same_layers():
    tr = find_transitions(ChainProblem("random", 10, 1.0), alpha_max=400.0)
    d = tr.as_dict()
    assert d["fit"]["layers"] == d["fit_power"]["layers"] == [1, 2, 3, 4]
    logs = np.log(tr.alpha_g_weights[:4])
    ll = np.arange(1, 5)
    # independent least squares (numpy lstsq) for both laws
    for key, x in (("fit", ll), ("fit_power", np.log(ll))):
        coef, *_ = np.linalg.lstsq(np.stack([np.ones(4), x], 1), logs, rcond=None)
        rms = np.sqrt(np.mean((logs - coef[0] - coef[1] * x) ** 2))
        assert d[key]["a"] == pytest.approx(coef[0], rel=1e-10)
        assert d[key]["rms"] == pytest.approx(rms, rel=1e-8)
    assert d["xi"] == pytest.approx(1 / np.polyfit(ll, logs, 1)[0], rel=1e-10)
    assert d["fit_power"]["b"] == pytest.approx(np.polyfit(np.log(ll), logs, 1)[0], rel=1e-10)
    assert d["discontinuous_at"] == []  # random data freeze continuously


def test_teacher_student_crystal_takes_over_by_a_jump():
    """Teacher-student L = 10: the centre does not freeze continuously but jumps onto the crystal where its
    free entropy overtakes the inward-freezing branch; just below, the liquid centre is still the solution."""
    from deepglass.theory.rs import _attempt, bottom_start, chain_state, free_entropy, n_unknowns, top_start

    L = 10
    tr = find_transitions(ChainProblem("teacher-student", L, 1.0), alpha_max=400.0)
    assert len(tr.jumps) == 1
    a_jump = tr.jumps[0]
    centre = tr.alpha_g_weights[L // 2 - 1]
    assert centre == a_jump
    entropies = {}
    for label, alpha in (("below", a_jump * (1 - 1e-3)), ("above", a_jump * (1 + 1e-3))):
        problem = ChainProblem("teacher-student", L, alpha)
        for start in ("bottom", "top"):
            x0 = bottom_start(L) if start == "bottom" else top_start(L)
            found, _, _ = _attempt(problem, x0, np.zeros(n_unknowns(L), bool), 10, 1e-10, 5000)
            entropies[label, start] = free_entropy(chain_state(found[0], problem), problem)
    # the two branches cross at the jump: the inward branch wins below, the crystal above
    assert entropies["below", "bottom"] > entropies["below", "top"]
    assert entropies["above", "top"] > entropies["above", "bottom"]
