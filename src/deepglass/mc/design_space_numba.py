"""numba kernels of the design-space sampler: the layer sweeps of design_space.py, compiled.

Same random numbers, same floating-point formulas as the numpy reference (design_space.py): row norms,
new rows and their fields are summed in the same sequential order, the cascade adds the flipping neurons'
weight columns in increasing neuron order, so the states are equal bit for bit. The cascade's cost terms
are summed in another order than numpy's, which can only matter when a decision is within rounding of a
tie (inside the design space every term is exactly 0: no tie is possible there).

Per system (systems in parallel, numba.prange) and per layer: the N proposals and their M N own fields
along the contiguous neuron axis (phase A), then the decisions row by row (phase B: a row whose own
neurons flip evaluates its cascade through the upper layers without writing anything, stopping at the
first violated gap when the system is inside the design space and the rule is greedy; an accepted one
re-runs it in place, the same operations, so no undo buffer), then the accepted rows' fields and weights
written along the contiguous axis (phase C).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .numba_backend import _POT, _V, _accept


@numba.njit(cache=True)
def _inside(S, h, b, kappa, widths):
    """Whether every gap of system b is >= kappa (a branch-free count along the contiguous axis: it vectorises);
    widths: the layers' widths (the padding beyond them holds no gap)."""
    L1, M = S.shape[1], S.shape[2]
    n_bad = 0
    for q in range(1, L1):
        N = widths[q]
        for m in range(M):
            s_row = S[b, q, m]
            h_row = h[b, q, m]
            for k in range(N):
                n_bad += s_row[k] * h_row[k] < kappa
    return n_bad == 0


@numba.njit(cache=True)
def _cascade_dE(S, h, Wt, b, p, m, i, widths, inv_sqrt, kappa, pot, stop_on_violation, hard_hidden, row, prev, prev_s,
                cur, cur_s, stats):
    """Cost change of the cascade started by flipping neuron i of layer p on pattern m (nothing written).
    widths: the layers' widths, inv_sqrt: 1/sqrt(c_l) of the weight layers (equal widths: N and 1/sqrt(c)).

    Returns (dE, violated): violated means a new gap < kappa was met with stop_on_violation, or in a hidden
    layer with hard_hidden (dE partial)."""
    L = S.shape[1] - 1
    n_prev = 1
    prev[0] = i
    prev_s[0] = S[b, p, m, i]
    dE = 0.0
    for q in range(p + 1, L + 1):
        N = widths[q]
        inv_sqrt_c = inv_sqrt[q - 1]
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
            if (stop_on_violation or (hard_hidden and q < L)) and vn > 0.0:
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
def _cascade_apply(S, h, Wt, b, p, m, i, widths, inv_sqrt, row, prev, prev_s, stats):
    """The cascade of _cascade_dE, written in place (flips neuron i of layer p on pattern m first)."""
    L = S.shape[1] - 1
    n_prev = 1
    prev[0] = i
    prev_s[0] = S[b, p, m, i]
    S[b, p, m, i] = -S[b, p, m, i]
    for q in range(p + 1, L + 1):
        N = widths[q]
        inv_sqrt_c = inv_sqrt[q - 1]
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


@numba.njit(inline="always")
def _new_field(S, h, b, w, p, m, i, weight_move, jm, coef, scale, hn):
    """Row i's proposed field on pattern m: the single-weight move's O(1) update (recomputed whenever needed,
    the same formula, so the same number), or the row move's stored field."""
    if weight_move:
        return (S[b, w, m, jm[i]] * coef[i] + h[b, p, m, i]) * scale[i]
    return hn[m, i]


@numba.njit(inline="always")
def _new_fields(S, h, b, w, p, m, weight_move, jm, coef, scale, hn, hrow, n):
    """Every row's proposed field on pattern m, (W,) of which the layer's n rows are set (_new_field along the
    contiguous axis)."""
    if not weight_move:
        return hn[m]
    s_in = S[b, w, m]
    h_own = h[b, p, m]
    for i in range(n):
        hrow[i] = (s_in[jm[i]] * coef[i] + h_own[i]) * scale[i]
    return hrow


@numba.njit(cache=True)
def _row_norms(Wt, b, w, dense, support, n2, N, n_in):
    """n2[i] = sum_k Wt[b, w, sup_i[k], i]^2 summed in order k (design_space.row_norms) for the layer's N rows,
    over its n_in inputs: contiguous for dense."""
    for i in range(N):
        n2[i] = 0.0
    if dense:
        for j in range(n_in):
            line = Wt[b, w, j]
            for i in range(N):
                n2[i] += line[i] * line[i]
    else:
        for i in range(N):
            for k in range(support.shape[2]):   # sparse: every layer's fan-in is c
                x = Wt[b, w, support[w, i, k], i]
                n2[i] += x * x


