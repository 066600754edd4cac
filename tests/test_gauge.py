"""Gauge-fixed student-teacher overlaps (observables.fix_gauge) against exact facts: a gauge image of the teacher
is the teacher (Q_l = q_l = 1), the identity gauge reproduces the plain overlaps bit for bit, the estimator is
invariant on gauge orbits and never below the plain overlap, and the network's function is untouched."""
import numpy as np
import pytest

from deepglass import observables as obs
from deepglass.model import NetworkSpec, draw_connectivity, forward, normalise_rows, random_weights, sample_inputs


def _pad(x, W):
    return np.concatenate([x, np.zeros((*x.shape[:-1], W - x.shape[-1]), dtype=x.dtype)], axis=-1)


def _network(spec, rng, M):
    """Teacher weights, connectivity, training inputs and the teacher's padded layers (L+1, M, W)."""
    idx = draw_connectivity(spec, rng)
    J = random_weights(spec, rng)
    X = sample_inputs(spec, M, rng)
    return J, idx, X


def _layers(J, X, idx, spec):
    return np.stack([_pad(s, spec.width_max) for s in forward(J, X, idx, spec)]).astype(np.int8)


def _dense_matrices(J, idx, N):
    """Weights as dense (L, N_out, N_in) matrices (independent of fix_gauge's indexing)."""
    if idx is None:
        return J.copy()
    W = np.zeros((*J.shape[:-1], N))
    np.put_along_axis(W, idx, J, axis=-1)
    return W


def _gauge_image(J, idx, N, L, rng, permute):
    """A random gauge image: W'_l = P_l D_l W_l D_{l-1} P_{l-1}^T with signed permutations of the hidden layers
    (identity on the input and output layers); permute=False: sign flips only (sparse graphs)."""
    W = _dense_matrices(J, idx, N)
    G = [np.eye(N)]
    for _ in range(1, L):
        P = np.eye(N)[rng.permutation(N)] if permute else np.eye(N)
        G.append(P @ np.diag(rng.choice([-1.0, 1.0], N)))
    G.append(np.eye(N))
    W2 = np.stack([G[l + 1] @ W[l] @ G[l].T for l in range(L)])
    return W2 if idx is None else np.take_along_axis(W2, idx, axis=-1)


CASES = [NetworkSpec(N=8, L=3), NetworkSpec(N=8, L=3, c=4)]


@pytest.mark.parametrize("spec", CASES, ids=["dense", "sparse"])
def test_a_gauge_image_of_the_teacher_has_overlap_one(spec):
    rng = np.random.default_rng(1)
    J_t, idx, X = _network(spec, rng, 40)
    T = _layers(J_t, X, idx, spec)
    J_s = _gauge_image(J_t, idx, spec.N, spec.L, rng, permute=idx is None)
    S_s = _layers(J_s, X, idx, spec)
    np.testing.assert_array_equal(S_s[spec.L], T[spec.L])            # same function: same outputs
    q, Q = obs.gauge_fixed_overlaps(J_s, S_s, J_t, T, idx)
    np.testing.assert_allclose(q, 1.0, atol=1e-12)
    np.testing.assert_allclose(Q, 1.0, atol=1e-12)
    q_plain, Q_plain = obs.neuron_overlap(S_s, T), obs.weight_overlap(J_s, J_t)
    assert np.all(np.abs(q_plain[1:spec.L]) < 0.6) and np.all(np.abs(Q_plain) < 0.6), (q_plain, Q_plain)


SPECS_IDENTITY = CASES + [NetworkSpec(N=6, L=3, N_in=5, N_out=3), NetworkSpec(N=6, L=3, c=3, N_in=5, N_out=4)]


