"""Replica-symmetric solution of the whole chain at once (docs/theory.md, sections 3-6).

Unknowns: Q_l (weights, l = 1..L) and q_l (hidden neurons, l = 1..L-1); q_0 = q_L = 1. Saddle point
(both replica limits, the limit only changes the scalar blocks of blocks_rs):

    c_l   = q_{l-1} Q_l q_l
    Q_l   = weight_overlap(alpha chat(c_l) q_{l-1} q_l)
    eps_l = chat(c_l) q_{l-1} Q_l + chat(c_{l+1}) Q_{l+1} q_{l+1}
    q_l   = spin_overlap(eps_l + h_l)

The map x -> F(x) is order preserving on [0, 1)^(2L-1), so iterating it from the top converges to the
largest fixed point; Newton (scipy hybr) then polishes it. The liquid q_l = Q_l = 0 of a central
region is an exact fixed point: such variables are pinned to exactly 0 and the pinning is accepted only
if the liquid is linearly stable (spectral radius of the liquid block < 1, see liquid_operator).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xarray as xr
from scipy import optimize
from scipy.sparse.csgraph import connected_components

from ..errors import ConvergenceError, NoSolutionError
from .blocks_rs import (
    gap_terms,
    liquid_gap_conjugate,
    spin_entropy,
    spin_overlap,
    spin_replicon_susceptibility,
    weight_entropy,
    weight_overlap,
    weight_replicon_susceptibility,
)
from .anderson import anderson
from .problem import ChainProblem
from .teacher_student import generalization_error, fresh_input_overlaps

LIQUID_ZERO = 1e-9  # an overlap below this after Newton is the exact liquid value 0
Q_MAX = 1.0 - 1e-8  # random data: weight overlaps beyond this are the collapsed volume (capacity), not a solution
# teacher-student has no capacity (the teacher is always a solution): 1 - Q_l ~ 1/alpha^2 is resolved until
# it nears double precision's spacing below 1 (1.1e-16)
Q_MAX_NISHIMORI = 1.0 - 1e-14


def q_max(problem: ChainProblem) -> float:
    """Largest weight overlap accepted as a solution (beyond: collapsed volume or unresolvable)."""
    return Q_MAX_NISHIMORI if problem.nishimori else Q_MAX


def upper_bounds(problem: ChainProblem) -> np.ndarray:
    """The physical box of the unknowns x = (Q_1..Q_L, q_1..q_{L-1}): Q < q_max, q <= 1."""
    return np.where(np.arange(n_unknowns(problem.L)) < problem.L, q_max(problem), 1.0)
MARGINAL = 1e-8  # a liquid with spectral radius <= 1 + MARGINAL is accepted: the frozen branch there is O(1e-8)


# ---------------------------------------------------------------- packing
def n_unknowns(L: int) -> int:
    return 2 * L - 1


def unpack(x: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """x = (Q_1..Q_L, q_1..q_{L-1}) -> Q (L,), q (L+1,) with the boundary q_0 = q_L = 1 (also for a batch
    x of shape (..., 2L-1))."""
    x = np.asarray(x, dtype=float)  # (..., 2L-1): leading axes are a batch of points
    Q = x[..., :L]
    q = np.ones(x.shape[:-1] + (L + 1,))
    q[..., 1:L] = x[..., L:]
    return Q, q


def pack(Q: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(Q, float), np.asarray(q, float)[1:-1]])


def field_profile(problem: ChainProblem) -> np.ndarray:
    """h_l on the neuron layers 0..L (non-zero only on problem.field_layers)."""
    h = np.zeros(problem.L + 1)
    for l in problem.field_layers:
        h[l] = problem.field
    return h


# ---------------------------------------------------------------- the map
@dataclass
class RSMapState:
    """Everything the saddle point computes at one point x (one entry per layer)."""

    Q: np.ndarray      # (L,)   layers 1..L
    q: np.ndarray      # (L+1,) layers 0..L
    c: np.ndarray      # (L,)   gap overlap q_{l-1} Q_l q_l
    s_gap: np.ndarray  # (L,)
    chat: np.ndarray   # (L,)   gap conjugate
    lam: np.ndarray    # (L,)   gap replicon response
    eps: np.ndarray    # (L+1,) neuron conjugate (0 at the boundaries)
    F: np.ndarray      # (2L-1,) image of x under the map


@lru_cache(maxsize=64)
def _liquid_gap_terms(kappa: float, nishimori: bool) -> tuple[float, float, float]:
    """gap_terms at c = 0 (a layer touching the liquid), computed once per (kappa, limit)."""
    s_gap, chat, lam = gap_terms(np.zeros(1), kappa, nishimori)
    return float(s_gap[0]), float(chat[0]), float(lam[0])


def _chain_gap_terms(c: np.ndarray, kappa: float, nishimori: bool):
    """gap_terms over the chain, evaluating the quadrature only where c > 0: once the centre is liquid
    most gap overlaps are exactly 0 and share the cached liquid values (gap_terms clips c < 0 to 0)."""
    liquid = c <= 0.0
    if not liquid.any():
        return gap_terms(c, kappa, nishimori)
    out = [np.full(c.shape, value) for value in _liquid_gap_terms(float(kappa), nishimori)]
    if not liquid.all():
        for target, value in zip(out, gap_terms(c[~liquid], kappa, nishimori)):
            target[~liquid] = value
    return tuple(out)


def chain_state(x: np.ndarray, problem: ChainProblem) -> RSMapState:
    """The saddle-point quantities at x (2L-1,), or at a batch of points x (..., 2L-1) in one
    vectorised pass (every field then carries the same leading axes; used for the Jacobian)."""
    L, nishimori = problem.L, problem.nishimori
    Q, q = unpack(x, L)
    c = q[..., :-1] * Q * q[..., 1:]
    s_gap, chat, lam = _chain_gap_terms(c, problem.kappa, nishimori)
    Q_new = weight_overlap(problem.alpha * chat * q[..., :-1] * q[..., 1:], nishimori)
    eps = np.zeros(q.shape)
    eps[..., 1:L] = chat[..., :-1] * q[..., :-2] * Q[..., :-1] + chat[..., 1:] * Q[..., 1:] * q[..., 2:]
    q_new = spin_overlap(eps[..., 1:L] + field_profile(problem)[1:L], nishimori)
    return RSMapState(Q, q, c, s_gap, chat, lam, eps, np.concatenate([Q_new, q_new], axis=-1))


RESIDUAL_FLOOR = 1e-5  # distances to 1 below this are measured absolutely (double precision's noise floor)


def scaled_residual(F: np.ndarray, x: np.ndarray) -> float:
    """max_i |F_i - x_i| / max(1 - x_i, RESIDUAL_FLOOR): relative to the distance to the frozen value 1.

    An absolute residual of 1e-10 means nothing for a frozen layer with 1 - Q = 4e-8 (Gardner at alpha = 2.01
    has such a spurious 'solution' where the map still moves 1 - Q by 0.25% per step)."""
    return float(np.max(np.abs(F - x) / np.maximum(1.0 - x, RESIDUAL_FLOOR), initial=0.0))


def residual(x: np.ndarray, problem: ChainProblem) -> float:
    """The solver's convergence measure at x (scaled_residual of the map, computed with the accurate blocks)."""
    return scaled_residual(chain_state(x, problem).F, x)


