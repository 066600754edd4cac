"""The RS chain solver against an independent solver built on adaptive quadrature (tests/quad_reference.py).

Where the 81-node Gauss-Hermite neuron block capped q at 0.861, `theory --depth 2 --alpha 30` returned
Q = 0.9360, q_1 = 0.8079; the accurate values are Q = 0.9583, q_1 = 0.8755 (free entropy -33.08). Here the
L = 2 random chain (mirror symmetric: Q_1 = Q_2 = Q, c_1 = c_2 = Q q) is solved with scipy.optimize.root on
quad-based blocks, and every solution of deepglass is also checked as a fixed point of the quad-based map.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from deepglass.errors import NoSolutionError
from deepglass.theory import ChainProblem, solve
from quad_reference import gap_reference, log2cosh_reference, neuron_q_reference


def _weight_overlap(y, nishimori):
    return y / (1 + y) if nishimori else 2 * y / (1 + 2 * y + np.sqrt(1 + 4 * y))


def reference_map(Q, q, alpha, kappa, nishimori):
    """The RS saddle-point map of the chain (rs.py's docstring) evaluated with the quad references."""
    L = len(Q)
    c = q[:-1] * Q * q[1:]
    chat = np.array([gap_reference(ci, kappa, nishimori)[1] for ci in c])
    Q_new = _weight_overlap(alpha * chat * q[:-1] * q[1:], nishimori)
    eps = chat[:-1] * q[:-2] * Q[:-1] + chat[1:] * Q[1:] * q[2:]
    q_new = np.array([neuron_q_reference(e, nishimori) for e in eps])
    return Q_new, np.concatenate([[1.0], q_new, [1.0]]), eps, c


def test_depth_two_random_matches_an_independent_solver():
    alpha = 30.0

    def F(t):  # unknowns as t = -log(1 - x): frozen layers stay resolved
        Q, q = 1 - np.exp(-t)
        Q_new, q_new, _, _ = reference_map(np.array([Q, Q]), np.array([1.0, q, 1.0]), alpha, 0.0, False)
        return -np.log1p(-np.array([Q_new[0], q_new[1]])) - t

    sol = optimize.root(F, [2.0, 2.0], method="hybr", options={"xtol": 1e-13})
    assert sol.success
    Q_ref, q_ref = 1 - np.exp(-sol.x)
    ds = solve(ChainProblem("random", 2, alpha))
    assert ds.Q.values[1] == pytest.approx(Q_ref, abs=1e-9) and ds.Q.values[2] == pytest.approx(Q_ref, abs=1e-9)
    assert ds.q.values[1] == pytest.approx(q_ref, abs=1e-9)
    assert Q_ref == pytest.approx(0.9583, abs=1e-4) and q_ref == pytest.approx(0.8755, abs=1e-4)
    # free entropy with the reference blocks: 2 s_J + alpha s_S + 2 alpha s_gap
    _, _, eps, c = reference_map(np.array([Q_ref, Q_ref]), np.array([1.0, q_ref, 1.0]), alpha, 0.0, False)
    s_J = 0.5 * (np.log1p(-Q_ref) + Q_ref / (1 - Q_ref))
    s_S = 0.5 * eps[0] * q_ref - 0.5 * eps[0] + log2cosh_reference(eps[0], False)
    s_gap = gap_reference(c[0], 0.0, False)[0]
    s_ref = 2 * s_J + alpha * s_S + 2 * alpha * s_gap
    assert ds.attrs["free_entropy"] == pytest.approx(s_ref, rel=1e-9)
    assert s_ref == pytest.approx(-33.08, abs=0.01)


@pytest.mark.parametrize("scenario,L,alpha", [
    ("random", 3, 12.0), ("random", 4, 40.0), ("teacher-student", 3, 20.0), ("teacher-student", 4, 1e3),
])
def test_solutions_are_fixed_points_of_the_quadrature_map(scenario, L, alpha):
    """A solution's residual recomputed with independent blocks: a wrong quadrature cannot hide behind a
    residual computed with itself."""
    ds = solve(ChainProblem(scenario, L, alpha))
    Q, q = ds.Q.values[1:], ds.q.values
    Q_new, q_new, _, _ = reference_map(Q, q, alpha, 0.0, scenario == "teacher-student")
    assert np.max(np.abs(Q_new - Q)) < 1e-8 and np.max(np.abs(q_new - q)) < 1e-8
    assert ds.attrs["residual"] < 1e-9


@pytest.mark.parametrize("L", [2, 3, 5, 6])
def test_teacher_student_crystallises_every_layer_at_large_load(L):
    """Bayes-optimal learning has no capacity: at large alpha every layer freezes onto the teacher
    (q_l, Q_l -> 1). The solver once returned a branch with Q ~ 1 but q_mid = 0.64 (L = 5, alpha = 1e5)."""
    for alpha in (1e3, 1e5):
        ds = solve(ChainProblem("teacher-student", L, alpha))
        assert np.all(ds.Q.values[1:] > 1 - 1e-5) and np.all(ds.q.values > 1 - 1e-12)
        assert ds.attrs["free_entropy"] > -10 * L * np.log10(alpha)  # ~ -(L/2) log(alpha^2), not ~ -alpha


@pytest.mark.parametrize("L,alpha,kappa", [(1, 3.0, 0.0), (1, 2.01, 0.0), (2, 1.0, 2.0), (2, 52.0, 0.0), (2, 1e9, 0.0)])
def test_beyond_capacity_is_no_solution(L, alpha, kappa):
    with pytest.raises(NoSolutionError, match="capacity"):
        solve(ChainProblem("random", L, alpha, kappa=kappa))


def test_iterations_count_every_map_evaluation(monkeypatch):
    """`iterations` includes the accelerated and Newton steps, not only the plain pre-iterations."""
    from deepglass.theory import rs

    calls = {"n": 0}
    original = rs.chain_state

    def counting(x, problem):
        calls["n"] += 1
        return original(x, problem)

    monkeypatch.setattr(rs, "chain_state", counting)
    ds = solve(ChainProblem("random", 6, 25.0))
    # every counted iteration is at least one map evaluation; residual checks and the final state add a few
    assert calls["n"] >= ds.attrs["iterations"] >= 0.5 * calls["n"]


def test_just_above_a_transition_the_tiny_frozen_branch_is_found():
    """7e-5 above alpha_g(5) = 796.29 of the L = 12 chain Q_5 is small but positive (and 0 just below); the
    solver used to polish the lifted seeds back onto the (unstable) liquid root four times and give up."""
    from deepglass.theory.rs import solve_rs_vector

    x, pinned, res, _ = solve_rs_vector(ChainProblem("random", 12, 796.3465923874501))
    assert res < 1e-10 and 0 < x[4] < 1e-3 and not pinned[4]
    x, pinned, res, _ = solve_rs_vector(ChainProblem("random", 12, 796.2))
    assert x[4] == 0.0 and pinned[4] and x[3] > 0.5


def test_below_a_transition_leftovers_are_not_a_frozen_layer():
    """Teacher-student L = 30 just below alpha_g(2) = 12.9156: the stable liquid, exactly (a slowly decaying
    leftover Q_2 = 1.6e-8 at residual 1e-10 was once reported as a frozen layer)."""
    from deepglass.theory.rs import solve_rs_vector

    x, pinned, res, _ = solve_rs_vector(ChainProblem("teacher-student", 30, 12.812548597960758))
    assert x[0] > 0.8 and x[1] == 0.0 and pinned[1]