@pytest.mark.parametrize("spec", SPECS_IDENTITY, ids=["dense", "sparse", "dense-widths", "sparse-widths"])
def test_identity_gauge_gives_the_plain_overlaps_exactly(spec):
    """A student near the teacher needs no gauge transformation: the same numbers as measure.py's plain means."""
    rng = np.random.default_rng(2)
    J_t, idx, X = _network(spec, rng, 30)
    T = _layers(J_t, X, idx, spec)
    J_s = J_t + 0.05 * rng.standard_normal(J_t.shape) * (J_t != 0)
    J_s = np.where(J_t != 0, J_s, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        J_s = np.nan_to_num(normalise_rows(J_s))                     # padded rows stay 0
    S_s = _layers(J_s, X, idx, spec)
    J_f, S_f = obs.fix_gauge(J_s, S_s, J_t, T, idx, spec.widths)
    np.testing.assert_array_equal(J_f, J_s)
    np.testing.assert_array_equal(S_f, S_s)
    q, Q = obs.gauge_fixed_overlaps(J_s, S_s, J_t, T, idx, spec.widths)
    np.testing.assert_array_equal(q, obs.neuron_overlap(S_s, T))
    np.testing.assert_array_equal(Q, obs.weight_overlap(J_s, J_t))


@pytest.mark.parametrize("spec", CASES, ids=["dense", "sparse"])
def test_gauge_fixed_overlaps_are_constant_on_gauge_orbits(spec):
    """Any gauge image of an unrelated student gives the same gauge-fixed overlaps, never below the plain ones
    (the assignment maximises sum_j |C_pi(j) j| >= sum_j C_jj), and leaves the student's function unchanged."""
    rng = np.random.default_rng(3)
    J_t, idx, X = _network(spec, rng, 40)
    T = _layers(J_t, X, idx, spec)
    J_s = random_weights(spec, rng)
    S_s = _layers(J_s, X, idx, spec)
    q0, Q0 = obs.gauge_fixed_overlaps(J_s, S_s, J_t, T, idx)
    assert np.all(q0 >= obs.neuron_overlap(S_s, T) - 1e-12)
    for _ in range(3):
        J_g = _gauge_image(J_s, idx, spec.N, spec.L, rng, permute=idx is None)
        S_g = _layers(J_g, X, idx, spec)
        q, Q = obs.gauge_fixed_overlaps(J_g, S_g, J_t, T, idx)
        np.testing.assert_allclose(q, q0, atol=1e-12)
        np.testing.assert_allclose(Q, Q0, atol=1e-12)


@pytest.mark.parametrize("spec", CASES, ids=["dense", "sparse"])
def test_gauge_fixing_leaves_the_test_overlap_untouched(spec):
    rng = np.random.default_rng(4)
    J_t, idx, X = _network(spec, rng, 30)
    T = _layers(J_t, X, idx, spec)
    J_s = random_weights(spec, rng)
    J_f, S_f = obs.fix_gauge(J_s, _layers(J_s, X, idx, spec), J_t, T, idx)
    np.testing.assert_array_equal(S_f, _layers(J_f, X, idx, spec))   # the fixed neurons are its forward pass
    X_test = sample_inputs(spec, 200, rng)
    before = obs.test_overlap(J_s, J_t, X_test, idx)
    after = obs.test_overlap(J_f, J_t, X_test, idx)
    assert before[spec.L] == after[spec.L]
    assert not np.array_equal(J_f, J_s)                              # the gauge did act


# ---------------------------------------------------------------- squared neuron overlaps (no sign gauge)
def test_squared_overlap_is_unbiased_for_independent_products_exact_enumeration():
    """E[(M C^2 - 1)/(M - 1)] = rho^2 exactly when the M products s_mu t_mu are independent with mean rho: summed
    over all 2^M outcomes with their binomial weights (no sampling), for several rho and M."""
    from itertools import product
    for M in (2, 5, 8):
        for rho in (-0.7, 0.0, 0.3, 0.95):
            p = (1.0 + rho) / 2.0
            expect = 0.0
            for z in product((1.0, -1.0), repeat=M):
                z = np.asarray(z)
                weight = np.prod(np.where(z > 0, p, 1.0 - p))
                S = np.ones((3, M, 1))
                S[1, :, 0] = z                        # student layer 1 = products, teacher = +1
                expect += weight * obs.squared_neuron_overlap(S, np.ones((3, M, 1)))[1]
            assert abs(expect - rho ** 2) < 1e-12, (M, rho, expect)


def test_squared_overlap_is_invariant_on_sign_gauge_orbits_and_one_on_the_teacher():
    spec = NetworkSpec(N=8, L=3, c=4)
    rng = np.random.default_rng(5)
    J_t, idx, X = _network(spec, rng, 40)
    T = _layers(J_t, X, idx, spec)
    np.testing.assert_allclose(obs.squared_neuron_overlap(T, T), 1.0, atol=1e-12)
    J_s = random_weights(spec, rng)
    S_s = _layers(J_s, X, idx, spec)
    q2 = obs.squared_neuron_overlap(S_s, T)
    for _ in range(3):
        S_g = _layers(_gauge_image(J_s, idx, spec.N, spec.L, rng, permute=False), X, idx, spec)
        assert not np.array_equal(S_g, S_s)
        np.testing.assert_allclose(obs.squared_neuron_overlap(S_g, T), q2, atol=1e-12)


def test_squared_overlap_null_of_unrelated_rows_equals_the_arcsine_law():
    """Unrelated rows J, T uniform on the sphere in c dimensions, Gaussian inputs: the neurons' population
    correlation is (2/pi) arcsin R (R = J.T / c), so the estimator's mean is E[(2/pi)^2 arcsin^2 R] over the density
    of R, ~ (1 - R^2)^((c-3)/2), computed by scipy quad (the O(1/c) null that the c -> infinity fit removes);
    the gauge-fixed |C| instead has a null ~ sqrt(2/(pi M))."""
    from scipy.integrate import quad
    from scipy.special import beta as beta_fn

    c, M = 10, 30
    rng = np.random.default_rng(6)
    density = lambda r: (1 - r * r) ** ((c - 3) / 2) / beta_fn(0.5, (c - 1) / 2)
    exact = quad(lambda r: density(r) * (2 / np.pi * np.arcsin(r)) ** 2, -1, 1, epsabs=1e-13)[0]
    est, absC = [], []
    for _ in range(200):            # a fresh input set per block: blocks independent, rows within one share x
        x = rng.standard_normal((M, c))
        S = np.sign(x @ rng.standard_normal((c, 100)))[None].repeat(3, 0)
        T = np.sign(x @ rng.standard_normal((c, 100)))[None].repeat(3, 0)
        est.append(obs.squared_neuron_overlap(S, T)[1])
        absC.append(np.mean(np.abs(np.mean(S[1] * T[1], axis=0))))
    est = np.mean(est)
    assert abs(exact - 4 / (np.pi ** 2 * c)) < 0.01                      # the leading order quoted in the docstring
    assert abs(est - exact) < 0.003, (est, exact)                      # ~4 standard errors of est (0.0008)
    assert np.mean(absC) > 3 * exact                               # the |C| null is much larger
