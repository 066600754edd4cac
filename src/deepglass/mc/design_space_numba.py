"""numba kernels of the design-space sampler: the row moves of design_space.py, compiled.

Same random numbers, same floating-point formulas as the numpy reference (design_space.py): the new row,
its norm and its M fields are summed in numpy's pairwise order, the cascade adds the flipping neurons'
weight columns in increasing neuron order, so the states are equal bit for bit. The cascade's cost terms
are summed in another order than numpy's, which can only matter when a decision is within rounding of a
tie (inside the design space every term is exactly 0: no tie is possible there).

Per system (systems in parallel, numba.prange) and per move: the own row's M fields (O(M c)); then, pattern
by pattern, the cascade through the upper layers is evaluated without writing anything, stopping at the
first violated gap when the system is inside the design space and the rule is greedy (the move is then
rejected whatever follows); an accepted move re-runs the cascade of its flipped patterns in place (the same
operations, so the same numbers), which needs no undo buffer.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .numba_backend import _POT, _V, _accept, _pairwise_sum


@numba.njit(cache=True)
def _inside(S, h, b, kappa):
    """Whether every gap of system b is >= kappa."""
    L1, M, N = S.shape[1], S.shape[2], S.shape[3]
    for q in range(1, L1):
        for m in range(M):
            for k in range(N):
                if S[b, q, m, k] * h[b, q, m, k] < kappa:
                    return False
    return True


@numba.njit(cache=True)
def _cascade_dE(S, h, Wt, b, p, m, i, inv_sqrt_c, kappa, pot, stop_on_violation, row, prev, prev_s, cur, cur_s, stats):
    """Cost change of the cascade started by flipping neuron i of layer p on pattern m (nothing written).

    Returns (dE, violated): violated means a new gap < kappa was met with stop_on_violation (dE partial)."""
    L = S.shape[1] - 1
    N = S.shape[3]
    n_prev = 1
    prev[0] = i
    prev_s[0] = S[b, p, m, i]
    dE = 0.0
    for q in range(p + 1, L + 1):
        for k in range(N):
            row[k] = h[b, q, m, k]
        for t in range(n_prev):
            f = (-2.0 * inv_sqrt_c) * prev_s[t]
            w_row = Wt[b, q - 1, prev[t]]
            for k in range(N):
                row[k] += w_row[k] * f
        stats[b, 0] += N
        n_cur = 0
        for k in range(N):
            so = S[b, q, m, k]
            ho = h[b, q, m, k]
            hn = row[k]
            sn = so
            if q < L and (hn >= 0.0) != (ho >= 0.0):
                sn = -so
                cur[n_cur] = k
                cur_s[n_cur] = so
                n_cur += 1
            vn = _V(sn * hn, kappa, pot)
            if stop_on_violation and vn > 0.0:
                return dE, True
            dE += vn - _V(so * ho, kappa, pot)
        if n_cur == 0:
            break
        for t in range(n_cur):
            prev[t] = cur[t]
            prev_s[t] = cur_s[t]
        n_prev = n_cur
    return dE, False


@numba.njit(cache=True)
def _cascade_apply(S, h, Wt, b, p, m, i, inv_sqrt_c, row, prev, prev_s, stats):
    """The cascade of _cascade_dE, written in place (flips neuron i of layer p on pattern m first)."""
    L = S.shape[1] - 1
    N = S.shape[3]
    n_prev = 1
    prev[0] = i
    prev_s[0] = S[b, p, m, i]
    S[b, p, m, i] = -S[b, p, m, i]
    for q in range(p + 1, L + 1):
        h_q = h[b, q, m]
        for k in range(N):
            row[k] = h_q[k]          # the old fields: their signs decide the flips
        for t in range(n_prev):
            f = (-2.0 * inv_sqrt_c) * prev_s[t]
            w_row = Wt[b, q - 1, prev[t]]
            for k in range(N):
                h_q[k] += w_row[k] * f
        if q == L:
            break
        n_cur = 0
        s_q = S[b, q, m]
        for k in range(N):
            if (h_q[k] >= 0.0) != (row[k] >= 0.0):
                prev[n_cur] = k       # prev is free again: it was read above
                prev_s[n_cur] = s_q[k]
                s_q[k] = -s_q[k]
                n_cur += 1
        stats[b, q] += n_cur
        if n_cur == 0:
            break
        n_prev = n_cur


@numba.njit(cache=True)
def _system_sweep(S, h, Wt, b, dense, support, rows, gauss, slot, u, counts, stats, delta, inv_sqrt_c, kappa, pot,
                  greedy, beta, need_u, weight_move, hastings):
    """L N row moves of system b: for each weight layer w, N rows rows[w, a] (design_space.DesignSpaceMoves.step)."""
    L, M, N = S.shape[1] - 1, S.shape[2], S.shape[3]
    c = gauss.shape[-1]
    cf = float(c)
    wn = np.empty(c)
    tmp = np.empty(c)
    sup = np.empty(c, dtype=np.int64)
    hn = np.empty(M)
    e_new = np.empty(M)
    e_old = np.empty(M)
    flip = np.empty(M, dtype=np.bool_)
    row = np.empty(N)
    prev = np.empty(N, dtype=np.int64)
    cur = np.empty(N, dtype=np.int64)
    prev_s = np.empty(N)
    cur_s = np.empty(N)
    inside = greedy and _inside(S, h, b, kappa)   # then every cost term is 0 and any new violation rejects
    for w in range(L):
        p = w + 1
        for a in range(N):
            i = rows[b, w, a]
            d = delta[w]
            log_ratio = 0.0
            old, new, coef, sl, j_moved = 0.0, 0.0, 0.0, 0, 0
            if weight_move:   # one weight moved, the row rescaled (design_space.DesignSpaceMoves.propose)
                sl = slot[b, w, a]
                for k in range(c):
                    sup[k] = k if dense else support[w, i, k]
                    wn[k] = Wt[b, w, sup[k], i]
                    tmp[k] = wn[k] * wn[k]
                old, x = wn[sl], gauss[b, w, a, sl]
                new = (old + d * x) / math.sqrt(1.0 + d * d)
                scale = math.sqrt(cf / ((_pairwise_sum(tmp, 0, c) - old * old) + new * new))
                wn[sl] = new
                if hastings and c > 1:
                    rev = math.sqrt(1.0 + d * d) * old * scale - scale * new
                    log_ratio = 0.5 * (c + 1) * math.log(scale * scale) - (rev * rev - (d * x) ** 2) / (2 * d * d)
            else:
                for k in range(c):
                    sup[k] = k if dense else support[w, i, k]
                    wn[k] = Wt[b, w, sup[k], i] + d * gauss[b, w, a, k]
                    tmp[k] = wn[k] * wn[k]
                scale = math.sqrt(cf / _pairwise_sum(tmp, 0, c))
            for k in range(c):
                wn[k] = wn[k] * scale
            rejected = False
            any_flip = False
            if weight_move:
                coef = (new - old) * inv_sqrt_c
                j_moved = sup[sl]
            for m in range(M):
                if weight_move:   # the local move's incremental O(1) update of each field
                    hm = (S[b, w, m, j_moved] * coef + h[b, p, m, i]) * scale
                else:             # the new row's field, O(c)
                    s_in = S[b, w, m]
                    for k in range(c):
                        tmp[k] = s_in[sup[k]] * wn[k]
                    hm = _pairwise_sum(tmp, 0, c) * inv_sqrt_c
                hn[m] = hm
                ho = h[b, p, m, i]
                so = S[b, p, m, i]
                fl = p < L and (hm >= 0.0) != (ho >= 0.0)
                flip[m] = fl
                any_flip = any_flip or fl
                sn = -so if fl else so
                e_new[m] = _V(sn * hm, kappa, pot)
                e_old[m] = _V(so * ho, kappa, pot)
                if inside and e_new[m] > 0.0:
                    rejected = True
                    break
            stats[b, 0] += M
            if rejected:
                continue
            dE = _pairwise_sum(e_new, 0, M) - _pairwise_sum(e_old, 0, M)
            if any_flip:
                for m in range(M):
                    if flip[m]:
                        d, violated = _cascade_dE(S, h, Wt, b, p, m, i, inv_sqrt_c, kappa, pot, inside, row, prev,
                                                  prev_s, cur, cur_s, stats)
                        if violated:
                            rejected = True
                            break
                        dE += d
            if rejected:
                continue
            uu = u[b, w, a] if need_u else 0.5
            if not _accept(dE, uu, log_ratio, greedy, hastings, beta):
                continue
            for k in range(c):
                Wt[b, w, sup[k], i] = wn[k]
            for m in range(M):
                h[b, p, m, i] = hn[m]
                if flip[m]:
                    _cascade_apply(S, h, Wt, b, p, m, i, inv_sqrt_c, row, prev, prev_s, stats)
                    stats[b, p] += 1
            counts[b, p] += 1


@numba.njit(cache=True)
def _sweep_serial(S, h, Wt, sample, dense, support, *args):
    for b in range(S.shape[0]):
        _system_sweep(S, h, Wt, b, dense, support[sample[b]], *args)


@numba.njit(cache=True, parallel=True)
def _sweep_parallel(S, h, Wt, sample, dense, support, *args):
    for b in numba.prange(S.shape[0]):   # systems are independent
        _system_sweep(S, h, Wt, b, dense, support[sample[b]], *args)


def row_sweep(moves, st, r, parallel=None) -> None:
    """All L N row moves of one MC step of every system (moves: a DesignSpaceMoves, st: a BatchState)."""
    if parallel is None:
        parallel = st.S.shape[0] > 1 and numba.get_num_threads() > 1
    dense = moves.idx is None
    support = np.zeros((1, 1, 1, 1), dtype=np.int64) if dense else moves.idx
    sample = np.zeros(st.S.shape[0], dtype=np.int64) if dense else np.asarray(st.system_sample, dtype=np.int64)
    u = r["u"] if moves.need_u else np.zeros((1, 1, 1))
    slot = r["slot"] if "slot" in r else np.zeros((1, 1, 1), dtype=np.int64)
    params = moves.params
    kernel = _sweep_parallel if parallel else _sweep_serial
    kernel(st.S, st.h, st.Wt, sample, dense, support, r["row"], r["gauss"], slot, u, st.counts_weight, st.stats,
           moves.delta, moves.inv_sqrt_c, moves.kappa, _POT[params.potential], params.acceptance == "greedy",
           float(params.beta) if params.beta is not None else 0.0, moves.need_u, params.proposal == "weight",
           moves.hastings)