def free_entropy(state: RSMapState, problem: ChainProblem) -> float:
    """s = sum_l s_J(Q_l) + alpha sum_{0<l<L} s_S(q_l) + alpha sum_l s_gap(c_l), per N c and per replica
    (random) or per student (teacher-student: d/dN at N = 1)."""
    nishimori = problem.nishimori
    L = problem.L
    h = field_profile(problem)
    s = np.sum(weight_entropy(state.Q, nishimori)) + problem.alpha * np.sum(state.s_gap)
    if L > 1:
        s += problem.alpha * np.sum(spin_entropy(state.q[1:L], state.eps[1:L], h[1:L], nishimori))
    return float(s)


# ---------------------------------------------------------------- linear operators
def liquid_operator(x: np.ndarray, problem: ChainProblem, pinned: np.ndarray) -> np.ndarray:
    """Jacobian of the map restricted to the pinned (liquid, = 0) unknowns, at x.

    At a liquid variable every gap overlap that touches it vanishes, so chat = m^2 there, and
    dQ_l = alpha m^2 (q_{l-1} dq_l + q_l dq_{l-1}),  dq_l = m^2 (q_{l-1} dQ_l + q_{l+1} dQ_{l+1})
    (spin_overlap'(0) = weight_overlap'(0) = 1 in both replica limits). The free block does not feed
    back at first order, so the liquid is stable iff the spectral radius of this block is < 1.
    """
    L, alpha = problem.L, problem.alpha
    m2 = liquid_gap_conjugate(problem.kappa)
    _, q = unpack(x, L)
    n = n_unknowns(L)
    A = np.zeros((n, n))
    for l in range(1, L + 1):  # Q_l sits at index l-1; q_l (1 <= l <= L-1) at index L-1+l
        if l - 1 >= 1:
            A[l - 1, L - 1 + (l - 1)] = alpha * m2 * q[l]
        if l <= L - 1:
            A[l - 1, L - 1 + l] = alpha * m2 * q[l - 1]
    for l in range(1, L):
        A[L - 1 + l, l - 1] = m2 * q[l - 1]
        A[L - 1 + l, l] = m2 * q[l + 1]
    idx = np.flatnonzero(pinned)
    return A[np.ix_(idx, idx)], idx


