"""RS chain: classic Gardner checks (MODEL.md section 6) and structural invariants of the chain."""
import numpy as np
import pytest
from scipy import integrate, optimize, special

from deepglass.errors import ConfigError, ConvergenceError
from deepglass.theory import ChainProblem, solve, solve_curve, solve_rs
from deepglass.theory.blocks_rs import gap_terms, spin_entropy, spin_overlap
from deepglass.theory.transitions import capacity


def _gauss(t):
    return np.exp(-t * t / 2) / np.sqrt(2 * np.pi)


def _mills(u):
    return np.exp(-u * u / 2 - special.log_ndtr(-u)) / np.sqrt(2 * np.pi)


def _gardner_rhs(q, kappa):
    """alpha E_z[g^2] of MODEL.md section 6, by adaptive quadrature (independent of the package)."""
    def integrand(z):
        u = (kappa - np.sqrt(q) * z) / np.sqrt(1 - q)
        return _gauss(z) * _mills(u) ** 2
    return integrate.quad(integrand, -12, 12, points=[kappa / np.sqrt(q)], limit=200, epsabs=1e-13)[0]


def test_gardner_overlap_at_alpha_one():
    ds = solve(ChainProblem("random", 1, 1.0))
    assert ds.attrs["residual"] < 1e-10
    assert abs(float(ds.Q.sel(layer=1)) - 0.5853) < 1e-4
    assert ds.q.values.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("alpha,kappa", [(0.5, 0.0), (1.5, 0.0), (0.6, 0.5), (0.2, 1.5), (2.5, -0.5)])
def test_gardner_rs_identity(alpha, kappa):
    ds = solve(ChainProblem("random", 1, alpha, kappa=kappa))
    q = float(ds.Q.sel(layer=1))
    assert 0 < q < 1
    assert q / (1 - q) == pytest.approx(alpha * _gardner_rhs(q, kappa), rel=1e-8)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0, 2.0])
def test_gardner_capacity_from_divergence(kappa):
    exact = 1 / integrate.quad(lambda t: _gauss(t) * (t + kappa) ** 2, -kappa, np.inf)[0]
    result = capacity(ChainProblem("random", 1, 1.0, kappa=kappa), alpha_max=10)
    assert result["alpha_c"] == pytest.approx(exact, rel=1e-4)
    if kappa == 0.0:
        assert exact == pytest.approx(2.0, rel=1e-12)


def test_no_solution_beyond_capacity_raises():
    with pytest.raises(ConvergenceError):
        solve(ChainProblem("random", 1, 2.2), max_iter=2000)


def test_gardner_replicon_matches_at_condition():
    """Gardner's AT quantity 1 - alpha E[g'(u)^2], g' = g (g - u), by quadrature; stable below alpha_c at kappa=0."""
    for alpha in (1.0, 1.9):
        ds = solve(ChainProblem("random", 1, alpha))
        q = float(ds.Q.sel(layer=1))

        def integrand(z):
            u = -np.sqrt(q) * z / np.sqrt(1 - q)
            g = _mills(u)
            return _gauss(z) * (g * (g - u)) ** 2
        at = 1 - alpha * integrate.quad(integrand, -12, 12, points=[0.0], limit=200)[0]
        assert float(ds.replicon_weight.sel(layer=1)) == pytest.approx(at, abs=1e-8)
        assert ds.attrs["replicon_chain"] == pytest.approx(at, abs=1e-8)
        assert at > 0


def test_gap_conjugate_is_derivative_of_gap_entropy():
    for nishimori, kappa in ((False, 0.0), (False, 0.8), (True, 0.0)):
        for c in (0.05, 0.4, 0.9):
            d = 1e-5
            slope = (gap_terms(c + d, kappa, nishimori)[0] - gap_terms(c - d, kappa, nishimori)[0]) / (2 * d)
            assert abs(2 * slope) == pytest.approx(gap_terms(c, kappa, nishimori)[1], rel=1e-6)


def test_spin_block_is_a_legendre_transform():
    """d s_S / d q = +eps/2 (random) and -eps/2 (Nishimori) along q = q(eps)."""
    for nishimori, sign in ((False, 1), (True, -1)):
        eps = 0.7
        q = spin_overlap(eps, nishimori)
        # stationarity in eps at fixed q: the derivative of the bracket vanishes
        d = 1e-5
        s_plus = spin_entropy(q, eps + d, 0.0, nishimori)
        s_minus = spin_entropy(q, eps - d, 0.0, nishimori)
        assert abs(s_plus - s_minus) / (2 * d) < 1e-7
        q2 = spin_overlap(eps + d, nishimori)
        q1 = spin_overlap(eps - d, nishimori)
        ds_dq = (spin_entropy(q2, eps + d, 0.0, nishimori) - spin_entropy(q1, eps - d, 0.0, nishimori)) / (q2 - q1)
        assert ds_dq == pytest.approx(sign * eps / 2, rel=1e-6)


