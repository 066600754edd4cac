"""Observables of MODEL.md section 4, as plain array functions (reused by theory comparisons).

Array conventions are those of deepglass.model: neurons (..., M, N) per layer, or stacked over
layers as (..., L+1, M, N); weights (..., L, N, c) with the sparse connectivity idx (..., L, N, c).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .model import forward, forward_fields, gap, potential_function


def neuron_overlap(S_a: np.ndarray, S_b: np.ndarray) -> np.ndarray:
    """Neuron overlap q_l^{ab} = (1/(N M)) sum_{i,mu} S_i^{mu,l,a} S_i^{mu,l,b} per layer (MODEL.md section 4).

    Parameters
    ----------
    S_a, S_b : numpy.ndarray, shape (..., L+1, M, N)
        Neuron configurations (+-1) of two networks on the same M inputs, layers 0..L.

    Returns
    -------
    numpy.ndarray, shape (..., L+1)
        q_l in [-1, 1] (1 at l = 0 for shared inputs).
    """
    return np.mean(np.asarray(S_a, np.float64) * np.asarray(S_b, np.float64), axis=(-1, -2))


def weight_overlap(J_a: np.ndarray, J_b: np.ndarray) -> np.ndarray:
    """Weight overlap Q_l^{ab} = (1/(N c)) sum_{i,j} J_ij^{l,a} J_ij^{l,b} per layer (MODEL.md section 4).

    Parameters
    ----------
    J_a, J_b : numpy.ndarray, shape (..., L, N, c)
        Weights of two networks (spherical rows: sum_j J_ij^2 = c), on the same connectivity.

    Returns
    -------
    numpy.ndarray, shape (..., L)
        Q_l in [-1, 1] for l = 1..L.
    """
    return np.mean(J_a * J_b, axis=(-1, -2))


def fix_gauge(J: np.ndarray, S: np.ndarray, J_teacher: np.ndarray, S_teacher: np.ndarray,
              idx: np.ndarray | None = None, widths: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The gauge image of one student closest to the teacher, fixed layer by layer from the input.

    Flipping a hidden neuron with its incoming row and outgoing weights, or (dense only) permuting hidden
    neurons, leaves the network's function and the design space invariant (docs/simulation.md, "Gauge-fixed
    student-teacher overlaps"). For hidden layer l, C_ij = (1/M) sum_mu S_i^mu T_j^mu (i student, j teacher);
    dense (idx None): the permutation pi maximising sum_j |C_pi(j) j| (Hungarian), signs sign C_pi(j) j;
    sparse (fixed graph): signs sign C_jj only. Student neuron pi(j), times its sign, becomes neuron j.
    C takes values in (2/M) Z, so at finite M ties are common; they are broken by the overlap R_ij of the
    incoming weight rows (gauge-fixed already, layer l-1 comes first), weighted below any difference of |C|,
    so that the result is the same for every gauge image of the student. C_ij = 0: sign R_ij.
    Input and output layers are fixed.

    Parameters
    ----------
    J, J_teacher : numpy.ndarray, shape (L, W, C)
        Student and teacher weights (contract layout: W the padded width, C the fan-in slots).
    S, S_teacher : numpy.ndarray, shape (L+1, M, W)
        Their neuron configurations on the same M inputs.
    idx : numpy.ndarray, shape (L, W, c), optional
        Sparse connectivity (None: dense, permutations allowed).
    widths : tuple of int, optional
        Layer widths N_0..N_L of padded arrays (None: all W).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The transformed student (J, S), new arrays of the input shapes.
    """
    J, S = np.array(J, dtype=np.float64), np.array(S, dtype=np.float64)
    L, M = J.shape[-3], S.shape[-2]
    widths = widths or (S.shape[-1],) * (L + 1)
    for l in range(1, L):
        n = widths[l]
        S_l, T_l = S[l, :, :n], np.asarray(S_teacher[l, :, :n], dtype=np.float64)
        J_l, Jt_l = J[l - 1, :n], np.asarray(J_teacher[l - 1, :n], dtype=np.float64)
        if idx is None:
            C, R = S_l.T @ T_l / M, J_l @ Jt_l.T / J.shape[-1]
            signs = np.where(C != 0, np.sign(C), np.where(R < 0, -1.0, 1.0))
            # sum of the tie-breaker over n pairs < 1/(2M) <= half the smallest step of sum |C|
            score = np.abs(C) + signs * R / (4.0 * n * M * max(1.0, np.abs(R).max()))
            rows, cols = linear_sum_assignment(score, maximize=True)
            pi = np.empty(n, dtype=np.intp)
            pi[cols] = rows
            sigma = signs[pi, np.arange(n)]
        else:             # sparse: only the diagonal C_jj (and R_jj) is needed
            C, R = np.mean(S_l * T_l, axis=0), np.sum(J_l * Jt_l, axis=-1)
            pi = np.arange(n)
            sigma = np.where(C != 0, np.sign(C), np.where(R < 0, -1.0, 1.0))
        S[l, :, :n] = S[l, :, pi].T * sigma
        J[l - 1, :n] = J[l - 1, pi] * sigma[:, None]                 # incoming rows of layer l
        if idx is None:
            J[l, :, :n] = J[l, :, pi].T * sigma                      # outgoing columns (inputs of layer l+1)
        else:                                                        # sparse: weights reading neuron j, flipped
            J[l] *= np.where(np.asarray(idx[l]) < n, sigma[np.minimum(idx[l], n - 1)], 1.0)
    return J, S