def perron(A: np.ndarray, rel_tol: float = 1e-9) -> tuple[float, np.ndarray]:
    """Spectral radius of a non-negative matrix and the indicator (0/1) of its critical part.

    A is reducible in general (the two fronts of the chain are decoupled blocks with equal radius), so
    the critical part is the union of the strongly connected components whose own radius equals the
    largest one (within rel_tol), not one possibly one-sided eigenvector.
    """
    if A.size == 0:
        return 0.0, np.zeros(0)
    n_comp, labels = connected_components(A != 0, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=n_comp)
    radii = np.zeros(n_comp)
    single = sizes[labels] == 1  # a one-unknown component's radius is its diagonal entry
    radii[labels[single]] = np.abs(np.diag(A)[single])
    for k in np.flatnonzero(sizes > 1):
        sub = A[np.ix_(labels == k, labels == k)]
        radii[k] = np.max(np.abs(np.linalg.eigvals(sub)))
    rho = float(radii.max())
    critical = radii >= rho * (1 - rel_tol) if rho > 0 else np.zeros(n_comp, bool)
    return rho, critical[labels].astype(float)


def replicon_operator(state: RSMapState, problem: ChainProblem) -> np.ndarray:
    """Linear map of replicon fluctuations (dQ_l, dq_l) -> (dQ_l, dq_l) (docs/theory.md section 6).

    Built from the replicon susceptibilities of the three blocks: (1 - Q)^2 for weights, E(1 - tanh^2)^2
    for neurons and lam = E g'^2 / (1 - c)^2 for gaps, plus the cross terms from c_l = q_{l-1} Q_l q_l.
    RS is stable iff its spectral radius is < 1.
    """
    L, alpha = problem.L, problem.alpha
    nishimori = problem.nishimori
    Q, q, chat, lam = state.Q, state.q, state.chat, state.lam
    h = field_profile(problem)
    chi_J = weight_replicon_susceptibility(Q)
    chi_S = np.zeros(L + 1)
    chi_S[1:L] = spin_replicon_susceptibility(state.eps[1:L] + h[1:L], nishimori)
    n = n_unknowns(L)

    def iQ(l):
        return l - 1

    def iq(l):
        return L - 1 + l if 1 <= l <= L - 1 else None

    def dc(l):
        """Row vector: dc_l in terms of the unknowns."""
        row = np.zeros(n)
        row[iQ(l)] += q[l - 1] * q[l]
        if iq(l - 1) is not None:
            row[iq(l - 1)] += Q[l - 1] * q[l]
        if iq(l) is not None:
            row[iq(l)] += q[l - 1] * Q[l - 1]
        return row

    K = np.zeros((n, n))
    for l in range(1, L + 1):
        row = lam[l - 1] * q[l - 1] * q[l] * dc(l)
        if iq(l - 1) is not None:
            row[iq(l - 1)] += chat[l - 1] * q[l]
        if iq(l) is not None:
            row[iq(l)] += chat[l - 1] * q[l - 1]
        K[iQ(l)] = alpha * chi_J[l - 1] * row
    for l in range(1, L):
        row = lam[l - 1] * q[l - 1] * Q[l - 1] * dc(l) + lam[l] * Q[l] * q[l + 1] * dc(l + 1)
        row[iQ(l)] += chat[l - 1] * q[l - 1]
        row[iQ(l + 1)] += chat[l] * q[l + 1]
        if iq(l - 1) is not None:
            row[iq(l - 1)] += chat[l - 1] * Q[l - 1]
        if iq(l + 1) is not None:
            row[iq(l + 1)] += chat[l] * Q[l]
        K[iq(l)] = chi_S[l] * row
    return K


