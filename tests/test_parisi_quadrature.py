"""The accurate Parisi recursion (theory/parisi_quadrature.py) against independent adaptive quadrature
(tests/parisi_reference.py: scipy.integrate, nested per level) and exact identities, over the physical
range including its corners: c_max up to 1 - 1e-10, Ising variance up to 1e6, kappa = +-10, m small and 1.

Tolerance: 1e-10 relative. Exception, measured and documented (docs/theory.md R2a): at kappa = -10 the
gap block's value and slopes are exponentially small (~e^-50); they are accurate to ~1e-16 absolute
(the scale of log H), not relative, so those cases compare with an absolute tolerance.
"""
import numpy as np
import pytest

from deepglass.errors import ConvergenceError
from deepglass.theory.krsb import solve_krsb_chain
from deepglass.theory.parisi_chain import ChainState, GridOptions, evaluate_chain
from deepglass.theory.parisi import StepFunction
from deepglass.theory.parisi_quadrature import Bottom, QuadratureOptions, accurate_recursion
from deepglass.theory.problem import ChainProblem

import parisi_reference as ref

REL = 1e-10


def close(a, b, rel=REL, abs_=0.0):
    return np.all(np.abs(np.asarray(a) - np.asarray(b)) <= rel * np.abs(np.asarray(b)) + abs_)


# ------------------------------------------------------------------ RS (k = 0) against quad
@pytest.mark.parametrize("c", [0.3, 0.9, 1 - 1e-6])
@pytest.mark.parametrize("kappa", [-10.0, -2.0, 0.0, 3.0, 10.0])
def test_rs_gap_value_and_slope_match_quad(c, kappa):
    s = np.sqrt(1 - c)
    res = accurate_recursion([c], [], Bottom("gap", kappa, s))
    value, sq, _ = ref.rs(ref.gap_bottom(kappa, s), c, kinks=(kappa,))
    tiny = 1e-14 if kappa <= -10 else 0.0  # exponentially small: absolute accuracy (module docstring)
    assert close(res.value, value, abs_=tiny) and close(res.sq_slope, sq, abs_=tiny)


@pytest.mark.slow
@pytest.mark.parametrize("kappa", [0.0, 10.0])
def test_rs_gap_at_c_one_minus_1e10(kappa):
    c, s = 1 - 1e-10, 1e-5
    res = accurate_recursion([c], [], Bottom("gap", kappa, s))
    value, sq, _ = ref.rs(ref.gap_bottom(kappa, s), c, kinks=(kappa,))
    assert close(res.value, value, rel=1e-12) and close(res.sq_slope, sq)


@pytest.mark.parametrize("eps", [1.0, 10.0, 1e3, 1e6])
def test_rs_ising_matches_quad_including_one_minus_q(eps):
    res = accurate_recursion([eps], [], Bottom("ising"))
    value, sq, _ = ref.rs(ref.ising_bottom, eps, kinks=(0.0,))
    assert close(res.value, value) and close(res.sq_slope, sq)
    # 1 - q = E sech^2 ~ 0.8 / sqrt(eps): the saddle point works in -log(1 - q), so 1 - q itself must be accurate
    one_minus = ref.gaussian_mean(lambda h: np.array([1.0 / np.cosh(h) ** 2]), eps, kinks=(0.0,))
    assert close(1 - res.sq_slope, one_minus, rel=1e-9)


# ------------------------------------------------------------------ exact identities at the corners
@pytest.mark.parametrize("c0,c1", [(0.5, 1 - 1e-6), (0.9, 1 - 1e-10), (1 - 1e-8, 1 - 1e-10)])
@pytest.mark.parametrize("kappa", [-10.0, 0.0, 10.0])
def test_gap_step_at_m_one_is_a_wider_log_H(c0, c1, kappa):
    # E_z H((kappa - h - sqrt(c1 - c0) z)/s1) = H((kappa - h)/sqrt(1 - c0)): 1RSB at m = 1 is RS at c0
    one = accurate_recursion([c0, c1], [1.0], Bottom("gap", kappa, np.sqrt(1 - c1)))
    rs = accurate_recursion([c0], [], Bottom("gap", kappa, np.sqrt(1 - c0)))
    tiny = 1e-14 if kappa <= -10 else 0.0
    assert close(one.value, rs.value, abs_=tiny)
    assert close(one.sq_slope[0], rs.sq_slope[0], abs_=tiny)


