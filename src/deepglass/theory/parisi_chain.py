"""The deep chain of MODEL.md section 5 with Parisi (step-function) order parameters.

    s = sum_{l=1..L} s_J(Q^l) + alpha sum_{l=1..L-1} s_S(q^l) + alpha sum_{l=1..L} s_gap(q^{l-1} Q^l q^l)

Every order-parameter function (Q^l, q^l) is a step function; the gap block of layer l lives on the
union of the breakpoints of q^{l-1}, Q^l, q^l (where all three are constant, so their product is a
Parisi matrix). The solvers use one shared set of breakpoints (k-RSB: optimised; full RSB: a fine
fixed x grid); the union machinery also evaluates functions with their own breakpoints.

Saddle-point map (docs/theory.md, section R4), with chat^l(x) = E_{P_x}[phi'^2] of gap block l:
    Q^l   = spherical_overlap_from_conjugate( alpha chat^l q^{l-1} q^l )
    eps^l = chat^l q^{l-1} Q^l + chat^{l+1} Q^{l+1} q^{l+1}     (averaged over each level of q^l)
    q^l   = E_{P_x}[tanh-recursion slope^2] of the Ising block at variance eps^l (+ field)
    breakpoints: ds/dm = 0 (exact gradient from the recursion identities).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parisi import (
    StepFunction,
    levels_on,
    spherical_entropy,
    spherical_overlap_from_conjugate,
    union_partition,
)
from .parisi_quadrature import Bottom, QuadratureOptions, accurate_recursion
from .problem import ChainProblem

ONE = StepFunction(np.zeros(0), np.ones(1))


GridOptions = QuadratureOptions  # the field quadrature of every block (parisi_quadrature.py)


@dataclass
class ChainState:
    """Q[l] for l = 1..L (index 0 unused: None) and q[l] for l = 0..L (q[0] = q[L] = 1)."""

    Q: list
    q: list
    curvature: tuple | None = None  # (m, H, dy/dm) of the breakpoint Newton solve that found this state, or None


@dataclass
class ChainEvaluation:
    free_entropy: float
    Q_new: list
    q_new: list
    eps: list
    grad_Q_breakpoints: list  # ds/dm for each Q^l's breakpoints
    grad_q_breakpoints: list
    grad_shared_breakpoints: np.ndarray | None  # ds/dm when every function shares one set of breakpoints


@dataclass
class _GapBlock:
    value: float
    union: np.ndarray
    where: list  # per factor: union index of each of its breakpoints
    widths: np.ndarray
    chat: np.ndarray  # E_{P_u}[phi_u'^2] on the union intervals
    bp_grad: np.ndarray  # dPhi/dm at each union point
    factor_levels: list  # per factor: its levels on the union intervals


def _same(fs) -> bool:
    return all(f.breakpoints.size == fs[0].breakpoints.size and np.array_equal(f.breakpoints, fs[0].breakpoints)
               for f in fs)


def gap_block(factors: list, kappa: float, opts: GridOptions) -> _GapBlock:
    """s_gap(c) for c = product of the factors on their union partition, with its gradients."""
    nontrivial = [f.breakpoints for f in factors if f.breakpoints.size]
    if nontrivial and _same([f for f in factors if f.breakpoints.size]):
        union = nontrivial[0]
        where = [np.arange(f.breakpoints.size) for f in factors]
    else:
        union, where = union_partition(*[f.breakpoints for f in factors])
    flv = [levels_on(f, union) for f in factors]
    c = np.clip(np.prod(flv, axis=0), 0.0, 1.0 - 1e-12)
    c = np.maximum.accumulate(c)
    c_max = float(c[-1])
    res = accurate_recursion(c, union, Bottom("gap", float(kappa), float(np.sqrt(1.0 - c_max))), opts)
    widths = np.diff(np.concatenate([[0.0], union, [1.0]]))
    return _GapBlock(res.value, union, where, widths, res.sq_slope, res.breakpoint_gradient(union), flv)


def ising_block(q: StepFunction, eps_levels: np.ndarray, field: float, opts: GridOptions):
    """s_S(q) = (1/2) int eps q - (1/2)(eps(1) + h) + Phi_Ising[eps + h], its new q and breakpoint gradient."""
    a = np.maximum.accumulate(np.maximum(eps_levels, 0.0)) + field
    res = accurate_recursion(a, q.breakpoints, Bottom("ising"), opts)
    w = q.widths
    value = 0.5 * np.sum(w * eps_levels * q.levels) - 0.5 * (eps_levels[-1] + field) + res.value
    prod = eps_levels * q.levels
    bp_grad = 0.5 * (prod[:-1] - prod[1:]) + res.breakpoint_gradient(q.breakpoints)
    return value, res.sq_slope, bp_grad


def _average_on_levels(f: StepFunction, union: np.ndarray, where: np.ndarray, union_widths: np.ndarray,
                       values: np.ndarray) -> np.ndarray:
    """Per level i of f: the x-average of ``values`` (given on the union intervals) over level i."""
    idx = np.zeros(union.size + 1, dtype=int)
    for k in where:
        idx[k + 1:] += 1
    num = np.bincount(idx, weights=union_widths * values, minlength=f.levels.size)
    den = np.bincount(idx, weights=union_widths, minlength=f.levels.size)
    # zero-width level: take the value on the (degenerate) union interval itself
    point = np.zeros(f.levels.size)
    point[idx] = values
    return np.where(den > 1e-14, num / np.maximum(den, 1e-300), point), num


def evaluate_chain(problem: ChainProblem, state: ChainState, opts: GridOptions) -> ChainEvaluation:
    """Free entropy at ``state`` and one application of the saddle-point map."""
    L, alpha, kappa = problem.L, problem.alpha, problem.kappa
    gaps = [None] + [gap_block([state.q[l - 1], state.Q[l], state.q[l]], kappa, opts) for l in range(1, L + 1)]
    s = alpha * sum(g.value for g in gaps[1:])
    shared = _same([f for f in functions(state, L)])
    g_shared = alpha * sum(g.bp_grad for g in gaps[1:]) if shared else None
    Q_new, q_new, eps = [None] * (L + 1), [ONE] + [None] * (L - 1) + [ONE], [None] * (L + 1)
    gQ, gq = [None] * (L + 1), [None] * (L + 1)
    for l in range(1, L + 1):
        g = gaps[l]
        Ql = state.Q[l]
        # Q^l: conjugate K = alpha chat q^{l-1} q^l, averaged per level of Q^l
        K, _ = _average_on_levels(Ql, g.union, g.where[1], g.widths, alpha * g.chat * g.factor_levels[0] * g.factor_levels[2])
        Q_new[l] = spherical_overlap_from_conjugate(StepFunction(Ql.breakpoints, K))
        sJ, _, sJ_bp = spherical_entropy(Ql)
        s += sJ
        if shared:
            g_shared = g_shared + sJ_bp
        # ds/dm for Q's breakpoints: s_J part plus alpha * gap part at the union points of Q's breakpoints
        gQ[l] = sJ_bp + alpha * g.bp_grad[g.where[1]]
    for l in range(1, L):
        ql, left, right = state.q[l], gaps[l], gaps[l + 1]
        mean_left, num_left = _average_on_levels(ql, left.union, left.where[2], left.widths,
                                                 left.chat * left.factor_levels[0] * left.factor_levels[1])
        mean_right, num_right = _average_on_levels(ql, right.union, right.where[0], right.widths,
                                                   right.chat * right.factor_levels[1] * right.factor_levels[2])
        w = ql.widths
        eps_l = (num_left + num_right) / np.maximum(w, 1e-300)
        if np.any(w <= 1e-14):  # zero-width level: point values
            eps_l = np.where(w > 1e-14, eps_l, mean_left + mean_right)
        eps_l = np.maximum.accumulate(np.maximum(eps_l, 0.0))
        h = problem.field if l in problem.field_layers else 0.0
        sS, q_levels, sS_bp = ising_block(ql, eps_l, h, opts)
        s += alpha * sS
        if shared:
            g_shared = g_shared + alpha * sS_bp
        eps[l] = eps_l
        q_new[l] = StepFunction(ql.breakpoints, np.clip(np.maximum.accumulate(q_levels), 0.0, 1.0 - 1e-12))
        gq[l] = alpha * (sS_bp + left.bp_grad[left.where[2]] + right.bp_grad[right.where[0]])
    return ChainEvaluation(float(s), Q_new, q_new, eps, gQ, gq, g_shared)


# -------------------------------------------------------------------------------- packing for the iteration
# Levels travel as y = -log(1 - level): a level near 1 (a frozen layer) is then as resolved as one near 0.


def functions(state: ChainState, L: int) -> list:
    """The 2L - 1 order-parameter functions in a fixed order: Q^1..Q^L, q^1..q^{L-1}."""
    return [state.Q[l] for l in range(1, L + 1)] + [state.q[l] for l in range(1, L)]


def from_functions(fs: list, L: int) -> ChainState:
    return ChainState([None] + fs[:L], [ONE] + fs[L:] + [ONE])


def pack_levels(state: ChainState, L: int) -> np.ndarray:
    return np.concatenate([level_to_y(f.levels) for f in functions(state, L)])


def unpack_levels(y: np.ndarray, state: ChainState, L: int) -> ChainState:
    fs, out, start = functions(state, L), [], 0
    for f in fs:
        n = f.levels.size
        lv = np.clip(np.maximum.accumulate(_from_y(y[start:start + n])), 0.0, 1.0 - 1e-12)
        out.append(StepFunction(f.breakpoints, lv))
        start += n
    return from_functions(out, L)


def pack_breakpoints(state: ChainState, L: int, shared: bool = True) -> np.ndarray:
    if shared:
        return state.Q[1].breakpoints.copy()
    return np.concatenate([f.breakpoints for f in functions(state, L)])


def unpack_breakpoints(m: np.ndarray, state: ChainState, L: int, shared: bool = True) -> ChainState:
    fs, out, start = functions(state, L), [], 0
    for f in fs:
        n = f.breakpoints.size
        own = m if shared else m[start:start + n]
        out.append(StepFunction(np.sort(np.clip(own, 0.0, 1.0)), f.levels))
        start += n
    return from_functions(out, L)


def breakpoint_gradient(ev: ChainEvaluation, L: int, shared: bool = True) -> np.ndarray:
    """ds/dm: for the shared breakpoints, or for every function's own ones (order of pack_breakpoints)."""
    if shared:
        return ev.grad_shared_breakpoints
    return np.concatenate([ev.grad_Q_breakpoints[l] for l in range(1, L + 1)]
                          + [ev.grad_q_breakpoints[l] for l in range(1, L)])


def level_residual(problem: ChainProblem, state: ChainState, opts: GridOptions):
    """y(T(state)) - y(state) for the saddle-point map of the levels, and the evaluation."""
    ev = evaluate_chain(problem, state, opts)
    L = problem.L
    new = ChainState(ev.Q_new, ev.q_new)
    return pack_levels(new, L) - pack_levels(state, L), ev


def level_spread(state: ChainState, L: int) -> float:
    """Largest gap between the lowest and highest level of any function, in y = -log(1 - level)."""
    return max((float(np.ptp(level_to_y(f.levels))) for f in functions(state, L)), default=0.0)


def step_jumps(state: ChainState, L: int) -> np.ndarray:
    """Per shared breakpoint i: the largest level jump (in y) any function makes there."""
    jumps = np.array([np.diff(level_to_y(f.levels)) for f in functions(state, L)])
    return jumps.max(axis=0)


def level_to_y(levels):
    """y = -log(1 - level): the coordinate in which levels are packed, iterated and compared."""
    return -np.log1p(-np.clip(levels, 0.0, 1.0 - 1e-12))


def _from_y(y):
    return -np.expm1(-np.maximum(y, 0.0))
