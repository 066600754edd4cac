"""RSB theory of the chain: Parisi blocks against independent quadratures, k-RSB/full-RSB consistency."""
import numpy as np
import pytest
from scipy import special

from deepglass.errors import ConfigError
from deepglass.theory.frsb import solve_frsb_chain
from deepglass.theory.krsb import solve_krsb_chain
from deepglass.theory.parisi import (
    FieldGrid,
    StepFunction,
    gap_bottom,
    parisi_recursion,
    spherical_entropy,
    spherical_overlap_from_conjugate,
)
from deepglass.theory.problem import ChainProblem

Z, W = np.polynomial.hermite_e.hermegauss(161)
W = W / np.sqrt(2 * np.pi)


def log_H(x):
    return special.log_ndtr(-x)


def gap_value(levels, breakpoints, kappa):
    c = np.asarray(levels, float)
    grid = FieldGrid.fixed(max(9 * np.sqrt(c[-1]), abs(kappa) + 6 * np.sqrt(c[-1])), 300)
    return parisi_recursion(c, np.asarray(breakpoints, float), gap_bottom(kappa, c[-1]), grid)


# ------------------------------------------------------------------ Parisi blocks vs independent quadrature
@pytest.mark.parametrize("c,kappa", [(0.3, 0.0), (0.8, 0.5), (0.6, -1.0)])
def test_rs_gap_block_matches_gauss_hermite(c, kappa):
    direct = np.sum(W * log_H((kappa - np.sqrt(c) * Z) / np.sqrt(1 - c)))
    assert gap_value([c], [], kappa).value == pytest.approx(direct, abs=1e-8)


def test_1rsb_gap_block_matches_nested_quadrature():
    # Phi = E_z0 (1/m) log E_z1 H((kappa - sqrt(c0) z0 - sqrt(c1 - c0) z1)/sqrt(1 - c1))^m
    c0, c1, m, kappa = 0.25, 0.7, 0.4, 0.3
    h = np.sqrt(c0) * Z[:, None] + np.sqrt(c1 - c0) * Z[None, :]
    inner = np.sum(W[None, :] * np.exp(m * log_H((kappa - h) / np.sqrt(1 - c1))), axis=1)
    direct = np.sum(W * np.log(inner) / m)
    assert gap_value([c0, c1], [m], kappa).value == pytest.approx(direct, abs=1e-7)


def test_recursion_gradients_match_finite_differences():
    levels, bps, kappa = np.array([0.2, 0.5, 0.75]), np.array([0.3, 0.6]), 0.2
    res = gap_value(levels, bps, kappa)
    widths = np.diff(np.concatenate([[0], bps, [1]]))
    g_lv, g_bp = res.level_gradient(widths), res.breakpoint_gradient(bps)
    e = 1e-5
    for i in range(3):
        d = np.zeros(3)
        d[i] = e
        fd = (gap_value(levels + d, bps, kappa).value - gap_value(levels - d, bps, kappa).value) / (2 * e)
        assert g_lv[i] == pytest.approx(fd, abs=2e-6)
    for i in range(2):
        d = np.zeros(2)
        d[i] = e
        fd = (gap_value(levels, bps + d, kappa).value - gap_value(levels, bps - d, kappa).value) / (2 * e)
        assert g_bp[i] == pytest.approx(fd, abs=2e-6)


def test_spherical_block_rs_and_inverse():
    Q = spherical_overlap_from_conjugate(StepFunction([], [2.0]))
    assert Q.levels[0] / (1 - Q.levels[0]) ** 2 == pytest.approx(2.0, rel=1e-12)
    value, *_ = spherical_entropy(StepFunction([], [0.4]))
    assert value == pytest.approx(0.5 * (np.log(0.6) + 0.4 / 0.6), abs=1e-14)
    # the saddle point of s_J solved by the Parisi inverse has gradient (1/2) w_i K_i, for k-RSB too
    K = StepFunction([0.3, 0.7], [0.5, 1.0, 3.0])
    Q = spherical_overlap_from_conjugate(K)
    _, grad, _ = spherical_entropy(Q)
    assert grad == pytest.approx(0.5 * K.widths * K.levels, rel=1e-10)


@pytest.mark.parametrize("K", [StepFunction([0.3], [2.69301496e18] * 2), StepFunction([0.3, 0.7], [3e5, 1e8, 1e10])],
                         ids=["rs-on-a-breakpoint", "2rsb"])