def replicon_mode(K: np.ndarray, L: int) -> tuple[float, np.ndarray]:
    """Spectral radius of the replicon map and its leading mode (|components|, max 1), symmetrised over
    the mirror image l -> L - l because the two boundary fronts give degenerate modes."""
    vals, vecs = np.linalg.eig(K)
    k = int(np.argmax(vals.real))
    v = np.abs(vecs[:, k].real)
    Q_part, q_part = v[:L], v[L:]
    v = np.concatenate([np.maximum(Q_part, Q_part[::-1]), np.maximum(q_part, q_part[::-1])])
    return float(np.max(np.abs(vals))), v / max(v.max(), 1e-300)


def local_replicons(state: RSMapState, problem: ChainProblem) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer replicon eigenvalues ignoring the coupling to the neighbours (diagonal loops):
    weight layer l: 1 - alpha (1-Q_l)^2 lam_l (q_{l-1} q_l)^2  (Gardner's AT condition at L = 1);
    neuron layer l: 1 - chi_S(q_l) [lam_l (q_{l-1} Q_l)^2 + lam_{l+1} (Q_{l+1} q_{l+1})^2]."""
    L = problem.L
    Q, q, lam = state.Q, state.q, state.lam
    nishimori = problem.nishimori
    w = 1.0 - problem.alpha * weight_replicon_susceptibility(Q) * lam * (q[:-1] * q[1:]) ** 2
    n = np.full(L + 1, np.nan)
    if L > 1:
        chi = spin_replicon_susceptibility(state.eps[1:L] + field_profile(problem)[1:L], nishimori)
        n[1:L] = 1.0 - chi * (lam[:-1] * (q[:-2] * Q[:-1]) ** 2 + lam[1:] * (Q[1:] * q[2:]) ** 2)
    return w, n


# ---------------------------------------------------------------- solver
def close_pinned(x: np.ndarray, problem: ChainProblem, pinned: np.ndarray) -> np.ndarray:
    """Drop pinned variables the map does not send to exactly 0 (the pinned set must be invariant)."""
    pinned = pinned.copy()
    while pinned.any():
        y = np.where(pinned, 0.0, x)
        F = chain_state(y, problem).F
        bad = pinned & (F != 0.0)
        if not bad.any():
            break
        pinned &= ~bad
    return pinned


def chain_position(L: int) -> np.ndarray:
    """Position of each unknown along the chain q_0, Q_1, q_1, Q_2, ..., Q_L, q_L (Q_l at 2l-1, q_l at 2l).

    F at position p depends only on the unknowns at positions p-2..p+2 (c_l couples q_{l-1}, Q_l, q_l;
    eps_l couples c_l and c_{l+1}), so the Jacobian is banded with half-width JACOBIAN_REACH."""
    l = np.arange(1, L + 1)
    return np.concatenate([2 * l - 1, 2 * l[:-1]])


JACOBIAN_REACH = 2


def _banded_jacobian(fun, y: np.ndarray, position: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Forward-difference Jacobian of a batch-vectorised fun using the band structure of the chain:
    unknowns whose positions differ by more than 2 * JACOBIAN_REACH never share an equation, so one
    perturbation per colour (position mod 2*REACH+1) gives every column: one vectorised evaluation of
    6 points instead of 2L. Steps point inward near the upper edge of the domain."""
    n_colours = 2 * JACOBIAN_REACH + 1
    colour = position % n_colours
    step = np.sqrt(np.finfo(float).eps) * np.maximum(np.abs(y), 1e-3)
    step = np.where(y + step < upper, step, -step)
    Y = np.repeat(y[None, :], n_colours + 1, axis=0)
    for k in range(n_colours):
        Y[k + 1, colour == k] += step[colour == k]
    R = fun(Y)
    near = np.abs(position[:, None] - position[None, :]) <= JACOBIAN_REACH
    J = (R[1 + colour] - R[0]).T / step  # column j from the perturbation of its colour
    return np.where(near, J, 0.0)


def _newton(x: np.ndarray, problem: ChainProblem, pinned: np.ndarray, log_vars: bool, tol: float):
    free = ~pinned
    if not free.any():
        return np.where(pinned, 0.0, x), True, 0

    def full(y):
        z = np.zeros(y.shape[:-1] + x.shape)
        z[..., free] = np.exp(y) if log_vars else y
        return z

    def fun(y):  # y: (k,) or a batch (m, k)
        z = full(y)
        r = chain_state(z, problem).F[..., free] - z[..., free]
        return r / z[..., free] if log_vars else r

    y0 = np.log(np.maximum(x[free], 1e-300)) if log_vars else x[free]
    position = chain_position(problem.L)[free]
    bound = upper_bounds(problem)[free]
    upper = np.log(bound) if log_vars else bound
    try:
        with np.errstate(all="ignore"):
            sol = optimize.root(fun, y0, method="hybr", options={"xtol": 1e-14},
                                jac=lambda y: _banded_jacobian(fun, y, position, upper))
        z = full(sol.x)
        evaluations = int(sol.nfev) + int(getattr(sol, "njev", 0))
    except (ValueError, FloatingPointError):
        return x, False, 0
    # Q -> 1 is a spurious numerical fixed point (chat diverges there, absolute residuals vanish):
    # weight overlaps closer to 1 than q_max are refused (the volume has collapsed: capacity)
    L = problem.L
    ok = bool(np.all(np.isfinite(z))) and bool(np.all(z[:L] < q_max(problem))) and residual(z, problem) < tol
    return z, ok, evaluations


def _anderson(x, problem, pinned, tol, max_iter=150, memory=6):
    """Anderson-accelerated fixed-point iteration on the free unknowns (one map evaluation per step).

    Returns (x, ok, iterations). Iterates are kept inside the physical box [0, 1) so that the extrapolation
    cannot leave the domain of the blocks.
    """
    free = ~pinned
    upper = upper_bounds(problem)[free]
    x = np.where(pinned, 0.0, x)

    def fixed_point_residual(y):
        z = x.copy()
        z[free] = y
        return chain_state(z, problem).F[free] - y, None

    y, _, _, iterations, ok = anderson(fixed_point_residual, x[free], tol=tol, max_iter=max_iter, memory=memory,
                                       mixing=1.0, max_step_ratio=np.inf, project=lambda y: np.clip(y, 0.0, upper))
    x[free] = y
    return x, ok, iterations


def _iterate(x, problem, pinned, n_iter, tol, damping=1.0, min_iter=0):
    """Plain (damped) fixed-point iteration, the naive baseline; returns x, residual, iterations."""
    res = np.inf
    for it in range(1, n_iter + 1):
        F = chain_state(x, problem).F
        F[pinned] = 0.0
        res = scaled_residual(F, x)
        x = (1 - damping) * x + damping * F
        if res < tol and it >= min_iter:
            return x, res, it
    return x, res, n_iter


def _lift_seeds(x, problem, pinned, seeded, max_steps, min_steps=10, contraction=0.8, window=3):
    """Plain steps after seeding an unstable liquid, until the seeded unknowns are lifted.

    Stops early (before max_steps) once the map is clearly in its contracting regime: every seeded
    unknown has risen above its seed (the orbit left the unstable liquid) and the last `window`
    step sizes each shrank by a factor < `contraction`, so Anderson starts inside the basin of the
    lifted branch rather than extrapolating back to the liquid. Returns x, residual, iterations."""
    seed_value = x[seeded].copy()
    steps = []
    for it in range(1, max_steps + 1):
        F = chain_state(x, problem).F
        F[pinned] = 0.0
        steps.append(scaled_residual(F, x))
        x = F
        if it < min_steps or not np.all(x[seeded] > seed_value):
            continue
        recent = np.array(steps[-window - 1:])
        if len(recent) == window + 1 and np.all(recent[1:] < contraction * recent[:-1]):
            return x, steps[-1], it
    return x, steps[-1], max_steps


def bottom_start(L: int) -> np.ndarray:
    """Initial guess below the non-trivial fixed points (but above the liquid)."""
    return np.full(n_unknowns(L), 1e-2)


def top_start(L: int) -> np.ndarray:
    """Initial guess above every fixed point of the order-preserving map."""
    return np.full(n_unknowns(L), 0.99)


def solve_rs_vector(problem: ChainProblem, x0: np.ndarray | None = None, *, tol: float = 1e-10,
                    max_iter: int = 5000, force_liquid: np.ndarray | None = None):
    """Solve the RS chain; return (x, pinned mask, residual, iterations).

    force_liquid: boolean mask of unknowns held at 0 whatever their stability (the liquid branch, used
    to locate transitions); otherwise the liquid set is found and checked for stability.

    Which fixed point (docs/theory.md section 5): random data -- the branch continued from the warm start
    x0 when given, else the largest fixed point (reached from the top start by the order-preserving map).
    Teacher-student -- the fixed point of largest free entropy among those reached from x0, from below
    (the continuously freezing branch) and from the top (the crystal): the Bayes-optimal measure is
    dominated by the largest volume of students.
    """
    n = n_unknowns(problem.L)
    forced = np.zeros(n, bool) if force_liquid is None else np.asarray(force_liquid, bool)
    starts = [] if x0 is None else [np.clip(np.asarray(x0, float), 0.0, 1.0 - 1e-12)]
    nishimori = problem.nishimori
    if nishimori:
        starts.append(bottom_start(problem.L))
    starts.append(top_start(problem.L))
    total, last_res = 0, np.inf
    found = []
    collapsed = False
    for start in starts:
        for pre_steps in (10, 300):
            out, iterations, last_res = _attempt(problem, start, forced, pre_steps, tol, max_iter)
            total += iterations
            collapsed |= out is None and last_res == -1.0
            if out is not None:
                found.append(out)
                break
        if found and not nishimori:
            break
    if not found:
        what = f"RS chain ({problem.scenario}, L = {problem.L}, alpha = {problem.alpha:g}, kappa = {problem.kappa:g})"
        if collapsed and nishimori:
            raise NoSolutionError(what, f"a weight overlap Q_l comes closer to 1 than {1 - Q_MAX_NISHIMORI:.0e}, "
                                        "which double precision cannot resolve (the student is the teacher to "
                                        "that precision: use a smaller alpha)", total)
        if collapsed:
            raise NoSolutionError(what, "a weight overlap Q_l runs to 1, the volume of solutions vanishes: the load "
                                        "is beyond the RS capacity of this chain",
                                  total)
        raise ConvergenceError(f"RS chain solver ({problem.scenario}, L = {problem.L}, alpha = {problem.alpha:g}, "
                               f"kappa = {problem.kappa:g})", last_res, total)
    if len(found) > 1:
        entropies = [free_entropy(chain_state(x, problem), problem) for x, _, _ in found]
        found = [found[int(np.argmax(entropies))]]
    x, pinned, res = found[0]
    return x, pinned, res, total


LEFTOVER = 1e-6  # small overlaps that may be the slowly decaying remnant of a liquid next to its transition


def _drop_leftovers_of_a_stable_liquid(x, problem, pinned, forced):
    """Just below a transition the map contracts towards the liquid by a factor rho ~ 1 per step, so a
    converged-looking solve can keep overlaps of 1e-8 (teacher-student L = 30, alpha = 12.8125: Q_2 = 1.6e-8
    at residual 1e-10). Small overlaps whose liquid (set to 0, closed under the map) is linearly stable are
    such remnants and are set to 0; above the transition the liquid is unstable and they are kept."""
    candidates = (~pinned) & (x < LEFTOVER)
    if not candidates.any():
        return pinned, x
    trial = close_pinned(np.where(candidates, 0.0, x), problem, pinned | candidates) | forced
    if not (trial & ~pinned).any():
        return pinned, x
    A, _ = liquid_operator(x, problem, trial & ~forced)
    rho, _ = perron(A)
    if rho < 1.0:
        return trial, np.where(trial, 0.0, x)
    return pinned, x


def _classify_liquid(x, problem, pinned, forced):
    """Clip, pin the overlaps that vanished (closed under the map) and drop a stable liquid's leftovers."""
    x = np.where(pinned, 0.0, np.clip(x, 0.0, None))
    small = (~pinned) & (x < LIQUID_ZERO)
    if small.any():
        pinned = close_pinned(np.where(small, 0.0, x), problem, pinned | small) | forced
        x = np.where(pinned, 0.0, x)
    pinned, x = _drop_leftovers_of_a_stable_liquid(x, problem, pinned, forced)
    return x, pinned


def _polish(x, problem, pinned, forced, tol):
    """Newton on the free unknowns of an accepted solution: a small residual is not a small error where the
    map contracts slowly (near a transition, the capacity, or in frozen layers: a residual of 1e-10 left
    errors of 2e-9 at L = 2, alpha = 30). Returns (x, pinned, residual, evaluations)."""
    x_pol, ok, evaluations = _newton(x, problem, pinned, log_vars=False, tol=tol)
    if ok:
        x_pol, pinned_pol = _classify_liquid(x_pol, problem, pinned, forced)
        res = residual(x_pol, problem)
        if res < tol:
            return x_pol, pinned_pol, res, evaluations
    return x, pinned, residual(x, problem), evaluations


def _attempt(problem, start, forced, pre_steps, tol, max_iter):
    """One solve from one start: plain steps, Anderson (Newton, then iteration as fallbacks), liquid
    classification, stability of the liquid (an unstable liquid is seeded along its critical part and solved
    again), and a Newton polish of the accepted solution only (not of the unstable liquids on the way).
    Returns ((x, pinned, residual) | None, iterations, residual)."""
    x = np.where(forced, 0.0, start)
    pinned = close_pinned(x, problem, forced | (x < 1e-300)) | forced
    iterations, res = 0, np.inf
    seeded = None
    # each round that finds an unstable liquid lifts part of it, so at most one round per unknown
    for _seed_round in range(n_unknowns(problem.L)):
        polished = False
        if seeded is None:
            x, res, it = _iterate(x, problem, pinned, pre_steps, 1e-14, min_iter=pre_steps)
        else:
            x, res, it = _lift_seeds(x, problem, pinned, seeded, pre_steps)
        iterations += it
        if seeded is not None:
            # just above a transition the frozen branch is tiny and the liquid (x = 0) is a root next to it:
            # Newton in log variables cannot reach 0, so it finds the branch the seeds were lifted to
            x_log, ok_log, it = _newton(x, problem, pinned, log_vars=True, tol=tol)
            iterations += it
            if ok_log and np.all(x_log[seeded] > 0):
                x, polished = x_log, True
        x_new, ok, it = _anderson(x, problem, pinned, tol)
        iterations += it
        if not ok or np.any(x_new[:problem.L] >= q_max(problem)):
            x_new, ok, it = _newton(x, problem, pinned, log_vars=False, tol=tol)
            iterations += it
            polished = ok
        if not ok:
            x, res, it = _iterate(x, problem, pinned, max_iter, tol)
            iterations += it
            if np.any(x[:problem.L] >= q_max(problem)):
                return None, iterations, -1.0  # collapsed volume (capacity), flagged for the message
            if res >= tol:
                return None, iterations, res
            x_new = x
        x, pinned = _classify_liquid(x_new, problem, pinned, forced)
        res = residual(x, problem)
        if res >= tol and not polished:
            # Anderson's tolerance is absolute; the accepted residual is relative to 1 - x (frozen layers)
            x, pinned, res, it = _polish(x, problem, pinned, forced, tol)
            iterations += it
            polished = True
        if res >= tol:
            return None, iterations, res
        while True:
            free_liquid = pinned & ~forced
            rho, critical = 0.0, None
            if free_liquid.any():
                A, idx = liquid_operator(x, problem, free_liquid)
                rho, critical = perron(A)
            if rho > 1.0 + MARGINAL:
                break
            if polished:
                return (x, pinned, res), iterations, res
            # polish only a solution whose liquid is stable; if the polish sends an overlap to the liquid,
            # the larger liquid is checked again
            before = pinned
            x, pinned, res, it = _polish(x, problem, pinned, forced, tol)
            iterations += it
            polished = True
            if np.array_equal(pinned, before):
                return (x, pinned, res), iterations, res
        # an unstable liquid is not the physical solution: lift its critical part and solve again
        grow = np.zeros_like(pinned)
        grow[idx[critical > 0]] = True
        pinned &= ~grow
        x = np.where(grow, 1e-2, x)
        seeded = grow
        pre_steps = max(pre_steps, 30)  # let the monotone map lift the seeded layers before accelerating
    return None, iterations, res


def solve_rs(problem: ChainProblem, *, init: xr.Dataset | None = None, tol: float = 1e-10,
             max_iter: int = 5000, force_liquid: np.ndarray | None = None) -> xr.Dataset:
    """RS solution of the chain as the Dataset of the theory contract (plus RS extras)."""
    x0 = None
    if init is not None:
        x0 = pack(np.asarray(init["Q"].values[1:], float), np.asarray(init["q"].values, float))
        if len(x0) != n_unknowns(problem.L):
            x0 = None
    x, pinned, res, iterations = solve_rs_vector(problem, x0, tol=tol, max_iter=max_iter,
                                                 force_liquid=force_liquid)
    return rs_dataset(x, pinned, problem, res, iterations)


def rs_dataset(x, pinned, problem: ChainProblem, res: float, iterations: int) -> xr.Dataset:
    L = problem.L
    state = chain_state(x, problem)
    Q_full = np.concatenate([[np.nan], state.Q])
    c_full = np.concatenate([[np.nan], state.c])
    eps = np.where(np.arange(L + 1) % L == 0, np.nan, state.eps) if L > 1 else np.full(2, np.nan)
    rep_w, rep_n = local_replicons(state, problem)
    K = replicon_operator(state, problem)
    rho, mode = replicon_mode(K, L)
    liquid_Q = np.concatenate([[False], pinned[:L]])
    liquid_q = np.zeros(L + 1, bool)
    liquid_q[1:L] = pinned[L:]
    layer = np.arange(L + 1)
    extra = {}
    if problem.nishimori:
        extra["m_test"] = ("layer", fresh_input_overlaps(state.Q),
                           {"long_name": "student-teacher neuron overlap on a fresh input"})
    ds = xr.Dataset(
        {
            "q": ("layer", state.q, {"long_name": "neuron overlap q_l (RS)"}),
            "Q": ("layer", Q_full, {"long_name": "weight overlap Q_l (RS), NaN at layer 0"}),
            "c": ("layer", c_full, {"long_name": "gap overlap q_{l-1} Q_l q_l"}),
            "eps": ("layer", eps, {"long_name": "neuron conjugate field eps_l"}),
            "replicon_weight": ("layer", np.concatenate([[np.nan], rep_w]),
                                {"long_name": "local replicon of weight layer l (>0: RS locally stable)"}),
            "replicon_neuron": ("layer", rep_n, {"long_name": "local replicon of neuron layer l"}),
            "replicon_mode_Q": ("layer", np.concatenate([[np.nan], mode[:L]]),
                                {"long_name": "weight part of the least stable replicon mode (max 1)"}),
            "replicon_mode_q": ("layer", np.concatenate([[np.nan], mode[L:], [np.nan]]),
                                {"long_name": "neuron part of the least stable replicon mode (max 1)"}),
            "liquid_Q": ("layer", liquid_Q),
            "liquid_q": ("layer", liquid_q),
            **extra,
        },
        coords={"layer": layer},
        attrs={
            "ansatz": "rs", "steps": 0, "scenario": problem.scenario, "L": L,
            "alpha": float(problem.alpha), "kappa": float(problem.kappa), "field": float(problem.field),
            "field_layers": list(problem.field_layers),
            "free_entropy": free_entropy(state, problem), "residual": float(res),
            "iterations": int(iterations), "converged": 1,
            "replicon_chain": 1.0 - rho,
        },
    )
    if problem.nishimori:
        ds.attrs["eps_g"] = generalization_error(state.Q)
    return ds
