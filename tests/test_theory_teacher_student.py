"""Teacher-student (Nishimori) RS: Gibbs learning of the perceptron, eps_g propagation, field response."""
import numpy as np
import pytest
from scipy import integrate, optimize, special

from deepglass.theory import ChainProblem, solve
from deepglass.theory.field import field_response
from deepglass.theory.teacher_student import generalization_error, fresh_input_overlaps


def _gyorgyi_tishby_R(alpha):
    """R/sqrt(1-R) = (alpha/pi) int Dt exp(-R t^2/2) / H(sqrt(R) t), solved by brentq (Engel & Van den Broeck 2.42)."""
    def rhs(R):
        f = lambda t: np.exp(-t * t / 2 - R * t * t / 2) / np.sqrt(2 * np.pi) / special.ndtr(-np.sqrt(R) * t)
        return alpha / np.pi * integrate.quad(f, -30, 30, limit=200, epsabs=1e-14)[0]
    return optimize.brentq(lambda R: R / np.sqrt(1 - R) - rhs(R), 1e-12, 1 - 1e-12, xtol=1e-14)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0, 10.0])
def test_gibbs_learning_of_the_perceptron(alpha):
    ds = solve(ChainProblem("teacher-student", 1, alpha))
    R = float(ds.Q.sel(layer=1))
    assert R == pytest.approx(_gyorgyi_tishby_R(alpha), abs=1e-8)
    assert ds.attrs["eps_g"] == pytest.approx(np.arccos(R) / np.pi, abs=1e-14)


def test_gibbs_learning_asymptote():
    for alpha in (200.0, 1000.0):
        eps = solve(ChainProblem("teacher-student", 1, alpha)).attrs["eps_g"]
        assert 0.60 < alpha * eps < 0.64


def test_test_overlap_propagation():
    R = np.array([0.9, 0.8, 0.95])
    m = fresh_input_overlaps(R)
    assert m[0] == 1.0
    assert m[1] == pytest.approx(1 - 2 * np.arccos(0.9) / np.pi)
    assert m[3] == pytest.approx(2 / np.pi * np.arcsin(0.95 * m[2]))
    assert generalization_error(R) == pytest.approx((1 - m[3]) / 2, abs=1e-14)
    assert generalization_error(np.array([0.7])) == pytest.approx(np.arccos(0.7) / np.pi)
    # a liquid layer anywhere means no information about the teacher at the output
    assert generalization_error(np.array([0.9, 0.0, 0.9])) == pytest.approx(0.5)


@pytest.mark.parametrize("L", [2, 4, 7])
def test_nishimori_rs_is_stable(L):
    """On the Nishimori line RS is exact: the replicon must stay positive (not imposed by the code)."""
    for alpha in (1.0, 5.0, 20.0, 60.0):
        ds = solve(ChainProblem("teacher-student", L, alpha))
        assert ds.attrs["replicon_chain"] > 0


def test_eps_g_decreases_with_data_and_depth_makes_it_harder():
    eps = [solve(ChainProblem("teacher-student", 3, a)).attrs["eps_g"] for a in (3.0, 10.0, 30.0, 100.0)]
    assert np.all(np.diff(eps) < 0) and eps[-1] < 0.2
    shallow = solve(ChainProblem("teacher-student", 1, 10.0)).attrs["eps_g"]
    deep = solve(ChainProblem("teacher-student", 4, 10.0)).attrs["eps_g"]
    assert shallow < deep


def test_field_pulls_central_layers_and_lowers_transitions():
    fr = field_response(ChainProblem("teacher-student", 6, 5.0), [0.0, 0.2, 1.0], alpha_max=60.0)
    q3 = fr.q.sel(layer=3).values
    assert q3[0] == 0.0 and 0 < q3[1] < q3[2]
    a2 = fr.alpha_g.sel(layer=2).values
    assert a2[0] > a2[1] > a2[2]
    rnd = field_response(ChainProblem("random", 6, 5.0), [0.0, 0.5])
    assert float(rnd.q.sel(layer=3)[1]) > 0 and float(rnd.q.sel(layer=3)[0]) == 0


def test_cold_solve_of_a_deep_chain_finds_the_inward_branch():
    """L = 40, alpha = 680: eight layers freeze from each end and the centre stays liquid. Reaching that branch
    from the bottom start takes one seeding round per freezing front step (more than the 4 rounds the solver
    once allowed, which then fell back on the crystal); the crystal, every layer frozen, is a fixed point of
    much lower free entropy, so the Bayes-optimal answer is the inward branch."""
    from deepglass.theory import rs

    problem = ChainProblem("teacher-student", 40, 680.0)
    ds = solve(problem)
    Q = ds.Q.values[1:]
    assert np.all(Q[:8] > 0.5) and np.all(Q[-8:] > 0.5) and np.all(Q[8:-8] == 0.0)
    crystal, _, _ = rs._attempt(problem, rs.top_start(40), np.zeros(rs.n_unknowns(40), bool), 10, 1e-10, 5000)[0]
    assert np.all(crystal[:40] > 0.99)
    s_crystal = rs.free_entropy(rs.chain_state(crystal, problem), problem)
    assert ds.attrs["free_entropy"] > s_crystal + 5.0