@pytest.mark.parametrize("a0,a1", [(10.0, 1e3), (1e5, 1e6)])
def test_ising_step_at_m_one_adds_half_the_jump(a0, a1):
    # E_z 2cosh(h + sqrt(D) z) = 2cosh(h) e^{D/2}
    one = accurate_recursion([a0, a1], [1.0], Bottom("ising"))
    rs = accurate_recursion([a0], [], Bottom("ising"))
    assert close(one.value, rs.value + 0.5 * (a1 - a0), rel=1e-13)
    assert close(one.sq_slope[0], rs.sq_slope[0])


def test_two_rsb_with_last_m_one_is_one_rsb_with_wider_bottom():
    c, m, kappa = [0.3, 0.8, 1 - 1e-9], [0.2, 1.0], 0.5
    two = accurate_recursion(c, m, Bottom("gap", kappa, np.sqrt(1 - c[2])))
    one = accurate_recursion(c[:2], m[:1], Bottom("gap", kappa, np.sqrt(1 - c[1])))
    assert close(two.value, one.value) and close(two.sq_slope[:2], one.sq_slope)
    assert close(two.mean_value[:2], one.mean_value)


def test_equal_levels_and_small_m_reduce_to_rs():
    # a zero jump is no step; m -> 0 is the plain Gaussian average (relative precision kept as m -> 0)
    b = Bottom("gap", 1.0, np.sqrt(1e-7))
    flat = accurate_recursion([1 - 1e-7] * 3, [0.3, 0.7], b)
    direct = accurate_recursion([1 - 1e-7], [], b)
    assert close(flat.value, direct.value) and close(flat.sq_slope, direct.sq_slope[0])
    # (1/m) log E e^{m phi} - E phi ~ (m/2) Var phi, and Var phi ~ 1e14 here: m = 1e-20 is 5e-7 on 1e7
    small = accurate_recursion([0.6, 1 - 1e-7], [1e-20], b)
    zero = accurate_recursion([0.6, 1 - 1e-7], [0.0], b)
    assert close(small.value, zero.value, rel=1e-12) and close(small.sq_slope, zero.sq_slope, rel=1e-12)


# ------------------------------------------------------------------ 1RSB against nested adaptive quadrature
def _one_rsb_case(c0, c1, m, kappa):
    s = np.sqrt(1 - c1)
    res = accurate_recursion([c0, c1], [m], Bottom("gap", kappa, s))
    sd1 = np.sqrt(c1 - c0)
    value, sq, mean = ref.one_rsb(ref.gap_bottom(kappa, s), c0, c1, m, kinks=(kappa,),
                                  span=lambda h: 45.0 + abs(kappa - h) / sd1)
    return res, value, sq, mean


@pytest.mark.slow  # the nested adaptive reference takes minutes on 2 cores
def test_one_rsb_gap_matches_nested_quad():
    res, value, sq, mean = _one_rsb_case(0.25, 0.7, 0.4, 0.3)
    assert close(res.value, value) and close(res.sq_slope, sq) and close(res.mean_value, mean)


@pytest.mark.slow
@pytest.mark.parametrize("c0,c1,m,kappa", [(0.5, 1 - 1e-6, 0.05, 0.0), (0.9, 1 - 1e-10, 0.01, 1.0),
                                            (0.3, 0.99, 1.0, -2.0), (0.2, 1 - 1e-6, 0.3, 10.0),
                                            (0.6, 1 - 1e-8, 1e-3, -3.0)])
def test_one_rsb_gap_corners_match_nested_quad(c0, c1, m, kappa):
    res, value, sq, mean = _one_rsb_case(c0, c1, m, kappa)
    assert close(res.value, value) and close(res.sq_slope, sq) and close(res.mean_value, mean)