@numba.njit(cache=True)
def _system_sweep(S, h, Wt, b, dense, support, gauss, slot, u, counts, stats, delta, inv_sqrt_c, kappa, pot,
                  greedy, betas, need_u, weight_move, hastings, widths, fan, inv_sqrt, hard_hidden):
    """One MC step of system b: for each weight layer w, one proposal per row i = 0..N_{w+1}-1
    (design_space.DesignSpaceMoves.layer_moves). widths (L+1,), fan (L,), inv_sqrt (L,): the layers' widths,
    fan-ins c_l and 1/sqrt(c_l) (equal widths: N, c, 1/sqrt(c)); arrays are padded to W, loops stop at N_l."""
    L, M, N = S.shape[1] - 1, S.shape[2], S.shape[3]
    C = 0
    for w in range(L):
        C = max(C, fan[w])
    hn = np.empty((1 if weight_move else M, N))   # row moves: the new fields; single weights recompute theirs
    wn = np.empty((1 if weight_move else C, N))
    hrow = np.empty(N)
    n2 = np.empty(N)
    scale = np.empty(N)
    coef = np.empty(N)
    newv = np.empty(N)
    log_ratio = np.zeros(N)
    jm = np.empty(N, dtype=np.int64)
    e_new = np.empty(N)
    e_old = np.empty(N)
    n_flip = np.empty(N, dtype=np.int64)
    bad = np.empty(N, dtype=np.bool_)
    acc = np.empty(N, dtype=np.bool_)
    row = np.empty(N)
    prev = np.empty(N, dtype=np.int64)
    cur = np.empty(N, dtype=np.int64)
    prev_s = np.empty(N)
    cur_s = np.empty(N)
    inside = greedy and _inside(S, h, b, kappa, widths)   # then every cost term is 0 and any new violation rejects
    beta = betas[b]
    for w in range(L):
        p = w + 1
        d = delta[b, w]
        N = widths[p]          # this layer's rows
        c = fan[w]             # and fan-in
        cf = float(c)
        inv_sqrt_c = inv_sqrt[w]
        # --- phase A: the N proposals and their own fields, vectorised along the contiguous neuron axis.
        # Valid: rows of one layer share no own-layer gap, and the fields of layer p depend only on layer
        # p - 1 and on row i itself, which no other row move of this layer changes (cascades go upwards).
        if weight_move:
            _row_norms(Wt, b, w, dense, support, n2, N, widths[w])
            s_norm = math.sqrt(1.0 + d * d)
            for i in range(N):
                j = slot[b, w, i] if dense else support[w, i, slot[b, w, i]]
                jm[i] = j
                old, x = Wt[b, w, j, i], gauss[b, w, i, 0]
                new = (old + d * x) / s_norm
                sc = math.sqrt(cf / ((n2[i] - old * old) + new * new))
                scale[i] = sc
                newv[i] = new
                coef[i] = (new - old) * inv_sqrt_c
                if hastings and c > 1:
                    rev = s_norm * old * sc - sc * new
                    log_ratio[i] = 0.5 * (c + 1) * math.log(sc * sc) - (rev * rev - (d * x) ** 2) / (2 * d * d)
        else:
            for i in range(N):
                n2[i] = 0.0
            for k in range(c):
                for i in range(N):
                    j = k if dense else support[w, i, k]
                    x = Wt[b, w, j, i] + d * gauss[b, w, i, k]
                    wn[k, i] = x
                    n2[i] += x * x
            for i in range(N):
                scale[i] = math.sqrt(cf / n2[i])
            for k in range(c):
                for i in range(N):
                    wn[k, i] = wn[k, i] * scale[i]
            for m in range(M):
                s_in = S[b, w, m]
                hm = hn[m]
                for i in range(N):
                    hm[i] = 0.0
                for k in range(c):
                    if dense:
                        sk = s_in[k]
                        wk = wn[k]
                        for i in range(N):
                            hm[i] += sk * wk[i]
                    else:
                        for i in range(N):
                            hm[i] += s_in[support[w, i, k]] * wn[k, i]
                for i in range(N):
                    hm[i] = hm[i] * inv_sqrt_c
        for i in range(N):
            e_new[i] = 0.0
            e_old[i] = 0.0
            n_flip[i] = 0
            bad[i] = False
        hidden = p < L
        for m in range(M):
            hm_row = _new_fields(S, h, b, w, p, m, weight_move, jm, coef, scale, hn, hrow, N)
            h_own = h[b, p, m]
            s_own = S[b, p, m]
            if inside or (hard_hidden and hidden):   # every old term is 0: rejected iff a new gap < kappa, else 0
                for i in range(N):
                    hm, ho, so = hm_row[i], h_own[i], s_own[i]
                    fl = hidden and ((hm >= 0.0) != (ho >= 0.0))
                    n_flip[i] += fl
                    r = -so * hm if fl else so * hm
                    bad[i] |= _V(r, kappa, pot) > 0.0
            else:
                for i in range(N):
                    hm, ho, so = hm_row[i], h_own[i], s_own[i]
                    fl = hidden and ((hm >= 0.0) != (ho >= 0.0))
                    sn = -so if fl else so
                    e_new[i] += _V(sn * hm, kappa, pot)
                    e_old[i] += _V(so * ho, kappa, pot)
                    n_flip[i] += fl
        stats[b, 0] += M * N
        # --- phase B: decisions in row order; only a row whose own neurons flip touches shared state
        for i in range(N):
            acc[i] = False
            if bad[i]:
                continue
            dE = e_new[i] - e_old[i]
            if n_flip[i] > 0:
                rejected = False
                for m in range(M):
                    if (_new_field(S, h, b, w, p, m, i, weight_move, jm, coef, scale, hn) >= 0.0) != (h[b, p, m, i] >= 0.0):
                        dd, violated = _cascade_dE(S, h, Wt, b, p, m, i, widths, inv_sqrt, kappa, pot, inside, hard_hidden, row, prev,
                                                   prev_s, cur, cur_s, stats)
                        if violated:
                            rejected = True
                            break
                        dE += dd
                if rejected:
                    continue
            uu = u[b, w, i] if need_u else 0.5
            if not _accept(dE, uu, log_ratio[i], greedy, hastings, beta):
                continue
            acc[i] = True
            counts[b, p] += 1
            if n_flip[i] > 0:
                for m in range(M):
                    if (_new_field(S, h, b, w, p, m, i, weight_move, jm, coef, scale, hn) >= 0.0) != (h[b, p, m, i] >= 0.0):
                        _cascade_apply(S, h, Wt, b, p, m, i, widths, inv_sqrt, row, prev, prev_s, stats)
                        stats[b, p] += 1
        # --- phase C: the accepted rows' fields and weights (nothing above read them)
        for m in range(M):
            hm_row = _new_fields(S, h, b, w, p, m, weight_move, jm, coef, scale, hn, hrow, N)
            h_own = h[b, p, m]
            for i in range(N):
                if acc[i]:
                    h_own[i] = hm_row[i]
        if weight_move:
            if dense:   # contiguous in i
                for j in range(widths[w]):
                    line = Wt[b, w, j]
                    for i in range(N):
                        if acc[i]:
                            line[i] = line[i] * scale[i]
            for i in range(N):
                if acc[i]:
                    if not dense:
                        for k in range(c):
                            Wt[b, w, support[w, i, k], i] = Wt[b, w, support[w, i, k], i] * scale[i]
                    Wt[b, w, jm[i], i] = newv[i] * scale[i]
        else:
            for k in range(c):
                for i in range(N):
                    if acc[i]:
                        Wt[b, w, k if dense else support[w, i, k], i] = wn[k, i]


