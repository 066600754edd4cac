"""Newton steps on the k-RSB breakpoints (theory/parisi_newton.py), against independent facts:
the reduced free entropy S(m) (levels at their fixed point) differenced in m, and its minimum."""
import numpy as np
import pytest

from deepglass.theory.krsb import initial_state, replica_symmetric_start
from deepglass.theory.parisi_chain import GridOptions, breakpoint_gradient, pack_breakpoints, unpack_breakpoints
from deepglass.theory.parisi_newton import (
    descent_direction,
    difference_hessian,
    largest_feasible_fraction,
    newton_breakpoints,
)
from deepglass.theory.parisi_solver import solve_levels
from deepglass.theory.problem import ChainProblem

# L = 1, kappa = -1, alpha = 10: beyond the AT line, a clear 1RSB step (docs/theory.md R8)
PROBLEM = ChainProblem("random", 1, 10.0, -1.0)
OPTS = GridOptions().coarse()


def reduced(state, m, tol=1e-12):
    """S(m) and the level solution at fixed breakpoints m (levels converged to tol)."""
    st, ev, res, it, ok = solve_levels(PROBLEM, unpack_breakpoints(np.atleast_1d(m), state, 1), OPTS, tol=tol,
                                       max_iter=500)
    assert ok
    return ev.free_entropy, st, ev, res


@pytest.fixture(scope="module")
def solution():
    """Newton on the breakpoints from the RS solution split open (the first stage of solve_krsb_chain)."""
    state = initial_state(PROBLEM, 1, replica_symmetric_start(PROBLEM))
    st, ev, res, it, collapsed = newton_breakpoints(PROBLEM, state, OPTS, solve_levels, tol=1e-10, max_iter=500,
                                                    what="test")
    assert not collapsed and res <= 1e-10
    return st


def test_gradient_and_difference_hessian_are_derivatives_of_the_reduced_free_entropy(solution):
    m, e = 0.3, 1e-3  # away from the optimum m* = 0.219: G and H both clearly nonzero

    def S(x):
        return reduced(solution, x)[0]

    def dS(x):  # central difference of the reduced free entropy: independent of the ds/dm identity
        return (S(x + e) - S(x - e)) / (2 * e)

    s0, st, ev, res = reduced(solution, m)
    G = breakpoint_gradient(ev, 1)

    def levels_at(mm, start_state, y_start, tol):
        return reduced(start_state, mm, tol)[1:]

    H, Y, *_ = difference_hessian(np.array([m]), st, ev, res, 1, levels_at, 1e-12)
    h = 1e-2 * min(m, 1 - m)  # the forward step of difference_hessian
    # envelope theorem: dS/dm is the partial ds/dm at the level fixed point; H includes the level response
    assert G[0] == pytest.approx(dS(m), rel=1e-4)
    assert H[0, 0] == pytest.approx((dS(m + h) - dS(m)) / h, rel=1e-3)
    assert H[0, 0] > 0 and G[0] > 0  # above the optimum: S rises with m, and is convex there


def test_newton_solution_is_the_minimum_of_the_reduced_free_entropy(solution):
    m_star = float(pack_breakpoints(solution, 1)[0])
    assert 0.2 < m_star < 0.24  # docs/theory.md R8: m = 0.219
    h = 2e-3
    s0 = reduced(solution, m_star)[0]
    s_plus, s_minus = reduced(solution, m_star + h)[0], reduced(solution, m_star - h)[0]
    curvature = (s_plus - 2 * s0 + s_minus) / h**2
    # stationary: the central difference of S vanishes to its truncation error (h^2 S'''/6, far below h S'')
    assert abs(s_plus - s_minus) / (2 * h) < 1e-2 * curvature * h
    assert s_plus > s0 and s_minus > s0  # a minimum in m, as the Parisi functional (docs/theory.md R9)


def test_feasible_fraction_keeps_the_breakpoints_ordered_inside_the_unit_interval():
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(1, 5))
        m = np.sort(rng.uniform(0.01, 0.99, k))
        delta = rng.normal(0.0, 0.5, k)
        t = largest_feasible_fraction(m, delta)
        new = m + t * delta
        gaps, new_gaps = np.diff(np.concatenate([[0], m, [1]])), np.diff(np.concatenate([[0], new, [1]]))
        assert 0 < t <= 1 and np.all(new_gaps >= 0.25 * gaps - 1e-12)


def test_descent_direction_is_newton_where_convex_and_descends_otherwise():
    G = np.array([1.0, -2.0])
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(descent_direction(H, G), -np.linalg.solve(H, G), rtol=1e-12)
    indefinite = np.array([[1.0, 0.0], [0.0, -3.0]])
    assert float(G @ descent_direction(indefinite, G)) < 0
