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