def gauge_fixed_overlaps(J: np.ndarray, S: np.ndarray, J_teacher: np.ndarray, S_teacher: np.ndarray,
                         idx: np.ndarray | None = None, widths: tuple[int, ...] | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Student-teacher overlaps of the gauge-fixed student (`fix_gauge`), the same means as the plain overlaps.

    Equal to `neuron_overlap`, `weight_overlap` when the gauge is the identity. At finite N they are biased
    upward: a maximum over gauge images of unrelated networks is ~ sqrt(log N / N) > 0.

    Parameters
    ----------
    J, S, J_teacher, S_teacher, idx, widths
        As in `fix_gauge`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        q of shape (L+1,) and Q of shape (L,), in [-1, 1].
    """
    J_f, S_f = fix_gauge(J, S, J_teacher, S_teacher, idx, widths)
    return neuron_overlap(S_f, S_teacher), weight_overlap(J_f, J_teacher)


def squared_neuron_overlap(S: np.ndarray, S_teacher: np.ndarray, widths: tuple[int, ...] | None = None) -> np.ndarray:
    """q2_l = (1/N_l) sum_i (M C_ii^2 - 1) / (M - 1), C_ii = (1/M) sum_mu S_i^{mu,l} T_i^{mu,l}: (L+1,).

    An estimator of the theory's q_l^2 that needs no sign gauge: flipping a hidden neuron with its incoming row and
    outgoing weights changes the sign of C_ii, not C_ii^2 (docs/simulation.md, "Gauge-fixed student-teacher
    overlaps"). It is unbiased where the M products S_i^mu T_i^mu are independent with mean rho_i, since then
    E[C_ii^2] = rho_i^2 + (1 - rho_i^2)/M; an unrelated student gives ~0 instead of the ~sqrt(2/(pi M)) of
    |C_ii|. Its remaining null, the correlation that rows sharing the same inputs carry, is ~4/(pi^2 c) in layer 1
    (O(1/c): extrapolated away by the c -> infinity fit) and ~0 deeper. Use it on sparse networks (fixed graph, no
    permutation gauge); on dense ones apply it to the fix_gauge student, whose matching still biases it upward.
    S, S_teacher (L+1, M, W); widths (N_0..N_L) of padded arrays (None: all W). Layers 0 and L give 1."""
    S, T = np.asarray(S, np.float64), np.asarray(S_teacher, np.float64)
    M = S.shape[-2]
    widths = widths or (S.shape[-1],) * S.shape[-3]
    out = np.empty(len(widths))
    for l, n in enumerate(widths):
        C = np.mean(S[l, :, :n] * T[l, :, :n], axis=0)
        out[l] = np.mean((M * C * C - 1.0) / (M - 1.0)) if M > 1 else np.nan
    return out


def all_gaps(J: np.ndarray, layers: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
    """Gaps r^{mu,l}_i = S_i^{mu,l} (1/sqrt(c)) sum_j J_ij^l S_j^{mu,l-1} for l = 1..L, from scratch (MODEL.md section 2).

    Parameters
    ----------
    J : numpy.ndarray, shape (..., L, N, c)
        Weights.
    layers : numpy.ndarray, shape (..., L+1, M, N)
        Neuron configurations, layer 0 the inputs.
    idx : numpy.ndarray, shape (..., L, N, c), optional
        Sparse connectivity (None: dense).

    Returns
    -------
    numpy.ndarray, shape (..., L, M, N)
        The gaps (a solution has every gap >= kappa).
    """
    L = J.shape[-3]
    return np.stack([gap(J[..., l, :, :], layers[..., l, :, :], layers[..., l + 1, :, :],
                         None if idx is None else idx[..., l, :, :]) for l in range(L)], axis=-3)


def violations_per_layer(gaps: np.ndarray, kappa: float) -> np.ndarray:
    """Number of violated gaps r < kappa per layer.

    Parameters
    ----------
    gaps : numpy.ndarray, shape (..., L, M, N)
        Gaps r of layers 1..L (`all_gaps`).
    kappa : float
        Margin.

    Returns
    -------
    numpy.ndarray of int, shape (..., L)
        Violations per layer, in 0..M N.
    """
    return np.sum(gaps < kappa, axis=(-1, -2))


def energy_per_layer(gaps: np.ndarray, kappa: float, potential: str = "soft") -> np.ndarray:
    """Energy per layer E_l = sum_{i,mu} V(r^{mu,l}_i) (MODEL.md section 4).

    Parameters
    ----------
    gaps : numpy.ndarray, shape (..., L, M, N)
        Gaps r of layers 1..L (`all_gaps`).
    kappa : float
        Margin: gaps r < kappa cost energy.
    potential : {"soft", "hinge", "count"}
        V(r) = (kappa - r)^2, (kappa - r) or 1 for r < kappa, 0 otherwise (`deepglass.model.potential_function`).

    Returns
    -------
    numpy.ndarray, shape (..., L)
        E_l >= 0.
    """
    return np.sum(potential_function(potential, kappa)(gaps), axis=(-1, -2))


def test_overlap(J_student: np.ndarray, J_teacher: np.ndarray, test_inputs: np.ndarray,
                 idx: np.ndarray | None = None, teacher_layers: list[np.ndarray] | None = None,
                 spec=None) -> np.ndarray:
    """Student-teacher neuron overlap m_l per layer on fresh inputs, both networks run by forward pass.

    Layer L is the generalization overlap: eps_g = (1 - m_L) / 2 (`generalization_error_from_output_overlap`).

    Parameters
    ----------
    J_student : numpy.ndarray, shape (..., L, N, c)
        Student weights; extra leading axes (e.g. systems) in front of the teacher's batch shape only if
        they broadcast.
    J_teacher : numpy.ndarray, shape (..., L, N, c)
        Teacher weights.
    test_inputs : numpy.ndarray, shape (..., M_test, N_0)
        Fresh inputs (+-1).
    idx : numpy.ndarray, optional
        Sparse connectivity shared by student and teacher (None: dense).
    teacher_layers : list of numpy.ndarray, optional
        The teacher's forward pass on ``test_inputs`` if already computed.
    spec : NetworkSpec, optional
        Layer widths when they differ (real data).

    Returns
    -------
    numpy.ndarray, shape (..., L+1)
        m_l in [-1, 1] (m_0 = 1).
    """
    student = forward(J_student, test_inputs, idx, spec)
    teacher = teacher_layers if teacher_layers is not None else forward(J_teacher, test_inputs, idx, spec)
    return np.stack([neuron_overlap(s, t) for s, t in zip(student, teacher)], axis=-1)


def class_accuracy(J: np.ndarray, images: np.ndarray, labels: np.ndarray, n_classes: int, coding: str,
                   idx: np.ndarray | None = None, spec=None) -> np.ndarray:
    """Fraction of images whose class, read from the output layer's fields of the forward pass (datasets.decode:
    argmax for one-hot, sign bits for binary), is the label: J (..., L, N, c), images (..., M, N_0) -> (...)."""
    from .datasets import decode

    h_out = forward_fields(J, images, idx, spec)[-1]
    return np.mean(decode(h_out, n_classes, coding) == labels, axis=-1)


def generalization_error_from_output_overlap(overlap: np.ndarray) -> np.ndarray:
    """eps_g = (1 - overlap)/2: the probability that a student output neuron differs from the teacher's.

    Theory counterpart: `deepglass.theory.generalization_error` (from the weight overlaps Q_l).

    Parameters
    ----------
    overlap : array_like
        Measured student-teacher overlap of the output layer on fresh inputs (``test_overlap`` at layer L),
        in [-1, 1].

    Returns
    -------
    numpy.ndarray
        eps_g in [0, 1], same shape.
    """
    return (1.0 - np.asarray(overlap)) / 2.0


def replica_pairs(R: int) -> list[tuple[int, int]]:
    """All pairs a < b of R replicas, in lexicographic order."""
    return list(combinations(range(R), 2))


def replica_triples(R: int) -> list[tuple[int, int, int]]:
    """The replica triples (a, b, c), a < b < c, of R replicas in lexicographic order (the ``triangle`` dim)."""
    return list(combinations(range(R), 3))


def overlap_triangles(pair_overlaps: np.ndarray, R: int) -> np.ndarray:
    """Sides of every replica triangle, sorted ascending.

    pair_overlaps: (..., n_pairs, K), pairs in the order of replica_pairs(R), K values each (e.g. layers).
    Returns (..., n_triples, K, 3): sides q_ab, q_ac, q_bc of every triple a < b < c, sorted ascending
    (ultrametric: the two smallest are equal).
    """
    pos = {p: n for n, p in enumerate(replica_pairs(R))}
    sides = [np.stack([pair_overlaps[..., pos[(a, b)], :], pair_overlaps[..., pos[(a, c)], :],
                       pair_overlaps[..., pos[(b, c)], :]], axis=-1) for a, b, c in replica_triples(R)]
    return np.sort(np.stack(sides, axis=-3), axis=-1)


def ultrametricity_violation(triangles: np.ndarray) -> np.ndarray:
    """Mean over triangles of (q_mid - q_min) / (q_max - q_min): 0 for an ultrametric set of overlaps.

    triangles (..., n_triples, K, 3) sorted sides -> (..., K). Triangles with q_max = q_min (equilateral,
    trivially ultrametric) count as 0. Random unrelated triangles give about 1/2.
    """
    lo, mid, hi = triangles[..., 0], triangles[..., 1], triangles[..., 2]
    span = hi - lo
    ratio = np.where(span > 0, (mid - lo) / np.where(span > 0, span, 1.0), 0.0)
    return np.mean(ratio, axis=-2)


# ---------------------------------------------------------------------- ultrametricity of replica triangles

def overlap_matrix(pair_overlaps: np.ndarray, R: int) -> np.ndarray:
    """The symmetric R x R replica overlap matrix (diagonal 1) from pair overlaps in replica_pairs(R) order.

    pair_overlaps (..., n_pairs) -> (..., R, R).
    """
    pair_overlaps = np.asarray(pair_overlaps, dtype=float)
    out = np.ones(pair_overlaps.shape[:-1] + (R, R))
    for p, (a, b) in enumerate(replica_pairs(R)):
        out[..., a, b] = out[..., b, a] = pair_overlaps[..., p]
    return out


def triangle_spacings(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q_mid - q_min, q_max - q_mid) of sorted triangles (..., 3).

    Ultrametric overlaps have q_mid - q_min = 0 (the two smallest sides equal) whatever q_max - q_mid is;
    three exchangeable unrelated sides give the two spacings the same distribution.
    """
    return triangles[..., 1] - triangles[..., 0], triangles[..., 2] - triangles[..., 1]


def ultrametric_fraction(triangles: np.ndarray, tol: float | np.ndarray) -> np.ndarray:
    """Fraction of triangles whose two smallest sides agree within tol: (..., n_triples, K, 3) -> (..., K).

    tol should be the finite-size noise of one overlap (about 1/sqrt(N M) for neurons, 1/sqrt(N c) for
    weights), since two overlaps that are equal for N -> infinity differ by that much at finite N.
    """
    low, _ = triangle_spacings(triangles)
    return np.mean(low <= tol, axis=-2)


# --------------------------------------------------------------------------- autocorrelation (mixing)
AUTOCORR_WINDOW_C = 5.0    # Sokal's automatic window: the smallest W with W >= C tau(W)
AUTOCORR_MIN_LENGTH = 50   # a series shorter than this many tau gives an unreliable tau (emcee's rule)


def autocorrelation_function(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation rho(t), t = 0..n-1, of series x (..., n) (FFT, mean removed), averaged over
    the leading axes (independent chains of the same process): rho(0) = 1. A constant series gives NaN."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    y = x - x.mean(axis=-1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * n)))                   # zero-padded: a linear, not circular, correlation
    f = np.fft.rfft(y, n=size, axis=-1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=-1)[..., :n]
    acov = acov.reshape(-1, n).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return acov / acov[0]


def integrated_autocorrelation_time(x: np.ndarray, window_c: float = AUTOCORR_WINDOW_C) -> dict:
    """tau_int = 1 + 2 sum_{t=1}^{W} rho(t) of series x (..., n) in units of the series' spacing, with Sokal's
    automatic window W (the smallest W >= window_c tau(W)), rho averaged over the leading axes (chains), as
    emcee's integrated_time. Returns {"tau", "window", "n", "reliable"}: reliable iff n >= 50 tau and a
    window was found; tau is NaN for a constant series (a frozen chain has no finite tau to report)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if n < 2:
        return {"tau": float("nan"), "window": 0, "n": int(n), "reliable": False}
    rho = autocorrelation_function(x)
    if not np.isfinite(rho[0]):
        return {"tau": float("nan"), "window": 0, "n": int(n), "reliable": False}
    taus = 2.0 * np.cumsum(rho) - 1.0                            # tau(W) for W = 0..n-1
    found = np.arange(n) >= window_c * taus
    window = int(np.argmax(found)) if np.any(found) else n - 1
    tau = float(taus[window])
    return {"tau": tau, "window": window, "n": int(n),
            "reliable": bool(np.any(found)) and n >= AUTOCORR_MIN_LENGTH * tau}