def test_spherical_inverse_at_huge_conjugates(K):
    # near a capacity chat (and K = alpha chat) -> infinity: Lambda_i - Lambda_0 was computed by differencing two
    # numbers ~K and lost to rounding (-512 for K = 2.7e18: a zero denominator, RuntimeWarnings, a wrong root)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Q = spherical_overlap_from_conjugate(K)
        _, grad, _ = spherical_entropy(Q)
    if np.ptp(K.levels) == 0:  # RS: Q / (1 - Q)^2 = K, 1 - Q ~ K^-1/2
        q = Q.levels[0]
        assert Q.levels[1] == q and (1 - q) == pytest.approx(2.0 / (1 + np.sqrt(1 + 4 * K.levels[0])), rel=1e-6)
    else:
        assert grad == pytest.approx(0.5 * K.widths * K.levels, rel=1e-6)


# ------------------------------------------------------------------ Gardner (L = 1)
def gardner_rs_free_entropy(Q, kappa, alpha):
    s_gap = np.sum(W * log_H((kappa - np.sqrt(Q) * Z) / np.sqrt(1 - Q)))
    return 0.5 * (np.log(1 - Q) + Q / (1 - Q)) + alpha * s_gap


def test_rs_limit_is_gardner():
    ds = solve_krsb_chain(ChainProblem("random", 1, 1.0, 0.0), steps=0)
    Q = float(ds["Q"].sel(layer=1))
    assert Q == pytest.approx(0.5853, abs=1e-4)  # MODEL.md section 6
    assert ds.attrs["free_entropy"] == pytest.approx(gardner_rs_free_entropy(Q, 0.0, 1.0), abs=1e-8)


def test_1rsb_collapses_to_rs_below_capacity_at_kappa_0():
    problem = ChainProblem("random", 1, 1.5, 0.0)
    rs = solve_krsb_chain(problem, steps=0)
    one = solve_krsb_chain(problem, steps=1)
    assert one.attrs["free_entropy"] == pytest.approx(rs.attrs["free_entropy"], abs=1e-9)
    assert np.ptp(one["Q_levels"].sel(layer=1).values) < 1e-6


@pytest.mark.slow  # ~60 s with the accurate quadrature (full RSB n_x = 20 included)
def test_rsb_beyond_the_at_line_at_negative_kappa():
    # kappa = -1, alpha = 10: RS is replicon-unstable; each RSB step lowers the free entropy (n -> 0:
    # the saddle is a minimum in the overlaps), by less and less, and full RSB sits at the k -> oo end
    problem = ChainProblem("random", 1, 10.0, -1.0)
    rs = solve_krsb_chain(problem, steps=0).attrs["free_entropy"]
    ds1 = solve_krsb_chain(problem, steps=1)
    ds2 = solve_krsb_chain(problem, steps=2, init=ds1)
    s1, s2 = ds1.attrs["free_entropy"], ds2.attrs["free_entropy"]
    assert s1 < rs - 1e-2
    assert s2 < s1 - 1e-5
    levels = ds1["Q_levels"].sel(layer=1).values
    assert levels[1] - levels[0] > 0.1 and 0 < ds1["breakpoints"].sel(layer=1).values[1] < 1
    full = solve_frsb_chain(problem, init=ds1, n_x=20).attrs["free_entropy"]
    assert full < s2 + 1e-5 and full < s1 - 4e-5
    assert abs(full - s2) < 5e-5


def test_contract_layout():
    ds = solve_krsb_chain(ChainProblem("random", 3, 1.0, 0.0), steps=2)
    assert ds.attrs["ansatz"] == "krsb" and ds.attrs["steps"] == 2 and ds.attrs["converged"] == 1
    assert list(ds["layer"].values) == [0, 1, 2, 3] and ds.sizes["level"] == 3
    assert ds["q"].values[0] == 1 and ds["q"].values[-1] == 1 and np.isnan(ds["Q"].values[0])
    assert ds["q_x"].dims == ("layer", "x") and np.all(np.diff(ds["Q_x"].values[1:], axis=1) >= 0)
    for key in ("free_entropy", "residual", "iterations", "alpha", "kappa", "scenario", "L", "field"):
        assert key in ds.attrs
    assert ds.attrs["residual"] < 1e-8


def test_rs_chain_matches_rs_solver():
    rs_module = pytest.importorskip("deepglass.theory.rs")
    problem = ChainProblem("random", 4, 2.0, 0.0)
    ours = solve_krsb_chain(problem, steps=0)
    theirs = rs_module.solve_rs(problem)
    assert ours.attrs["free_entropy"] == pytest.approx(theirs.attrs["free_entropy"], abs=1e-8)
    np.testing.assert_allclose(ours["q"].values, theirs["q"].values, atol=1e-7)