PARALLEL_MIN_WORK = 200_000   # own gap updates per system and step below which systems run serially


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
    if parallel is None:   # waking the worker threads costs ~0.1-1 ms: worth it only for steps that cost more
        work = moves.L * moves.N * moves.M
        parallel = st.S.shape[0] > 1 and numba.get_num_threads() > 1 and work >= PARALLEL_MIN_WORK
    dense = moves.idx is None
    support = np.zeros((1, 1, 1, 1), dtype=np.int64) if dense else moves.idx
    sample = np.zeros(st.S.shape[0], dtype=np.int64) if dense else np.asarray(st.system_sample, dtype=np.int64)
    u = r["u"] if moves.need_u else np.zeros((1, 1, 1))
    slot = r["slot"] if "slot" in r else np.zeros((1, 1, 1), dtype=np.int64)
    params = moves.params
    widths = np.asarray(moves.widths, dtype=np.int64)
    fan = np.asarray(moves.fan_in, dtype=np.int64)
    inv_sqrt = np.asarray(moves.inv_sqrt_fan, dtype=np.float64)
    if moves.uniform:   # equal widths: the very numbers of the scalar path (N, c, 1/sqrt(c))
        widths[:], fan[:], inv_sqrt[:] = moves.N, moves.c, moves.inv_sqrt_c
    kernel = _sweep_parallel if parallel else _sweep_serial
    kernel(st.S, st.h, st.Wt, sample, dense, support, r["gauss"], slot, u, st.counts_weight, st.stats,
           moves.move_sizes(st), moves.inv_sqrt_c, moves.kappa, _POT[params.potential], params.acceptance == "greedy",
           moves.betas(st), moves.need_u, params.proposal == "weight", moves.hastings, widths, fan, inv_sqrt,
           moves.hard_hidden)