@pytest.mark.slow
@pytest.mark.parametrize("a0,a1,m", [(1e2, 1e3, 0.3), (1e4, 1e6, 0.05)])
def test_one_rsb_ising_large_variance_matches_nested_quad(a0, a1, m):
    res = accurate_recursion([a0, a1], [m], Bottom("ising"))
    sd1 = np.sqrt(a1 - a0)
    value, sq, mean = ref.one_rsb(ref.ising_bottom, a0, a1, m, kinks=(0.0,), span=lambda h: 45.0 + 1.5 * m * sd1)
    assert close(res.value, value) and close(res.sq_slope, sq) and close(res.mean_value, mean)


# ------------------------------------------------------------------ derivatives, refinement, the chain
def test_breakpoint_and_level_gradients_at_a_frozen_corner():
    c, m, kappa = np.array([0.4, 0.95, 1 - 1e-8]), np.array([0.05, 0.3]), 0.5
    widths = np.diff(np.concatenate([[0.0], m, [1.0]]))

    def value(cc, mm):
        return accurate_recursion(cc, mm, Bottom("gap", kappa, np.sqrt(1 - c[-1]))).value

    res = accurate_recursion(c, m, Bottom("gap", kappa, np.sqrt(1 - c[-1])))
    g_m = res.breakpoint_gradient(m)
    g_c = res.level_gradient(widths)
    for i, e in enumerate((1e-5, 1e-5)):
        d = np.zeros(2)
        d[i] = e
        fd = (value(c, m + d) - value(c, m - d)) / (2 * e)
        assert g_m[i] == pytest.approx(fd, rel=1e-6)
    for i, e in enumerate((1e-6, 1e-6)):  # the top level moves the bottom's diagonal jump: not this identity
        d = np.zeros(3)
        d[i] = e
        fd = (value(c + d, m) - value(c - d, m)) / (2 * e)
        assert g_c[i] == pytest.approx(fd, rel=1e-6)


def test_refined_quadrature_agrees():
    c, m = [0.2, 0.7, 1 - 1e-10], [0.1, 0.5]
    b = Bottom("gap", -1.0, np.sqrt(1e-10))
    base = accurate_recursion(c, m, b)
    fine = accurate_recursion(c, m, b, QuadratureOptions().refined())
    assert close(base.value, fine.value, rel=1e-12) and close(base.sq_slope, fine.sq_slope)
    assert close(base.mean_value, fine.mean_value)


@pytest.mark.slow  # ~110 s on the shared 2-core machine
def test_chain_rs_levels_equal_quad_formulas():
    # L = 2 chain, RS state: the gap blocks are E_z log H(u) and the spin block E log 2cosh, E tanh^2 (quad)
    problem = ChainProblem("random", 2, 3.0, 0.5)
    one = StepFunction([], [1.0])
    Q, q = [None, StepFunction([], [0.8]), StepFunction([], [0.7])], [one, StepFunction([], [0.6]), one]
    ev = evaluate_chain(problem, ChainState(Q, q), GridOptions())
    # equal levels on one breakpoint: the same free entropy
    Qk = [None] + [StepFunction([0.4], [f.levels[0]] * 2) for f in Q[1:]]
    qk = [one, StepFunction([0.4], [0.6, 0.6]), one]
    evk = evaluate_chain(problem, ChainState(Qk, qk), GridOptions())
    assert evk.free_entropy == pytest.approx(ev.free_entropy, rel=1e-12)
    c1, c2 = 0.8 * 0.6, 0.6 * 0.7
    gap = [ref.rs(ref.gap_bottom(0.5, np.sqrt(1 - cc)), cc, kinks=(0.5,))[0] for cc in (c1, c2)]
    eps = float(ev.eps[1][0])
    spin_value, _, _ = ref.rs(ref.ising_bottom, eps, kinks=(0.0,))
    sJ = sum(0.5 * (np.log(1 - x) + x / (1 - x)) for x in (0.8, 0.7))
    sS = 0.5 * eps * 0.6 - 0.5 * eps + spin_value
    assert ev.free_entropy == pytest.approx(sJ + 3.0 * (sS + sum(gap)), rel=1e-11)
    tanh2 = ref.gaussian_mean(lambda h: np.array([np.tanh(h) ** 2]), eps, kinks=(0.0,))[0]
    assert ev.q_new[1].levels[0] == pytest.approx(tanh2, rel=1e-11)