def test_bad_input():
    with pytest.raises(ConfigError, match="scenario"):
        solve_krsb_chain(ChainProblem("teacher-student", 2, 1.0), steps=1)
    with pytest.raises(ConfigError, match="scenario"):
        solve_frsb_chain(ChainProblem("teacher-student", 2, 1.0))
    with pytest.raises(ConfigError, match="steps"):
        solve_krsb_chain(ChainProblem("random", 2, 1.0), steps=-1)
    with pytest.raises(ConfigError, match="n_x"):
        solve_frsb_chain(ChainProblem("random", 1, 1.0), n_x=2)
    with pytest.raises(ConfigError, match="panel_nodes"):
        solve_krsb_chain(ChainProblem("random", 1, 1.0), steps=1, panel_nodes=5)


def test_dispatcher_reaches_rsb_solvers():
    solve_module = pytest.importorskip("deepglass.theory.dispatch")
    ds = solve_module.solve(ChainProblem("random", 1, 10.0, -1.0), "krsb", steps=1, tol=1e-8)
    assert ds.attrs["ansatz"] == "krsb" and ds.attrs["free_entropy"] < -2.35


@pytest.mark.slow
def test_chain_rsb_sequence_and_full_rsb():
    # L = 2, alpha = 3: the RS chain is replicon-unstable (rs solver: replicon_chain < 0)
    problem = ChainProblem("random", 2, 3.0, 0.0)
    rs = solve_krsb_chain(problem, steps=0).attrs["free_entropy"]
    ds, s = None, []
    for k in (1, 2, 3):
        ds = solve_krsb_chain(problem, steps=k, init=ds)
        s.append(ds.attrs["free_entropy"])
    assert rs > s[0] > s[1] > s[2]
    assert s[0] - s[1] > s[1] - s[2] > 0
    full = solve_frsb_chain(problem, init=ds, n_x=20).attrs["free_entropy"]
    assert abs(full - s[2]) < 2e-6


def test_compiled_kernels_equal_numpy_path(monkeypatch):
    from deepglass.theory import parisi_kernels

    if parisi_kernels.backward_step is None:
        pytest.skip("numba not installed: only the numpy path exists")
    levels, bps = np.array([0.1, 0.45, 0.8]), np.array([0.25, 0.65])
    fast = gap_value(levels, bps, 0.3)
    monkeypatch.setattr(parisi_kernels, "backward_step", None)
    monkeypatch.setattr(parisi_kernels, "forward_step", None)
    slow = gap_value(levels, bps, 0.3)
    assert fast.value == pytest.approx(slow.value, abs=1e-13)
    np.testing.assert_allclose(fast.sq_slope, slow.sq_slope, atol=1e-12)
    np.testing.assert_allclose(fast.mean_value, slow.mean_value, atol=1e-12)


def test_log_sum_exp_of_only_minus_infinity_is_minus_infinity_without_warning():
    """A slice with zero total weight (all -inf) is -inf; compared with scipy's logsumexp."""
    import warnings

    from scipy.special import logsumexp

    from deepglass.theory.parisi import _lse

    a = np.array([[-np.inf, -np.inf, -np.inf], [0.0, np.log(3.0), -np.inf], [1000.0, 1000.0, -5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = _lse(a, axis=1).ravel()
        whole = _lse(np.full(4, -np.inf))
    assert rows[0] == -np.inf
    np.testing.assert_allclose(rows, logsumexp(a, axis=1), rtol=1e-15)  # -inf compared as equal
    assert whole == -np.inf


@pytest.mark.slow  # ~20 s: three 1RSB solves
def test_1rsb_branch_kept_near_the_capacity_at_kappa_minus_1():
    # L = 1, kappa = -1: RS is unstable (replicon < 0) beyond ~8; the 1RSB branch has m -> 0 with 1 - q_1 -> 0.
    # A warm start from alpha = 10.8 (m = 0.153) at 11.6 (m = 0.079) used to overshoot to m = 0 and collapse
    # onto the unstable RS point; the robust pass of solve_chain keeps the branch
    from deepglass.theory.rs import solve_rs

    init = None
    for alpha in (10.0, 10.8, 11.6):
        ds = solve_krsb_chain(ChainProblem("random", 1, alpha, -1.0), steps=1, init=init)
        init = ds
    assert solve_rs(ChainProblem("random", 1, 11.6, -1.0)).attrs["replicon_chain"] < 0
    q0, q1 = ds["Q_levels"].values[1]
    assert not ds.attrs["collapsed_to_rs"] and q1 - q0 > 0.3 and ds.attrs["residual"] < 1e-6  # the audit bound
    assert 0.0 < ds["breakpoints"].values[1][1] < 0.15
