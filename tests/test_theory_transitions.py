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