@pytest.mark.parametrize("scenario", ["random", "teacher-student"])
@pytest.mark.parametrize("L", [5, 6])
def test_left_right_symmetry(scenario, L):
    for alpha in (3.0, 30.0):
        ds = solve(ChainProblem(scenario, L, alpha))
        Q = ds.Q.values[1:]
        q = ds.q.values
        assert np.allclose(Q, Q[::-1], atol=1e-9)
        assert np.allclose(q, q[::-1], atol=1e-9)
        assert ds.attrs["residual"] < 1e-10


def test_liquid_centre_is_exact_and_boundaries_frozen():
    ds = solve(ChainProblem("random", 8, 30.0))
    assert float(ds.Q.sel(layer=4)) == 0.0 and float(ds.q.sel(layer=4)) == 0.0
    assert float(ds.Q.sel(layer=1)) > 0.5
    assert bool(ds.liquid_Q.sel(layer=4)) and not bool(ds.liquid_Q.sel(layer=1))
    # liquid free entropy: alpha [(L-1) log 2 + L log H(kappa)] is exact when every layer is liquid
    liquid = solve(ChainProblem("random", 8, 1.0))
    assert liquid.attrs["free_entropy"] == pytest.approx(1.0 * (7 * np.log(2) + 8 * np.log(0.5)), abs=1e-12)


def test_contract_layout_and_curve():
    ds = solve_curve(ChainProblem("random", 4, 1.0), [5.0, 1.0, 3.0])
    assert ds.alpha.values.tolist() == [5.0, 1.0, 3.0]
    assert ds.sizes == {"alpha": 3, "layer": 5}
    assert np.isnan(ds.Q.sel(layer=0)).all()
    assert (ds.q.sel(layer=0) == 1).all() and (ds.q.sel(layer=4) == 1).all()
    for a in (1.0, 3.0, 5.0):
        ref = solve_rs(ChainProblem("random", 4, a))
        assert np.allclose(ds.Q.sel(alpha=a).values[1:], ref.Q.values[1:], atol=1e-9)
    assert (ds.residual < 1e-10).all()
    one = solve(ChainProblem("random", 3, 2.0))
    for key in ("ansatz", "steps", "scenario", "L", "alpha", "kappa", "field", "free_entropy", "residual",
                "iterations", "converged"):
        assert key in one.attrs


def test_bad_ansatz_is_config_error():
    with pytest.raises(ConfigError):
        solve(ChainProblem("random", 3, 2.0), "replica-magic")


@pytest.mark.parametrize("scenario, L", [("random", 7), ("teacher-student", 20)])
def test_banded_jacobian_matches_dense_central_differences(scenario, L):
    """The coloured (6-point) Jacobian assumes F at chain position p depends only on positions p-2..p+2;
    a dense central-difference Jacobian over every unknown would expose any missed coupling."""
    from deepglass.theory import rs

    problem = ChainProblem(scenario, L, 3.0)
    x = np.random.default_rng(1).uniform(0.1, 0.9, rs.n_unknowns(L))

    def fun(y):
        return rs.chain_state(y, problem).F - y

    J = rs._banded_jacobian(fun, x, rs.chain_position(L), np.ones_like(x))
    h = 1e-6
    dense = np.stack([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(len(x))], axis=1)
    assert np.max(np.abs(J - dense)) < 1e-6 * np.max(np.abs(dense))


def test_batched_chain_state_equals_pointwise_and_liquid_layers():
    """A batch of points gives row by row the single-point map; layers with c = 0 (liquid) take the
    gap block at c = 0 (the shortcut of rs._chain_gap_terms) exactly."""
    from deepglass.theory import rs

    problem = ChainProblem("teacher-student", 6, 5.0)
    X = np.random.default_rng(2).uniform(0.05, 0.95, (4, rs.n_unknowns(6)))
    X[1, 2:4] = 0.0  # a liquid stretch: Q_3 = Q_4 = 0
    F = rs.chain_state(X, problem).F
    for row, x in zip(F, X):
        assert np.array_equal(row, rs.chain_state(x, problem).F)
    c = rs.chain_state(X[1], problem).c
    _, chat, _ = gap_terms(c, problem.kappa, True)  # the quadrature at every layer, c = 0 included
    assert np.allclose(rs.chain_state(X[1], problem).chat, chat, rtol=1e-14, atol=0)


def test_lazy_theory_exports_are_the_functions_after_every_submodule_is_imported():
    import importlib
    import pkgutil

    import deepglass.theory as theory

    for info in pkgutil.iter_modules(theory.__path__):
        importlib.import_module(f"deepglass.theory.{info.name}")
    for name in theory.__all__:
        assert not isinstance(getattr(theory, name), type(theory)), name