def test_solver_reports_refined_residual_and_refuses_beyond_capacity():
    ds = solve_krsb_chain(ChainProblem("random", 1, 1.0, 0.0), steps=1)
    assert ds.attrs["residual"] >= ds.attrs["residual_refined"] and ds.attrs["residual"] < 1e-8
    assert ds.attrs["quadrature_error"] < 1e-11
    with pytest.raises(ConvergenceError):  # Gardner capacity at kappa = 0 is 2
        solve_krsb_chain(ChainProblem("random", 1, 3.0, 0.0), steps=1)


@pytest.mark.parametrize("jump", [1e-13, 1e-9, 1e-6])
def test_narrow_step_is_the_heat_kernel_expansion(jump):
    # a level jump D far below the node spacing (collapsing steps): the tilted maximum of the first
    # nodes lies between the range end and the first node, where the mode search used to miss it.
    # phi_0 = log 2cosh + (D/2)(sech^2 + m tanh^2) + O(D^2), so Phi = E_a[that] to O(D^2)
    a, m = 0.43324743, 0.3
    res = accurate_recursion([a, a + jump], [m], Bottom("ising"))
    value = ref.rs(ref.ising_bottom, a, kinks=(0.0,))[0]
    sech2 = ref.gaussian_mean(lambda h: np.array([1.0 / np.cosh(h) ** 2]), a, kinks=(0.0,))[0]
    expected = value + 0.5 * jump * (sech2 + m * (1.0 - sech2))
    assert res.value == pytest.approx(expected, rel=1e-13, abs=jump ** 2)


@pytest.mark.parametrize("bottom", [Bottom("ising"), Bottom("gap", 0.5, 0.6)], ids=["ising", "gap"])
@pytest.mark.parametrize("root", [1e-64, 1e-66, 1e-100, 1e-200])
def test_vanishing_root_variance_is_the_zero_field_value(bottom, root):
    # a lowest level driven geometrically to 0 by the level iteration (1e-22 per factor in the liquid-side
    # layers of L = 10, alpha = 30; products of three in a gap block): the root Gaussian of variance a_0
    # changes Phi by a_0/2 phi_0''(0), far below rounding. The old code could not resolve the mode of such a
    # narrow Gaussian and cut its window into ~1e11 pieces (1e-64: the bench's MemoryError, now a ValueError),
    # divided by zero (1e-100) or returned 0 (1e-200).
    at_zero = accurate_recursion([0.0, 0.45], [0.3], bottom, QuadratureOptions().coarse())
    res = accurate_recursion([root, 0.45], [0.3], bottom, QuadratureOptions().coarse())
    assert res.value == pytest.approx(at_zero.value, rel=1e-14)
    assert close(res.sq_slope, at_zero.sq_slope, rel=1e-13, abs_=1e-20)


def test_chain_with_vanishing_lowest_levels_evaluates():
    # the state that produced the MemoryError: the lowest levels of the layers next to the liquid centre
    # ~1e-22 (their product in the gap block 1e-66); the map and s equal those of the state with these
    # levels set to 0 (the change is O(1e-22))
    problem = ChainProblem("random", 3, 30.0)
    one = StepFunction([], [1.0])

    def state(tiny):
        Q = [None, StepFunction([0.3], [0.38, 0.89]), StepFunction([0.3], [tiny, 0.46]),
             StepFunction([0.3], [0.38, 0.89])]
        q = [one, StepFunction([0.3], [tiny, 0.5]), StepFunction([0.3], [tiny, 0.5]), one]
        return ChainState(Q, q)

    opts = QuadratureOptions().coarse()
    ev, ev0 = evaluate_chain(problem, state(1e-22), opts), evaluate_chain(problem, state(0.0), opts)
    assert ev.free_entropy == pytest.approx(ev0.free_entropy, rel=1e-13)
    for new, new0 in zip(ev.Q_new[1:] + ev.q_new[1:-1], ev0.Q_new[1:] + ev0.q_new[1:-1]):
        assert close(new.levels, new0.levels, rel=1e-12, abs_=1e-20)  # the map is linear in the tiny levels
